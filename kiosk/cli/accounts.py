"""`cabin user ...` and `cabin audit ...`: accounts and the audit log from the command line.

The commands follow the CLI's contract (kiosk/cli/app.py: `--json` prints exactly one JSON
object; exit 0 done, 1 refused with one line on stderr, 2 usage) and raise CabinError for a
refusal, which app.main reports. `signed_in` is how every command taken `--as` an account signs
it in.

Passwords are asked on the terminal (getpass, nothing echoed; a new password twice). When
standard input is not a terminal they are read from it instead, one line each, no prompts and
no confirmation, in this order:

    user add NAME --role admin              (database with no accounts)
        1. NAME's new password
    user add NAME --role ROLE --as ADMIN    (database with accounts)
        1. ADMIN's password
        2. NAME's new password
    user passwd NAME                        (your own password)
        1. NAME's current password
        2. NAME's new password
    user passwd NAME --as ADMIN             (an admin resets it; clears a lockout)
        1. ADMIN's password
        2. NAME's new password
    user disable NAME --as ADMIN
        1. ADMIN's password
    user list --as ADMIN                    (database with accounts)
        1. ADMIN's password

A line is the password exactly as typed, without its line ending (\\n or \\r\\n).
`audit verify` and `audit show` ask for nothing.
"""

from __future__ import annotations

import getpass
import json
import sys

from cabin.queue.errors import CabinError

from cabin.kiosk.business import audit
from cabin.kiosk.business.accounts import ROLES, Account, Accounts, normalise_name
from cabin.kiosk.cli import options
from cabin.kiosk.cli.app import EXIT_OK, EXIT_REFUSED, emit, when
from cabin.kiosk.cli.args import MAX_AUDIT_LIMIT, integer
MAX_PASSWORD_LINE = 1024  # a line of stdin read as a password: no password is longer, /dev/zero is


class PasswordReader:
    """Passwords from the terminal, or lines from a non-terminal stdin (see the module doc)."""

    def __init__(self, stdin=None):
        self.stdin = stdin if stdin is not None else sys.stdin
        self.line = 0

    def ask(self, prompt: str, confirm: bool = False) -> str:
        self.line += 1
        if self.stdin.isatty():
            try:
                password = getpass.getpass(prompt)
                if confirm and getpass.getpass("Again: ") != password:
                    raise CabinError("the two passwords differ; nothing was changed")
            except EOFError:
                raise CabinError(f"no password given ({prompt.rstrip(': ')})") from None
            return password
        text = self.stdin.readline(MAX_PASSWORD_LINE + 1)
        if len(text) > MAX_PASSWORD_LINE:
            raise CabinError(f"line {self.line} of standard input is too long for a password"
                             f" (at most {MAX_PASSWORD_LINE} characters)")
        if not text:
            raise CabinError(f"standard input ended before line {self.line}: {prompt.rstrip(': ')}")
        return text.removesuffix("\n").removesuffix("\r")


def _accounts(ctx) -> Accounts:
    return Accounts(ctx.store(), ctx.clock)


def signed_in(ctx) -> Account:
    """The account named by `--as`, signed in with its password (terminal, or one stdin line)."""
    name = ctx.args.acting
    return _accounts(ctx).authenticate(name, PasswordReader().ask(f"{name}'s password: "))


def _sign_in_admin(accounts: Accounts, reader: PasswordReader, name: str) -> Account:
    admin = accounts.authenticate(name, reader.ask(f"{name}'s password: "))
    if admin.role != "admin":
        raise CabinError(f"{admin.name} is a {admin.role}: only an admin can do this")
    return admin


def _account_dict(account: Account, now_ms: int) -> dict:
    d = account.as_dict()
    del d["id"]
    d["locked"] = d["locked_until"] is not None and d["locked_until"] > now_ms
    return d


# -- user ---------------------------------------------------------------------------------------
def cmd_user_add(ctx) -> int:
    a = ctx.args
    name = normalise_name(a.name)
    accounts = _accounts(ctx)
    reader = PasswordReader()
    if accounts.count() == 0:
        if a.acting:
            raise CabinError("there are no accounts yet: add the first admin without --as")
        by = None
    else:
        if not a.acting:
            raise CabinError("the database has accounts: an admin adds new ones (--as ADMIN)")
        by = _sign_in_admin(accounts, reader, a.acting)
    account = accounts.add(name, a.role, reader.ask(f"new password for {name}: ", confirm=True), by=by)
    result = _account_dict(account, accounts.clock.now_ms())
    result["added_by"] = by.name if by else None
    emit(a, result, lambda r: f"added {r['role']} {r['name']}" + (f" (by {r['added_by']})" if r["added_by"] else
                                                                   " (the first admin)"))
    return EXIT_OK


def cmd_user_passwd(ctx) -> int:
    a = ctx.args
    accounts = _accounts(ctx)
    reader = PasswordReader()
    if a.acting:
        by = _sign_in_admin(accounts, reader, a.acting)
        account = accounts.passwd(a.name, reader.ask(f"new password for {a.name}: ", confirm=True), by=by)
    else:
        old = reader.ask(f"current password of {a.name}: ")
        account = accounts.passwd(a.name, reader.ask(f"new password for {a.name}: ", confirm=True), old_password=old)
        by = None
    result = {"name": account.name, "changed": True, "by": by.name if by else account.name}
    emit(a, result, lambda r: f"password of {r['name']} changed" + (f" by {r['by']}" if by else ""))
    return EXIT_OK


def cmd_user_disable(ctx) -> int:
    a = ctx.args
    accounts = _accounts(ctx)
    by = _sign_in_admin(accounts, PasswordReader(), a.acting)
    account, changed = accounts.disable(a.name, by=by)
    result = {"name": account.name, "disabled": True, "changed": changed, "by": by.name}
    emit(a, result, lambda r: f"{r['name']} disabled" + ("" if r["changed"] else " (already)"))
    return EXIT_OK


def cmd_user_list(ctx) -> int:
    accounts = _accounts(ctx)
    # who exists and who is locked or disabled is for an admin's eyes (a name could be tried
    # against it); a database with no accounts yet has nothing to hide and says how to begin
    if accounts.count():
        if not ctx.args.acting:
            raise CabinError("the accounts are shown to an admin: cabin user list --as ADMIN")
        _sign_in_admin(accounts, PasswordReader(), ctx.args.acting)
    now = accounts.clock.now_ms()
    result = {"accounts": [_account_dict(acc, now) for acc in accounts.list()]}
    tz = ctx.tz

    def text(r: dict) -> str:
        if not r["accounts"]:
            return "no accounts (add the first admin: cabin user add NAME --role admin)"
        return "\n".join(
            f"{audit.printable(acc['name']):<20} {acc['role']:<10} "
            + ("disabled" if acc["disabled"] else f"locked until {when(tz, acc['locked_until'])}" if acc["locked"]
               else "active")
            for acc in r["accounts"])

    emit(ctx.args, result, text)
    return EXIT_OK


# -- audit --------------------------------------------------------------------------------------
def cmd_audit_verify(ctx) -> int:
    store = ctx.store()
    with store.read() as conn:
        ok, bad, reason = audit.verify(conn)
        result = {"ok": ok, "first_bad_id": bad, "reason": reason, **audit.head(conn)}
    emit(ctx.args, result, lambda r: (f"ok: {r['entries']} entries, head {r['head']}" if r["ok"]
                                       else f"broken at entry {r['first_bad_id']}: {r['reason']}"))
    if not ok:
        print(f"cabin: the audit log is broken at entry {bad}: {reason}", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def cmd_audit_show(ctx) -> int:
    a = ctx.args
    store = ctx.store()
    # the log says who tried to sign in and why it failed, who read whose record and why: for an
    # admin's or a supervisor's eyes (verify, which shows nothing of it, stays open to anyone)
    accounts = _accounts(ctx)
    if accounts.count():
        if not a.acting:
            raise CabinError("the audit log is shown to an admin or a supervisor: cabin audit show --as NAME")
        reader = accounts.authenticate(a.acting, PasswordReader().ask(f"{a.acting}'s password: "))
        if reader.role not in ("admin", "supervisor"):
            raise CabinError(f"{reader.name} is a {reader.role}: only an admin or a supervisor reads the audit log")
    with store.read() as conn:
        entries = audit.show(conn, a.limit, actor=a.actor)
    tz = ctx.tz

    def text(r: dict) -> str:
        if not r["entries"]:
            return "no audit entries" + (f" by {audit.printable(a.actor)}" if a.actor else "")
        lines = []
        for e in r["entries"]:
            detail = "" if e["detail"] is None else " " + audit.printable(
                json.dumps(e["detail"], ensure_ascii=False, sort_keys=True))
            lines.append(f"{e['id']:>6} {when(tz, e['at'])} {e['actor'] or '(system)':<16} {e['action']:<16}"
                         f" {e['subject'] or '-'}{detail}")
        return "\n".join(lines)

    emit(a, {"entries": entries}, text)
    return EXIT_OK


def declare(commands) -> None:
    user = commands.group("user")
    p = commands.command("add", cmd_user_add, "add an account (the first one, an admin, needs no --as)", user)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", required=True, choices=ROLES)
    options.acting(p, "ADMIN", required=False, help="the admin adding it (asked for their password)")
    p = commands.command("passwd", cmd_user_passwd, "change your password (asks the current one), or reset one with"
                         " --as ADMIN", user)
    p.add_argument("name", metavar="NAME")
    options.acting(p, "ADMIN", required=False, help="an admin resetting NAME's password (clears a lockout)")
    p = commands.command("disable", cmd_user_disable, "disable an account: it can no longer sign in", user)
    p.add_argument("name", metavar="NAME")
    options.acting(p, "ADMIN", help="the admin disabling it")
    p = commands.command("list", cmd_user_list, "the accounts, their roles and states (an admin)", user)
    options.acting(p, "ADMIN", required=False, help="the admin asking (asked for their password; needed once there"
                   " are accounts)")

    log = commands.group("audit")
    commands.command("verify", cmd_audit_verify, "check the audit log's hash chain (exit 1 naming the first bad entry)", log)
    p = commands.command("show", cmd_audit_show, "the latest audit entries, oldest first", log)
    p.add_argument("--limit", type=integer(1, MAX_AUDIT_LIMIT), default=50, metavar="N", help="how many (default 50)")
    p.add_argument("--actor", metavar="NAME", help="only this account's entries")
    options.acting(p, "NAME", required=False, help="the admin or supervisor reading it (asked for the password;"
                   " needed once there are accounts)")
