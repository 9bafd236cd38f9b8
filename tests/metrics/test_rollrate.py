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
    assert pick(FEB, "roll", "M0") == (1, D(950), 3, D(6000), pytest.approx(1 / 3), pytest.approx(950 / 6000))
    # Feb: L5 cures M1 -> M0; the cure numerator is its January balance 780.
    assert pick(FEB, "cure", "M1") == (1, D(780), 1, D(780), 1.0, 1.0)
    # Mar: M0 -> M1 = L4 480 (at Mar) / 3160 (Feb balances of L2, L4, L5)
    assert pick(MAR, "roll", "M0") == (1, D(480), 3, D(3160), pytest.approx(1 / 3), pytest.approx(480 / 3160))
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
