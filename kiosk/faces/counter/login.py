"""The counter's sign-in: a clerk or supervisor account, the password masked.

The check runs in a thread worker (scrypt takes a moment, and the audit entry waits for the
write lock); a refusal is shown as the accounts layer words it (a lockout says for how long),
in the face's language (kiosk/faces/refusals.py). The demo station lists its demo accounts and
passwords here. The screen asks the app to sign in (`SignIn`, a message up); the app sets the
refusal on it (`refusal`, an attribute down).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from cabin.kiosk.business.accounts import COUNTER_ROLES
from cabin.kiosk.faces.base import ROLE_KEYS, Refusal, sign_again
from cabin.kiosk.faces.counter.devices import DeviceBar, ShowsDevices
from cabin.kiosk.faces.widgets import TitleBar



class LoginScreen(ShowsDevices, Screen):
    BINDINGS = [
        Binding("escape", "clear", "clear", show=False),
    ]

    @dataclass
    class SignIn(Message):
        """The clerk asks to sign in (the app checks it in a worker)."""

        name: str
        password: str

    refusal: var[Refusal | None] = var(None, always_update=True, init=False)  # the same words again still clear

    def __init__(self, demo_accounts: tuple = (), devices: dict | None = None):
        super().__init__()
        self.demo_accounts = demo_accounts  # (name, role, password): the demo station's
        self.set_reactive(LoginScreen.devices, devices or {})

    def compose(self) -> ComposeResult:
        app = self.app
        t = app.strings
        yield TitleBar(app.station_name(), app.face_name())
        yield DeviceBar("", id="device-bar")  # the devices, always in sight
        with Vertical(id="login-box"):
            yield Label(t("ctr_login_title"), classes="section-title")
            yield Label(t("account"), classes="login-label")
            yield Input(id="login-name", placeholder=t("account"))
            yield Label(t("f_password"), classes="login-label")
            yield Input(id="login-password", password=True, placeholder=t("f_password"))
            yield Static("", id="login-message")
        if self.demo_accounts:
            lines = [t("ctr_login_demo")] + [t("ctr_login_demo_line", name=n, role=t(ROLE_KEYS[r]), password=p)
                                          for n, r, p in self.demo_accounts if r in COUNTER_ROLES]
            lines.append(t("ctr_demo_hint"))
            yield Static("\n".join(lines), id="login-demo")
        from cabin.kiosk.faces.counter.desk import KEY_SHOWN, KeyStrip

        with Vertical(classes="bottom-bar"):
            yield KeyStrip(((KEY_SHOWN["enter"], t("ctr_login_enter")), (KEY_SHOWN["escape"], t("ctr_login_clear")),
                            (KEY_SHOWN["ctrl+q"], t("key_quit"))))

    def on_mount(self) -> None:
        self.query_one("#login-name", Input).focus()
        self.watch_devices(self.devices)

    def intercept_key(self, event) -> bool:
        """Enter in the name field moves to the password at once, as the key arrives: the keys
        typed right after it (a fast typist, a script) then land in the password field."""
        name = self.query_one("#login-name", Input)
        if event.key == "enter" and self.focused is name:
            self.set_focus(self.query_one("#login-password", Input))
            return True
        return False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = self.query_one("#login-name", Input)
        password = self.query_one("#login-password", Input)
        if event.input is name:
            password.focus()
            return
        if not name.value.strip():
            name.focus()
            return
        self.show_message(self.app.strings("checking"), error=False)
        self.post_message(self.SignIn(name.value.strip(), password.value))

    def show_message(self, text: str, error: bool = True) -> None:
        message = self.query_one("#login-message", Static)
        message.update(text)
        message.set_class(error, "-error")

    def watch_refusal(self, refusal: Refusal | None) -> None:
        if refusal is not None:
            sign_again(self, self.query_one("#login-name", Input), self.query_one("#login-password", Input),
                       refusal.keep_name)
            self.show_message(refusal.text)

    def action_clear(self) -> None:
        for i in self.query(Input):
            i.value = ""
        self.query_one("#login-name", Input).focus()
        self.show_message("", error=False)
