"""Vintage curves on the tiny hand-built book (tests/derived_book.py), with and without derived tables."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import derived
from analytics.core import store
from analytics.metrics import vintage
from tests.derived_book import APR, DEC23, FEB, JAN, MAR, D, write


def _rates(df: pl.DataFrame, *cols: str) -> list[tuple]:
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in df.select(cols).iter_rows()]


@pytest.fixture()
def con(book_con):
    return book_con  # tests/conftest.py: the hand-built book with and without derived tables


def test_ever30_count_and_balance(con):
    # Jan cohort: L1, L2, L3 (6000 disbursed). L3 first > 30 DPD in Feb (MOB1) at 3000;
    # L1 in Mar (MOB2) at 950 (frozen). Feb cohort: L4 never over 30. Dec-2023 cohort left-censored: out.
    df = vintage.vintage_curves(con, grain="month", measure="ever", threshold=30)
    assert _rates(df, "cohort", "mob", "obs_month", "num_count", "rate_count", "rate_balance") == [
        (JAN, 0, JAN, 0, 0.0, 0.0),
        (JAN, 1, FEB, 1, round(1 / 3, 6), 0.5),
        (JAN, 2, MAR, 2, round(2 / 3, 6), round(3950 / 6000, 6)),
        (JAN, 3, APR, 2, round(2 / 3, 6), round(3950 / 6000, 6)),
        (FEB, 0, FEB, 0, 0.0, 0.0),
        (FEB, 1, MAR, 0, 0.0, 0.0),
        (FEB, 2, APR, 0, 0.0, 0.0),
    ]
    assert df["cohort_count"].to_list() == [3, 3, 3, 3, 1, 1, 1]


def test_ever_vs_point_in_time(con):
    # L4 (Feb cohort, 500) is 20 DPD in Mar at 480 and cured in Apr.
    ever = vintage.vintage_curves(con, grain="month", measure="ever", threshold=0).filter(pl.col("cohort") == FEB)
    pit = vintage.vintage_curves(con, grain="month", measure="pit", threshold=0).filter(pl.col("cohort") == FEB)
    assert _rates(ever, "mob", "rate_count", "rate_balance") == [(0, 0.0, 0.0), (1, 1.0, 0.96), (2, 1.0, 0.96)]
    assert _rates(pit, "mob", "rate_count", "rate_balance") == [(0, 0.0, 0.0), (1, 1.0, 0.96), (2, 0.0, 0.0)]


def test_written_off_loan_stays_in_point_in_time_numerator(con):
    # Jan cohort 60+: Mar L3 (70 DPD, 3000); Apr L1 (75 DPD, 950) + L3 written off in Apr at 3000 (kept).
    df = vintage.vintage_curves(con, grain="month", measure="pit", threshold=60).filter(pl.col("cohort") == JAN)
    assert _rates(df, "mob", "num_count", "rate_balance") == [
        (0, 0, 0.0), (1, 0, 0.0), (2, 1, 0.5), (3, 2, round(3950 / 6000, 6))]
    no_keep = vintage.vintage_curves(con, grain="month", measure="pit", threshold=60, keep_exits=()).filter(pl.col("cohort") == JAN)
    assert _rates(no_keep, "mob", "num_count")[-1] == (3, 1)


def test_quarter_cohorts(con):
    # 2024Q1 = L1..L4 (6500); Mar is its last month, Apr the last snapshot: MOB 0..1 observed for all.
    df = vintage.vintage_curves(con, grain="quarter", measure="ever", threshold=30)
    assert _rates(df, "cohort", "cohort_end", "mob", "cohort_count", "num_count", "rate_balance") == [
        (JAN, MAR, 0, 4, 0, 0.0),
        (JAN, MAR, 1, 4, 1, round(3000 / 6500, 6)),
    ]


def test_left_censored_cohort_only_observed_mobs(con):
    # Dec-2023 cohort (L5): first snapshot Jan = MOB1; L5 was 10 DPD in Jan at 780.
    df = vintage.vintage_curves(con, grain="month", measure="ever", threshold=0, include_left_censored=True).filter(pl.col("cohort") == DEC23)
    assert _rates(df, "mob", "rate_count", "rate_balance") == [(m, 1.0, 0.975) for m in (1, 2, 3, 4)]


def test_median_highlight(con):
    df = vintage.vintage_curves(con, grain="month", measure="ever", threshold=30)
    # MOB1: Jan 1/3 vs Feb 0 -> median 1/6, Jan above; MOB3: Jan alone = its own median, not above.
    assert _rates(df.filter(pl.col("above_median_count")), "cohort", "mob") == [(JAN, 1), (JAN, 2)]
    assert df.filter(pl.col("mob") == 1)["median_count"].to_list() == pytest.approx([1 / 6, 1 / 6])


def test_mob_base_one_and_filters(con):
    df = vintage.vintage_curves(con, grain="month", measure="ever", threshold=30, mob_base=1, products=("mortgage",))
    # only L3 (Jan cohort, 3000): flagged from its second month on (MOB2 when MOB1 = origination month)
    assert _rates(df, "cohort", "mob", "rate_count", "rate_balance") == [
        (JAN, 1, 0.0, 0.0), (JAN, 2, 1.0, 1.0), (JAN, 3, 1.0, 1.0), (JAN, 4, 1.0, 1.0)]
    assert vintage.vintage_curves(con, grain="month", measure="ever", threshold=30, branches=("B9",)).is_empty()


def test_triangle_pivot():
    curves = pl.DataFrame({
        "cohort": [JAN, JAN, FEB], "mob": [0, 1, 0], "rate_count": [0.1, 0.2, 0.3],
        "above_median_count": [False, False, True]}, schema_overrides={"mob": pl.Int32})
    rates, flags = vintage.triangle(curves, "count", "month")
    assert_frame_equal(rates, pl.DataFrame({"cohort": ["2024-01", "2024-02"], "0": [0.1, 0.3], "1": [0.2, None]}))
    assert flags.row(1) == ("2024-02", True, None)
    q, _ = vintage.triangle(curves, "count", "quarter")
    assert q["cohort"].to_list() == ["2024Q1", "2024Q1"]


def test_identical_with_and_without_derived(tmp_path):
    root = write(tmp_path / "s")
    inline = store.connect(root)
    results = [vintage.vintage_curves(inline, grain=g, measure=m, threshold=30) for g in ("month", "quarter") for m in ("ever", "pit")]
    derived.build(root)
    built = store.connect(root)
    for (g, m), got in zip([(g, m) for g in ("month", "quarter") for m in ("ever", "pit")], results, strict=True):
        assert_frame_equal(vintage.vintage_curves(built, grain=g, measure=m, threshold=30), got)


def _ids(con, spec) -> list[str]:
    from analytics.metrics import drilldown

    return sorted(drilldown.loans_behind(con, spec)["loan_id"].to_list())


def test_drill_matches_cohort_points(con):
    # ever 30+ Jan cohort MOB3: L1 and L3 (L3 written off: listed at its exit row)
    spec = vintage.point_spec(JAN, "month", 3, "ever", 30)
    assert _ids(con, spec) == ["L1", "L3"]
    assert _ids(con, vintage.point_spec(JAN, "month", 1, "ever", 30)) == ["L3"]
    # quarter cohort 2024Q1 at MOB1 (each loan at its own MOB1): only L3
    q = vintage.point_spec(JAN, "quarter", 1, "ever", 30, last_month=APR)
    assert q.month == APR and _ids(con, q) == ["L3"]
    # point in time 60+, Jan cohort MOB3: L1 on book, L3 kept after its write-off
    assert _ids(con, vintage.point_spec(JAN, "month", 3, "pit", 60)) == ["L1"]
    assert _ids(con, vintage.point_spec(JAN, "month", 3, "pit", 60, part="kept")) == ["L3"]
    assert vintage.point_spec(JAN, "quarter", 1, "pit", 60) is None


def test_drill_totals_equal_the_numerator(con):
    # Ever 30+, Jan cohort MOB3: numerator 3950 = L1 frozen at 950 (Mar) + L3 frozen at 3000 (Feb). The list
    # must add up to it: each loan at its first X+ row (L3's later write-off row would show 0 outstanding).
    from analytics.metrics import drilldown

    point = vintage.vintage_curves(con, grain="month", measure="ever", threshold=30).filter((pl.col("cohort") == JAN) & (pl.col("mob") == 3))
    rows = drilldown.loans_behind(con, vintage.point_spec(JAN, "month", 3, "ever", 30))
    assert point["num_balance"][0] == D(3950) and point["num_count"][0] == 2
    assert rows.height == 2
    assert rows["outstanding_principal"].sum() + rows["disposed_principal"].sum() == D(3950)
    # Ever 0+, Feb cohort MOB2 (Apr): L4 first overdue in Mar at 480 (frozen), cured in Apr at 460.
    point = vintage.vintage_curves(con, grain="month", measure="ever", threshold=0).filter((pl.col("cohort") == FEB) & (pl.col("mob") == 2))
    rows = drilldown.loans_behind(con, vintage.point_spec(FEB, "month", 2, "ever", 0))
    assert point["num_balance"][0] == D(480)
    assert rows["loan_id"].to_list() == ["L4"] and rows["outstanding_principal"].sum() == D(480)
    # point in time 60+, MOB3: L1 on book 950 + L3 kept at its write-off 3000
    point = vintage.vintage_curves(con, grain="month", measure="pit", threshold=60).filter((pl.col("cohort") == JAN) & (pl.col("mob") == 3))
    on_book = drilldown.loans_behind(con, vintage.point_spec(JAN, "month", 3, "pit", 60))
    kept = drilldown.loans_behind(con, vintage.point_spec(JAN, "month", 3, "pit", 60, part="kept"))
    assert point["num_balance"][0] == D(3950)
    assert on_book["outstanding_principal"].sum() + kept["disposed_principal"].sum() == D(3950)


def test_small_cohorts_flagged_and_worst_cohort_named(con):
    # Jan cohort: 3 loans, ever-30+ 1/3 at MOB1, 2/3 at MOB2 and MOB3; Feb cohort: 1 loan, 0 at MOB0..2.
    df = vintage.vintage_curves(con, grain="month", measure="ever", threshold=30, min_n=2)
    assert df.filter(pl.col("cohort") == JAN)["low_n"].to_list() == [False] * 4
    assert df.filter(pl.col("cohort") == FEB)["low_n"].to_list() == [True] * 3
    sizes = vintage.cohort_sizes(df)
    assert sizes.select("cohort", "cohort_count", "max_mob").rows() == [(JAN, 3, 3), (FEB, 1, 2)]
    # min_n 1: both cohorts qualify; reference MOB = the largest reached by at least half of them = 3 (Jan: 1 of 2)
    worst = vintage.worst_cohort(df, basis="count", min_n=1)
    assert worst == {"cohort": JAN, "mob": 3, "rate": pytest.approx(2 / 3), "cohort_count": 3,
                     "median": pytest.approx(2 / 3)}
    # at MOB 2 both are there: Jan 2/3 vs Feb 0, median 1/3
    assert vintage.worst_cohort(df, basis="count", min_n=1, mob=2)["median"] == pytest.approx(1 / 3)
    # min_n 2: the one-loan Feb cohort is left out; only Jan qualifies, at its own last MOB 3
    assert vintage.worst_cohort(df, basis="balance", min_n=2)["rate"] == pytest.approx(3950 / 6000)
    assert vintage.worst_cohort(df, basis="count", min_n=4) is None
