"""`cabin tempcard ...`: temporary resident ID cards, a thin face over cabin.kiosk.business.tempcards.

The identity comes from the window's card reader (`--read-card`) or is typed with a reason;
the photo from the reader through the configured decoder, or from `--photo FILE`. Printing goes
to the window's card printer (`--window N`) or to `--printer URL`.
"""

from __future__ import annotations

from cabin.drivers.errors import DeviceError
from cabin.drivers.idreader.record import NATIONS
from cabin.queue.errors import CabinError

from cabin.kiosk.business.tempcards import Person, TempCards, open_photo, person_from_card
from cabin.kiosk.cli import options
from cabin.kiosk.cli.accounts import signed_in
from cabin.kiosk.cli.app import EXIT_DEVICE, EXIT_OK, emit
from cabin.kiosk.cli.args import baud as baud_rate, path, seconds, window_number

STATES = ("requested", "approved", "refused", "printed", "voided")
_SEX = {"1": "1", "2": "2", "m": "1", "f": "2", "男": "1", "女": "2", "male": "1", "female": "2"}


class DeviceFailed(CabinError):
    """Nothing was done because a device failed: exit 4, with what to do next."""

    exit_code = EXIT_DEVICE


def _service(ctx) -> TempCards:
    config = ctx.config
    return TempCards(ctx.store(), config, ctx.clock)


def _text(r: dict) -> str:
    line = (f"{r['receipt']}  {r['number']}  {r['name']}  {r['state']}  fee {r['fee_yuan']} yuan"
            f"  basis: {r['basis']} {r['basis_ref']}")
    if r["agent_kind"]:
        line += f"  through the {r['agent_kind']}"
    if r["decided_by"]:
        line += f"\n  {'refused' if r['state'] == 'refused' else 'approved'} by {r['decided_by']}"
        if r["refused_reason"]:
            line += f": {r['refused_reason']}"
    if r["cards_printed"]:
        line += (f"\n  printed ({r['cards_printed']} card{'s' if r['cards_printed'] > 1 else ''}) by {r['printed_by']},"
                 f" valid {r['valid_from']} to {r['valid_to']}{' (expired)' if r['expired'] else ''}")
    if r.get("resumed"):
        line += "\n  the card had come out on the earlier attempt: recorded, not printed again"
    if r["state"] == "voided":
        line += f"\n  voided by {r['voided_by']}: {r['void_reason']}"
    return line


def _device(ctx, kind: str):
    """(url, baud) of the reader or card printer: --reader/--printer, or the window's."""
    a = ctx.args
    url = getattr(a, kind)
    if url:
        return url, a.baud
    if a.window is None:
        raise CabinError(f"name the {kind}: --{kind} URL, or --window N for the window's {kind}")
    window = ctx.config.windows.get(a.window)
    if window is None:
        raise CabinError(f"there is no window {a.window}")
    device = window.reader if kind == "reader" else window.card_printer
    if device is None:
        raise CabinError(f"window {a.window} has no {'card reader' if kind == 'reader' else 'card printer'} configured")
    return device.url, device.baud


def _person(ctx) -> Person:
    a = ctx.args
    if a.read_card:
        if a.number or a.name or a.address:
            raise CabinError("--read-card takes everything from the card: leave out --number, --name and --address")
        from cabin.drivers.idreader import IdCardReader

        url, baud = _device(ctx, "reader")
        try:
            with IdCardReader(url, baudrate=baud) as reader:
                card = reader.read_card(timeout=a.timeout)
        except DeviceError as exc:
            raise DeviceFailed(f"the card was not read: {exc}") from None
        return person_from_card(card, ctx.config, a.photo)
    missing = [o for o, v in (("--number", a.number), ("--name", a.name), ("--sex", a.sex), ("--nation", a.nation),
                              ("--address", a.address), ("--photo", a.photo), ("--reason", a.reason)) if not v]
    if missing:
        raise CabinError(f"typed by hand, the request needs {', '.join(missing)} (or --read-card to read the card)")
    sex = _SEX.get(a.sex.strip().lower())
    if sex is None:
        raise CabinError(f"--sex: {a.sex!r} is not 男/女 (M/F, 1/2)")
    nation = a.nation.strip().removesuffix("族")
    code = nation if nation in NATIONS else next((c for c, n in NATIONS.items() if n == nation), None)
    if code is None:
        raise CabinError(f"--nation: {a.nation!r} is not an ethnic group (a name such as 汉 or a code 01 to 56)")
    return Person(a.number, a.name, sex, code, a.address, open_photo(a.photo), source="manual",
                  source_reason=a.reason, photo_source="file")


def _agent(a) -> dict | None:
    if a.guardian and a.proxy:
        raise CabinError("a guardian or a proxy, not both")
    if a.guardian:
        return {"kind": "guardian", "number": a.guardian, "name": a.guardian_name}
    if a.proxy:
        return {"kind": "proxy", "number": a.proxy, "name": a.proxy_name, "document": a.attorney}
    return None


def cmd_request(ctx) -> int:
    a = ctx.args
    svc = _service(ctx)
    basis, ref = (None, None)
    if a.application:
        basis, ref = "application", a.application
    elif a.proof:
        basis, ref = a.proof, a.proof_ref
    clerk = signed_in(ctx)  # signed in before the card is read: a wrong password reads nothing
    r = svc.request(_person(ctx), by=clerk, basis=basis, basis_ref=ref, agent=_agent(a))
    emit(a, r, _text)
    return EXIT_OK


def cmd_approve(ctx) -> int:
    emit(ctx.args, _service(ctx).approve(ctx.args.receipt, by=signed_in(ctx)), _text)
    return EXIT_OK


def cmd_refuse(ctx) -> int:
    a = ctx.args
    emit(a, _service(ctx).refuse(a.receipt, by=signed_in(ctx), reason=a.reason), _text)
    return EXIT_OK


def _print(ctx, reprint_reason: str | None) -> int:
    from cabin.drivers.cardprinter import CardPrinter

    a = ctx.args
    svc = _service(ctx)
    clerk = signed_in(ctx)
    svc.show(a.receipt)  # "no such card" before the printer is touched, not "the printer failed"
    url, baud = _device(ctx, "printer")
    try:
        with CardPrinter(url, baudrate=baud, print_timeout=a.timeout) as printer:
            r = svc.print(a.receipt, printer, url, by=clerk, reprint_reason=reprint_reason)
    except DeviceError as exc:
        raise DeviceFailed(f"{a.receipt}: the card printer failed: {exc}. Fix the printer and run `cabin tempcard"
                           f" print {a.receipt}` again: a card that did come out is recorded then, never printed"
                           " twice") from None
    emit(a, r, _text)
    return EXIT_OK


def cmd_print(ctx) -> int:
    return _print(ctx, None)


def cmd_reprint(ctx) -> int:
    return _print(ctx, ctx.args.reason)


def cmd_settle(ctx) -> int:
    a = ctx.args
    r = _service(ctx).settle_by_hand(a.receipt, printed=a.printed, by=signed_in(ctx), reason=a.reason)
    emit(a, r, _text)
    return EXIT_OK


def cmd_void(ctx) -> int:
    a = ctx.args
    emit(a, _service(ctx).void(a.receipt, by=signed_in(ctx), reason=a.reason), _text)
    return EXIT_OK


def cmd_show(ctx) -> int:
    emit(ctx.args, _service(ctx).show(ctx.args.receipt), _text)
    return EXIT_OK


def cmd_list(ctx) -> int:
    rows = _service(ctx).list(ctx.args.state)
    emit(ctx.args, {"temp_cards": rows}, lambda r: "\n".join(map(_text, r["temp_cards"])) or "none")
    return EXIT_OK


def declare(commands) -> None:
    tc = commands.group("tempcard")

    def acting(p):
        options.acting(p, "ACCOUNT")

    def device(p, kind: str, default_baud: int = 115200):
        p.add_argument(f"--{kind}", metavar="URL", help=f"the {kind}'s pyserial URL (default: the window's)")
        p.add_argument("--window", type=window_number, metavar="N", help=f"use window N's configured {kind}")
        p.add_argument("--baud", type=baud_rate, default=default_baud, metavar="B")

    p = commands.command("request", cmd_request, "take a temporary-card request: eligibility, photo, fee", tc)
    acting(p)
    p.add_argument("--read-card", action="store_true", help="take the identity and photo from the card on the reader")
    device(p, "reader")
    p.add_argument("--timeout", type=seconds, default=10.0, metavar="S", help="seconds to wait for a card")
    p.add_argument("--number", metavar="ID", help="typed by hand: the ID number")
    p.add_argument("--name", metavar="NAME")
    p.add_argument("--sex", metavar="男|女")
    p.add_argument("--nation", metavar="ETHNICITY", help="汉, 回, ... or the GB 3304 code")
    p.add_argument("--address", metavar="TEXT", help="the registered address, as the household register writes it")
    p.add_argument("--reason", metavar="TEXT", help="why the identity was typed by hand")
    p.add_argument("--photo", type=path, metavar="FILE", help="the photo as an image file (instead of the reader's)")
    basis = p.add_mutually_exclusive_group()
    basis.add_argument("--application", metavar="RECEIPT", help="the pending main-card application (default: found by number)")
    basis.add_argument("--proof", choices=["household_register", "pending_receipt"],
                       help="the document shown that the main card is pending")
    p.add_argument("--proof-ref", metavar="REF", help="the document's number or reference")
    p.add_argument("--guardian", metavar="ID", help="under 16: the guardian's ID number")
    p.add_argument("--guardian-name", metavar="NAME")
    p.add_argument("--proxy", metavar="ID", help="a proxy's ID number")
    p.add_argument("--proxy-name", metavar="NAME")
    p.add_argument("--attorney", metavar="REF", help="the proxy's power of attorney")

    for name, func, help in [("approve", cmd_approve, "approve a request (a supervisor, not the one who took it)"),
                             ("refuse", cmd_refuse, "refuse a request, with the reason (a supervisor)"),
                             ("print", cmd_print, "print the approved card; after a fault, print again"),
                             ("reprint", cmd_reprint, "print one more card of a printed one, with the reason (a supervisor)"),
                             ("void", cmd_void, "void a card or a request, with the reason")]:
        p = commands.command(name, func, help, tc)
        p.add_argument("receipt", metavar="RECEIPT")
        acting(p)
        if name in ("print", "reprint"):
            device(p, "printer")
            p.add_argument("--timeout", type=seconds, default=60.0, metavar="S",
                           help="seconds to wait for the card to come out (default 60)")
        if name in ("refuse", "reprint", "void"):
            p.add_argument("--reason", required=True, metavar="TEXT")
    p = commands.command("settle", cmd_settle, "record by hand what came out of a print the printer cannot tell about"
                " (a supervisor, after looking)", tc)
    p.add_argument("receipt", metavar="RECEIPT")
    outcome = p.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--printed", dest="printed", action="store_true", help="the card came out")
    outcome.add_argument("--not-printed", dest="printed", action="store_false", help="no card came out")
    p.add_argument("--reason", required=True, metavar="TEXT")
    acting(p)
    commands.command("show", cmd_show, "one temporary card (masked)", tc).add_argument("receipt", metavar="RECEIPT")
    commands.command("list", cmd_list, "temporary cards (masked)", tc).add_argument("--state", choices=STATES)
