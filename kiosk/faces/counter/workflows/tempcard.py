"""The temporary resident ID card (service `id.temporary`), on one screen:

1. the request: the applicant read from the window's card reader (F2) or typed with a reason
   (F4), the photo from the reader through the configured decoder or an image file, the basis
   (the pending application found by number, or a document and its reference), a guardian or a
   proxy; Enter takes the request (TempCards.request);
2. the second person: a supervisor types their name and password here (Accounts.authenticate,
   then TempCards.approve — which refuses the requester approving their own request);
3. the print on the window's card printer (TempCards.print in a worker): printed, resumed (an
   earlier attempt's card had come out), or the fault in plain words; Enter after fixing the
   printer prints again through the same TempCards.print, which settles the job first, so a
   card is never printed twice.

F6 refuses the request (a supervisor signs it with a reason) while it waits for approval; F7
prints one more card of a printed one (a spoiled card: a supervisor's decision, with the reason,
through the same TempCards.print); F8 voids the request or the card with a reason; F5 reveals the
record (audited).
"""

from __future__ import annotations

from typing import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from cabin.drivers.idreader.record import NATIONS
from cabin.queue.errors import CabinError

from cabin.kiosk.faces.base import name_stands, sign_again
from cabin.kiosk.faces.counter.workflows.common import (
    BASIS_KEYS,
    AskScreen,
    Choice,
    WorkflowScreen,
    field,
    text_input,
)
from cabin.kiosk.faces.counter.workflows.context import WorkflowContext, WorkflowResult

AGENT_KEYS = {"": "agent_none", "guardian": "agent_guardian", "proxy": "agent_proxy"}  # "": in person
STATE_KEYS = {"requested": "tc_state_requested", "approved": "tc_state_approved", "refused": "tc_state_refused",
              "printed": "tc_state_printed", "voided": "tc_state_voided"}


def default_printer(url: str, baud: int):
    from cabin.drivers.cardprinter import CardPrinter

    return CardPrinter(url, baudrate=baud)


def nation_code(text: str) -> str:
    """汉 / 汉族 / 01 → "01"; the service refuses an unknown code with its reason."""
    name = text.strip().removesuffix("族")
    return name if name in NATIONS else next((c for c, n in NATIONS.items() if n == name), name)


class TempCardScreen(WorkflowScreen):
    title_key = "tc_title"
    reveal_kind = "tempcard"
    BINDINGS = [Binding("f6", "refuse", "key_refuse"), Binding("f7", "reprint", "key_reprint"),
                Binding("f8", "void", "key_void")]

    def __init__(self, context: WorkflowContext, *, printer: Callable[[str, int], object] = default_printer,
                 **kw):
        super().__init__(context, **kw)
        self.make_printer = printer
        self.stage = "request"      # request -> approve -> print -> printed | voided | refused
        self.receipt: str | None = None
        self.record: dict | None = None

    # -- the form ---------------------------------------------------------------------------------
    def body(self) -> ComposeResult:
        t = self.t
        with Vertical(id="tc-request"):
            yield Label(t("applicant"), classes="section-title")
            yield from self.identity_fields()
            yield field(t("f_name"), text_input("name", t("ph_name")))
            yield field(t("f_sex"), Choice([(t("sex_1"), "1"), (t("sex_2"), "2")], id="sex"))
            yield field(t("f_nation"), text_input("nation", value=t("nation_default")))
            yield field(t("f_address"), text_input("address", t("ph_address")))
            yield field(t("f_photo"), text_input("photo", t("ph_photo")))
            yield Label(t("tc_basis"), classes="section-title")
            yield field(t("f_basis"), Choice([(t(key), basis) for basis, key in BASIS_KEYS.items()], id="basis"))
            yield field(t("f_basis_ref"), text_input("basis_ref", t("ph_basis_ref")))
            yield Label(t("tc_agent"), classes="section-title")
            yield field(t("f_agent"), Choice([(t(key), kind) for kind, key in AGENT_KEYS.items()], id="agent"))
            yield field(t("f_agent_number"), text_input("agent_number"), id="agent-number-row")
            yield field(t("f_agent_name"), text_input("agent_name"), id="agent-name-row")
            yield field(t("f_attorney"), text_input("attorney"), id="attorney-row")
        yield Static("", id="tc-summary", classes="record")
        with Vertical(id="tc-approve"):
            yield Label(t("tc_approval"), classes="section-title")
            yield Static(t("tc_approval_hint"), classes="hint")
            yield field(t("f_supervisor"), text_input("supervisor"))
            yield field(t("f_password"), text_input("password", password=True))

    def on_mount(self) -> None:
        for name in ("name", "nation", "address", "sex"):
            self.query_one(f"#{name}").add_class("from-card")
        self.query_one("#tc-approve").display = False
        self.query_one("#tc-summary").display = False
        self._agent_rows("")

    def hint_key(self) -> str:
        return "tc_hint"

    def on_choice_changed(self, event: Choice.Changed) -> None:
        if event.choice.id == "agent":
            self._agent_rows(event.choice.value)

    def _agent_rows(self, kind: str) -> None:
        self.query_one("#agent-number-row").display = bool(kind)
        self.query_one("#agent-name-row").display = bool(kind)
        self.query_one("#attorney-row").display = kind == "proxy"

    def identity_open(self) -> bool:
        return self.stage == "request"

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "void":
            return self.receipt is not None and self.stage in ("approve", "print", "printed")
        if action == "refuse":
            return self.stage == "approve"
        if action == "reprint":
            return self.stage == "printed"
        return super().check_action(action, parameters)

    def fill_from_card(self, shown) -> None:
        super().fill_from_card(shown)
        for fid, value in (("name", shown.name), ("nation", shown.nation), ("address", self.t("hidden"))):
            box = self.query_one(f"#{fid}", Input)
            box.value = value
            box.disabled = True
        sex = self.query_one("#sex", Choice)
        sex.value = shown.sex if shown.sex in ("1", "2") else "1"
        sex.disabled = True

    # -- Enter, by stage -----------------------------------------------------------------------------
    def enter_now(self) -> bool:
        """Enter after the supervisor's name: to the password at once (the keys that follow are it)."""
        password = self.query_one("#password", Input)
        if self.stage == "approve" and self.focused is self.query_one("#supervisor", Input) and not password.value:
            self.set_focus(password)  # at once: Widget.focus() would wait behind the keys already queued
            return True
        return False

    def action_confirm(self) -> None:
        {"request": self.request, "approve": self.approve, "print": self.print_card}.get(self.stage, self.finish)()

    def request(self) -> None:
        from cabin.kiosk.business.tempcards import Person, TempCards, open_photo, person_from_card

        value = lambda fid: self.query_one(f"#{fid}", Input).value.strip()
        config, clerk, card = self.config, self.context.clerk, self.card
        photo = value("photo") or None
        basis_kind, ref = self.query_one("#basis", Choice).value, value("basis_ref") or None
        basis = basis_kind if basis_kind != "application" or ref else None
        agent_kind = self.query_one("#agent", Choice).value
        agent = None
        if agent_kind:
            agent = {"kind": agent_kind, "number": value("agent_number"), "name": value("agent_name")}
            if agent_kind == "proxy":
                agent["document"] = value("attorney") or None
        number, source, reason = self.identity()
        typed = dict(name=value("name"), sex=self.query_one("#sex", Choice).value, nation=nation_code(value("nation")),
                     address=value("address"))
        if card is None:
            missing = [self.t(k) for k, v in (("f_number", number), ("f_name", typed["name"]),
                                              ("f_address", typed["address"]), ("f_photo", photo),
                                              ("f_reason", reason)) if not v]
            if missing:
                self.say(self.t("wf_missing", fields="、".join(missing) if self.t.lang == "zh" else ", ".join(missing)),
                         "-fault")
                return

        def job():
            if card is not None:
                person = person_from_card(card, config, photo)
            else:
                person = Person(number, typed["name"], typed["sex"], typed["nation"], typed["address"],
                                open_photo(photo), source="manual", source_reason=reason, photo_source="file")
            cards = TempCards(self.store(), config, self.clock())
            return cards.request(person, by=clerk, basis=basis, basis_ref=ref, agent=agent)

        self.run_job("request", job)

    def done_request(self, record: dict) -> None:
        self.receipt = self.reveal_ref = record["receipt"]
        self.stage = "approve"
        self.show_record(record)
        self.query_one("#tc-request").display = False
        self.query_one("#tc-approve").display = True
        self.query_one("#supervisor", Input).focus()
        self.say(self.t("tc_requested", receipt=record["receipt"], fee=record["fee_yuan"]), "-ok")
        self.result = WorkflowResult(receipt=self.receipt, message=self.t("tc_left_requested", receipt=self.receipt))

    def approve(self) -> None:
        from cabin.kiosk.business.accounts import Accounts
        from cabin.kiosk.business.tempcards import TempCards

        name = self.query_one("#supervisor", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not name or not password:
            if name:  # Enter after the name: on to the password
                self.query_one("#password", Input).focus()
            else:
                self.say(self.t("tc_need_supervisor"), "-fault")
            return
        receipt, config = self.receipt, self.config

        def job():
            supervisor = Accounts(self.store(), self.clock()).authenticate(name, password)
            return TempCards(self.store(), config, self.clock()).approve(receipt, by=supervisor)

        self.run_job("approve", job)

    def failed_approve(self, error: Exception) -> bool:
        # the wrong person (the requester, a clerk): another one signs; a refused sign-in: the password again
        sign_again(self, self.query_one("#supervisor", Input), self.query_one("#password", Input),
                   name_stands(error))
        return False

    def done_approve(self, record: dict) -> None:
        self.query_one("#password", Input).value = ""
        self.stage = "print"
        self.show_record(record)
        self.query_one("#tc-approve").display = False
        self.set_focus(None)
        self.say(self.t("tc_approved", supervisor=record["decided_by"]), "-ok")
        self.result = WorkflowResult(receipt=self.receipt, message=self.t("tc_left_approved", receipt=self.receipt))

    def print_card(self) -> None:
        from cabin.kiosk.business.tempcards import TempCards

        device = self.context.window.card_printer
        if device is None:
            self.say(self.t("tc_no_printer"), "-fault")
            return
        receipt, config, clerk, make = self.receipt, self.config, self.context.clerk, self.make_printer

        def job():
            cards = TempCards(self.store(), config, self.clock())
            with make(device.url, device.baud) as printer:
                return cards.print(receipt, printer, device.url, by=clerk)

        self.run_job("print", job, "tc_printing")

    def done_print(self, record: dict) -> None:
        self.stage = "printed"
        self.show_record(record)
        key = "tc_resumed" if record.get("resumed") else "tc_printed"
        self.say(self.t(key, receipt=record["receipt"], valid_to=record["valid_to"]), "-ok")
        self.result = WorkflowResult(recorded=True, receipt=self.receipt,
                                     message=self.t("tc_left_printed", receipt=self.receipt))

    def failed_print(self, error: Exception, again_key: str = "tc_fix_and_print") -> bool:
        """A device fault with what to do, and how to print again; a refusal as refusals are."""
        if isinstance(error, CabinError):
            return False
        self.say(self.explain(error) + "\n" + self.t(again_key), "-fault")
        return True

    # -- a supervisor's decisions: refuse the request, print a spoiled card again ----------------------------
    def _ask_supervisor(self, title: str, reason_label: str, then: Callable[[dict], None]) -> None:
        t = self.t
        fields = [("supervisor", t("f_supervisor"), False), ("password", t("f_password"), True),
                  ("why", reason_label, False)]
        self.app.push_screen(AskScreen(title, fields, t("tc_supervisor_signs")), lambda values: values and then(values))

    def _supervisor(self, values: dict):
        from cabin.kiosk.business.accounts import Accounts

        return Accounts(self.store(), self.clock()).authenticate(values["supervisor"].strip(), values["password"])

    def action_refuse(self) -> None:
        if self.stage != "approve" or self.busy:
            return
        self._ask_supervisor(self.t("tc_refuse_title", receipt=self.receipt), self.t("f_refuse_reason"), self._refuse)

    def _refuse(self, values: dict) -> None:
        from cabin.kiosk.business.tempcards import TempCards

        receipt, config = self.receipt, self.config
        self.run_job("refuse", lambda: TempCards(self.store(), config, self.clock()).refuse(
            receipt, by=self._supervisor(values), reason=values["why"]))

    def done_refuse(self, record: dict) -> None:
        self.stage = "refused"
        self.show_record(record)
        self.query_one("#tc-approve").display = False
        self.set_focus(None)
        self.say(self.t("tc_refused", receipt=record["receipt"], supervisor=record["decided_by"]), "-ok")
        self.result = WorkflowResult(receipt=self.receipt, message=self.t("receipt_refused", receipt=self.receipt))

    def action_reprint(self) -> None:
        if self.stage != "printed" or self.busy:
            return
        if self.context.window.card_printer is None:
            self.say(self.t("tc_no_printer"), "-fault")
            return
        self._ask_supervisor(self.t("tc_reprint_title", receipt=self.receipt), self.t("f_reprint_reason"),
                             self._reprint)

    def _reprint(self, values: dict) -> None:
        from cabin.kiosk.business.tempcards import TempCards

        device, receipt, config, make = self.context.window.card_printer, self.receipt, self.config, self.make_printer

        def job():
            supervisor = self._supervisor(values)
            cards = TempCards(self.store(), config, self.clock())
            with make(device.url, device.baud) as printer:
                return cards.print(receipt, printer, device.url, by=supervisor, reprint_reason=values["why"])

        self.run_job("reprint", job, "tc_printing")

    def done_reprint(self, record: dict) -> None:
        self.show_record(record)
        key = "tc_resumed" if record.get("resumed") else "tc_reprinted"
        self.say(self.t(key, receipt=record["receipt"], valid_to=record["valid_to"]), "-ok")

    def failed_reprint(self, error: Exception) -> bool:
        return self.failed_print(error, "tc_fix_and_reprint")

    # -- void ----------------------------------------------------------------------------------------------
    def action_void(self) -> None:
        if self.receipt is None or self.busy or self.stage not in ("approve", "print", "printed"):
            return
        t = self.t
        self.app.push_screen(AskScreen(t("tc_void_title", receipt=self.receipt), [("why", t("f_void_reason"), False)]),
                             self._void)

    def _void(self, values: dict | None) -> None:
        if not values:
            return
        from cabin.kiosk.business.tempcards import TempCards

        receipt, config, clerk, reason = self.receipt, self.config, self.context.clerk, values["why"]
        self.run_job("void", lambda: TempCards(self.store(), config, self.clock()).void(receipt, by=clerk,
                                                                                        reason=reason))

    def done_void(self, record: dict) -> None:
        self.stage = "voided"
        self.show_record(record)
        self.query_one("#tc-approve").display = False
        self.say(self.t("tc_voided", receipt=record["receipt"]), "-ok")
        self.result = WorkflowResult(receipt=self.receipt, message=self.t("tc_voided", receipt=self.receipt))

    # -- the record, masked ----------------------------------------------------------------------------------
    def show_record(self, r: dict) -> None:
        t = self.t
        self.record = r
        lines = [t("tc_line_card", receipt=r["receipt"], state=t(STATE_KEYS[r["state"]]), number=r["number"],
                   name=r["name"], sex=r["sex"], nation=r["nation"]),
                 t("tc_line_basis", basis=t(BASIS_KEYS[r["basis"]]) if r["basis"] else "-",
                   ref=r["basis_ref"] or "-", fee=r["fee_yuan"])]
        if r["agent_kind"]:
            lines.append(t("tc_line_agent", agent=t(AGENT_KEYS[r["agent_kind"]])))
        lines.append(t("tc_line_requested", clerk=r["requested_by"]))
        if r["decided_by"]:
            lines.append(t("tc_line_decided", supervisor=r["decided_by"]))
        if r["state"] == "refused":
            lines.append(t("tc_line_refused", reason=r["refused_reason"]))
        if r["cards_printed"]:
            lines.append(t("tc_line_printed", n=r["cards_printed"], valid_from=r["valid_from"],
                           valid_to=r["valid_to"]))
        if r["state"] == "voided":
            lines.append(t("tc_line_voided", clerk=r["voided_by"], reason=r["void_reason"]))
        summary = self.query_one("#tc-summary", Static)
        summary.update("\n".join(lines))
        summary.display = True
