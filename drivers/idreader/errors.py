"""The ID-card reader's errors, each in a clerk's words.

Every SW3 status byte of domain.md 7.1 maps to one typed error (`error_for`); the driver adds
the ones only it can tell: no card within the wait, the card taken away mid-read, a reader that
does not answer, and answers that arrive garbled or cut short. All are DeviceErrors, so a caller
that only wants "show the message" catches one type.
"""

from __future__ import annotations

from ..errors import DeviceFault, DeviceTimeout, ProtocolError


class ReaderError(DeviceFault):
    """The reader answered with a failure status. `code` is the SW3 byte (None: the driver's own)."""

    def __init__(self, kind: str, message: str, code: int | None = None):
        super().__init__(kind, message)
        self.code = code


class NoCard(ReaderError):
    """No card on the reader (SW3 0x80, or no card placed within the wait)."""


class CardSelectFailed(ReaderError):
    """The card was found but could not be selected (SW3 0x81)."""


class CardReadFailed(ReaderError):
    """The card was selected but its data could not be read (SW3 0x41, 0x47)."""


class CardRemoved(ReaderError):
    """A card was found, then select or read failed: it was lifted or moved during the read."""


class CardRejected(ReaderError):
    """The card failed the reader's authentication (SW3 0x31, 0x32, 0x33)."""


class UnknownCardType(ReaderError):
    """Not a card the reader (SW3 0x40) or Cabin (an unknown type flag) understands."""


class SamFailure(ReaderError):
    """The reader's security module (SAM) is broken or not authorised (SW3 0x60, 0x66)."""


class ReaderRefused(ReaderError):
    """The reader rejected the command itself (SW3 0x10, 0x11, 0x21, 0x23, 0x24, unknown codes)."""


class NoContent(ReaderError):
    """The card holds no such information (SW3 0x91), e.g. no new address written on it."""


class ReaderNotAnswering(DeviceTimeout):
    """Nothing came back from the reader within the timeout."""


class GarbledReply(ProtocolError):
    """A frame with a bad checksum or an impossible length. `reason` is "checksum" or "length"."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class TruncatedReply(ProtocolError):
    """A reply started (its header arrived) but stopped before its announced length."""


SUCCESS = {0x90, 0x9F}  # 0x9F is "card found", the success of the find command

# SW3 -> (error class, kind, message). The messages tell the clerk what to do next.
SW3 = {
    0x10: (ReaderRefused, "request_checksum",
           "the reader received a garbled command: try again; if it keeps happening, check the reader's cable"),
    0x11: (ReaderRefused, "request_length",
           "the reader received a command of the wrong length: try again; if it keeps happening, check the reader's cable"),
    0x21: (ReaderRefused, "bad_command",
           "the reader does not know this command: this reader model may not be supported, call IT"),
    0x23: (ReaderRefused, "unauthorised", "the reader refused the command as not authorised: call IT"),
    0x24: (ReaderRefused, "unknown_error",
           "the reader reported an unknown error: try again; if it keeps happening, switch the reader off and on"),
    0x31: (CardRejected, "card_auth_failed",
           "the card failed the reader's authenticity check: try once more; if it fails again the card may be"
           " damaged or not genuine, check it by eye and call a supervisor"),
    0x32: (CardRejected, "sam_auth_failed",
           "the reader and the card could not authenticate each other: lift the card, place it again and hold it"
           " still; if it fails again the card may be damaged"),
    0x33: (CardRejected, "validation_failed",
           "the card's data failed the reader's validation: try once more; if it fails again the card may be"
           " damaged or not genuine, call a supervisor"),
    0x40: (UnknownCardType, "unknown_card_type",
           "the reader does not recognise this card: check that it is an ID card or a residence/permanent"
           " residence card and place it flat on the reader"),
    0x41: (CardReadFailed, "read_failed", "the card could not be read: hold it still and try again"),
    0x47: (CardReadFailed, "random_failed",
           "the card did not answer the reader's challenge: lift the card, place it again and hold it still"),
    0x60: (SamFailure, "sam_selftest_failed", "the reader's security module failed its self-test: call IT"),
    0x66: (SamFailure, "sam_unauthorised", "the reader's security module is not authorised: call IT"),
    0x80: (NoCard, "no_card", "no card on the reader: place the card flat on the reader"),
    0x81: (CardSelectFailed, "select_failed",
           "the card could not be selected: keep it flat and still on the reader and try again"),
    0x91: (NoContent, "no_content", "the card holds no such information"),
}


def error_for(sw3: int) -> ReaderError | None:
    """The typed error for a status byte, or None when it means success."""
    if sw3 in SUCCESS:
        return None
    if sw3 in SW3:
        cls, kind, message = SW3[sw3]
        return cls(kind, message, sw3)
    return ReaderRefused(f"status_{sw3:02x}",
                         f"the reader answered with an unknown status (0x{sw3:02X}): try again; if it keeps"
                         " happening, call IT", sw3)
