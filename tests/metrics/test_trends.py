"""Overdue trends: new overdue, ratios by dimension, quarterly view and QoQ, on a hand-built store.

Store (balances in yuan; all loans on book unless noted):

    loan branch product   JUN        JUL         AUG         SEP              OCT
    A    B1     consumer  1000       1000        1000 dpd10  900 (cured)      900 dpd5   <- cured then re-defaulted
    B    B1     mortgage  2000       2000 dpd40  2000 dpd70  2000 dpd100 NPL  2000 dpd130 NPL
    C    B2     consumer  -          -           -           500 dpd3         500 dpd33  <- new to book, overdue
    D    B2     consumer  4000       4000        4000        4000             4000
    E    B2     mortgage  3000       3000        3000        3000 dpd15       written off

New overdue: JUN unknown (first month), JUL B 2000, AUG A 1000, SEP C 500 + E 3000, OCT A 900.
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
from analytics.core.slice import slice_params
from analytics.metrics import trends
from analytics.metrics.drilldown import DrillSpec, loans_behind
from analytics.metrics.portfolio import add_months
from tests.tiny import write_store

D = Decimal
JUN, JUL, AUG, SEP, OCT = (dt.date(2026, m, 1) for m in (6, 7, 8, 9, 10))

LOANS = [
    {"loan_id": "A", "branch_id": "B1", "product": "consumer"},
    {"loan_id": "B", "branch_id": "B1", "product": "mortgage"},
    {"loan_id": "C", "branch_id": "B2", "product": "consumer"},
    {"loan_id": "D", "branch_id": "B2", "product": "consumer"},
    {"loan_id": "E", "branch_id": "B2", "product": "mortgage"},
]


def _snap(month, loan, bal, dpd=0, cls=1, **kw):
    return {"month": month, "loan_id": loan, "outstanding_principal": D(bal), "dpd": dpd, "booked_class": cls} | kw


SNAPSHOTS = [
    _snap(JUN, "A", 1000), _snap(JUN, "B", 2000), _snap(JUN, "D", 4000), _snap(JUN, "E", 3000),
    _snap(JUL, "A", 1000), _snap(JUL, "B", 2000, 40, 2), _snap(JUL, "D", 4000), _snap(JUL, "E", 3000),
    _snap(AUG, "A", 1000, 10, 2), _snap(AUG, "B", 2000, 70, 2), _snap(AUG, "D", 4000), _snap(AUG, "E", 3000),
    _snap(SEP, "A", 900), _snap(SEP, "B", 2000, 100, 3), _snap(SEP, "C", 500, 3, 1), _snap(SEP, "D", 4000),
    _snap(SEP, "E", 3000, 15, 2),
    _snap(OCT, "A", 900, 5, 2), _snap(OCT, "B", 2000, 130, 3), _snap(OCT, "C", 500, 33, 2), _snap(OCT, "D", 4000),
    _snap(OCT, "E", 0, 200, 3, status="written_off", disposed_principal=D("3000")),
]


@pytest.fixture()
def con(tmp_path):
    c = store.connect(write_store(tmp_path, LOANS, SNAPSHOTS))
    yield c
    c.close()


def test_new_overdue_by_month_total(con):
    s = trends.trend_series(con, dimension="total")
    assert s["month"].to_list() == [JUN, JUL, AUG, SEP, OCT]
    assert s["member"].unique().to_list() == ["total"]
    # SEP: C (new to the book, already overdue) + E; OCT: A (cured in SEP, re-defaulted).
    assert s["new_overdue_balance"].to_list() == [None, D("2000.00"), D("1000.00"), D("3500.00"), D("900.00")]
    assert s["new_overdue_count"].to_list() == [None, 1, 1, 2, 1]
    assert s.schema["new_overdue_balance"] == MONEY and s.schema["new_overdue_count"] == pl.Int64


def test_ratios_reuse_portfolio_numerators(con):
    s = trends.trend_series(con, dimension="total").filter(pl.col("month").is_in([SEP, OCT]))
    assert s["total_balance"].to_list() == [D("10400.00"), D("7400.00")]
    assert s["overdue_balance"].to_list() == [D("5500.00"), D("3400.00")]
    assert s["overdue_ratio_balance"].to_list() == pytest.approx([5500 / 10400, 3400 / 7400])
    assert s["overdue_ratio_count"].to_list() == pytest.approx([3 / 5, 3 / 4])
    assert s["npl_ratio_balance"].to_list() == pytest.approx([2000 / 10400, 2000 / 7400])
    assert s["npl_ratio_count"].to_list() == pytest.approx([1 / 5, 1 / 4])


def test_by_branch_sums_numerators_not_average(con):
    s = trends.trend_series(con, dimension="branch", month_from=SEP, month_to=SEP)
    expected = pl.DataFrame({
        "month": [SEP, SEP], "member": ["B1", "B2"],
        "total_balance": [D("2900"), D("7500")], "overdue_balance": [D("2000"), D("3500")],
        "new_overdue_count": [0, 2], "new_overdue_balance": [D("0"), D("3500")],
    }, schema_overrides={"total_balance": MONEY, "overdue_balance": MONEY, "new_overdue_balance": MONEY,
                         "new_overdue_count": pl.Int64})
    assert_frame_equal(s.select(expected.columns), expected)
    assert s["overdue_ratio_balance"].to_list() == pytest.approx([2000 / 2900, 3500 / 7500])
    total = trends.trend_series(con, dimension="total", month_from=SEP, month_to=SEP)
    assert total["overdue_ratio_balance"][0] == pytest.approx(5500 / 10400)  # not the mean of branch ratios (0.578)
    assert total["new_overdue_balance"][0] == D("3500.00")  # a window starting at SEP still sees AUG


def test_by_product(con):
    s = trends.trend_series(con, dimension="product", month_from=OCT, month_to=OCT)
    assert s["member"].to_list() == ["consumer", "mortgage"]
    assert s["overdue_ratio_balance"].to_list() == pytest.approx([1400 / 5400, 1.0])
    assert s["new_overdue_balance"].to_list() == [D("900.00"), D("0.00")]


def test_filters(con):
    s = trends.trend_series(con, dimension="total", branches=("B2",), products=("consumer",), month_from=SEP, month_to=OCT)
    assert s["total_balance"].to_list() == [D("4500.00"), D("4500.00")]
    assert s["new_overdue_balance"].to_list() == [D("500.00"), D("0.00")]
    assert trends.trend_series(con, dimension="total", branches=("NOPE",)).is_empty()


def test_quarterly_sums_three_months(con):
    q = trends.trend_series(con, dimension="total", freq="quarter")
    assert q["quarter"].to_list() == [dt.date(2026, 4, 1), JUL, OCT]
    assert q["month"].to_list() == [JUN, SEP, OCT]  # stocks at the last month present
    assert q["new_overdue_balance"].to_list() == [None, D("6500.00"), D("900.00")]  # JUL+AUG+SEP = 2000+1000+3500
    assert q["new_overdue_count"].to_list() == [None, 4, 1]
    assert q["overdue_ratio_balance"].to_list()[1] == pytest.approx(5500 / 10400)
    assert q["months_in_quarter"].to_list() == [1, 3, 1]


def test_qoq_balance_basis(con):
    t = trends.qoq_table(con, month=OCT, dimension="total", basis="balance")
    row = t.row(0, named=True)
    assert row["member"] == "total"
    assert row["overdue_ratio"] == pytest.approx(3400 / 7400)
    assert row["overdue_ratio_prev_q"] == pytest.approx(5500 / 10400)  # previous quarter end = SEP
    assert row["overdue_ratio_chg"] == pytest.approx(3400 / 7400 - 5500 / 10400)
    assert row["npl_ratio_chg"] == pytest.approx(2000 / 7400 - 2000 / 10400)
    assert (row["overdue"], row["overdue_prev_q"], row["overdue_chg"]) == (D("3400.00"), D("5500.00"),
                                                                          D("-2100.00"))
    assert row["overdue_chg_pct"] == pytest.approx(-2100 / 5500)
    assert (row["new_overdue"], row["new_overdue_prev_q"], row["new_overdue_chg"]) == (D("900.00"), D("3500.00"),
                                                                                      D("-2600.00"))
    assert row["new_overdue_chg_pct"] == pytest.approx(-2600 / 3500)
    assert (row["new_overdue_qtd"], row["new_overdue_qtd_prev_q"]) == (D("900.00"), D("6500.00"))
    assert row["new_overdue_qtd_chg_pct"] == pytest.approx(-5600 / 6500)


def test_qoq_count_basis_by_branch(con):
    t = trends.qoq_table(con, month=OCT, dimension="branch", basis="count")
    assert t["member"].to_list() == ["B1", "B2"]
    # B1: OCT A,B overdue of 2 (1.0) vs SEP B of 2 (0.5); B2: OCT C of 2 vs SEP C,E of 3.
    assert t["overdue_ratio"].to_list() == pytest.approx([1.0, 0.5])
    assert t["overdue_ratio_chg"].to_list() == pytest.approx([0.5, 0.5 - 2 / 3])
    assert t["new_overdue"].to_list() == [1, 0]
    assert t["new_overdue_prev_q"].to_list() == [0, 2]
    assert t["new_overdue_chg_pct"].to_list()[0] is None  # from zero: no percentage
    assert t["new_overdue_qtd_prev_q"].to_list() == [2, 2]  # B1: B (JUL) + A (AUG); B2: C + E (SEP)


def test_qoq_change_of_a_loaded_series_equals_qoq_table(con):
    series = trends.trend_series(con, dimension="branch", month_to=OCT)
    assert_frame_equal(trends.qoq_change(series, OCT, "balance"), trends.qoq_table(con, month=OCT, dimension="branch", basis="balance"))


def test_with_labels():
    df = pl.DataFrame({"member": ["B1", "X"], "v": [1, 2]})
    out = labels.with_label_column(df, "member", {"B1": "一支行"})
    assert out.columns == ["label", "member", "v"]
    assert out["label"].to_list() == ["一支行", "X"]


def test_new_overdue_drill_matches_number(con):
    sep = loans_behind(con, DrillSpec(month=SEP, new_overdue=True))
    assert sorted(sep["loan_id"].to_list()) == ["C", "E"]
    assert sum(sep["outstanding_principal"].to_list()) == D("3500.00")
    assert loans_behind(con, DrillSpec(month=OCT, new_overdue=True))["loan_id"].to_list() == ["A"]
    b1 = loans_behind(con, DrillSpec(month=SEP, new_overdue=True, branches=("B1",)))
    assert b1.is_empty()


def test_new_overdue_from_derived_transitions_matches(tmp_path):
    from analytics import derived

    root = write_store(tmp_path / "data", LOANS, SNAPSHOTS)
    con = store.connect(root)
    plain = trends.trend_series(con, dimension="branch")
    con.close()
    derived.build(root)
    con = store.connect(root)
    assert store.has_view(con, "transitions")
    assert_frame_equal(trends.trend_series(con, dimension="branch"), plain)
    from_snapshots = store.query(con, trends.NEW_OVERDUE_SQL, slice_params((), ()) | {
        "month_from": JUN, "month_to": OCT, "dpd_min": 1, "prev_from": add_months(JUN, -1), "prev_to": SEP},
        trends.NEW_OVERDUE_SCHEMA)
    assert_frame_equal(trends.new_overdue_base(con, month_from=JUN, month_to=OCT), from_snapshots)
    con.close()
