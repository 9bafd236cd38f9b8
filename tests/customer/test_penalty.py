"""Grace periods and penalty interest: the ledger and the snapshot estimate against hand-worked examples."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from analytics.core import store
from analytics.customer import penalty as pn
from tests import tiny

# annual rate 4.8%, surcharge 50%: penalty rate 7.2% a year = 0.072 / 360 = 0.0002 a day
TERMS = {"annual_rate": 0.048, "surcharge": 0.5, "compound": True, "grace_days": 3}


def test_partial_payment_across_month_ends():
    # Instalment due 2026-01-25: principal 10,000, interest 500; 3,000 paid on 2026-02-10; as of 2026-03-05.
    # Jan 26-31 (6 days): penalty 10,000 x 0.0002 x 6 = 12.00; compound 500 x 0.0002 x 6 = 0.60
    # Feb 1-10 (10 days, the payment day accrues on the day before's balance): 20.00 and 1.00
    # Feb 10 payment 3,000: penalty 32.00 + compound 1.60 = 33.60 first, then interest 500, principal 2,466.40
    #   -> principal 7,533.60, interest 0
    # Feb 11-28 (18 days): 7,533.60 x 0.0002 = 1.50672 a day x 18 = 27.12096 -> Feb penalty 20 + 27.12096 = 47.12
    # Mar 1-5 (5 days): 7.5336 -> 7.53
    # owed 2026-03-05: 7,533.60 + penalty (27.12096 + 7.5336 = 34.65456) = 7,568.25456 -> 7,568.25
    events = [("due", dt.date(2026, 1, 25), D("10000"), D("500")), ("payment", dt.date(2026, 2, 10), D("3000"))]
    out = pn.ledger(events, as_of=dt.date(2026, 3, 5), **TERMS)
    assert out["by_month"] == {dt.date(2026, 1, 1): (D("12.00"), D("0.60")),
                               dt.date(2026, 2, 1): (D("47.12"), D("1.00")),
                               dt.date(2026, 3, 1): (D("7.53"), D("0.00"))}
    assert (out["principal"], out["interest"], out["penalty"], out["compound"]) == (
        D("7533.60"), D("0.00"), D("34.65"), D("0.00"))
    assert out["total"] == D("7568.25") and not out["in_grace"] and out["spell_start"] == dt.date(2026, 1, 25)
    # the notice quotes pay-by 2026-03-15: 10 more days x 1.50672 = 15.0672 -> penalty 49.72176; 7,583.32
    quote = pn.ledger(events, as_of=dt.date(2026, 3, 15), **TERMS)
    assert quote["total"] == D("7583.32") and quote["penalty"] == D("49.72")


def test_paid_within_grace_carries_no_penalty():
    # due 2026-01-30, paid in full 2026-02-02 (3 days <= grace 3): accrued 3 x 2.10 = 6.30 waived
    events = [("due", dt.date(2026, 1, 30), D("10000"), D("500")), ("payment", dt.date(2026, 2, 2), D("10500"))]
    out = pn.ledger(events, as_of=dt.date(2026, 2, 28), **TERMS)
    assert out["by_month"] == {} and out["total"] == D("0.00") and out["waived"] == D("6.30")


def test_grace_exceeded_penalty_runs_from_the_due_date():
    # paid 2026-02-03 (4 days > grace 3): all 4 days charged: Jan 31 = 2.10, Feb 1-3 = 6.30
    # the payment 10,500 goes to penalty 8.00 and compound 0.40 first: 8.40 of principal stays unpaid
    events = [("due", dt.date(2026, 1, 30), D("10000"), D("500")), ("payment", dt.date(2026, 2, 3), D("10500"))]
    out = pn.ledger(events, as_of=dt.date(2026, 2, 3), **TERMS)
    assert out["by_month"] == {dt.date(2026, 1, 1): (D("2.00"), D("0.10")), dt.date(2026, 2, 1): (D("6.00"), D("0.30"))}
    assert out["principal"] == D("8.40") and out["penalty"] == D("0.00") and out["total"] == D("8.40")


def test_still_in_grace_is_pending_not_owed():
    # due 2026-01-30, nothing paid, as of 2026-02-01 (2 days): 2 x 2.10 = 4.20 pending, owed 10,500
    out = pn.ledger([("due", dt.date(2026, 1, 30), D("10000"), D("500"))], as_of=dt.date(2026, 2, 1), **TERMS)
    assert out["in_grace"] and out["pending"] == D("4.20") and out["total"] == D("10500.00") and out["by_month"] == {}


def test_no_compound_interest_where_the_contract_has_none():
    out = pn.ledger([("due", dt.date(2026, 1, 25), D("10000"), D("500"))], as_of=dt.date(2026, 1, 31),
                    **(TERMS | {"compound": False}))
    assert out["by_month"] == {dt.date(2026, 1, 1): (D("12.00"), D("0.00"))} and out["total"] == D("10512.00")


def test_rules_validate_and_name_the_field():
    assert pn.validate({})["products"]["consumer"] == {"grace_days": 3, "surcharge": 0.5, "compound": True}
    assert pn.validate({"products": {"mortgage": {"grace_days": 5}}})["products"]["mortgage"]["grace_days"] == 5
    for bad, word in (({"products": {"nope": {}}}, "unknown product"),
                      ({"products": {"mortgage": {"grace_days": 40}}}, "grace_days"),
                      ({"products": {"mortgage": {"surcharge": -1}}}, "surcharge"),
                      ({"quote_days": "x"}, "quote_days")):
        with pytest.raises(pn.PenaltyError, match=word):
            pn.validate(bad)


AUG, SEP, OCT = dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)


@pytest.fixture()
def con(tmp_path):
    # consumer loans, 4.8% -> 0.0002 a day; grace 3 days
    # L1: Aug current; Sep dpd 10 (overdue 1,000 + interest 50); Oct dpd 41 (1,500 + 80)
    # L2: Oct dpd 2 (500): inside the grace period
    loans = [{"loan_id": "L1", "annual_rate": 0.048}, {"loan_id": "L2", "annual_rate": 0.048}]
    snaps = [
        {"month": AUG, "loan_id": "L1", "outstanding_principal": D("5000")},
        {"month": SEP, "loan_id": "L1", "outstanding_principal": D("5000"), "dpd": 10,
         "overdue_principal": D("1000"), "overdue_interest": D("50")},
        {"month": OCT, "loan_id": "L1", "outstanding_principal": D("5000"), "dpd": 41,
         "overdue_principal": D("1500"), "overdue_interest": D("80")},
        {"month": OCT, "loan_id": "L2", "outstanding_principal": D("3000"), "dpd": 2, "overdue_principal": D("500")},
    ]
    tiny.write_store(tmp_path, loans, snaps)
    c = store.connect(tmp_path)
    yield c
    c.close()


def test_snapshot_estimate_by_month(con):
    # Sep: L1 spell starts (due Sep 20), 10 days x 1,000 x 0.0002 = 2.00; compound 10 x 50 x 0.0002 = 0.10
    # Oct: L1 31 days on September's month-end balances: 6.20 and 0.31; L2 2 days x 500 x 0.0002 = 0.20 pending
    df = pn.by_month(con, month_from=SEP, month_to=OCT)
    assert df.rows() == [(SEP, 1, 2.00, 0.10, 0.0, 0), (OCT, 2, 6.20, 0.31, 0.20, 1)]


def test_owed_and_notice_quote(con):
    # L1 owes 1,500 + 80 + (2.00 + 0.10 + 6.20 + 0.31 = 8.61) = 1,588.61; the quote 10 days later adds
    #   (1,500 + 80) x 0.0002 x 10 = 3.16 -> 1,591.77 (pay-by 2026-11-10)
    # L2 in grace owes 500 (no penalty yet); its quote: 500 + 0.20 pending + 500 x 0.0002 x 10 = 501.20
    df = pn.owed(con, month=OCT)
    rows = {r["loan_id"]: r for r in df.iter_rows(named=True)}
    assert rows["L1"]["penalty_owed"] == 8.61 and rows["L1"]["owed_total"] == 1588.61
    assert rows["L1"]["quote_total"] == 1591.77 and rows["L1"]["quote_date"] == dt.date(2026, 11, 10)
    assert rows["L2"]["in_grace"] and rows["L2"]["owed_total"] == 500.0 and rows["L2"]["quote_total"] == 501.20
    assert rows["L2"]["dpd"] == 2  # the grace period never changes the regulatory DPD


def test_the_ledger_on_the_snapshots_agrees_with_the_estimate(con):
    rows = pn.loan_months(con, month_from=AUG, month_to=OCT, loan_ids=("L1",))
    assert rows["penalty"].to_list() == [0.0, 2.00, 6.20] and rows["compound"].to_list() == [0.0, 0.10, 0.31]
    raw = store.query(con, "SELECT month, dpd, overdue_principal::DOUBLE AS overdue_principal, "
                           "overdue_interest::DOUBLE AS overdue_interest FROM snapshots WHERE loan_id = 'L1'")
    out = pn.ledger(pn.snapshot_events(raw), as_of=dt.date(2026, 10, 31), **TERMS)
    assert out["by_month"] == {SEP: (D("2.00"), D("0.10")), OCT: (D("6.20"), D("0.31"))}
    assert out["total"] == D("1588.61")


def test_a_longer_grace_period_waives_nothing_charged_but_changes_no_dpd(con):
    rules = pn.dumps({"products": {"consumer": {"grace_days": 0}}})
    df = pn.by_month(con, month_from=OCT, month_to=OCT, rules=rules)
    assert df.rows() == [(OCT, 2, 6.40, 0.31, 0.0, 0)]  # L2's 0.20 is charged without a grace period
