"""Month and quarter arithmetic on first-of-month dates (analytics.core.months)."""

import datetime as dt

import polars as pl
import pytest

from analytics.core import months


@pytest.mark.parametrize(("month", "expected"), [
    (dt.date(2026, 10, 1), dt.date(2026, 9, 1)),
    (dt.date(2026, 9, 1), dt.date(2026, 6, 1)),
    (dt.date(2026, 1, 1), dt.date(2025, 12, 1)),
    (dt.date(2026, 3, 1), dt.date(2025, 12, 1)),
])
def test_previous_quarter_end(month, expected):
    assert months.previous_quarter_end(month) == expected


def test_add_months_crosses_years():
    assert months.add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)
    assert months.add_months(dt.date(2025, 11, 1), 14) == dt.date(2027, 1, 1)


def test_months_between_and_window():
    assert months.months_between(dt.date(2024, 1, 1), dt.date(2024, 3, 1)) == 2
    assert months.months_between(dt.date(2024, 3, 1), dt.date(2023, 12, 1)) == -3
    assert months.window_start(dt.date(2026, 10, 1)) == dt.date(2023, 11, 1)  # 36 months incl. October 2026
    assert months.window_start(dt.date(2026, 10, 1), 12) == dt.date(2025, 11, 1)


def test_month_diff_expr_matches_months_between():
    pairs = [(dt.date(2023, 11, 1), dt.date(2024, 2, 1)), (dt.date(2024, 5, 1), dt.date(2024, 5, 1)),
             (dt.date(2024, 12, 1), dt.date(2023, 1, 1))]
    df = pl.DataFrame({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]})
    got = df.select(months.month_diff_expr(pl.col("a"), pl.col("b")).alias("d"))["d"].to_list()
    assert got == [months.months_between(a, b) for a, b in pairs] == [3, 0, -23]


@pytest.mark.parametrize(("month", "start", "end", "label"), [
    (dt.date(2026, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 3, 1), "2026Q1"),
    (dt.date(2026, 9, 1), dt.date(2026, 7, 1), dt.date(2026, 9, 1), "2026Q3"),
    (dt.date(2026, 12, 1), dt.date(2026, 10, 1), dt.date(2026, 12, 1), "2026Q4"),
])
def test_quarters(month, start, end, label):
    assert months.quarter_start(month) == start and months.quarter_end(month) == end
    assert months.quarter_label(month) == label and months.parse_quarter(label) == start


def test_parse_quarter_rejects_other_text():
    for text in ("2026Q5", "2026-07", "Q3 2026", ""):
        with pytest.raises(ValueError):
            months.parse_quarter(text)


def test_month_index_round_trip():
    assert months.from_index(months.month_index(dt.date(2025, 12, 1)) + 1) == dt.date(2026, 1, 1)
