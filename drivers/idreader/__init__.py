"""Second-generation ID-card reader (SAM protocol): codec, driver, simulator."""

from .driver import IdCardReader
from .errors import (CardReadFailed, CardRejected, CardRemoved, CardSelectFailed, GarbledReply, NoCard, NoContent,
                     ReaderError, ReaderNotAnswering, ReaderRefused, SamFailure, TruncatedReply, UnknownCardType)
from .record import CardType, IdCard
from .simulator import FAULTS, SimulatedReader, load_cards, sample_cards

__all__ = [
    "IdCardReader", "SimulatedReader", "FAULTS", "load_cards", "sample_cards", "CardType", "IdCard",
    "ReaderError", "NoCard", "CardRemoved", "CardSelectFailed", "CardReadFailed",
    "CardRejected", "UnknownCardType", "SamFailure", "ReaderRefused", "NoContent", "ReaderNotAnswering",
    "GarbledReply", "TruncatedReply",
]
