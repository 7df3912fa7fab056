"""Main ID-card application rules: validity by age, fees, deadlines, the cross-region flow."""

from datetime import date

import pytest

from cabin.config import IdCardPolicy, load_config
from cabin.kiosk.business.cardrules import (
    Kind,
    State,
    advance,
    age_on,
    check_allowed,
    deadline,
    fee,
    is_overdue,
    validity_years,
)
from cabin.queue.errors import CabinError

POLICY = IdCardPolicy()


@pytest.mark.parametrize("birth,applied,years", [
    (date(2010, 6, 1), date(2026, 5, 31), 5),     # 15, the day before the 16th birthday
    (date(2010, 6, 1), date(2026, 6, 1), 10),     # 16 on the day
    (date(2000, 6, 1), date(2026, 5, 31), 10),    # 25
    (date(2000, 6, 1), date(2026, 6, 1), 20),     # 26
    (date(1980, 6, 1), date(2026, 5, 31), 20),    # 45
    (date(1980, 6, 1), date(2026, 6, 1), None),   # 46: long-term (长期)
    (date(2024, 2, 29), date(2026, 2, 28), 5),
])
def test_validity_by_age_at_application(birth, applied, years):
    assert validity_years(birth, applied) == years


def test_age_counts_the_birthday_itself():
    assert age_on(date(2000, 2, 29), date(2026, 2, 28)) == 25
    assert age_on(date(2000, 2, 29), date(2026, 3, 1)) == 26
    with pytest.raises(CabinError, match="after the application"):
        validity_years(date(2027, 1, 1), date(2026, 1, 1))


def test_fees_follow_the_config():
    assert [fee(k, POLICY) for k in Kind] == [20, 20, 40]
    assert fee(Kind.REPLACEMENT, IdCardPolicy(fee_replacement=45)) == 45
    assert load_config().id_card == POLICY  # the shipped config states the defaults


def test_deadlines():
    monday = date(2026, 11, 23)
    assert deadline(monday, cross_province=True, policy=POLICY) == date(2027, 1, 22)   # 60 days
    assert deadline(monday, cross_province=False, policy=POLICY) == date(2026, 12, 21)  # 20 working days
    saturday = date(2026, 11, 28)
    assert deadline(saturday, cross_province=False, policy=POLICY) == date(2026, 12, 25)


def test_cross_region_flow():
    advance(State.ACCEPTED, State.APPROVED, cross_region=True)
    advance(State.APPROVED, State.RECEIVED, cross_region=True)
    advance(State.RECEIVED, State.COLLECTED, cross_region=True)
    advance(State.APPROVED, State.REFUSED, cross_region=True, reason="identity not confirmed")
    with pytest.raises(CabinError, match="accepted can go to approved or refused, not received"):
        advance(State.ACCEPTED, State.RECEIVED, cross_region=True)
    with pytest.raises(CabinError, match="needs a reason"):
        advance(State.ACCEPTED, State.REFUSED, cross_region=True, reason="  ")
    with pytest.raises(CabinError, match="collected can go to nothing"):
        advance(State.COLLECTED, State.RECEIVED, cross_region=True)


def test_local_flow_has_no_home_approval():
    advance(State.ACCEPTED, State.RECEIVED, cross_region=False)
    with pytest.raises(CabinError, match="not approved"):
        advance(State.ACCEPTED, State.APPROVED, cross_region=False)


def test_overdue_only_while_waiting_for_the_card():
    due = date(2026, 12, 1)
    assert is_overdue(State.ACCEPTED, due, date(2026, 12, 2))
    assert is_overdue(State.APPROVED, due, date(2026, 12, 2))
    assert not is_overdue(State.APPROVED, due, date(2026, 12, 1))
    assert not is_overdue(State.RECEIVED, due, date(2027, 1, 1))


def test_first_application_across_provinces_is_a_policy():
    check_allowed(Kind.FIRST, cross_province=True, policy=POLICY)
    with pytest.raises(CabinError, match="another province"):
        check_allowed(Kind.FIRST, cross_province=True, policy=IdCardPolicy(cross_province_first_application=False))
    check_allowed(Kind.RENEWAL, cross_province=True, policy=IdCardPolicy(cross_province_first_application=False))


def test_a_bad_policy_is_refused(tmp_path):
    from cabin.config import ConfigError
    from cabin.config import default_config_path

    text = default_config_path().read_text(encoding="utf-8").replace("fee_replacement = 40", 'fee_replacement = "forty"')
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="id_card.fee_replacement: must be a whole number"):
        load_config(path)
