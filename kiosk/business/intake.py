"""Exit-entry and traffic intake at the counter: the checklist and fee from the catalogue, a
record with a receipt number, and the errand completed on the ticket — in one transaction.

The clerk takes in the errand being served at their window: the documents of the service's
checklist were all presented (`documents_checked`), the fee is the service's (or one of its
options; a traffic fine is typed in, as assessed), the citizen's ID number comes from the card
reader or is typed with a reason. The record, its audit entry and the completion of the errand
(with the ticket's one-stop continuation) are one write: a refusal leaves all three undone.
"""

from __future__ import annotations

import json
from datetime import date

from cabin.config import StationConfig
from cabin.queue.engine import Station
from cabin.queue.errors import CabinError, Said

from cabin.kiosk import identity
from cabin.kiosk.business import audit
from cabin.kiosk.privacy import mask_id
from cabin.kiosk.business.accounts import COUNTER_ROLES, Account, check_actor
from cabin.kiosk.checks import check_source
from cabin.kiosk.business.receipts import next_receipt



def checklist(config: StationConfig, service: str) -> dict:
    s = config.services.get(service)
    if s is None:
        raise CabinError('unknown service "{service}"', service=service)
    return {"service": s.code, "name": s.name, "name_en": s.name_en, "documents": list(s.documents),
            "fees": {option or "fee": yuan for option, yuan in s.fees}, "assessed": not s.fees}


def fee_for(config: StationConfig, service: str, option: str | None, fine: int | None) -> tuple[str | None, int | None]:
    """(option, yuan) due for the service, or CabinError saying what the clerk must give."""
    fees = dict(config.services[service].fees)
    if not fees:
        if fine is None:
            raise CabinError("{service} has no fixed fee: give the assessed amount with --fine YUAN", service=service)
        most = config.services[service].max_fine
        if not 1 <= fine <= most:
            raise CabinError("the fine must be from 1 to {most} yuan ({service}), not {fine}: check the amount",
                             most=most, service=service, fine=fine)
        return None, fine
    if fine is not None:
        raise CabinError("{service} has a fixed fee: --fine is only for assessed fines", service=service)
    if list(fees) == [""]:
        if option:
            raise CabinError("{service} has one fee ({yuan} yuan): no --fee-option", service=service, yuan=fees[""])
        return None, fees[""]
    if option not in fees:
        raise CabinError("{service} needs a fee option: {options}", service=service, options=_options(fees))
    return option, fees[option]


def _options(fees: dict[str, int]) -> Said:
    """"single (15 yuan), double (30 yuan)": each option a Said, and the list one too (each pair of
    neighbours a Said), so a face says the whole list in its language."""
    said = [Said("{option} ({yuan} yuan)", option=option, yuan=yuan) for option, yuan in fees.items()]
    listed = said[-1]
    for one in reversed(said[:-1]):
        listed = Said("{first}, {rest}", first=one, rest=listed)
    return listed


class Intake:
    def __init__(self, station: Station, config: StationConfig):
        self.station, self.config = station, config

    def record(self, window: int, *, by: Account, number: str, source: str = "reader", reason: str | None = None,
               fee_option: str | None = None, fine: int | None = None, documents_checked: bool = False) -> dict:
        source, reason = check_source(source, reason)
        checked = identity.check(number, self.config.station.province, today=date.fromisoformat(self.station.today()))
        if not checked.valid:
            raise CabinError("the ID number is not valid: {reason}", reason=checked.reason)
        result: dict = {}

        def write(conn, req: dict, now: int) -> None:
            service = req["service"]
            category = self.config.services[service].category if service in self.config.services else None
            if category is None or category == "id":
                raise CabinError("{ticket} is at window {window} for {service}: intake is for exit-entry"
                                 " and traffic errands (ID cards have their own workflows)",
                                 ticket=req["ticket"], window=window, service=service)
            docs = list(self.config.services[service].documents)
            if not documents_checked:
                raise CabinError("check the documents first ({documents}), then record with --documents-checked",
                                 documents="、".join(docs))
            option, yuan = fee_for(self.config, service, fee_option, fine)
            clerk = check_actor(conn, by, *COUNTER_ROLES)
            day = self.station.today()
            receipt = next_receipt(conn, "intake_records", category.upper(), day)
            conn.execute(
                "INSERT INTO intake_records (receipt, day, service, ticket_id, request_id, \"window\", clerk, id_number,"
                " source, source_reason, fee_option, fee_yuan, documents, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (receipt, day, service, req["ticket_id"], req["id"], window, clerk.name, checked.number, source,
                 reason, option, yuan, json.dumps(docs, ensure_ascii=False), now))
            audit.record(conn, clerk.name, "intake.record", receipt,
                         {"service": service, "ticket": req["ticket"], "window": window,
                          "number": mask_id(checked.number), "source": source, "fee_yuan": yuan}, at=now)
            result.update(receipt=receipt, service=service, ticket=req["ticket"], fee_option=option, fee_yuan=yuan,
                          documents=docs, number=mask_id(checked.number), clerk=clerk.name)

        completion = self.station.complete(window, record=write)
        continued = completion.continued
        result.update(completed=completion.completed, continued=continued.as_dict() if continued else None)
        return result
