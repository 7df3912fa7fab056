"""Exit-entry and traffic intake (`ee.*`, `tr.*`): the service's documents checklist and fee
from the catalogue (cabin.kiosk.business.intake.checklist), the citizen's ID number read or typed, the
documents ticked as checked, the fee option or the assessed fine; Enter records it with
`Intake.record`, which completes the errand in the same transaction (WorkflowResult.completed).
"""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.widgets import Input, Label, Static

from cabin.kiosk.business.intake import Intake, checklist
from cabin.queue.engine import Station

from cabin.kiosk.faces.counter.workflows.common import (
    Choice,
    Tick,
    WorkflowScreen,
    field,
    text_input,
)
from cabin.kiosk.faces.counter.workflows.context import WorkflowResult


def clerk_station(context) -> Station:
    """A Station over the counter's store whose queue events carry the clerk signed in here."""
    link = context.link
    accessor = getattr(link, "station_as", None)  # StationLink's clerk-aware accessor, where it exists
    if callable(accessor):
        return accessor(context.clerk.name)
    return Station(link.station().store, link.config, link.clock, clerk=context.clerk.name)


class IntakeScreen(WorkflowScreen):
    title_key = "in_title"
    reveal_kind = "intake"

    def __init__(self, context, **kw):
        super().__init__(context, **kw)
        self.service = context.request["service"]
        self.check = checklist(context.link.config, self.service)

    def body(self) -> ComposeResult:
        t, c = self.t, self.check
        service = self.config.services[self.service]
        yield Label(t("in_checklist", service=t.name(service)), classes="section-title")
        yield Static("\n".join(f"  □ {d}" for d in c["documents"]) or t("in_no_documents"), id="in-documents",
                     markup=False)
        yield field(t("f_documents"), Tick(t("in_documents_checked"), id="checked"))
        fees = c["fees"]
        if c["assessed"]:
            yield field(t("f_fine"), text_input("fine", t("ph_fine")))
        elif list(fees) == ["fee"]:
            yield field(t("f_fee"), Label(t("yuan", n=fees["fee"]), id="fee"))
        else:
            yield field(t("f_fee"), Choice([(o, o) for o in fees], id="option"))
        yield Label(t("in_citizen"), classes="section-title")
        yield from self.identity_fields()
        yield Static("", id="in-summary", classes="record")

    def on_mount(self) -> None:
        self.query_one("#in-summary").display = False

    def hint_key(self) -> str:
        return "in_hint"

    def action_confirm(self) -> None:
        t = self.t
        number, source, reason = self.identity()
        if not number:
            self.say(t("wf_missing", fields=t("f_number")), "-fault")
            return
        checked = self.query_one("#checked", Tick).value
        option = fine = None
        if self.check["assessed"]:
            text = self.query_one("#fine", Input).value.strip()
            if not re.fullmatch(r"[0-9]{1,9}", text):  # ASCII digits: isdigit() also passes ² and ١
                self.say(t("in_fine_digits"), "-fault")
                return
            fine = int(text)
        elif list(self.check["fees"]) != ["fee"]:
            option = self.query_one("#option", Choice).value
        window, clerk, config = self.context.window.number, self.context.clerk, self.config

        def job():
            return Intake(clerk_station(self.context), config).record(
                window, by=clerk, number=number, source=source, reason=reason, fee_option=option, fine=fine,
                documents_checked=checked)

        self.run_job("record", job)

    def done_record(self, r: dict) -> None:
        t = self.t
        self.done = True
        self.reveal_ref = r["receipt"]
        lines = [t("in_line", receipt=r["receipt"], number=r["number"], fee=r["fee_yuan"],
                   option=f"（{r['fee_option']}）" if r["fee_option"] else "")]
        if r["continued"]:
            lines.append(t("in_continued", ticket=r["continued"]["ticket"],
                           service=t.name(self.config.services[r["continued"]["service"]])))
        self.show_done("in-summary", lines)
        self.say(t("in_recorded", receipt=r["receipt"]), "-ok")
        self.result = WorkflowResult(recorded=True, completed=True, receipt=r["receipt"],
                                     message=t("in_left", receipt=r["receipt"], fee=r["fee_yuan"]))
