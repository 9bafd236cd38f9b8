"""Month and quarter arithmetic on first-of-month dates: the only place it is written.

A month is the ``date`` of its first day (``2024-03-01`` is the March 2024 month-end snapshot); a quarter
is the first month of the quarter. Everything here is plain integer arithmetic on (year, month), so the
same rule holds in SQL (``date_diff('month', a, b)`` on first-of-month dates) and in Polars
(``month_diff_expr``).
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

EARLIEST = dt.date(1900, 1, 1)
"""Open lower bound of a month range ("from the first month there is")."""
LATEST = dt.date(2999, 12, 1)
"""Open upper bound of a month range ("to the last month there is")."""
TREND_MONTHS = 36
"""The trend window of the pages: the as-of month and the 35 before it."""


def month_index(day: dt.date) -> int:
    """Months since year 0: consecutive months differ by one (vectorised code keeps months as these ints)."""
    return day.year * 12 + day.month - 1


def from_index(index: int) -> dt.date:
    """The first-of-month date of a ``month_index``."""
    return dt.date(index // 12, index % 12 + 1, 1)


def add_months(month: dt.date, n: int) -> dt.date:
    """The first of the month ``n`` months after ``month`` (``n`` may be negative)."""
    return from_index(month_index(month) + n)


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from ``start`` to ``end`` (days ignored): ``months_between(2024-01, 2024-03) == 2``."""
    return month_index(end) - month_index(start)


def month_diff_expr(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """``months_between`` as a Polars expression on date columns."""
    return ((end.dt.year() - start.dt.year()) * 12 + end.dt.month() - start.dt.month()).cast(pl.Int32)


def add_months_expr(month: pl.Expr, n: int | pl.Expr) -> pl.Expr:
    """``add_months`` on a date column (``n`` an int or an integer expression)."""
    return month.dt.offset_by(f"{n}mo" if isinstance(n, int) else pl.format("{}mo", n))


def month_start_expr(day: pl.Expr) -> pl.Expr:
    """The first of the month of each date."""
    return day.dt.truncate("1mo")


def month_start(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, 1)


def window_start(month: dt.date, months: int = TREND_MONTHS) -> dt.date:
    """The first month of the ``months``-month window ending at ``month`` (36 months: ``month`` − 35)."""
    return add_months(month, -(months - 1))


def quarter_start(month: dt.date) -> dt.date:
    return dt.date(month.year, (month.month - 1) // 3 * 3 + 1, 1)


def quarter_end(month: dt.date) -> dt.date:
    """The last month of ``month``'s quarter (its month-end snapshot closes the quarter)."""
    return add_months(quarter_start(month), 2)


def previous_quarter_end(month: dt.date) -> dt.date:
    """The last month of the quarter before ``month``'s quarter (quarter-on-quarter comparisons)."""
    return add_months(quarter_start(month), -1)


PERIODS = ("month", "quarter", "ytd")  # the supervisory migration periods (五级分类迁徙)


def period_start(month: dt.date, period: str) -> dt.date:
    """The start snapshot of the period ending at ``month``: the end of the previous month / quarter / year."""
    if period == "month":
        return add_months(month, -1)
    if period == "quarter":
        return previous_quarter_end(month)
    if period == "ytd":
        return dt.date(month.year - 1, 12, 1)
    raise ValueError(f"unknown period {period!r}; expected one of {PERIODS}")


def quarter_label(month: dt.date) -> str:
    """``2026Q3`` for any month of that quarter."""
    return f"{month.year}Q{(month.month - 1) // 3 + 1}"


_QUARTER = re.compile(r"^\s*(\d{4})\s*[Qq]([1-4])\s*$")


def parse_quarter(text: str) -> dt.date:
    """``"2026Q3"`` -> ``2026-07-01``; ValueError on anything else."""
    match = _QUARTER.match(text)
    if not match:
        raise ValueError(f"not a quarter like 2026Q3: {text!r}")
    return dt.date(int(match[1]), (int(match[2]) - 1) * 3 + 1, 1)


def month_label(month: dt.date) -> str:
    return f"{month:%Y-%m}"
