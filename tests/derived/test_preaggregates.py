"""The pre-aggregated tables answer exactly what the row-level SQL answered (demo book, with and without a slice)."""

from __future__ import annotations

import datetime as dt

import pytest
from polars.testing import assert_frame_equal

from analytics import derived
from analytics.core import store
from analytics.core.months import PERIODS, period_start
from analytics.core.slice import slice_params
from analytics.metrics import classification, rollrate

SLICES = [((), ()), (("B03",), ("consumer",))]


def test_migration_pairs_merge_januarys_periods():
    # January 2026: month, quarter and year to date all start at December 2025 -> one pair, not three
    assert derived.migration_pairs(dt.date(2026, 1, 1), dt.date(2026, 1, 1)) == [
        (dt.date(2025, 12, 1), dt.date(2026, 1, 1))]
    # May 2026: April (month), March (quarter), December 2025 (year)
    assert derived.migration_pairs(dt.date(2026, 5, 1), dt.date(2026, 5, 1)) == [
        (dt.date(2026, 4, 1), dt.date(2026, 5, 1)), (dt.date(2026, 3, 1), dt.date(2026, 5, 1)),
        (dt.date(2025, 12, 1), dt.date(2026, 5, 1))]


@pytest.mark.parametrize("branches,products", SLICES)
def test_migration_cube_equals_the_row_level_migration(demo_con, branches, products):
    assert derived.has_view(demo_con, "migration_cube")
    for end in store.months(demo_con)[-4:]:
        for period in PERIODS:
            start = period_start(end, period)
            params = slice_params(branches, products) | {"start_month": start, "end_month": end}
            direct = store.query(demo_con, classification.TRANSITION_SQL, params, classification.TRANSITION_SCHEMA)
            cube = classification.transition_base(demo_con, start_month=start, end_month=end, branches=branches,
                                                  products=products)
            assert_frame_equal(cube, direct)


FLOWS_FROM_TRANSITIONS = """
SELECT month, from_bucket, to_bucket, status, count(*)::BIGINT AS total_count,
       sum(prev_balance) AS prev_balance, sum(balance) AS balance
FROM transitions l
WHERE month BETWEEN $month_from AND $month_to AND from_bucket IS NOT NULL AND """


@pytest.mark.parametrize("branches,products", SLICES)
def test_transition_cube_flows_equal_the_loan_level_transitions(demo_con, branches, products):
    from analytics.core.slice import SLICE_SQL

    months = store.months(demo_con)
    params = slice_params(branches, products) | {"month_from": months[0], "month_to": months[-1]}
    direct = store.query(demo_con, FLOWS_FROM_TRANSITIONS + SLICE_SQL + " GROUP BY ALL ORDER BY ALL", params,
                         rollrate.FLOWS_SCHEMA)
    got = rollrate.transition_flows(demo_con, branches=branches, products=products).select(direct.columns)
    assert_frame_equal(got, direct)
