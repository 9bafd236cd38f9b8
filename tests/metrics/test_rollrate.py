"""Transition matrix, roll, cure and flow-through rates on the tiny hand-built book (tests/derived_book.py)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import derived
from analytics.core import store
from analytics.metrics import rollrate
from tests.derived_book import APR, FEB, JAN, MAR, D, write


def _nonzero(matrix: pl.DataFrame) -> list[tuple]:
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in matrix.filter(pl.col("total_count") > 0)
            .select("from_state", "to_state", "total_count", "prev_balance", "balance", "share_count", "share_balance").iter_rows()]


@pytest.fixture()
def con(book_con):
    return book_con  # tests/conftest.py: the hand-built book with and without derived tables


def test_matrix_with_exits(con):
    # March, from Feb buckets: M0 = L2 (1900, paid off), L4 (500 -> 480, M1), L5 (760 -> 740, M0);
    # M1 = L1 (950 -> M2); M2 = L3 (3000 -> M3).
    m = rollrate.roll_matrix(con, month=MAR)
    assert m.height == 8 * 12  # full grid: M0..M7+ x (M0..M7+, 4 exits)
    assert _nonzero(m) == [
        ("M0", "M0", 1, D(760), D(740), round(1 / 3, 6), round(760 / 3160, 6)),
        ("M0", "M1", 1, D(500), D(480), round(1 / 3, 6), round(500 / 3160, 6)),
        ("M0", "paid_off", 1, D(1900), D(0), round(1 / 3, 6), round(1900 / 3160, 6)),
        ("M1", "M2", 1, D(950), D(950), 1.0, 1.0),
        ("M2", "M3", 1, D(3000), D(3000), 1.0, 1.0),
    ]
    apr = _nonzero(rollrate.roll_matrix(con, month=APR))
    assert ("M3", "written_off", 1, D(3000), D(3000), 1.0, 1.0) in apr
    # an empty row has no shares
    assert m.filter(pl.col("from_state") == "M7+")["share_balance"].null_count() == 12


def test_matrix_filters_and_first_month(con):
    assert rollrate.roll_matrix(con, month=JAN).is_empty()  # no previous snapshot
    b2 = rollrate.roll_matrix(con, month=MAR, branches=("B2",))
    assert _nonzero(b2) == [("M2", "M3", 1, D(3000), D(3000), 1.0, 1.0)]


def test_matrix_wide():
    m = pl.DataFrame({"from_state": ["M0"] * len(rollrate.STATES), "to_state": list(rollrate.STATES),
                      "share_balance": [0.5, 0.25] + [0.0] * 9 + [0.25]})
    wide = rollrate.matrix_wide(m)
    assert wide.columns == ["from_state", *rollrate.STATES]
    assert wide.row(0)[:3] == ("M0", 0.5, 0.25) and wide["foreclosed"][0] == 0.25


def test_roll_and_cure_rates(con):
    r = rollrate.roll_rates(con)
    def pick(month, kind, frm):
        row = r.filter((pl.col("month") == month) & (pl.col("kind") == kind) & (pl.col("from_state") == frm))
        return row.select("num_count", "num_balance", "den_count", "den_balance", "rate_count", "rate_balance").row(0)
    # Feb: M0 at Jan = L1 1000, L2 2000, L3 3000; L1 rolls to M1 with 950 at Feb (bal_t numerator).
    # (the next-bucket rate is the detail kind roll_next since forward roll counts any worse bucket)
    assert pick(FEB, "roll_next", "M0") == (1, D(950), 3, D(6000), pytest.approx(1 / 3), pytest.approx(950 / 6000))
    # Forward roll to any worse bucket: L3 skips M1 (DPD 0 -> 40, M0 -> M2) and counts too.
    assert pick(FEB, "roll", "M0") == (2, D(3950), 3, D(6000), pytest.approx(2 / 3), pytest.approx(3950 / 6000))
    # Feb: L5 cures M1 -> M0; the cure numerator is its January balance 780.
    assert pick(FEB, "cure", "M1") == (1, D(780), 1, D(780), 1.0, 1.0)
    # Mar: M0 -> M1 = L4 480 (at Mar) / 3160 (Feb balances of L2, L4, L5)
    assert pick(MAR, "roll_next", "M0") == (1, D(480), 3, D(3160), pytest.approx(1 / 3), pytest.approx(480 / 3160))
    # Apr: L4 cures M1 -> M0 at its March balance 480; L3's write-off from M3 is not an M3 -> M4 roll.
    assert pick(APR, "cure", "M1") == (1, D(480), 1, D(480), 1.0, 1.0)
    assert pick(APR, "roll", "M3") == (0, D(0), 1, D(3000), 0.0, 0.0)
    # empty buckets: rate undefined (null), not zero
    assert pick(APR, "roll", "M6")[4:] == (None, None)
    assert pick(APR, "writeoff", "M7+")[2:] == (0, D(0), None, None)
    assert r["month"].unique().sort().to_list() == [FEB, MAR, APR]


def test_flow_through_by_hand():
    months = [dt.date(2024, 5, 1)] * 8
    froms = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"]
    tos = ["M1", "M2", "M3", "M4", "M5", "M6", "M7+", "written_off"]
    rates = pl.DataFrame({
        "month": months, "kind": ["roll"] * 7 + ["writeoff"], "from_state": froms, "to_state": tos,
        "rate_count": [0.1, 0.5, 0.5, 0.8, 1.0, 1.0, 1.0, 0.5],
        "rate_balance": [0.2, 0.5, 0.5, 0.5, 1.0, 1.0, None, 0.5],
    })
    ft = rollrate.flow_through(rates)
    assert ft["to_state"].to_list() == tos
    assert ft["flow_count"].to_list() == pytest.approx([0.1, 0.05, 0.025, 0.02, 0.02, 0.02, 0.02, 0.01])
    # a missing link breaks the chain from there on
    assert ft["flow_balance"].to_list()[:6] == pytest.approx([0.2, 0.1, 0.05, 0.025, 0.025, 0.025])
    assert ft["flow_balance"].to_list()[6:] == [None, None]


def test_identical_with_and_without_derived(tmp_path):
    root = write(tmp_path / "s")
    inline = store.connect(root)
    before = (rollrate.roll_rates(inline), rollrate.roll_matrix(inline, month=APR))
    derived.build(root)
    built = store.connect(root)
    assert_frame_equal(rollrate.roll_rates(built), before[0])
    assert_frame_equal(rollrate.roll_matrix(built, month=APR), before[1])


def test_drill_matches_matrix_cells(con):
    from analytics.metrics import drilldown

    def ids(spec):
        return sorted(drilldown.loans_behind(con, spec)["loan_id"].to_list())

    assert ids(rollrate.cell_spec(MAR, "M0", "M1")) == ["L4"]
    assert ids(rollrate.cell_spec(MAR, "M0", "M0")) == ["L5"]
    assert ids(rollrate.cell_spec(MAR, "M0", "paid_off")) == ["L2"]
    assert ids(rollrate.cell_spec(APR, "M3", "written_off")) == ["L3"]
    assert ids(rollrate.cell_spec(APR, "M1", "M0")) == ["L4"]
    assert ids(rollrate.cell_spec(APR, "M2", "written_off")) == []


# --- forward roll to any worse bucket, pooled window, small samples (issue 8 item 8 / 7) ----------------

def _skip_book(tmp_path):
    """Sep -> Oct 2026 (tests/tiny.py): from M3 (DPD 61-90) at Sep,
    A: DPD 90 -> 121 (skips M4, lands in M5), balance 1000 -> 1000;  B: 80 -> 110 (M4), 2000 -> 2000;
    C: 70 -> 0 (cures), 3000 -> 2900;  D: 75 -> 100 (M4), 4000 -> 3900. Aug -> Sep: E M0 -> M1 (DPD 0 -> 10).
    By hand, Oct from M3: den = 4 loans / 10000; worse (M4+) = A, B, D: 3 loans, Oct balance 6900;
    next bucket (M4) = B, D: 2 loans / 5900."""
    from tests.tiny import OCT, SEP, write_store

    aug = dt.date(2026, 8, 1)
    loans = [{"loan_id": x} for x in "ABCDE"]
    rows = [
        {"month": SEP, "loan_id": "A", "dpd": 90, "outstanding_principal": D(1000)},
        {"month": OCT, "loan_id": "A", "dpd": 121, "outstanding_principal": D(1000)},
        {"month": SEP, "loan_id": "B", "dpd": 80, "outstanding_principal": D(2000)},
        {"month": OCT, "loan_id": "B", "dpd": 110, "outstanding_principal": D(2000)},
        {"month": SEP, "loan_id": "C", "dpd": 70, "outstanding_principal": D(3000)},
        {"month": OCT, "loan_id": "C", "dpd": 0, "outstanding_principal": D(2900)},
        {"month": SEP, "loan_id": "D", "dpd": 75, "outstanding_principal": D(4000)},
        {"month": OCT, "loan_id": "D", "dpd": 100, "outstanding_principal": D(3900)},
        {"month": aug, "loan_id": "E", "dpd": 0, "outstanding_principal": D(500)},
        {"month": SEP, "loan_id": "E", "dpd": 10, "outstanding_principal": D(500)},
        {"month": OCT, "loan_id": "E", "dpd": 40, "outstanding_principal": D(500)},
    ]
    return store.connect(write_store(tmp_path / "skip", loans, rows)), SEP, OCT


def test_forward_roll_counts_a_skipped_bucket(tmp_path):
    con, _, oct_ = _skip_book(tmp_path)
    r = rollrate.roll_rates(con, min_n=3)

    def pick(kind, frm):
        row = r.filter((pl.col("month") == oct_) & (pl.col("kind") == kind) & (pl.col("from_state") == frm))
        return row.select("to_state", "num_count", "num_balance", "den_count", "den_balance", "rate_count",
                          "rate_balance", "low_n").row(0)

    assert pick("roll", "M3") == ("M4+", 3, D(6900), 4, D(10000), 0.75, pytest.approx(0.69), False)
    assert pick("roll_next", "M3") == ("M4", 2, D(5900), 4, D(10000), 0.5, pytest.approx(0.59), False)
    # M1 -> M2 for E: a single loan, flagged as a small sample (min_n 3)
    assert pick("roll", "M1")[1:4] == (1, D(500), 1) and pick("roll", "M1")[-1] is True


def test_pooled_matrix_and_rates_sum_numerators_and_denominators(tmp_path):
    con, sep, oct_ = _skip_book(tmp_path)
    # Sep alone: M0 row = E only; Oct alone: M1 row = E, M3 row = A-D.  Pooled Sep+Oct: rows of both months.
    pooled = rollrate.roll_matrix(con, month=oct_, window=2, min_n=2)
    m0 = pooled.filter(pl.col("from_state") == "M0", pl.col("total_count") > 0)
    assert m0.select("to_state", "total_count", "prev_balance").rows() == [("M1", 1, D(500))]
    m3 = pooled.filter(pl.col("from_state") == "M3", pl.col("total_count") > 0)
    assert m3.select("to_state", "total_count", "share_balance").rows() == [
        ("M0", 1, 0.3), ("M4", 2, 0.6), ("M5", 1, 0.1)]
    assert not pooled.filter(pl.col("from_state") == "M3")["low_n"].any()  # n = 4 >= 2
    assert pooled.filter(pl.col("from_state") == "M2")["low_n"].all()  # n = 0
    single = rollrate.roll_matrix(con, month=oct_)
    assert single.filter(pl.col("from_state") == "M0")["total_count"].sum() == 0
    rates = rollrate.roll_rates(con)
    p = rollrate.pooled_rates(rates, month=oct_, window=2, min_n=2)
    roll_m0 = p.filter((pl.col("kind") == "roll") & (pl.col("from_state") == "M0")).row(0, named=True)
    assert (roll_m0["num_count"], roll_m0["den_count"], roll_m0["rate_count"], roll_m0["low_n"]) == (1, 1, 1.0, True)
    roll_m3 = p.filter((pl.col("kind") == "roll") & (pl.col("from_state") == "M3")).row(0, named=True)
    assert (roll_m3["num_count"], roll_m3["den_count"], roll_m3["months"]) == (3, 4, 2)
    with pytest.raises(ValueError):
        rollrate.roll_matrix(con, month=oct_, window=0)
