"""The card printer driver against the simulator over a real pseudo-terminal (never a mock of
pyserial): queries, one printed card equal to the image sent, one test per fault kind showing the
clerk's message and that the card was not recorded as printed, and a retry after each fault
that prints exactly one card."""

from __future__ import annotations

import random

import pytest
from PIL import Image

from cabin.drivers.cardprinter import codec
from cabin.drivers.cardprinter.driver import (COUNTER_BACK, COUNTER_JUMP, INSIDE, NOTHING, OTHER_PRINTER, PANELS_OFF,
                                              PANELS_UNKNOWN, PRINTED, SERIAL_UNKNOWN, SPOILED, CardPrinter, JobInDoubt,
                                              Witness, what_came_out)
from cabin.drivers.cardprinter.panel import to_panel
from cabin.drivers.cardprinter.simulator import SimulatedCardPrinter
from cabin.drivers.errors import DeviceFault, DeviceTimeout
from cabin.drivers.simhost import PtyHost, Reply, TcpHost

from devicekit import face

STATUS = ["Rse", "Sk", "Rcr", "Rlr"]            # cover, feeder, ribbon, card position: no Rst
WITNESS = ["Rco", "Rco", "Rlr", "Rsn"]           # cards inserted, panels printed, position, serial
JOB = STATUS + WITNESS + ["Pem", "Pr", "Pmi", "Pc", "Ss", "Sr", "Dbc", "Se"] + WITNESS


@pytest.fixture
def rig(tmp_path):
    sim = SimulatedCardPrinter(out_dir=tmp_path / "cards")
    with PtyHost(sim) as host:
        printer = CardPrinter(host.path, timeout=0.5, print_timeout=1.0, poll=0.02)
        yield sim, printer
        printer.close()


def test_queries(rig):
    sim, printer = rig
    assert printer.status().ready and printer.status().words == ()
    assert printer.firmware() == "CABIN-SIM 1.0"
    assert printer.feeder_has_cards() is True
    assert printer.cards_inserted() == 0 and printer.panels_printed() == 0
    assert printer.card_position() == "OK" and printer.model() == "CABIN-SIM" and not printer.cleaning_needed()
    sim.inject("feeder_empty")
    sim.inject("cover_open")
    status = printer.status()
    assert status.words == ("COVER_OPEN", "FEEDER_EMPTY") and status.faults == ["cover_open", "feeder_empty"]
    assert printer.feeder_has_cards() is False


def test_one_card_printed_equals_the_image_sent(rig):
    sim, printer = rig
    image = face()
    result = printer.print_card(image, "T-0001")
    assert (result.job_id, result.counter, result.resumed) == ("T-0001", 1, False)
    assert list(sim.received) == JOB
    assert len(sim.printed) == 1 and sim.counter == 1 and sim.cards == 99
    card = sim.printed[0]
    assert card.panel == to_panel(image)
    assert to_panel(card.image) == card.panel
    with Image.open(card.path) as png:   # the PNG a human looks at
        assert png.size == (648, 1016)
        assert to_panel(png) == card.panel
    assert printer.unconfirmed is None


def test_the_same_job_id_is_never_printed_twice(rig):
    sim, printer = rig
    printer.print_card(face(), "T-0001")
    again = printer.print_card(face(), "T-0001")
    assert again.resumed and again.counter == 1 and len(sim.printed) == 1
    assert printer.print_card(face(), "T-0002").counter == 2 and len(sim.printed) == 2


# kind injected, where it strikes (None: before the job), the error expected, words of its message
FAULTS = [
    ("cover_open", None, "cover_open", "cover is open: close it"),
    ("cover_open", "Sr", "cover_open", "cover is open: close it"),
    ("feeder_empty", None, "feeder_empty", "load blank cards"),
    ("feeder_empty", "Pmi", "feeder_empty", "load blank cards"),
    ("ribbon_out", None, "ribbon_out", "fit a new black (K) ribbon"),
    ("ribbon_out", "Se", "ribbon_out", "fit a new black (K) ribbon"),
    ("jam_mid_job", None, "jam", "open the cover, remove the jammed card, close it and press Reprint"),
    ("power_cycle", "Se", "timeout", "will not be printed a second time"),
    ("power_cycle_eject", "Se", "timeout", "will not be printed a second time"),
    ("hopper_full", None, "hopper_full", "take the printed cards out"),
    ("hopper_full", "Se", "hopper_full", "take the printed cards out"),
    ("nack", None, "nack", "refused the command Pem;4 (parameter error)"),
    ("nack", "Dbc", "nack", "refused the command Dbc (parameter error)"),
    ("silence", None, "timeout", "Nothing was printed"),
    ("silence", "Dbc", "timeout", "will not be printed a second time"),
]


@pytest.mark.parametrize("kind,at,expected,words", FAULTS, ids=[f"{k}@{a or 'start'}" for k, a, *_ in FAULTS])
def test_fault_is_typed_nothing_is_printed_and_a_retry_prints_once(rig, kind, at, expected, words):
    sim, printer = rig
    sim.inject(kind, at)
    error = DeviceTimeout if expected == "timeout" else DeviceFault
    with pytest.raises(error) as caught:
        printer.print_card(face(), "T-0007")
    message = str(caught.value)
    assert words in message
    if error is DeviceFault:
        assert caught.value.kind == expected and "The card was not printed." in message
    else:
        assert "not answering" in message
    inserted = 1 if kind.startswith(("jam", "power")) else 0  # a card that left the feeder counts
    assert sim.printed == [] and sim.counter == inserted and sim.panels == 0   # no card came out ...
    if kind != "silence":
        assert printer.cards_inserted() == inserted and printer.panels_printed() == 0
    if at is None and kind not in ("jam_mid_job", "nack", "hopper_full"):  # (no query tells a full tray)
        assert "Pem" not in sim.received                      # ... and the job never started
    sim.clear(kind)                                          # the clerk fixes it; Reprint
    result = printer.print_card(face(), "T-0007")
    assert (result.counter, result.resumed) == (1 + inserted, False)
    assert printer.spoiled == (["T-0007"] if inserted else [])      # the card that left: spoiled, once
    assert len(sim.printed) == 1 and sim.printed[0].panel == to_panel(face())


def test_jam_leaves_the_printer_jammed_until_the_card_is_removed(rig):
    sim, printer = rig
    sim.inject("jam_mid_job")
    with pytest.raises(DeviceFault):
        printer.print_card(face(), "T-0008")
    assert printer.status().faults == ["jam"]
    with pytest.raises(DeviceFault) as again:        # Reprint before removing the card: same advice
        printer.print_card(face(), "T-0008")
    assert again.value.kind == "jam" and list(sim.received)[-1] == "Rlr"   # stopped at the status
    assert sim.cards == 99 and sim.printed == []     # the jammed card is spoiled: inserted, not printed
    assert (printer.cards_inserted(), printer.panels_printed(), printer.card_position()) == (1, 0, "CARD")
    sim.clear("jam_mid_job")
    printer.print_card(face(), "T-0008")
    assert len(sim.printed) == 1 and (sim.counter, sim.panels) == (2, 1)   # counted once, printed once


def test_confirmation_lost_after_the_card_came_out_is_not_printed_again(rig):
    sim, printer = rig
    sim.inject("silence", at="Se")                   # the card prints, its ACK never arrives
    with pytest.raises(DeviceTimeout) as caught:
        printer.print_card(face(), "T-0009")
    assert "will not be printed a second time" in str(caught.value)
    assert printer.unconfirmed == ("T-0009", Witness(0, 0, sim.serial))      # not recorded as printed by the driver
    assert sim.counter == 1 and len(sim.printed) == 1
    with pytest.raises(DeviceTimeout):               # still silent: Reprint sends nothing
        printer.print_card(face(), "T-0009")
    sim.clear("silence")
    result = printer.print_card(face(), "T-0009")
    assert result.resumed and result.counter == 1
    assert len(sim.printed) == 1                     # exactly one card
    assert printer.print_card(face(), "T-0010").counter == 2


def test_a_lost_confirmation_then_another_job(rig):
    sim, printer = rig
    sim.inject("silence", at="Se")
    with pytest.raises(DeviceTimeout):
        printer.print_card(face(), "T-0011")
    sim.clear()
    assert printer.print_card(face(), "T-0012").counter == 2
    assert printer.print_card(face(), "T-0011").resumed   # it had come out: recorded, not reprinted
    assert len(sim.printed) == 2


def test_unconfirmed_job_survives_a_restart_when_the_caller_keeps_it(tmp_path):
    sim = SimulatedCardPrinter(["silence@Se"])
    with PtyHost(sim) as host:
        with CardPrinter(host.path, timeout=0.5, print_timeout=0.5) as first:
            with pytest.raises(DeviceTimeout):
                first.print_card(face(), "T-0013")
            saved = first.unconfirmed
        sim.clear()
        with CardPrinter(host.path, timeout=0.5) as second:
            second.unconfirmed = saved
            assert second.print_card(face(), "T-0013").resumed
    assert len(sim.printed) == 1


class Asynchronous(SimulatedCardPrinter):
    """ACKs `Se` at once with the card still at the print position (`Rlr;p` CARD), and finishes
    it a few counter reads later, as a slower printer would; `outcome` "jam" leaves it stuck."""

    def __init__(self, outcome: str):
        super().__init__()
        self.outcome, self.due = outcome, 0

    def _do_Se(self, cmd):
        answer, _ = super()._do_Se(cmd)
        if answer == b"\x06":
            self.panels -= 1                 # not printed yet ...
            self.card_inside = "printing"    # ... and inside
            self.due = 3
        return answer, 0.0

    def _answer(self, cmd):
        if cmd.name == "Rco" and cmd.params == ("c",) and self.due:
            self.due -= 1
            if not self.due and self.outcome == "card":
                self.panels += 1
                self.card_inside = None
        return super()._answer(cmd)


@pytest.mark.parametrize("outcome", ["card", "jam"])
def test_waits_for_the_card_to_come_out(outcome):
    sim = Asynchronous(outcome)
    with PtyHost(sim) as host, CardPrinter(host.path, timeout=0.5, print_timeout=0.5, poll=0.01) as printer:
        if outcome == "card":
            assert printer.print_card(face(), "T-0017").counter == 1
            after = list(sim.received)[list(sim.received).index("Se") + 1:]
            assert after == WITNESS + STATUS + WITNESS + STATUS + WITNESS   # polled until out
        else:
            with pytest.raises(DeviceFault) as caught:
                printer.print_card(face(), "T-0017")
            assert caught.value.kind == "jam" and printer.unconfirmed == ("T-0017", Witness(0, 0, sim.serial))


class LateNack(SimulatedCardPrinter):
    """A NACK arrives just after the first query is sent: the late refusal of a command from a
    job whose process was killed (the host flushes before it asks, so it can come only after)."""

    late = True

    def receive(self, data):
        replies = super().receive(data)
        if self.late and data.startswith(b"\x1bR"):
            self.late = False
            return [Reply(b"\x15T")] + replies
        return replies


class RefusesQueries(SimulatedCardPrinter):
    """Not the printer we think it is: every query refused."""

    def receive(self, data):
        return [Reply(b"\x151")] if data.startswith(b"\x1bR") else super().receive(data)


def test_a_late_refusal_from_a_killed_job_is_not_taken_for_the_querys():
    sim = LateNack()
    with PtyHost(sim) as host, CardPrinter(host.path, timeout=0.5) as printer:
        assert printer.status().ready                    # the NACK before the answer is read past
        assert printer.print_card(face(), "T-0018").counter == 1
    assert len(sim.printed) == 1


def test_a_query_refused_and_nothing_else_is_the_querys_refusal():
    from cabin.drivers.errors import ProtocolError

    with PtyHost(RefusesQueries()) as host, CardPrinter(host.path, timeout=0.3) as printer:
        with pytest.raises(ProtocolError, match="refused the query"):
            printer.status()


class Noisy(SimulatedCardPrinter):
    """Line noise before every answer."""

    def receive(self, data):
        return [Reply(b"\x00\xfe\x13" + r.data, r.delay) for r in super().receive(data)]


class Babbling:
    """A device that answers anything with noise and never a whole answer."""

    def receive(self, data):
        rng = random.Random(len(data))
        return [Reply(bytes(rng.choice([0, 1, 2, 0x15, 0x16, 0x1B, 0xFF]) for _ in range(64)))]


def test_noise_before_the_answers_is_skipped():
    sim = Noisy()
    with PtyHost(sim) as host, CardPrinter(host.path, timeout=0.5) as printer:
        assert printer.print_card(face(), "T-0014").counter == 1
    assert len(sim.printed) == 1


def test_a_babbling_line_ends_in_a_timeout_not_a_hang():
    with PtyHost(Babbling()) as host, CardPrinter(host.path, timeout=0.2) as printer:
        with pytest.raises(DeviceTimeout):
            printer.status()
        with pytest.raises(DeviceTimeout):
            printer.print_card(face(), "T-0015")


def test_over_tcp_too():
    sim = SimulatedCardPrinter()
    with TcpHost(sim) as host, CardPrinter(host.path, timeout=0.5) as printer:
        assert printer.print_card(face(), "T-0016").counter == 1
    assert sim.printed[0].panel == to_panel(face())


def answers(sim, *requests: bytes) -> list[bytes]:
    return [reply.data for request in requests for reply in sim.receive(request)]


def test_simulator_speaks_the_command_set_byte_for_byte():
    from cabin.drivers.cardprinter import codec

    sim = SimulatedCardPrinter()
    panel = to_panel(face())
    assert answers(sim, codec.front(), codec.sequence_end(), b"\x1bXx\r", codec.set_ribbon("c")) == \
        [b"\x15" b"1", b"\x15" b"1", b"\x15" b"1", b"\x15" b"2"]          # no sequence; unknown; bad ribbon
    stream = b"".join([codec.set_ribbon(), codec.insert_card(), codec.set_contrast(10), codec.sequence_start(),
                       codec.front(), codec.download(panel), codec.sequence_end(), codec.cards_inserted(),
                       codec.command("Rst"), codec.feeder_status(), codec.firmware_version()])
    replies = [answers(sim, stream[i:i + 997]) for i in range(0, len(stream), 997)]
    assert sum(replies, []) == [b"\x06"] * 7 + [b"1\r", b"\x15" b"1", b"0\r", b"CABIN-SIM 1.0\r"]  # no Rst
    assert sim.printed[0].panel == panel
    assert answers(sim, codec.download_compressed(b"\x52" + bytes(82))) == [b"\x15" b"1"]  # sequence closed


def test_simulator_faults_by_name():
    assert SimulatedCardPrinter(["cover_open", "jam_mid_job@Se"]).status_words() == ["COVER_OPEN"]
    sim = SimulatedCardPrinter({"ribbon_out": None, "silence": "Se"}, ribbon=None)
    assert sim.status_words() == ["RIBBON_ENDED"]
    sim.clear()
    assert sim.status_words() == [] and sim.ribbon == 500
    assert SimulatedCardPrinter(ribbon=None).status_words() == ["NO_RIBBON"]
    with pytest.raises(ValueError, match="unknown card printer fault"):
        SimulatedCardPrinter(["paper_out"])


class Forgetful(SimulatedCardPrinter):
    """A printer without the cover sensor query."""

    def _answer(self, cmd):
        return (b"\x15" b"1", 0.0) if cmd.name == "Rse" else super()._answer(cmd)


def test_a_printer_refusing_a_query_is_a_protocol_error():
    from cabin.drivers.errors import ProtocolError

    with PtyHost(Forgetful()) as host, CardPrinter(host.path, timeout=0.5) as printer:
        assert printer.firmware() == "CABIN-SIM 1.0"
        with pytest.raises(ProtocolError, match="refused the query Rse;o"):
            printer.status()


class LateAck(SimulatedCardPrinter):
    """An earlier run's action answered late: one stray ACK before the first query's answer."""

    def __init__(self):
        super().__init__()
        self.stray = True

    def _answer(self, cmd):
        answer, delay = super()._answer(cmd)
        if self.stray:
            self.stray = False
            return codec.ack() + answer, delay
        return answer, delay


def test_a_late_ack_from_an_earlier_run_is_read_past():
    sim = LateAck()
    with PtyHost(sim) as host, CardPrinter(host.path, timeout=0.5) as printer:
        assert printer.cards_inserted() == 0
        assert printer.print_card(face(), "T-0100").counter == 1


# -- the serial number: which printer a counter belongs to -------------------------------------------
def test_the_serial_number_is_asked_with_rsn_and_given_at_construction():
    from cabin.drivers.cardprinter import codec

    sim = SimulatedCardPrinter(serial="EV-A123456", counter=57)
    assert answers(sim, codec.read_serial(), codec.cards_inserted(), codec.panels_printed(), b"\x1bRsn;x\r") == \
        [b"EV-A123456\r", b"57\r", b"57\r", b"\x15" b"2"]                          # Rsn takes no parameter
    made_up = {SimulatedCardPrinter().serial for _ in range(20)}          # one simulator, one printer
    assert len(made_up) == 20 and all(s.startswith("CABIN-SIM-") and len(s) == 18 for s in made_up)
    sim.serial = None                                                     # a printer without Rsn
    assert answers(sim, codec.read_serial()) == [b"\x15" b"1"]
    for bad in ["", " EV", "EV\r1", "序列号", "X" * 33]:
        with pytest.raises(ValueError, match="serial number"):
            SimulatedCardPrinter(serial=bad)
    with pytest.raises(ValueError, match="counter"):
        SimulatedCardPrinter(counter=-1)
    with PtyHost(SimulatedCardPrinter(serial="EV-A123456")) as host, CardPrinter(host.path, timeout=0.5) as printer:
        assert printer.serial_number() == "EV-A123456"


@pytest.mark.parametrize("before, now, panels, outcome", [
    (Witness(5, 9, "A"), Witness(6, 10, "A"), 1, PRINTED),
    (Witness(5, 9, "A"), Witness(6, 11, "A"), 2, PRINTED),          # duplex: two panels
    (Witness(5, 9, "A"), Witness(5, 9, "A"), 1, NOTHING),
    (Witness(5, 9, "A"), Witness(6, 9, "A"), 1, SPOILED),           # left the feeder, nothing printed, out
    (Witness(5, 9, "A"), Witness(6, 9, "A", "CARD"), 1, INSIDE),    # still at the print position
    (Witness(5, 9, "A"), Witness(6, 10, "A", "CARD"), 1, INSIDE),
    (Witness(5, 9, "A"), Witness(6, 10, "A"), 2, PANELS_OFF),       # one side of two
    (Witness(5, 9, "A"), Witness(6, 12, "A"), 2, COUNTER_JUMP),
    (Witness(5, 9, "A"), Witness(5, 10, "A"), 1, COUNTER_JUMP),     # a panel printed, no card inserted
    (Witness(5, 9, "A"), Witness(0, 0, "A"), 1, COUNTER_BACK),      # reset
    (Witness(5, 9, "A"), Witness(4, 9, "A"), 1, COUNTER_BACK),
    (Witness(5, 9, "A"), Witness(6, 8, "A"), 1, COUNTER_BACK),
    (Witness(5, 9, "A"), Witness(7, 11, "A"), 1, COUNTER_JUMP),     # other cards printed meanwhile
    (Witness(5, 9, "A"), Witness(5, 9, "B"), 1, OTHER_PRINTER),     # swapped: the counters look the same
    (Witness(5, 9, "A"), Witness(6, 10, "B"), 1, OTHER_PRINTER),    # swapped: they look as if it printed
    (Witness(5, 9, "A"), Witness(2, 2, "B"), 1, OTHER_PRINTER),
    (Witness(5, 9, None), Witness(6, 10, "A"), 1, SERIAL_UNKNOWN),
    (Witness(5, 9, "A"), Witness(6, 10, None), 1, SERIAL_UNKNOWN),
    (Witness(5, None, "A"), Witness(5, 9, "A"), 1, NOTHING),        # a job from before Rco;p was noted
    (Witness(5, None, "A"), Witness(6, 10, "A"), 1, PANELS_UNKNOWN),
])
def test_what_came_out(before, now, panels, outcome):
    assert what_came_out(before, now, panels) == outcome


def swapped(host: PtyHost, **kw) -> SimulatedCardPrinter:
    """Another printer on the same line (a spare swapped in, or this one restarted)."""
    host.device = SimulatedCardPrinter(**kw)
    return host.device


@pytest.mark.parametrize("spare", [dict(counter=3), dict(counter=4), dict(counter=0), dict(counter=9),
                                   dict(serial="SAME", counter=0)])
def test_a_lost_confirmation_then_another_printer_on_the_line_is_in_doubt(spare):
    """The driver's own memory: a card came out of the first printer, its ACK lost; another
    printer answers next (or the same one reset): whatever it counts, nothing is printed until a
    person looked and it is recorded."""
    sim = SimulatedCardPrinter(["silence@Se"], serial="SAME", counter=3)
    with PtyHost(sim) as host, CardPrinter(host.path, timeout=0.3, print_timeout=0.3) as printer:
        with pytest.raises(DeviceTimeout):
            printer.print_card(face(), "T-0200")
        assert sim.counter == 4                                    # it came out
        spare = swapped(host, **spare)
        with pytest.raises(JobInDoubt) as doubt:
            printer.print_card(face(), "T-0200")
        with pytest.raises(JobInDoubt):                             # another job waits too
            printer.print_card(face(), "T-0201")
        assert spare.printed == [] and "Pem" not in spare.received
        message = str(doubt.value)
        assert "T-0200" in message and "output tray" in message
        assert "cards inserted 3, panels printed 3, serial number SAME" in message
        assert f"cards inserted {spare.counter}, panels printed {spare.panels}, serial number {spare.serial}" in message
        printer.settle_unconfirmed(printed=True)                    # it was in the tray
        assert printer.print_card(face(), "T-0200").resumed         # never printed again
        assert printer.print_card(face(), "T-0201").counter == spare.counter
    assert len(spare.printed) == 1


def test_a_lost_confirmation_and_no_card_is_printed_again_once_a_person_says_so():
    sim = SimulatedCardPrinter(["silence@Dbc"], counter=3)
    with PtyHost(sim) as host, CardPrinter(host.path, timeout=0.3, print_timeout=0.3) as printer:
        with pytest.raises(DeviceTimeout):
            printer.print_card(face(), "T-0202")
        spare = swapped(host, counter=3)                           # another printer at the same count
        with pytest.raises(JobInDoubt, match="another printer"):
            printer.print_card(face(), "T-0202")
        printer.settle_unconfirmed(printed=False)                   # the tray was empty
        assert printer.print_card(face(), "T-0202").counter == 4
    assert sim.printed == [] and len(spare.printed) == 1


def test_a_printer_that_does_not_tell_its_serial_number_prints_nothing():
    from cabin.drivers.errors import ProtocolError

    sim = SimulatedCardPrinter()
    sim.serial = None
    with PtyHost(sim) as host, CardPrinter(host.path, timeout=0.3) as printer:
        with pytest.raises(ProtocolError, match="refused the query Rsn.*nothing was printed"):
            printer.print_card(face(), "T-0203")
    assert "Pem" not in sim.received and sim.printed == []
