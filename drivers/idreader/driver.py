"""The ID-card reader on a serial link: SAM checks and the find -> select -> read cycle.

One request, one reply: each transaction gets a fresh parser, so noise left from an earlier
exchange can never be taken for this one's answer (the link also drops unread input first).
A garbled answer (checksum, length) or one cut short is a ProtocolError; the whole card cycle is
tried again `retries` times before it is reported, because a line glitch is cheap to retry and
reading a card has no side effect. Silence is not retried: a reader that does not answer one
request will not answer the next, and the clerk should know at once.
"""

from __future__ import annotations

import threading
import time

from ..errors import DeviceTimeout, ProtocolError
from ..link import Link
from . import codec
from .codec import Reply, ReplyParser
from .decode import decode_base_info, decode_new_address, decode_sam_id
from .errors import (CardReadFailed, CardRemoved, CardSelectFailed, NoCard, NoContent, ReaderNotAnswering,
                     TruncatedReply)
from .record import IdCard

NAME = "ID-card reader"


class IdCardReader:
    def __init__(self, url: str, *, baudrate: int = 115200, poll: float = 0.2, timeout: float = 2.0,
                 retries: int = 1):
        """`poll`: seconds between two "find card" while waiting for a card; `timeout`: seconds to
        wait for one reply (a real reader needs up to about a second to read a card)."""
        self.url, self.poll, self.timeout, self.retries = url, poll, timeout, retries
        self.link = Link(url, baudrate=baudrate, name=NAME)
        self._cycle = threading.Lock()  # the link serialises requests; this keeps a find->select->read whole

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> "IdCardReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- one transaction --------------------------------------------------------------------
    def transact(self, request: bytes, what: str = "answer") -> Reply:
        """Send one request and return its reply, whatever its status."""
        parser = ReplyParser()
        try:
            item = self.link.transact(request, parser, self.timeout, what)
        except DeviceTimeout:
            if parser.partial:
                raise TruncatedReply(f"the {NAME}'s {what} was cut short: try again; if it keeps"
                                     " happening, check the cable") from None
            raise ReaderNotAnswering(f"the {NAME} at {self.url} is not answering (no {what} within"
                                     f" {self.timeout:g} s): check that it is plugged in and switched on") from None
        if isinstance(item, ProtocolError):
            raise item
        return item

    def command(self, request: bytes, what: str = "answer") -> Reply:
        """Send one request; return its reply on success, raise the status's typed error otherwise."""
        return self.transact(request, what).check()

    # -- the security module ----------------------------------------------------------------
    def reset_sam(self) -> None:
        self.command(codec.RESET_SAM, "answer to a reset")

    def sam_status(self) -> None:
        """Return when the security module reports itself ready; raise SamFailure etc. if not."""
        self.command(codec.SAM_STATUS, "status")

    def sam_id(self) -> str:
        """The security module's ID, e.g. `05.01-20110511-0123456789-1234567890`."""
        return decode_sam_id(self.command(codec.READ_SAM_ID, "security module ID").data)

    # -- the card -----------------------------------------------------------------------------
    def find_card(self) -> bool:
        reply = self.transact(codec.FIND_CARD, "answer to find card")
        if reply.sw3 == 0x80:
            return False
        reply.check()
        return True

    def select_card(self) -> bytes:
        """Select the card found; returns its 8-byte serial as the reader reports it."""
        return self.command(codec.SELECT_CARD, "answer to select card").data

    def read_base_info(self, *, fingerprint: bool = False) -> IdCard:
        request = codec.READ_FINGERPRINT if fingerprint else codec.READ_BASE
        reply = self.command(request, "card data")
        return decode_base_info(reply.data, fingerprint=fingerprint)

    def read_new_address(self) -> str | None:
        """The address written on the card after issue, or None when there is none."""
        try:
            reply = self.command(codec.READ_NEW_ADDRESS, "new address")
        except NoContent:
            return None
        return decode_new_address(reply.data) or None

    def wait_for_card(self, timeout: float) -> None:
        """Poll "find card" every `poll` seconds until a card is there; NoCard after `timeout`."""
        self._wait_until(time.monotonic() + timeout, timeout)

    def _wait_until(self, deadline: float, timeout: float) -> None:
        while not self.find_card():
            left = deadline - time.monotonic()
            if left <= 0:
                raise NoCard("no_card", f"no card was placed on the reader within {timeout:g} s:"
                                        " place the card flat on the reader and try again")
            time.sleep(min(self.poll, left))

    def read_card(self, timeout: float = 10.0, *, fingerprint: bool = False) -> IdCard:
        """Wait up to `timeout` seconds for a card, then select and read it."""
        with self._cycle:
            return self._read_card(time.monotonic() + timeout, timeout, fingerprint)

    def _read_card(self, deadline: float, timeout: float, fingerprint: bool) -> IdCard:
        for attempt in range(self.retries + 1):
            try:
                self._wait_until(deadline, timeout)
                try:
                    self.select_card()
                    return self.read_base_info(fingerprint=fingerprint)
                except (NoCard, CardSelectFailed, CardReadFailed) as exc:
                    # it was there a moment ago: the citizen lifted or slid it
                    raise CardRemoved("card_removed", "the card was moved or lifted before it was read:"
                                                      " place it flat on the reader and hold it still until"
                                                      " the read finishes", exc.code) from exc
            except ProtocolError:
                if attempt == self.retries:
                    raise
        raise AssertionError("unreachable")
