"""Who may have a temporary resident ID card here, and for how long (domain.md section 3).

Pure functions, no database: tempcards.py gathers the facts (the person's ID check, their open
main-card application, the agent who came) and asks these rules, which answer with a
CabinError whose sentence the clerk can read out.

- Only a citizen whose main card is pending (an application here, or the household register or
  the pending-card receipt shown as proof) and who needs a card now (Art 2).
- Under 16: the guardian applies (Art 9); the guardian is an adult. A proxy for an adult needs a
  power of attorney and their own ID card. The applicant is never their own guardian or proxy.
- At the household-registration place's station (Art 9-10): a cross-region resident only when
  the station's policy allows it (`temporary_card.cross_region`) AND the home police approved
  the main card (an application here in the state approved or received).
- Valid three months from the issue date (Art 7): from the issue date to the same date three
  months on (the last day of that month when it has no such date), both days included.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from cabin.queue.errors import CabinError

from cabin.kiosk.business.cardrules import age_on

BASES = ("application", "household_register", "pending_receipt")
AGENTS = ("guardian", "proxy")
GUARDIAN_BELOW = 16   # Art 9: under 16, the guardian applies
ADULT = 18
APPROVED_AT_HOME = ("approved", "received")   # main-card states that mean the home police approved
PENDING = ("accepted", "approved", "received")


@dataclass(frozen=True)
class Agent:
    kind: str                  # guardian / proxy
    number: str = field(repr=False)   # their ID number, checked (reprs end up in logs: not shown)
    birth: date = field(repr=False)
    name: str = field(repr=False)
    document: str | None = None  # a proxy's power of attorney


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def validity(issued: date, months: int) -> tuple[date, date]:
    return issued, add_months(issued, months)


def check_basis(basis: str, application_state: str | None, proof_ref: str | None) -> None:
    """The main card must be pending: an application here, or a document that shows it."""
    if basis not in BASES:
        raise CabinError('unknown basis "{basis}" ({bases})', basis=basis, bases=", ".join(BASES))
    if basis == "application":
        if application_state is None:
            raise CabinError("there is no main-card application for this person here: a temporary card is"
                             " only for a citizen whose main card is being made (show the household register"
                             " or the pending-card receipt, or accept the application first)")
        if application_state not in PENDING:
            raise CabinError("the main-card application is {state}, not pending: a temporary"
                             " card is only for a citizen whose main card is being made", state=application_state)
    elif not proof_ref:
        raise CabinError("name the document shown (its number or reference): the household register or the"
                         " pending-card receipt proves that the main card is pending")


def check_region(cross_region: bool, allowed: bool, application_state: str | None, cross_application: bool) -> None:
    if not cross_region:
        return
    if not allowed:
        raise CabinError("a cross-region resident gets a temporary card at the station of their household"
                         " registration; this station's policy does not issue them ([temporary_card]"
                         " cross_region = false)")
    if not (cross_application and application_state in APPROVED_AT_HOME):
        raise CabinError("a cross-region resident gets a temporary card here only once the home police have"
                         " approved the main-card application made here; it is not approved yet")


def check_agent(birth: date, today: date, number: str, agent: Agent | None) -> None:
    age = age_on(birth, today)
    if age < GUARDIAN_BELOW:
        if agent is None or agent.kind != "guardian":
            raise CabinError("the applicant is {age}: under {below} the guardian applies (Art 9);"
                             " give the guardian's ID number and name", age=age, below=GUARDIAN_BELOW)
    elif agent is not None and agent.kind == "guardian":
        raise CabinError("the applicant is {age}: a guardian applies only for a child under {below};"
                         " an adult applies in person or through a proxy with a power of attorney",
                         age=age, below=GUARDIAN_BELOW)
    if agent is None:
        return
    if agent.kind not in AGENTS:
        raise CabinError('unknown agent "{kind}" (guardian or proxy)', kind=agent.kind)
    if agent.number == number:
        raise CabinError("the {kind} cannot be the applicant", kind=agent.kind)
    if age_on(agent.birth, today) < ADULT:
        raise CabinError("the {kind} must be an adult ({adult} or over)", kind=agent.kind, adult=ADULT)
    if agent.kind == "proxy" and not agent.document:
        raise CabinError("a proxy needs a power of attorney: give its reference")
