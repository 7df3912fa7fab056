"""The rules of a main ID-card application (居民身份证法, domain.md section 2 and 4), pure.

No storage, no I/O: the application records of the counter's business call these, and the
tests check them one by one. Fees and deadlines are policy and come from the config
(`[id_card]`); the defaults are domain.md's.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import Enum

from cabin.config import IdCardPolicy as Policy
from cabin.queue.errors import CabinError, Said


class Kind(str, Enum):
    FIRST = "first"              # 首次申领
    RENEWAL = "renewal"          # 换领: the card expires (or is about to)
    REPLACEMENT = "replacement"  # 补领: the card was lost or damaged


class State(str, Enum):
    ACCEPTED = "accepted"        # this station took the application
    APPROVED = "approved"        # the home county police approved it (cross-region only)
    RECEIVED = "received"        # the made card arrived at this station
    COLLECTED = "collected"      # the citizen took it, with the receipt
    REFUSED = "refused"          # with a reason


# Local applications skip the home police's approval; cross-region ones go through it.
_NEXT = {
    (State.ACCEPTED, True): {State.APPROVED, State.REFUSED},
    (State.ACCEPTED, False): {State.RECEIVED, State.REFUSED},
    (State.APPROVED, True): {State.RECEIVED, State.REFUSED},
    (State.RECEIVED, True): {State.COLLECTED},
    (State.RECEIVED, False): {State.COLLECTED},
}
OPEN = (State.ACCEPTED, State.APPROVED, State.RECEIVED)


def age_on(birth: date, day: date) -> int:
    years = day.year - birth.year
    return years - ((day.month, day.day) < (birth.month, birth.day))


def validity_years(birth: date, applied: date) -> int | None:
    """Years the new card is valid, by age at application (Art 5); None: long-term (长期)."""
    age = age_on(birth, applied)
    if age < 0:
        raise CabinError("the birth date is after the application date")
    if age < 16:
        return 5
    if age <= 25:
        return 10
    if age <= 45:
        return 20
    return None


def fee(kind: Kind, policy: Policy) -> int:
    return {Kind.FIRST: policy.fee_first, Kind.RENEWAL: policy.fee_renewal,
            Kind.REPLACEMENT: policy.fee_replacement}[kind]


def deadline(accepted: date, cross_province: bool, policy: Policy) -> date:
    """When the card must be ready: 60 calendar days across provinces, 20 working days
    (Monday to Friday; public holidays are not in the config yet) within the province."""
    if cross_province:
        return accepted + timedelta(days=policy.deadline_days_cross_province)
    day, left = accepted, policy.deadline_working_days_in_province
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def check_allowed(kind: Kind, cross_province: bool, policy: Policy) -> None:
    if kind is Kind.FIRST and cross_province and not policy.cross_province_first_application:
        raise CabinError("a first application from another province is not accepted here (policy)")


def advance(state: State, to: State, cross_region: bool, reason: str | None = None) -> None:
    """Refuse a transition the flow does not have, in words a clerk understands."""
    if to is State.REFUSED and not (reason or "").strip():
        raise CabinError("a refusal needs a reason")
    allowed = _NEXT.get((state, cross_region), set())
    if to in allowed:
        return
    if not allowed:
        raise CabinError("an application that is {state} can go to nothing (it is closed), not {to}",
                         state=state.value, to=to.value)
    raise CabinError("an application that is {state} can go to {steps}, not {to}",
                     state=state.value, steps=_either(sorted(s.value for s in allowed)), to=to.value)


def _either(states: list[str]) -> str:
    """The states as 'a', 'a or b', 'a or b or c', each a word the faces say in their language."""
    if len(states) == 1:
        return states[0]
    return Said("{first} or {second}", first=states[0], second=_either(states[1:]))


def is_overdue(state: State, due: date, today: date) -> bool:
    return state in (State.ACCEPTED, State.APPROVED) and today > due
