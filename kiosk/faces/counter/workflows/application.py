"""Main-card and cross-region applications (`id.apply`, `id.cross_region`).

The application screen: the citizen's number read or typed, the kind (first, renewal,
replacement); Enter accepts it (Applications.accept) and shows the fee, the new card's validity
and the deadline — all from the rules, none decided here. F6 opens the list of open applications,
where the next step of one is recorded (approved by the home police, card received, collected,
or refused with a reason: Applications.advance, which refuses a step the flow does not have).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label, Static

from cabin.kiosk.business.applications import Applications

from cabin.kiosk.faces.widgets import TitleBar
from cabin.kiosk.faces.counter.workflows.common import (
    AskScreen,
    Choice,
    JobDone,
    JobFailed,
    Localised,
    WorkflowScreen,
    field,
)
from cabin.kiosk.faces.counter.workflows.context import WorkflowResult
from textual import work
from textual.screen import Screen

KIND_KEYS = {"first": "kind_first", "renewal": "kind_renewal", "replacement": "kind_replacement"}
STATE_KEYS = {"accepted": "ap_state_accepted", "approved": "ap_state_approved", "received": "ap_state_received",
              "collected": "ap_state_collected", "refused": "ap_state_refused"}


def application_lines(t, r: dict) -> list[str]:
    lines = [t("ap_line", receipt=r["receipt"], number=r["number"], kind=t(KIND_KEYS[r["kind"]]),
               where=t("ap_cross_region") if r["cross_region"] else t("ap_local")),
             t("ap_terms", fee=r["fee_yuan"],
               validity=t("ap_long_term") if r["validity_years"] is None else t("ap_years", n=r["validity_years"]),
               due=r["due_on"]),
             t("ap_state", state=t(STATE_KEYS[r["state"]]))]
    return lines


class ApplicationScreen(WorkflowScreen):
    title_key = "ap_title"
    reveal_kind = "application"
    BINDINGS = [Binding("f6", "open_list", "key_applications")]

    def body(self) -> ComposeResult:
        t = self.t
        yield Label(t("applicant"), classes="section-title")
        yield from self.identity_fields()
        default = "replacement" if self.context.request.get("service") == "id.cross_region" else "first"
        yield field(t("f_kind"), Choice([(t(key), k) for k, key in KIND_KEYS.items()], id="kind", value=default))
        yield Static(t("ap_rules_hint"), classes="hint")
        yield Static("", id="ap-summary", classes="record")

    def on_mount(self) -> None:
        self.query_one("#ap-summary").display = False

    def hint_key(self) -> str:
        return "ap_hint"

    def action_confirm(self) -> None:
        number, source, reason = self.identity()
        if not number:
            self.say(self.t("wf_missing", fields=self.t("f_number")), "-fault")
            return
        kind, clerk, config = self.query_one("#kind", Choice).value, self.context.clerk, self.config
        self.run_job("accept", lambda: Applications(self.store(), config, self.clock()).accept(
            number, kind, by=clerk, source=source, reason=reason))

    def done_accept(self, r: dict) -> None:
        t = self.t
        self.done = True
        self.reveal_ref = r["receipt"]
        self.show_done("ap-summary", application_lines(t, r))
        self.say(t("ap_accepted", receipt=r["receipt"], due=r["due_on"]), "-ok")
        self.result = WorkflowResult(recorded=True, receipt=r["receipt"],
                                     message=t("ap_left", receipt=r["receipt"], fee=r["fee_yuan"]))

    def action_open_list(self) -> None:
        if not self.busy:
            self.app.push_screen(ApplicationsScreen(self.context.link, self.context.clerk))


class ApplicationsScreen(Localised, Screen):
    """Open applications by deadline, and the next step of the highlighted one, done by the
    signed-in `clerk` (from a counter's application screen, or the supervisor's view)."""

    BINDINGS = [
        Binding("escape", "back", "back"),
        Binding("a", "advance('approved')", "key_ap_approved"),
        Binding("v", "advance('received')", "key_ap_received"),
        Binding("c", "advance('collected')", "key_ap_collected"),
        Binding("x", "refuse", "key_ap_refused"),
        Binding("o", "toggle_overdue", "key_ap_overdue"),
    ]

    def __init__(self, link, clerk):
        super().__init__(classes="workflow")
        self.link, self.clerk = link, clerk
        self.rows: list[dict] = []
        self.overdue_only = False
        self.busy = False

    def compose(self) -> ComposeResult:
        t = self.app.strings
        yield TitleBar(self.app.station_name(), t("ap_list_title"))
        yield DataTable(id="ap-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="wf-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        t = self.app.strings
        table = self.query_one(DataTable)
        table.add_columns(t("col_receipt"), t("f_number"), t("col_kind"), t("col_where"), t("col_state"),
                          t("col_due"))
        self.load()

    def load(self) -> None:
        self.busy = True
        self._work("load", None, None)

    @work(thread=True, exclusive=True, group="applications")
    def _work(self, what: str, receipt: str | None, to: str | None, reason: str | None = None) -> None:
        apps = Applications(self.link.station().store, self.link.config, self.link.clock)
        try:
            done = None
            if what == "advance":
                done = apps.advance(receipt, to, by=self.clerk, reason=reason)
            rows = apps.list(overdue=self.overdue_only)
            overdue = {r["receipt"] for r in apps.list(overdue=True)}
        except Exception as exc:
            self.post_message(JobFailed(what, exc))
        else:
            self.post_message(JobDone(what, (done, rows, overdue)))

    def on_job_done(self, message: JobDone) -> None:
        self.busy = False
        t = self.app.strings
        done, rows, overdue = message.result
        self.rows = [r for r in rows if r["state"] not in ("collected", "refused")]
        table = self.query_one(DataTable)
        table.clear()
        for r in self.rows:
            mark = " ⚠" if r["receipt"] in overdue else ""
            table.add_row(r["receipt"], r["number"], t(KIND_KEYS[r["kind"]]),
                          t("ap_cross_region") if r["cross_region"] else t("ap_local"),
                          t(STATE_KEYS[r["state"]]), r["due_on"] + mark, key=r["receipt"])
        status = self.query_one("#wf-status", Static)
        if done is not None:
            status.update(t("ap_advanced", receipt=done["receipt"], state=t(STATE_KEYS[done["state"]])))
            status.set_classes("-ok")
        else:
            status.update(t("ap_list_hint", n=len(self.rows)))
            status.set_classes("")

    def on_job_failed(self, message: JobFailed) -> None:
        self.busy = False
        status = self.query_one("#wf-status", Static)
        t = self.app.strings
        status.update(t("wf_refused", reason=t.refusal(message.error)))
        status.set_classes("-fault")

    def current(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]["receipt"]

    def action_advance(self, to: str) -> None:
        receipt = self.current()
        if receipt and not self.busy:
            self.busy = True
            self._work("advance", receipt, to)

    def action_refuse(self) -> None:
        receipt = self.current()
        if receipt and not self.busy:
            t = self.app.strings
            self.app.push_screen(AskScreen(t("ap_refuse_title", receipt=receipt), [("why", t("f_app_refuse_reason"), False)]),
                                 lambda v: v and self._refuse(receipt, v["why"]))

    def _refuse(self, receipt: str, reason: str) -> None:
        self.busy = True
        self._work("advance", receipt, "refused", reason)

    def action_toggle_overdue(self) -> None:
        self.overdue_only = not self.overdue_only
        self.load()

    def action_back(self) -> None:
        self.dismiss(None)
