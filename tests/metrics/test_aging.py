"""Aging: bucket assignment at the boundaries, tables, trend and the aging report (hand-computed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import labels
from analytics.core import schema, store
from analytics.metrics import aging
from analytics.metrics.drilldown import DrillSpec, loans_behind

MAR, JUN = dt.date(2024, 3, 1), dt.date(2024, 6, 1)


def D(x) -> Decimal:  # noqa: N802 - short constructor for money literals
    return Decimal(str(x)).quantize(Decimal("0.01"))


def make_store(tmp_path, snaps: list[tuple], loans: list[tuple]):
    """snaps: (month, loan_id, balance, dpd, class, cause); loans: (loan_id, branch, product)."""
    branch_of = {lid: br for lid, br, _ in loans}  # the managing branch is the loan's branch
    rows = [{
        "month": month, "loan_id": lid, "branch_id": branch_of.get(lid, "B1"), "outstanding_principal": D(bal), "overdue_principal": D(bal // 10 if dpd else 0),
        "overdue_interest": D(0), "dpd": dpd, "booked_class": cls, "status": "active", "tech_overdue": False,
        "overdue_cause": cause, "collector_id": None, "restructured": False, "collateral_value": None,
        "amount_due": D(0), "amount_paid": D(0), "disposed_principal": D(0),
    } for month, lid, bal, dpd, cls, cause in snaps]
    loans_df = pl.DataFrame([{
        "loan_id": lid, "customer_id": "C" + lid, "branch_id": br, "product": prod,
        "origination_date": dt.date(2023, 1, 15), "maturity_date": dt.date(2033, 1, 15), "principal": D(100000),
        "annual_rate": 0.05, "term_months": 120, "repayment_method": "annuity", "guarantee_type": "credit",
        "collateral_value": None, "borrower_age": 40, "annual_income": None, "industry": None,
        "internal_rating": None} for lid, br, prod in loans], infer_schema_length=None)
    store.write_table(tmp_path, "snapshots",
                      schema.conform(pl.DataFrame(rows, infer_schema_length=None), schema.SNAPSHOTS))
    store.write_table(tmp_path, "loans", schema.conform(loans_df, schema.LOANS))
    store.write_table(tmp_path, "branches", pl.DataFrame({"branch_id": ["B1", "B2"], "branch_name": ["一", "二"],
                                                          "region": ["R", "R"]}))
    return store.connect(tmp_path)


# --- bucket boundaries -------------------------------------------------------------------------------

BOUNDARY_DPD = (0, 1, 30, 31, 60, 61, 90, 91, 120, 121, 150, 151, 180, 181, 270, 271, 360, 361)


@pytest.fixture()
def boundary_con(tmp_path):
    snaps = [(JUN, f"L{d:03d}", 100, d, 3 if d > 90 else 1, None) for d in BOUNDARY_DPD]
    con = make_store(tmp_path, snaps, [(f"L{d:03d}", "B1", "consumer") for d in BOUNDARY_DPD])
    yield con
    con.close()


def test_bucket_boundaries(boundary_con):
    base = aging.aging_base(boundary_con)
    m = aging.aging_by(base, scheme="m", by=())
    assert m["bucket"].to_list() == list(range(8))
    assert m["total_count"].to_list() == [1, 2, 2, 2, 2, 2, 2, 5]  # M7+ = 181, 270, 271, 360, 361
    reg = aging.aging_by(base, scheme="reg", by=())
    assert reg["total_count"].to_list() == [1, 2, 2, 2, 6, 2, 2, 1]  # 91-180 = 91, 120, 121, 150, 151, 180
    assert reg["total_balance"].to_list() == [D(100 * k) for k in (1, 2, 2, 2, 6, 2, 2, 1)]
    assert reg["share_count"].to_list() == pytest.approx([k / 18 for k in (1, 2, 2, 2, 6, 2, 2, 1)])


def test_bucket_dpd_range_and_drill(boundary_con):
    assert aging.bucket_dpd_range("m", 0) == (0, 0)
    assert aging.bucket_dpd_range("m", 1) == (1, 30)
    assert aging.bucket_dpd_range("m", 7) == (181, None)
    assert aging.bucket_dpd_range("reg", 4) == (91, 180)
    assert aging.bucket_dpd_range("reg", 7) == (361, None)
    low, high = aging.bucket_dpd_range("reg", 6)
    listed = loans_behind(boundary_con, DrillSpec(month=JUN, dpd_min=low, dpd_max=high))
    assert sorted(listed["dpd"].to_list()) == [271, 360]


def test_bucket_labels():
    assert labels.bucket_labels("m", "zh")[0] == "M0 (0)" and labels.bucket_labels("m", "zh")[7] == "M7+ (>180)"
    assert labels.bucket_labels("reg", "zh")[0] == "未逾期" and labels.bucket_labels("reg", "en")[0] == "Current"
    assert labels.bucket_labels("reg", "zh")[4] == "91-180"


# --- tables and report -----------------------------------------------------------------------------

REPORT_SNAPS = [
    (JUN, "A", 1000, 0, 1, None),
    (JUN, "B", 500, 10, 2, "income_drop"),
    (JUN, "C", 300, 20, 2, "technical"),
    (JUN, "D", 200, 45, 2, "income_drop"),
    (JUN, "E", 400, 100, 3, "business_difficulty"),
    (JUN, "F", 100, 200, 2, "fraud"),
    (MAR, "A", 1100, 0, 1, None),
    (MAR, "B", 600, 0, 1, None),
    (MAR, "E", 500, 10, 2, "income_drop"),
    (MAR, "G", 100, 400, 5, "fraud"),
]
REPORT_LOANS = [("A", "B1", "mortgage"), ("B", "B1", "consumer"), ("C", "B2", "consumer"), ("D", "B1", "consumer"),
                ("E", "B2", "consumer"), ("F", "B2", "consumer"), ("G", "B2", "consumer")]


@pytest.fixture()
def report_con(tmp_path):
    con = make_store(tmp_path, REPORT_SNAPS, REPORT_LOANS)
    yield con
    con.close()


def test_aging_table_by_branch(report_con):
    base = aging.aging_base(report_con)
    bal = aging.aging_table(base, month=JUN, scheme="m", by="branch_id", basis="balance")
    zero = [0.0] * 8
    b1, b2 = zero.copy(), zero.copy()
    b1[0], b1[1], b1[2] = 1000.0, 500.0, 200.0  # A, B, D
    b2[1], b2[4], b2[7] = 300.0, 400.0, 100.0  # C, E (M4), F (M7+)
    expected = pl.DataFrame(
        {"branch_id": ["B1", "B2"], **{f"b{i}": [b1[i], b2[i]] for i in range(8)},
         "total": [1700.0, 800.0], "overdue_ratio": [700 / 1700, 1.0]})
    assert_frame_equal(bal, expected)
    n = aging.aging_table(base, month=JUN, scheme="m", by="product", basis="count")
    assert n["product"].to_list() == ["consumer", "mortgage"]
    assert n["total"].to_list() == [5.0, 1.0] and n["overdue_ratio"].to_list() == [1.0, 0.0]
    assert aging.aging_table(base, month=dt.date(2020, 1, 1)).is_empty()


def test_aging_trend(report_con):
    trend = aging.aging_trend(aging.aging_base(report_con), scheme="reg")
    mar = trend.filter(pl.col("month") == MAR)
    assert mar["bucket"].to_list() == [0, 1, 7]
    assert mar["total_balance"].to_list() == [D(1700), D(500), D(100)]
    assert mar["share_balance"].to_list() == pytest.approx([17 / 23, 5 / 23, 1 / 23])
    assert trend.filter(pl.col("month") == JUN)["total_count"].sum() == 6


def test_aging_report(report_con):
    rep = aging.aging_report(report_con, month=JUN, scheme="reg")  # compares with the March quarter end
    shown = labels.aging_report_view(rep, "reg", "zh")
    bal = [1000, 800, 200, 0, 400, 100, 0, 0, 1500, 2500]
    n = [1, 2, 1, 0, 1, 1, 0, 0, 5, 6]
    assert rep["bucket"].to_list() == list(range(10))
    assert shown["bucket_label"].to_list()[-2:] == ["逾期小计", "合计"]
    assert rep["total_balance"].to_list() == [D(b) for b in bal]
    assert rep["total_count"].to_list() == n
    assert rep["share_balance"].to_list() == pytest.approx([b / 2500 for b in bal])  # overdue row: overdue ratio 60%
    assert rep["share_count"].to_list() == pytest.approx([k / 6 for k in n])
    assert rep["overdue_principal"].to_list() == [D(x) for x in (0, 80, 20, 0, 40, 10, 0, 0, 150, 150)]
    assert rep["npl_balance"].to_list() == [D(x) for x in (0, 0, 0, 0, 400, 0, 0, 0, 400, 400)]
    assert rep["npl_rate_balance"].to_list()[3] is None and rep["npl_rate_balance"][4] == 1.0 and rep["npl_rate_balance"][5] == 0.0
    assert rep["npl_rate_balance"][8] == pytest.approx(400 / 1500) and rep["npl_rate_balance"][9] == pytest.approx(0.16)
    assert rep["npl_rate_count"][8] == pytest.approx(1 / 5)
    assert shown["top_causes"][0] is None
    assert shown["top_causes"][1] == "收入下降/失业 62.50%, 技术性原因(扣款失败等) 37.50%"
    assert shown["top_causes"][8] == "收入下降/失业 46.67%, 经营困难 26.67%, 技术性原因(扣款失败等) 20.00%"
    # March: current A+B 1,700; ≤30 E 500; >360 G 100; total 2,300
    prev_bal = [1700, 500, 0, 0, 0, 0, 0, 100, 600, 2300]
    assert rep["prev_balance"].to_list() == [D(b) for b in prev_bal]
    assert rep["change_balance"].to_list() == [D(a - b) for a, b in zip(bal, prev_bal, strict=True)]
    assert rep["change_count"].to_list() == [-1, 1, 1, 0, 1, 1, 0, -1, 3, 2]
    assert rep["change_share_balance"][8] == pytest.approx(0.6 - 600 / 2300)


def test_aging_report_english_m_scheme_and_no_comparison(report_con):
    rep = aging.aging_report(report_con, month=JUN, scheme="m", compare_month=dt.date(2023, 12, 1), top=1)
    shown = labels.aging_report_view(rep, "m", "en")
    assert shown["bucket_label"].to_list()[-2:] == ["Overdue subtotal", "Total"]
    assert rep["total_balance"].to_list()[:8] == [D(x) for x in (1000, 800, 200, 0, 400, 0, 0, 100)]
    assert shown["top_causes"][1] == "Income drop / unemployment 62.50%"
    assert rep["prev_balance"].null_count() == 10 and rep["change_balance"].null_count() == 10


def test_aging_filters(report_con):
    rep = aging.aging_report(report_con, month=JUN, branches=("B1",), products=("consumer",))
    assert rep["total_count"][9] == 2 and rep["total_balance"][9] == D(700)  # B and D


def test_trend_base_equals_full_base_summed(report_con):
    full = aging.aging_trend(aging.aging_base(report_con), scheme="m")
    assert_frame_equal(aging.aging_trend(aging.aging_trend_base(report_con), scheme="m"), full)
    filtered = aging.aging_trend(aging.aging_trend_base(report_con, branches=("B2",)), scheme="reg")
    assert_frame_equal(filtered, aging.aging_trend(aging.aging_base(report_con, branches=("B2",)), scheme="reg"))
    assert filtered.filter(pl.col("month") == JUN)["total_balance"].to_list() == [D(300), D(400), D(100)]  # C; E; F


def test_aging_report_compare_month_present_but_empty_under_filters(tmp_path):
    # H (micro_sme, 35 DPD, 250) exists only in June; the March snapshot exists but holds no micro_sme loan.
    # So the comparison is against zero (change = June value), not "unknown" (null).
    con = make_store(tmp_path, [*REPORT_SNAPS, (JUN, "H", 250, 35, 2, "illness")],
                     [*REPORT_LOANS, ("H", "B2", "micro_sme")])
    rep = aging.aging_report(con, month=JUN, products=("micro_sme",), scheme="reg")
    bal = [0, 0, 250, 0, 0, 0, 0, 0, 250, 250]  # band 31-60, overdue subtotal, total
    assert rep["total_balance"].to_list() == [D(b) for b in bal]
    assert rep["prev_balance"].to_list() == [D(0)] * 10 and rep["prev_count"].to_list() == [0] * 10
    assert rep["change_balance"].to_list() == [D(b) for b in bal]
    assert rep["change_count"].to_list() == [0, 0, 1, 0, 0, 0, 0, 0, 1, 1]
    assert rep["prev_share_balance"].null_count() == 10  # 0 / 0: undefined
    con.close()


def test_derived_cube_gives_the_same_aging(tmp_path):
    from polars.testing import assert_frame_equal

    from analytics import derived
    from analytics.core import store
    from tests.tiny import portfolio_store

    root = portfolio_store(tmp_path)
    calls = [(aging.aging_base, {}), (aging.aging_base, {"branches": ("B2",), "products": ("consumer",)}),
             (aging.aging_trend_base, {}), (aging.aging_trend_base, {"branches": ("B1",)})]
    con = store.connect(root)
    raw = [fn(con, **kwargs) for fn, kwargs in calls]
    con.close()
    derived.build(root)
    con = store.connect(root)
    assert store.has_view(con, "aging_cube")
    for (fn, kwargs), expected in zip(calls, raw, strict=True):
        assert_frame_equal(fn(con, **kwargs), expected)
    # Sep by hand: M0 = L1 1000 + L4 4000; M2 (31-60) = L2 2000; M4 (91-120) = L3 3000.
    sep = raw[2].filter(raw[2]["month"] == raw[2]["month"].min())
    assert dict(zip(sep["m_bucket"], sep["total_balance"].cast(float), strict=True)) == {0: 5000.0, 2: 2000.0, 4: 3000.0}
