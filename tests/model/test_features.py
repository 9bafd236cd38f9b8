"""Point-in-time features and the default target, on a hand-built store and on a generated one."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.core import schema, store
from analytics.model import features as feat
from tests import tiny

JAN, FEB, MAR, APR, MAY, JUN = (dt.date(2026, m, 1) for m in range(1, 7))
MONTHS = (JAN, FEB, MAR, APR, MAY, JUN)
D = Decimal


def _rows(loan_id: str, dpd: list[int], **columns: list) -> list[dict]:
    rows = []
    for i, (month, d) in enumerate(zip(MONTHS, dpd, strict=False)):
        row = {"month": month, "loan_id": loan_id, "dpd": d, "outstanding_principal": D("1000")}
        row |= {name: values[i] for name, values in columns.items() if i < len(values)}
        rows.append(row)
    return rows


# A: delinquent in Feb-Mar, cured; balances fall 50 a month; 100 due each month, paid 100, 0, 0, 300, 100, 100.
# B: rolls to 95 DPD in Jun. C: written off in May. D: already in default (100 DPD) in Mar. E: paid off in Apr.
LOANS = [
    {"loan_id": "A", "collateral_value": None},
    {"loan_id": "B", "branch_id": "B2", "product": "mortgage", "guarantee_type": "mortgage",
     "collateral_value": D("4000"), "internal_rating": "AA", "borrower_age": 40},
    {"loan_id": "C"}, {"loan_id": "D"}, {"loan_id": "E", "internal_rating": None},
]
SNAPSHOTS = (
    _rows("A", [0, 15, 40, 0, 0, 0],
          outstanding_principal=[D(v) for v in (1000, 950, 900, 850, 800, 750)],
          amount_due=[D("100")] * 6, amount_paid=[D(v) for v in (100, 0, 0, 300, 100, 100)])
    + _rows("B", [0, 0, 0, 35, 65, 95], collateral_value=[D("2000")] * 6)
    + _rows("C", [0, 30, 60, 90, 120], status=["active"] * 4 + ["written_off"])
    + _rows("D", [40, 70, 100, 130, 160, 190])
    + _rows("E", [0, 0, 0, 0], status=["active"] * 3 + ["paid_off"])
)


@pytest.fixture()
def con(tmp_path):
    root = tiny.write_store(tmp_path / "store", LOANS, SNAPSHOTS)
    c = store.connect(root)
    yield c
    c.close()


def test_features_of_a_cured_loan_by_hand(con):
    got = feat.features(con, months=(JUN,)).filter(pl.col("loan_id") == "A")
    expected = pl.DataFrame({
        "loan_id": ["A"], "month": [JUN], "branch_id": ["B1"], "product": ["consumer"], "balance": [750.0],
        "dpd": [0.0], "max_dpd_3m": [0.0], "max_dpd_6m": [40.0], "max_dpd_12m": [40.0], "times_30p_12m": [1.0],
        "months_since_delinquent": [3.0],  # last overdue in Mar
        "balance_change_6m": [750 / 1000 - 1],  # Jan is the oldest month within 6 months back
        "paid_change_3m": [500 / 100 - 1],  # Apr-Jun paid 500 vs Jan-Mar 100
        "pay_ratio_1m": [1.0], "pay_ratio_3m": [500 / 300], "pay_ratio_12m": [600 / 600],
        "mob": [17.0],  # originated 2025-01-15
        "ltv": [None], "restructured": [0.0], "borrower_age": [36.0], "annual_income": [120000.0],
        "rating_rank": [3.0],  # BBB
        "guarantee_type": ["credit"],
    }, schema=feat.FEATURE_SCHEMA)
    assert_frame_equal(got, expected)


def test_features_at_march_and_population(con):
    got = feat.features(con, months=(MAR,))
    # D is in default (100 DPD) in March: excluded. All others active and at most 90 DPD.
    assert got["loan_id"].to_list() == ["A", "B", "C", "E"]
    a = got.row(0, named=True)
    assert (a["dpd"], a["max_dpd_3m"], a["times_30p_12m"], a["months_since_delinquent"]) == (40, 40, 1, 0)
    assert a["paid_change_3m"] is None  # no months 3-5 back in the store
    b = got.row(1, named=True)
    assert b["ltv"] == pytest.approx(1000 / 2000) and b["rating_rank"] == 1 and b["months_since_delinquent"] == 12
    assert got.row(3, named=True)["rating_rank"] is None


@pytest.mark.parametrize(("horizon", "expected"), [
    (2, {"A": 0, "B": 0, "C": 1, "E": 0}),  # Apr-May: only C (written off in May)
    (3, {"A": 0, "B": 1, "C": 1, "E": 0}),  # Apr-Jun: B reaches 95 DPD in Jun; E paid off (good)
])
def test_target_by_hand(con, horizon, expected):
    got = feat.targets(con, months=(MAR,), horizon=horizon)
    assert dict(zip(got["loan_id"], got["target"], strict=True)) == expected


def test_target_needs_the_whole_window(con):
    assert not feat.targets(con, months=(APR,), horizon=2).is_empty()  # Apr + 2 = Jun is in the store
    assert feat.targets(con, months=(APR,), horizon=3).is_empty()  # Jul is not


def test_observation_months(con):
    assert feat.observation_months(con, horizon=2, history=3) == [MAR, APR]


# --- point in time on a generated store ---------------------------------------------------------------------


def _perturb_after(root, t: dt.date) -> None:
    """Rewrite every snapshot month after ``t`` with different values (and drop the last month)."""
    con = store.connect(root)
    snaps = store.query(con, "SELECT * FROM snapshots")
    con.close()
    later = pl.col("month") > t
    changed = snaps.with_columns(
        pl.when(later).then(pl.col("dpd") + 200).otherwise(pl.col("dpd")).alias("dpd"),
        pl.when(later).then(pl.lit("written_off")).otherwise(pl.col("status")).alias("status"),
        pl.when(later).then(pl.col("amount_paid") * 0).otherwise(pl.col("amount_paid")).alias("amount_paid"),
        pl.when(later).then(pl.lit(True)).otherwise(pl.col("restructured")).alias("restructured"),
        pl.when(later).then(pl.lit(None)).otherwise(pl.col("collateral_value")).alias("collateral_value"),
    ).filter(pl.col("month") < snaps["month"].max())
    shutil.rmtree(root / "snapshots")
    store.write_table(root, "snapshots", schema.conform(changed, schema.SNAPSHOTS))


def test_features_at_t_ignore_every_later_month(small_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(small_root, root)
    con = store.connect(root)
    months = store.months(con)
    t = months[8]
    before = feat.features(con, months=(months[6], t))
    con.close()
    _perturb_after(root, t)
    con = store.connect(root)
    assert store.months(con)[-1] < months[-1]
    after = feat.features(con, months=(months[6], t))
    targets_after = feat.targets(con, months=(t,), horizon=3)
    con.close()
    assert before.height > 500
    assert_frame_equal(before, after)
    assert targets_after["target"].min() == 1  # the target does see the later months


def test_features_are_reproducible_to_the_bit(small_root):
    con = store.connect(small_root)
    months = tuple(store.months(con)[4:8])
    first, second = feat.features(con, months=months), feat.features(con, months=months)
    con.close()
    assert first.equals(second)  # money sums are exact DECIMAL sums, not parallel float sums
