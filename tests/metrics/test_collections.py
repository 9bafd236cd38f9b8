"""Collection KPIs on a tiny hand-built book: every number below is computed by hand.

Collectors K1 (team T1) and K2 (team T2), both at branch B1. Queues of September 2026 (from the August
month end):
  L1  K1  M1 (dpd 10)  balance 1000, arrears 110   cured in Sep (paid 220)          actions A1-A3 (+ A0 in Aug)
  L2  K1  M2 (dpd 40)  balance 2000, arrears 220   rolls to M3, paid 50 (partial)    actions A4-A8  (mortgage)
  L3  K1  M1 (dpd 5)   balance  500, arrears  50   never contacted, rolls to M2
  L4  K2  M7+ (dpd 200) balance 4000, arrears 500  sued in Sep (A9, A10 paid 300), foreclosed in Oct
New overdue in Sep (for days to resolve): L5 (K1, dpd 15, cured by a payment on Oct 10), L6 (K1, dpd 20,
still overdue in Oct: right-censored), L7 (K2, dpd 10, written off in Oct).
Promises of K1: A0 Aug 28 for 110 by Sep 2 (nothing paid: broken), A2 Sep 5 for 220 by Sep 10 (paid Sep 11,
one day late: kept with the 3-day grace, broken without), A5 Sep 6 for 100 by Sep 20 (50 paid: partial),
A7 Sep 27 for 200 by Oct 5 (not yet due at Sep 30: pending; broken at Oct 31).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.core import schema, store
from analytics.metrics import collections as coll
from tests import tiny

AUG, SEP, OCT = dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)
SEP30 = dt.date(2026, 9, 30)

LOANS = [{"loan_id": f"L{i}"} for i in range(1, 8)]
LOANS[1] = {"loan_id": "L2", "product": "mortgage"}


def _snap(month, loan, dpd, out, odp="0", odi="0", collector=None, due="0", paid="0", status="active"):
    return {"month": month, "loan_id": loan, "dpd": dpd, "outstanding_principal": D(out), "overdue_principal": D(odp),
            "overdue_interest": D(odi), "collector_id": collector, "amount_due": D(due), "amount_paid": D(paid),
            "status": status}


SNAPSHOTS = [
    _snap(AUG, "L1", 10, "1000", "100", "10", "K1"),
    _snap(AUG, "L2", 40, "2000", "200", "20", "K1"),
    _snap(AUG, "L3", 5, "500", "50", "0", "K1"),
    _snap(AUG, "L4", 200, "4000", "400", "100", "K2"),
    _snap(AUG, "L5", 0, "800"), _snap(AUG, "L6", 0, "800"), _snap(AUG, "L7", 0, "800"),
    _snap(SEP, "L1", 0, "900", due="220", paid="220"),
    _snap(SEP, "L2", 70, "2000", "255", "25", "K1", due="330", paid="50"),
    _snap(SEP, "L3", 35, "500", "100", "0", "K1", due="100"),
    _snap(SEP, "L4", 230, "4000", "250", "50", "K2", due="600", paid="300"),
    _snap(SEP, "L5", 15, "800", "80", "0", "K1"), _snap(SEP, "L6", 20, "800", "80", "0", "K1"),
    _snap(SEP, "L7", 10, "800", "80", "0", "K2"),
    _snap(OCT, "L1", 0, "800"),
    _snap(OCT, "L2", 100, "2000", "300", "30", "K1"),
    _snap(OCT, "L3", 65, "500", "150", "0", "K1"),
    _snap(OCT, "L4", 0, "0", status="foreclosed"),
    _snap(OCT, "L5", 0, "720", paid="160"),
    _snap(OCT, "L6", 50, "800", "160", "0", "K1"),
    _snap(OCT, "L7", 0, "0", status="written_off"),
]


def _act(aid, loan, who, day, channel, outcome, cost, collected="0", promised=None, promised_date=None):
    return {"month": day.replace(day=1), "action_id": aid, "loan_id": loan, "collector_id": who, "action_date": day,
            "channel": channel, "outcome": outcome, "promised_amount": None if promised is None else D(promised),
            "promised_date": promised_date, "amount_collected": D(collected), "cost": D(cost)}


def d(month: int, day: int) -> dt.date:
    return dt.date(2026, month, day)


ACTIONS = [
    _act("A0", "L1", "K1", d(8, 28), "phone", "ptp", "3", promised="110", promised_date=d(9, 2)),
    _act("A1", "L1", "K1", d(9, 3), "phone", "no_answer", "3"),
    _act("A2", "L1", "K1", d(9, 5), "phone", "ptp", "3", promised="220", promised_date=d(9, 10)),
    _act("A3", "L1", "K1", d(9, 11), "phone", "full_payment", "3", collected="220"),
    _act("A4", "L2", "K1", d(9, 4), "visit", "lost_contact", "150"),
    _act("A5", "L2", "K1", d(9, 6), "visit", "ptp", "150", promised="100", promised_date=d(9, 20)),
    _act("A6", "L2", "K1", d(9, 18), "visit", "partial_payment", "150", collected="50"),
    _act("A7", "L2", "K1", d(9, 27), "phone", "ptp", "3", promised="200", promised_date=d(10, 5)),
    _act("A8", "L2", "K1", d(9, 28), "sms", "no_answer", "0.10"),
    _act("A9", "L4", "K2", d(9, 8), "litigation", "rpc", "5000"),
    _act("A10", "L4", "K2", d(9, 25), "litigation", "partial_payment", "800", collected="300"),
    _act("B1", "L5", "K1", d(10, 10), "phone", "full_payment", "3", collected="160"),
    _act("B2", "L4", "K2", d(10, 12), "litigation", "no_answer", "500"),
]
COLLECTORS = [{"collector_id": "K1", "collector_name": "王伟", "team": "T1", "branch_id": "B1"},
              {"collector_id": "K2", "collector_name": "李娜", "team": "T2", "branch_id": "B1"}]


@pytest.fixture()
def con(tmp_path):
    root = tiny.write_store(tmp_path / "store", LOANS, SNAPSHOTS)
    store.write_table(root, "collectors", pl.DataFrame(COLLECTORS, schema=schema.COLLECTORS.polars_schema))
    store.write_table(root, "collection_actions",
                      pl.DataFrame(ACTIONS, schema=schema.COLLECTION_ACTIONS.polars_schema, strict=False))
    c = store.connect(root)
    yield c
    c.close()


def _kpis(con, **kw):
    return coll.collection_kpis(con, month_from=SEP, month_to=SEP, freq="month", **kw)


def _row(df: pl.DataFrame, col: str, key: str) -> dict:
    return df.filter(pl.col(col) == key).row(0, named=True)


# --- cases, contact funnel, cash and cost ----------------------------------------------------------------------


def test_cases_coverage_and_the_never_contacted_case(con):
    k1 = _row(_kpis(con), "collector_id", "K1")
    assert (k1["cases_assigned"], k1["cases_worked"]) == (3, 2)  # L3 was never contacted
    assert k1["coverage"] == pytest.approx(2 / 3)
    assert k1["entry_balance"] == D("3500.00") and k1["arrears"] == D("380.00")


def test_contact_funnel_counts_contact_channels_only(con):
    k1 = _row(_kpis(con), "collector_id", "K1")
    # 8 actions; the SMS is not an attempt; connected = all but no answer (lost contact is connected, not RPC)
    assert (k1["actions"], k1["attempts"], k1["connected"], k1["rpc"], k1["ptp"]) == (8, 7, 6, 5, 3)
    assert k1["contact_rate"] == pytest.approx(6 / 7)
    assert k1["rpc_rate"] == pytest.approx(5 / 7)
    assert k1["ptp_rate"] == pytest.approx(3 / 5)
    k2 = _row(_kpis(con), "collector_id", "K2")
    assert k2["attempts"] == 0 and k2["rpc_rate"] is None  # litigation is the legal route, not a contact


def test_cash_cost_and_productivity(con):
    k1 = _row(_kpis(con), "collector_id", "K1")
    assert k1["cash"] == D("270.00") and k1["cost"] == D("462.10")
    assert k1["cost_to_collect"] == pytest.approx(462.10 / 270)
    assert k1["working_days"] == 22  # September 2026: Tuesday 1st .. Wednesday 30th
    assert k1["contacts_per_day"] == pytest.approx(5 / 22)
    assert k1["headcount"] == 1.0 and k1["cash_per_collector"] == pytest.approx(270.0)
    assert k1["cash_rate"] == pytest.approx(270 / 380)


def test_contacts_per_day_on_attempts_and_fixed_working_days(con):
    rules = coll.CollectionRules(contact_measure="attempts", working_days=20)
    k1 = _row(_kpis(con, rules=rules), "collector_id", "K1")
    assert k1["contacts_per_day"] == pytest.approx(7 / 20)


# --- promises -------------------------------------------------------------------------------------------------


def test_promise_paid_one_day_late_is_kept_within_grace(con):
    p = coll.promises(con, month_from=SEP, month_to=SEP, as_of=SEP30)
    status = dict(zip(p["action_id"], p["ptp_status"], strict=True))
    assert status == {"A0": "broken", "A2": "kept", "A5": "broken", "A7": "pending"}
    strict = coll.promises(con, month_from=SEP, month_to=SEP, as_of=SEP30, rules=coll.CollectionRules(grace_days=0))
    assert dict(zip(strict["action_id"], strict["ptp_status"], strict=True))["A2"] == "broken"


def test_partial_payment_counts_its_amount(con):
    p = coll.promises(con, month_from=SEP, month_to=SEP, as_of=SEP30)
    a5 = p.filter(pl.col("action_id") == "A5").row(0, named=True)
    assert a5["paid_in_window"] == D("50.00") and a5["kept_amount"] == D("50.00")


def test_kept_rates_by_due_month(con):
    k1 = _row(_kpis(con, as_of=SEP30), "collector_id", "K1")
    # due in Sep: A0 (Aug promise, due Sep 2) broken, A2 kept, A5 broken; A7 is due in October
    assert (k1["ptp_due"], k1["ptp_kept"], k1["ptp_broken"], k1["ptp_pending"]) == (3, 1, 2, 0)
    assert k1["ptp_kept_rate_count"] == pytest.approx(1 / 3)
    assert k1["ptp_kept_rate_balance"] == pytest.approx((0 + 220 + 50) / (110 + 220 + 100))


def test_promise_not_yet_due_is_pending_never_broken(con):
    made = coll.CollectionRules(ptp_period="made")
    k1 = _row(_kpis(con, as_of=SEP30, rules=made), "collector_id", "K1")
    assert (k1["ptp_due"], k1["ptp_kept"], k1["ptp_pending"]) == (2, 1, 1)  # A2, A5 due; A7 pending
    assert k1["ptp_kept_rate_count"] == pytest.approx(1 / 2)
    assert k1["ptp_kept_rate_balance"] == pytest.approx((220 + 50) / (220 + 100))
    later = _row(_kpis(con, rules=made), "collector_id", "K1")  # as of Oct 31 nothing was paid on L2: broken
    assert (later["ptp_due"], later["ptp_pending"], later["ptp_broken"]) == (3, 0, 2)


# --- recovery, CEI, days to resolve ---------------------------------------------------------------------------


def test_recovery_by_entry_bucket(con):
    got = coll.recovery_by_bucket(con, month_from=SEP, month_to=SEP, freq="month")
    want = pl.DataFrame({
        "bucket": ["M1", "M2", "M7+"], "cases": [2, 1, 1],
        "entry_balance": [D("1500"), D("2000"), D("4000")], "cases_recovered": [1, 0, 0],
        "recovered_balance": [D("1000"), D("0"), D("0")], "cash": [D("220"), D("50"), D("300")],
        "recovery_rate_count": [0.5, 0.0, 0.0], "recovery_rate_balance": [1000 / 1500, 0.0, 0.0],
        "cash_recovery_rate": [220 / 1500, 50 / 2000, 300 / 4000],
    }, schema_overrides={c: schema.MONEY for c in ("entry_balance", "recovered_balance", "cash")})
    assert_frame_equal(got.select(want.columns), want, check_dtypes=False)
    k1 = _row(_kpis(con), "collector_id", "K1")
    assert k1["recovery_rate_balance"] == pytest.approx(1000 / 3500) and k1["recovery_rate_count"] == pytest.approx(1 / 3)


def test_not_rolled_counts_loans_that_stayed_or_improved(con):
    got = coll.recovery_by_bucket(con, month_from=SEP, month_to=SEP, freq="month",
                                  rules=coll.CollectionRules(recovered_as="not_rolled"))
    # M1: L1 cured, L3 rolled to M2 | M2: L2 rolled to M3 | M7+: L4 stayed at M7+
    assert got["cases_recovered"].to_list() == [1, 0, 1]


def test_cei(con):
    k1 = _row(_kpis(con), "collector_id", "K1")
    # L1: 110 + 110 - 0 over 220 | L2: 220 + 110 - 280 over 330 | L3: 50 + 50 - 100 over 100
    assert k1["cei_num"] == pytest.approx(270) and k1["cei_den"] == pytest.approx(650)
    assert k1["cei"] == pytest.approx(270 / 650 * 100)
    k2 = _row(_kpis(con), "collector_id", "K2")
    assert k2["cei"] == pytest.approx(300 / 600 * 100)


def test_days_to_resolve_is_right_censored(con):
    eps = coll.episodes(con, month_from=SEP, month_to=SEP)
    got = dict(zip(eps["loan_id"], zip(eps["outcome"], eps["days"], strict=True), strict=True))
    # L5 entered Sep 16 (30 - 15 + 1) and paid on Oct 10; L6 is still open; L7 was written off
    assert got == {"L5": ("resolved", 24), "L6": ("open", None), "L7": ("disposed", None)}
    times = coll.resolution_times(con, month_from=SEP, month_to=SEP, freq="month", by="collector")
    k1 = _row(times, "collector_id", "K1")
    assert (k1["episodes"], k1["resolved"], k1["open"]) == (2, 1, 1)
    assert k1["mean_days"] == 24 and k1["median_days"] == 24 and k1["share_open"] == 0.5
    k2 = _row(times, "collector_id", "K2")
    assert k2["mean_days"] is None and k2["share_disposed"] == 1.0


# --- legal route ---------------------------------------------------------------------------------------------------


def test_legal_against_non_legal(con):
    got = coll.legal_vs_nonlegal(con, month_from=SEP, month_to=SEP)
    legal = got.filter((pl.col("route") == "legal") & (pl.col("bucket") == "M7+")).row(0, named=True)
    assert (legal["cases"], legal["concluded"], legal["successful"]) == (1, 1, 1)  # foreclosed in October
    assert legal["claim"] == D("4100.00") and legal["recovered"] == D("300.00") and legal["cost"] == D("6300.00")
    assert legal["cost_benefit"] == pytest.approx((300 - 6300) / 6300)
    assert legal["enforcement_recovery"] == pytest.approx(300 / 4100)
    m1 = got.filter((pl.col("route") == "non_legal") & (pl.col("bucket") == "M1")).row(0, named=True)
    assert (m1["cases"], m1["successful"], m1["cost"]) == (1, 1, D("9.00"))  # L1; L3 was never worked
    assert m1["cost_benefit"] == pytest.approx((220 - 9) / 9)
    m2 = got.filter((pl.col("route") == "non_legal") & (pl.col("bucket") == "M2")).row(0, named=True)
    assert m2["concluded"] == 0 and m2["success_rate"] is None and m2["cost"] == D("453.10")
    total = got.filter((pl.col("route") == "non_legal") & (pl.col("bucket") == "all")).row(0, named=True)
    assert (total["cases"], total["claim"], total["recovered"]) == (2, D("3030.00"), D("270.00"))


# --- groups, filters, small samples, drill, review ---------------------------------------------------------------


def test_team_and_channel_groups(con):
    teams = _kpis(con, by="team")
    assert teams["team"].to_list() == ["T1", "T2"] and teams["cases_assigned"].to_list() == [3, 1]
    channels = _kpis(con, by="channel")
    phone = _row(channels, "channel", "phone")
    assert (phone["actions"], phone["cases_worked"], phone["cases_assigned"]) == (4, 2, None)  # A1-A3, A7
    total = _kpis(con, by="total").row(0, named=True)
    assert total["cases_assigned"] == 4 and total["cash"] == D("570.00")


def test_quarter_adds_the_months(con):
    q = coll.collection_kpis(con, month_from=dt.date(2026, 7, 1), month_to=SEP, by="collector", freq="quarter")
    k1 = _row(q, "collector_id", "K1")
    assert k1["period"] == dt.date(2026, 7, 1) and k1["actions"] == 9 and k1["headcount"] == pytest.approx(2 / 3)


def test_portfolio_filter(con):
    k1 = _row(_kpis(con, products=("consumer",)), "collector_id", "K1")
    assert (k1["cases_assigned"], k1["actions"]) == (2, 3)  # L2 is a mortgage


def test_small_sample_flag(con):
    k1 = _row(_kpis(con, rules=coll.CollectionRules(min_n=3)), "collector_id", "K1")
    assert k1["coverage_small"] is False and k1["ptp_rate_small"] is False and k1["ptp_kept_rate_count_small"] is False
    k1 = _row(_kpis(con, rules=coll.CollectionRules(min_n=4)), "collector_id", "K1")
    assert k1["coverage_small"] is True and k1["rpc_rate_small"] is False  # 3 cases, 7 attempts


def test_drill_totals_equal_the_row(con):
    row = _row(_kpis(con), "collector_id", "K1")
    acts = coll.drill_actions(con, month_from=SEP, month_to=SEP, by="collector", key="K1")
    cases = coll.drill_cases(con, month_from=SEP, month_to=SEP, by="collector", key="K1")
    assert acts.height == row["actions"] and acts["amount_collected"].sum() == row["cash"]
    assert acts["cost"].sum() == row["cost"]
    assert cases.height == row["cases_assigned"] and cases["worked"].sum() == row["cases_worked"]
    assert cases["loan_id"].sort().to_list() == ["L1", "L2", "L3"]
    with pytest.raises(ValueError):
        coll.drill_cases(con, month_from=SEP, month_to=SEP, by="channel", key="phone")


def test_quarterly_review(con):
    review = coll.quarterly_review(con, quarter=SEP, by="team")
    assert review.columns == list(coll.REVIEW_COLUMNS)
    assert review["group"].to_list() == ["T1", "T2", "total"]
    total = review.filter(pl.col("group") == "total").row(0, named=True)
    assert total["cases_assigned"] == 4 and total["legal_cases"] == 1
    assert total["legal_cost_benefit"] == pytest.approx((300 - 6300) / 6300)
    assert review.filter(pl.col("group") == "T1")["legal_cases"].to_list() == [None]


def test_bad_arguments(con):
    with pytest.raises(ValueError):
        _kpis(con, by="region")
    with pytest.raises(ValueError):
        coll.collection_kpis(con, month_from=SEP, month_to=SEP, freq="year")


def test_no_cases_after_the_latest_snapshot(con):
    # the October month end queues cases for November, a month the store does not hold yet
    q = coll.collection_kpis(con, month_from=OCT, month_to=dt.date(2026, 12, 1), by="total", freq="quarter")
    assert q["cases_assigned"].to_list() == [6]  # the October queue: L2, L3, L5, L6 (K1), L4, L7 (K2); not L2, L3, L6 again
