"""Every word the faces show, in one catalog: Simplified Chinese first, English second.

A face asks `Strings(lang)("key", n=3)`; names that come from the station configuration
(categories, services, windows, priority classes) carry their own two languages and are asked
with `Strings.name(thing)`. Nothing shown to a citizen or a clerk is spelled anywhere else, so a
new language is one column here.
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

CATALOG: dict[str, tuple[str, str]] = {
    # -- shared ----------------------------------------------------------------------------
    "board_title": ("叫号屏", "Lobby board"),
    "dispenser_title": ("取号机", "Ticket dispenser"),
    "window_n": ("{n}号窗口", "Window {n}"),
    "window_short": ("{n}号", "W{n}"),
    "database_trouble": ("系统暂时忙，请稍候", "The system is busy, one moment please"),
    # -- lobby board -----------------------------------------------------------------------
    "now_serving": ("正在办理", "Now serving"),
    "window_ready": ("等候叫号", "Ready"),
    "window_calling": ("请到本窗口", "Please come here"),
    "window_serving": ("正在办理", "Being served"),
    "window_paused": ("暂停服务", "Paused"),
    "window_closed": ("未开放", "Closed"),
    "last_calls": ("最近叫号", "Last calls"),
    "no_calls_yet": ("尚未叫号", "No calls yet"),
    "next_numbers": ("请准备", "Next"),
    "nobody_waiting": ("暂无等候", "Nobody waiting"),
    "waiting_total": ("等候 {n} 人", "{n} waiting"),
    "call_line": ("请 {ticket} 号到 {window} 号窗口", "{ticket}, please go to window {window}"),
    "call_arrow": ("{ticket} → {window}号窗口", "{ticket} → window {window}"),
    "board_notice": ("请留意叫号；过号请到窗口咨询。本屏不显示任何个人信息。",
                     "Watch for your number; if you missed it, ask at a window. No personal data is shown here."),
    # -- ticket dispenser ------------------------------------------------------------------
    "welcome": ("欢迎！请选择要办理的业务", "Welcome! Choose what you came for"),
    "choose_services": ("{category}：请选择业务（可多选）", "{category}: choose your errands (more than one is fine)"),
    "basket_empty": ("尚未选择业务", "No errand chosen yet"),
    "basket": ("已选 {n} 项：{names}", "Chosen ({n}): {names}"),
    "basket_full": ("一张号最多办理 {n} 项业务", "One ticket holds at most {n} errands"),
    "chosen_mark": ("✓ 已选", "✓ chosen"),
    "take_ticket": ("取号", "Take ticket"),
    "back": ("返回", "Back"),
    "clear": ("清空", "Clear"),
    "priority_off": ("优先号：否", "Priority: no"),
    "priority_on": ("优先号：是", "Priority: yes"),
    "priority_hint": ("* 优先号：{name}", "* Priority ticket: {name}"),
    "keys_home": ("数字键选择类别　* 优先　回车取号", "Number: category   * priority   Enter: ticket"),
    "keys_services": ("数字键选择业务　0 返回　回车取号", "Number: errand   0: back   Enter: ticket"),
    "keys_ticket": ("按任意键或点“完成”返回", "Press any key or Done to finish"),
    "issuing": ("正在出号，请稍候…", "Issuing your ticket…"),
    "your_number": ("您的号码", "Your number"),
    "ahead": ("前面还有 {n} 人", "{n} ahead of you"),
    "ahead_none": ("前面没有人，请留意叫号", "Nobody ahead of you: watch for your number"),
    "wait": ("预计等候约 {m} 分钟", "Estimated wait: about {m} min"),
    "errands": ("办理业务：{names}", "Errands: {names}"),
    "printed": ("请取走号票", "Please take your ticket"),
    "not_printed": ("号票未能打印，但您的号码已登记。请记下号码，留意叫号屏。",
                    "The ticket could not be printed, but your number is registered. Please note it and watch the board."),
    "no_printer": ("请记下您的号码，留意叫号屏", "Please note your number and watch the board"),
    "issue_failed": ("暂时无法出号，请到窗口咨询", "No ticket can be issued just now: please ask at a window"),
    "done": ("完成", "Done"),
    "returning": ("{s} 秒后返回首页", "Back to the start in {s} s"),
    # -- counter app (kiosk/faces/counter*.py) ---------------------------------------------
    # -- workflows and supervisor (kiosk/faces/workflows/, kiosk/faces/supervisor*.py) --------
}


class Strings:
    """The catalog in one language."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE):
        if lang not in LANGUAGES:
            raise ValueError(f'unknown language "{lang}" (languages: {", ".join(LANGUAGES)})')
        self.lang = lang
        self._column = LANGUAGES.index(lang)

    def __call__(self, key: str, **values) -> str:
        text = CATALOG[key][self._column]
        return text.format(**values) if values else text

    def name(self, thing) -> str:
        """The name of a configured category, service, window or priority class."""
        return thing.name if self.lang == "zh" else thing.name_en
