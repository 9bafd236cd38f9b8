"""Overdue causes on a hand-built store.

    loan branch product   SEP                               OCT
    L1   B1     consumer  1000 dpd10  income_drop           1000 dpd40 income_drop
    L2   B1     mortgage  2000 dpd50  business_difficulty   2000 dpd80 business_difficulty
    L3   B2     consumer   500 dpd5   (no cause)             500 current
    L4   B2     consumer  4000 current (cause "other" ignored) 4000 dpd3 (no cause)
    L5   B2     mortgage  3000 dpd100 income_drop           written off (off book)
    L6   B1     consumer  -                                 1500 dpd20 income_drop

Overdue book OCT: not_reported 4000 (1), income_drop 2500 (2), business_difficulty 2000 (1) = 8500 (4).
Overdue book SEP: income_drop 4000 (2), business_difficulty 2000 (1), not_reported 500 (1) = 6500 (4).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import labels
from analytics.core import store
from analytics.core.schema import MONEY
from analytics.metrics import causes
from analytics.metrics.drilldown import DrillSpec, loans_behind
from tests.tiny import write_store

D = Decimal
SEP, OCT = dt.date(2026, 9, 1), dt.date(2026, 10, 1)

LOANS = [
    {"loan_id": "L1", "branch_id": "B1", "product": "consumer"},
    {"loan_id": "L2", "branch_id": "B1", "product": "mortgage"},
    {"loan_id": "L3", "branch_id": "B2", "product": "consumer"},
    {"loan_id": "L4", "branch_id": "B2", "product": "consumer"},
    {"loan_id": "L5", "branch_id": "B2", "product": "mortgage"},
    {"loan_id": "L6", "branch_id": "B1", "product": "consumer"},
]


def _snap(month, loan, bal, dpd=0, cause=None, **kw):
    return {"month": month, "loan_id": loan, "outstanding_principal": D(bal), "dpd": dpd,
            "booked_class": 3 if dpd > 90 else 2 if dpd else 1, "overdue_cause": cause} | kw


SNAPSHOTS = [
    _snap(SEP, "L1", 1000, 10, "income_drop"), _snap(SEP, "L2", 2000, 50, "business_difficulty"),
    _snap(SEP, "L3", 500, 5), _snap(SEP, "L4", 4000, 0, "other"), _snap(SEP, "L5", 3000, 100, "income_drop"),
    _snap(OCT, "L1", 1000, 40, "income_drop"), _snap(OCT, "L2", 2000, 80, "business_difficulty"),
    _snap(OCT, "L3", 500), _snap(OCT, "L4", 4000, 3),
    _snap(OCT, "L5", 0, 130, "income_drop", status="written_off", disposed_principal=D("3000")),
    _snap(OCT, "L6", 1500, 20, "income_drop"),
]


@pytest.fixture()
def con(tmp_path):
    c = store.connect(write_store(tmp_path, LOANS, SNAPSHOTS))
    yield c
    c.close()


def test_pareto_by_balance(con):
    p = causes.pareto(con, month=OCT, basis="balance")
    expected = pl.DataFrame({
        "cause": ["not_reported", "income_drop", "business_difficulty"],
        "total_count": [1, 2, 1], "total_balance": [D("4000"), D("2500"), D("2000")],
        "share_count": [0.25, 0.5, 0.25], "share_balance": [4000 / 8500, 2500 / 8500, 2000 / 8500],
        "share": [4000 / 8500, 2500 / 8500, 2000 / 8500], "cum_share": [4000 / 8500, 6500 / 8500, 1.0],
    }, schema_overrides={"total_balance": MONEY, "total_count": pl.Int64})
    assert_frame_equal(p, expected)


def test_pareto_by_count_ties_in_code_order(con):
    p = causes.pareto(con, month=OCT, basis="count")
    assert p["cause"].to_list() == ["income_drop", "business_difficulty", "not_reported"]
    assert p["share"].to_list() == pytest.approx([0.5, 0.25, 0.25])
    assert p["cum_share"].to_list() == pytest.approx([0.5, 0.75, 1.0])


def test_null_cause_kept_and_non_overdue_ignored(con):
    p = causes.pareto(con, month=SEP, basis="balance")
    assert dict(zip(p["cause"], p["total_balance"], strict=True)) == {
        "income_drop": D("4000.00"), "business_difficulty": D("2000.00"), "not_reported": D("500.00")}
    assert "other" not in p["cause"].to_list()  # L4 is current in SEP: its cause does not count
    assert labels.label("overdue_cause", "not_reported", "zh") == "未填报"
    assert labels.label("overdue_cause", causes.NOT_REPORTED, "en") == "Not reported"
    assert labels.label("overdue_cause", "fraud", "en") == "Fraud"


def test_mix_over_time_shares_sum_to_one(con):
    m = causes.mix_over_time(con, month_to=OCT)
    sums = m.group_by("month").agg(pl.col("share_balance").sum(), pl.col("share_count").sum()).sort("month")
    assert sums["share_balance"].to_list() == pytest.approx([1.0, 1.0])
    assert sums["share_count"].to_list() == pytest.approx([1.0, 1.0])
    sep = m.filter(pl.col("month") == SEP)
    assert sep["cause"].to_list() == ["business_difficulty", "income_drop", "not_reported"]  # code order
    assert sep["share_balance"].to_list() == pytest.approx([2000 / 6500, 4000 / 6500, 500 / 6500])
    assert m.filter(pl.col("month") == OCT)["share_count"].to_list() == pytest.approx([0.25, 0.5, 0.25])


def test_mix_over_time_filtered_path_agrees(con):
    # Unfiltered runs without the loans join; a filter on every branch takes the joined path.
    assert_frame_equal(causes.mix_over_time(con, month_to=OCT), causes.mix_over_time(con, month_to=OCT, branches=("B1", "B2")))
    b2 = causes.mix_over_time(con, month_to=OCT, branches=("B2",)).filter(pl.col("month") == SEP)
    assert b2["cause"].to_list() == ["income_drop", "not_reported"]
    assert b2["share_balance"].to_list() == pytest.approx([3000 / 3500, 500 / 3500])


def test_cross_table_by_branch_balance(con):
    t = causes.cross_table(con, month=OCT, dimension="branch", basis="balance")
    expected = pl.DataFrame({
        "branch_id": ["B1", "B2"],
        "business_difficulty": [D("2000"), D("0")], "income_drop": [D("2500"), D("0")],
        "not_reported": [D("0"), D("4000")], "total": [D("4500"), D("4000")],
    }, schema_overrides={c: MONEY for c in ("business_difficulty", "income_drop", "not_reported", "total")})
    assert_frame_equal(t, expected)


def test_cross_table_by_product_count(con):
    t = causes.cross_table(con, month=OCT, dimension="product", basis="count")
    expected = pl.DataFrame({
        "product": ["consumer", "mortgage"], "business_difficulty": [0, 1], "income_drop": [2, 0],
        "not_reported": [1, 0], "total": [3, 1],
    }, schema_overrides={c: pl.Int64 for c in ("business_difficulty", "income_drop", "not_reported", "total")})
    assert_frame_equal(t, expected)


def test_cross_table_empty(con):
    t = causes.cross_table(con, month=OCT, dimension="branch", basis="balance", branches=("NOPE",))
    assert t.is_empty()


def test_cause_qoq_vs_previous_quarter_end(con):
    q = causes.cause_qoq(con, month=OCT)
    expected = pl.DataFrame({
        "cause": ["not_reported", "income_drop", "business_difficulty"],
        "total_balance": [D("4000"), D("2500"), D("2000")], "total_balance_prev_q": [D("500"), D("4000"), D("2000")],
        "total_balance_chg": [D("3500"), D("-1500"), D("0")], "total_balance_chg_pct": [7.0, -0.375, 0.0],
        "total_count": [1, 2, 1], "total_count_prev_q": [1, 2, 1], "total_count_chg": [0, 0, 0], "total_count_chg_pct": [0.0, 0.0, 0.0],
    }, schema_overrides={"total_balance": MONEY, "total_balance_prev_q": MONEY, "total_balance_chg": MONEY})
    assert_frame_equal(q, expected)


def test_filters(con):
    p = causes.pareto(con, month=OCT, basis="balance", branches=("B1",), products=("consumer",))
    assert p["cause"].to_list() == ["income_drop"] and p["total_balance"].to_list() == [D("2500.00")]
    assert causes.pareto(con, month=OCT, branches=("NOPE",)).is_empty()


def test_drill_by_cause_and_not_reported(con):
    income = loans_behind(con, DrillSpec(month=OCT, causes=("income_drop",), dpd_min=1))
    assert income["loan_id"].to_list() == ["L6", "L1"]  # largest balance first; L5 written off
    missing = loans_behind(con, DrillSpec(month=OCT, cause_not_reported=True, dpd_min=1))
    assert missing["loan_id"].to_list() == ["L4"]
    assert sum(missing["outstanding_principal"].to_list()) == D("4000.00")
