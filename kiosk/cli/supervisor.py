"""`cabin supervisor`: the supervisor's view in its own app, behind a sign-in that takes a
supervisor or admin account. Textual is imported only when it starts."""

from __future__ import annotations

from cabin.config import LANGUAGES, THEMES

from cabin.kiosk.cli.faces import _link


def cmd_supervisor(ctx) -> int:
    from cabin.kiosk.faces.supervisor import SupervisorApp

    a = ctx.args
    SupervisorApp(_link(ctx), lang=a.lang, theme=a.theme).run()
    return 0


def add_commands(sub, command) -> None:
    p = command("supervisor", cmd_supervisor,
                "the supervisor's view: windows, temporary-card approvals, today's figures, accounts")
    p.add_argument("--lang", choices=LANGUAGES, help="zh (Simplified Chinese) or en; default: [faces] lang in the config")
    p.add_argument("--theme", choices=THEMES, help="dark or light; default: [faces] theme in the config")
    p.set_defaults(face="the supervisor's view")
