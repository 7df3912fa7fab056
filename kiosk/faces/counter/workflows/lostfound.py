"""Loss reports (`id.loss_report`) and found cards (`id.found_card`), over cabin.kiosk.business.lostfound.

Loss report: report (挂失) — in person, the number read from the citizen's card or typed with a
reason — or cancel one (解挂) with its receipt and the card presented. Found card: register a
card handed in (its number read or typed, the finder, phone, place, date; "replaced" if the
owner already had it replaced), or hand a held one over to its owner (the found card's number
and the owner's number). Each screen shows the other side when a report and a found card meet.
"""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.widgets import Input, Label, Static

from cabin.kiosk.business.lostfound import LostFound

from cabin.kiosk.faces.counter.workflows.common import (
    Choice,
    Tick,
    WorkflowScreen,
    field,
    text_input,
)
from cabin.kiosk.faces.counter.workflows.context import WorkflowResult

LOSS_STATE_KEYS = {"reported": "loss_state_reported", "cancelled": "loss_state_cancelled",
                   "replaced": "loss_state_replaced"}
FOUND_STATE_KEYS = {"held": "found_state_held", "destroyed": "found_state_destroyed", "returned": "found_state_returned"}


def found_lines(t, found: list[dict]) -> list[str]:
    return [t("lf_found_held", id=f["id"], found_on=f["found_on"], place=f["place"]) for f in found]


def loss_line(t, loss: dict | None) -> list[str]:
    if not loss:
        return []
    return [t("lf_loss_matches", receipt=loss["receipt"], state=t(LOSS_STATE_KEYS[loss["state"]]))]


class _LostFoundScreen(WorkflowScreen):
    actions: tuple[str, ...] = ()

    def on_choice_changed(self, event: Choice.Changed) -> None:
        if event.choice.id == "action":
            self.show_action(event.choice.value)

    def show_action(self, action: str) -> None:
        raise NotImplementedError

    def service(self) -> LostFound:
        return LostFound(self.store(), self.config, self.clock())

    def closed(self, receipt: str, lines: list[str], said: str, result: str) -> None:
        self.done = True
        self.reveal_ref = receipt
        self.show_done("lf-summary", lines)
        self.say(said, "-ok")
        self.result = WorkflowResult(recorded=True, receipt=receipt, message=result)

    def action_confirm(self) -> None:
        self.submit(self.query_one("#action", Choice).value)

    def submit(self, action: str) -> None:
        raise NotImplementedError


class LossReportScreen(_LostFoundScreen):
    title_key = "lr_title"
    reveal_kind = "loss"

    def body(self) -> ComposeResult:
        t = self.t
        yield field(t("f_action"), Choice([(t("lr_report"), "report"), (t("lr_cancel"), "cancel")], id="action"))
        yield field(t("f_loss_receipt"), text_input("receipt", "GS-YYYYMMDD-NNNN"), id="receipt-row")
        yield Label(t("lr_citizen"), classes="section-title")
        yield from self.identity_fields()
        yield Static(t("lr_in_person"), classes="hint")
        yield Static("", id="lf-summary", classes="record")

    def on_mount(self) -> None:
        self.query_one("#lf-summary").display = False
        self.show_action("report")

    def hint_key(self) -> str:
        return "lr_hint"

    def show_action(self, action: str) -> None:
        self.query_one("#receipt-row").display = action == "cancel"

    def submit(self, action: str) -> None:
        number, source, reason = self.identity()
        if not number:
            self.say(self.t("wf_missing", fields=self.t("f_number")), "-fault")
            return
        clerk = self.context.clerk
        if action == "report":
            self.run_job("report", lambda: self.service().report_loss(number, by=clerk, source=source,
                                                                       reason=reason).public())
        else:
            receipt = self.query_one("#receipt", Input).value.strip()
            if not receipt:
                self.say(self.t("wf_missing", fields=self.t("f_loss_receipt")), "-fault")
                return
            self.run_job("cancel", lambda: self.service().cancel_loss(receipt, number=number, by=clerk,
                                                                       source=source, reason=reason).public())

    def _lines(self, r: dict) -> list[str]:
        t = self.t
        return [t("lr_line", receipt=r["receipt"], number=r["number"], state=t(LOSS_STATE_KEYS[r["state"]]))] + \
            found_lines(t, r["found"])

    def done_report(self, r: dict) -> None:
        t = self.t
        said = t("lr_reported", receipt=r["receipt"])
        if r["found"]:
            said += " " + t("lr_found_waiting", n=len(r["found"]))
        self.closed(r["receipt"], self._lines(r), said, t("lr_left_reported", receipt=r["receipt"]))

    def done_cancel(self, r: dict) -> None:
        t = self.t
        self.closed(r["receipt"], self._lines(r), t("lr_cancelled", receipt=r["receipt"]),
                    t("lr_left_cancelled", receipt=r["receipt"]))


class FoundCardScreen(_LostFoundScreen):
    title_key = "fc_title"
    reveal_kind = "found"

    def body(self) -> ComposeResult:
        t = self.t
        yield field(t("f_action"), Choice([(t("fc_register"), "register"), (t("fc_handover"), "handover")],
                                          id="action"))
        yield field(t("f_found_id"), text_input("found_id", t("ph_found_id")), id="found-id-row")
        yield Label(t("fc_card"), classes="section-title", id="fc-card-title")
        yield from self.identity_fields()
        yield field(t("f_finder"), text_input("finder"), id="finder-row")
        yield field(t("f_phone"), text_input("phone"), id="phone-row")
        yield field(t("f_place"), text_input("place"), id="place-row")
        yield field(t("f_found_on"), text_input("found_on", "YYYY-MM-DD"), id="found-on-row")
        yield field(t("f_replaced"), Tick(t("fc_replaced"), id="replaced"), id="replaced-row")
        yield Static("", id="lf-summary", classes="record")

    def on_mount(self) -> None:
        from cabin.queue.clock import local_day

        self.query_one("#lf-summary").display = False
        self.query_one("#found_on", Input).value = local_day(self.context.link.now_ms(), self.config.station.tz)
        self.show_action("register")

    def hint_key(self) -> str:
        return "fc_hint"

    def show_action(self, action: str) -> None:
        register = action == "register"
        for row in ("finder-row", "phone-row", "place-row", "found-on-row", "replaced-row"):
            self.query_one(f"#{row}").display = register
        self.query_one("#found-id-row").display = not register
        self.query_one("#fc-card-title", Label).update(self.t("fc_card" if register else "fc_owner"))

    def submit(self, action: str) -> None:
        t = self.t
        value = lambda fid: self.query_one(f"#{fid}", Input).value.strip()
        number, source, reason = self.identity()
        clerk = self.context.clerk
        if action == "register":
            fields = {"f_number": number, "f_finder": value("finder"), "f_phone": value("phone"),
                      "f_place": value("place"), "f_found_on": value("found_on")}
            missing = [t(k) for k, v in fields.items() if not v]
            if missing:
                self.say(t("wf_missing", fields=("、" if t.lang == "zh" else ", ").join(missing)), "-fault")
                return
            replaced = self.query_one("#replaced", Tick).value
            self.run_job("register", lambda: self.service().register_found(
                number, finder=fields["f_finder"], phone=fields["f_phone"], place=fields["f_place"],
                found_on=fields["f_found_on"], by=clerk, replaced=replaced).public())
        else:
            found_id = value("found_id")
            id_ok = re.fullmatch(r"[0-9]{1,18}", found_id) is not None  # ASCII digits, within SQLite's INTEGER
            if not id_ok or not number:
                self.say(t("wf_missing", fields=t("f_found_id") if not id_ok else t("f_number")),
                         "-fault")
                return
            self.run_job("handover", lambda: self.service().handover(int(found_id), number=number, by=clerk,
                                                                      source=source, reason=reason).public())

    def _lines(self, r: dict) -> list[str]:
        t = self.t
        return [t("fc_line", id=r["id"], number=r["number"], state=t(FOUND_STATE_KEYS[r["state"]]),
                  finder=r["finder_name"] or "-", phone=r["finder_phone"] or "-", place=r["place"],
                  found_on=r["found_on"])] + loss_line(t, r["loss"])

    def done_register(self, r: dict) -> None:
        t = self.t
        key = "fc_destroyed" if r["state"] == "destroyed" else "fc_held"
        said = t(key, id=r["id"])
        if r["loss"]:
            said += " " + t("fc_loss_exists", receipt=r["loss"]["receipt"])
        self.closed(str(r["id"]), self._lines(r), said, t("fc_left_registered", id=r["id"]))

    def done_handover(self, r: dict) -> None:
        t = self.t
        self.closed(str(r["id"]), self._lines(r), t("fc_returned", id=r["id"]), t("fc_left_returned", id=r["id"]))
