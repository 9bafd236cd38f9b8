"""Programme effect evaluation: statuses and the demo-book values."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.core import store
from analytics.metrics import programme


@pytest.mark.parametrize(("value", "goal", "kind", "running", "status"), [
    (0.009, 0.01, "ceiling", False, "met"),
    (0.0105, 0.01, "ceiling", False, "at_risk"),  # within 10% of the ceiling
    (0.02, 0.01, "ceiling", False, "missed"),
    (0.85, 0.80, "floor", False, "met"),
    (0.75, 0.80, "floor", False, "at_risk"),
    (0.30, 0.80, "floor", False, "missed"),
    (0.01, 0.05, "floor", True, "at_risk"),  # the six-month window is still running
    (None, 0.05, "floor", False, "no_data"),
])
def test_status(value, goal, kind, running, status):
    assert programme._status(value, goal, kind, 0.10, running) == status


def test_programme_on_the_demo_book(demo_con):
    last = store.months(demo_con)[-1]
    start = programme.default_start(last)
    df = programme.programme_status(demo_con, as_of=last, start_month=start)
    assert df["target"].to_list() == list(programme.KINDS)
    row = {r["target"]: r for r in df.iter_rows(named=True)}
    assert 0 <= row["new_loan_npl_ratio"]["value"] < 0.2 and row["new_loan_npl_ratio"]["loans_count"] > 0
    assert row["recovery_rate"]["value"] is not None and row["overdue_ratio_drop"]["window_end"] == last
    assert start == dt.date(last.year if last.month > 6 else last.year - 1, (last.month - 7) % 12 + 1, 1)
