"""The audited reveal: a record's personal data unmasked, for a clerk who needs it.

Everything else in Cabin shows personal data masked (domain.md 6). A clerk who must see the
whole number, the name, the finder's phone or the card's photo asks for it with a reason; the
read and the reason go into the audit log in the same transaction that reads the row, so
there is no unmasked read without its entry. A record whose personal fields were purged has
nothing left to reveal and says so.
"""

from __future__ import annotations

import base64

from cabin.queue.conflicts import rerun_on_conflict
from cabin.queue.errors import CabinError

from cabin.kiosk.business import audit
from cabin.kiosk.privacy import mask_card, mask_id
from cabin.kiosk.business.accounts import COUNTER_ROLES, Account, check_actor
from cabin.kiosk.checks import clean_reason, record_number

# kind: (table, the column a reference names, the personal columns shown)
KINDS = {
    "loss": ("loss_reports", "receipt", ("number", "source_reason", "close_reason")),
    "found": ("found_cards", "id", ("number", "finder_name", "finder_phone", "returned_reason")),
    "application": ("applications", "receipt", ("id_number", "source_reason")),
    "intake": ("intake_records", "receipt", ("id_number", "source_reason")),
    "tempcard": ("temp_cards", "receipt", ("id_number", "name", "sex", "nation_code", "birth", "address",
                                           "agent_kind", "agent_number", "agent_name", "agent_document",
                                           "source_reason", "photo")),
}


@rerun_on_conflict
def reveal(store, kind: str, ref: str, *, by: Account, reason: str, now_ms: int) -> dict:
    if kind not in KINDS:
        raise CabinError('unknown record kind "{kind}" ({kinds})', kind=audit.printable(kind), kinds=", ".join(KINDS))
    reason = clean_reason(reason, "reason for showing the personal data")
    table, key, columns = KINDS[kind]
    ref = (ref or "").strip().upper()
    if key == "id" and record_number(ref) is None:
        raise CabinError("a {kind} record is named by its number, not {ref}", kind=kind, ref=repr(audit.printable(ref)))
    with store.write() as conn:
        clerk = check_actor(conn, by, *COUNTER_ROLES)
        row = conn.execute(f"SELECT * FROM {table} WHERE {key} = ?", (int(ref) if key == "id" else ref,)).fetchone()
        if row is None:
            raise CabinError("there is no {kind} record {ref}", kind=kind, ref=audit.printable(ref))
        if row["purged_at"] is not None:
            raise CabinError("the personal data of {kind} {ref} was purged (retention): there is nothing to show",
                             kind=kind, ref=ref)
        number = row[columns[0]]
        audit.record(conn, clerk.name, "reveal", ref if key != "id" else f"{kind}:{ref}",
                     {"record": kind, "number": mask_id(number), "reason": reason}, at=now_ms)
    shown = {"kind": kind, "ref": ref, "revealed_by": clerk.name}
    for c in columns:
        value = row[c]
        shown[c] = base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
    if kind == "tempcard":
        shown["photo_png"] = shown.pop("photo")
    return shown


@rerun_on_conflict
def audit_card_read(store, card, *, by: Account, reason: str, now_ms: int) -> None:
    """A card read shown unmasked (`cabin devices read-id --reveal`): its audit entry."""
    reason = clean_reason(reason, "reason for showing the personal data")
    with store.write() as conn:
        clerk = check_actor(conn, by, *COUNTER_ROLES)
        audit.record(conn, clerk.name, "reveal", "card read",
                     {"record": "card", "number": mask_card(card).id_number, "card_type": card.card_type.value,
                      "reason": reason}, at=now_ms)
