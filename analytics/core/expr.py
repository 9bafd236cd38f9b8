"""Shared column logic: the one safe division and small expressions every metric uses.

Zero policy (as scikit-learn's metrics document theirs): a ratio whose denominator is zero or
missing is **null** ("no loans to divide by", shown as "—"), never 0 and never infinity. The SQL
spelling of the same rule is ``x / NULLIF(den, 0)``.
"""

from __future__ import annotations

import polars as pl


def _col(x: str | pl.Expr) -> pl.Expr:
    return pl.col(x) if isinstance(x, str) else x


def safe_div(num: str | pl.Expr, den: str | pl.Expr) -> pl.Expr:
    """``num / den`` as Float64, null where ``den`` is 0 or null (see the module's zero policy)."""
    d = _col(den).cast(pl.Float64)
    return _col(num).cast(pl.Float64) / pl.when(d != 0).then(d)


def share_of_total(col: str | pl.Expr, over: list[str] | None = None) -> pl.Expr:
    """Each row's share of the column total (within ``over`` groups when given)."""
    num = _col(col).cast(pl.Float64)
    return safe_div(num, num.sum() if not over else num.sum().over(over))


def pct_change(cur: str | pl.Expr, prev: str | pl.Expr) -> pl.Expr:
    """(cur − prev) ÷ prev, null when prev is 0."""
    c, p = _col(cur).cast(pl.Float64), _col(prev).cast(pl.Float64)
    return safe_div(c - p, p)
