"""Overdue causes (逾期原因): Pareto, mix over time, by branch / product, change vs last quarter end.

口径 [CONV]: the overdue book at month t = on-book (status ``active``) loans with DPD ≥ ``dpd_min``
(default 1), counted at their whole outstanding principal (as ``analytics.portfolio``). The cause is
``snapshots.overdue_cause`` at t; overdue loans with no cause are kept as ``not_reported``
(未填报) so that the causes add up to the overdue book.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics import derived
from analytics.core.expr import pct_change, share_of_total
from analytics.core.months import EARLIEST, previous_quarter_end
from analytics.core.schema import CAUSES, MONEY
from analytics.core.slice import MANAGED_SLICE_SQL, SLICE_SQL, slice_params
from analytics.core.store import query

NOT_REPORTED = "not_reported"
CAUSE_ORDER = (*CAUSES, NOT_REPORTED)
BASIS_COLUMN = {"balance": "total_balance", "count": "total_count"}
DIMENSION_COLUMN = {"branch": "branch_id", "product": "product"}

CAUSE_BASE_SQL = """
SELECT s.month, s.branch_id, l.product,
       coalesce(s.overdue_cause, $not_reported) AS cause,
       count(*)::BIGINT AS total_count,
       coalesce(sum(s.outstanding_principal), 0) AS total_balance
FROM snapshots s JOIN loans l ON l.loan_id = s.loan_id
WHERE s.status = 'active' AND s.dpd >= $dpd_min AND s.month BETWEEN $month_from AND $month_to
  AND """ + MANAGED_SLICE_SQL + """
GROUP BY ALL ORDER BY ALL
"""
# Month x cause without the loans join (it needs no branch or product): the unfiltered mix over time.
CAUSE_MONTH_SQL = """
SELECT s.month, coalesce(s.overdue_cause, $not_reported) AS cause,
       count(*)::BIGINT AS total_count,
       coalesce(sum(s.outstanding_principal), 0) AS total_balance
FROM snapshots s
WHERE s.status = 'active' AND s.dpd >= $dpd_min AND s.month BETWEEN $month_from AND $month_to
GROUP BY ALL ORDER BY ALL
"""


def _cube_base_sql(cube: str, by: str) -> str:
    """``CAUSE_BASE_SQL`` (``by`` = "month, branch_id, product") or ``CAUSE_MONTH_SQL`` (``by`` = "month") for
    ``dpd_min`` 1 from the aging cause cube: DPD >= 1 <=> M-bucket >= 1."""
    return ("SELECT " + by + """, coalesce(overdue_cause, $not_reported) AS cause,
       sum(total_count)::BIGINT AS total_count,
       coalesce(sum(total_balance), 0) AS total_balance
FROM """ + cube + """ l
WHERE m_bucket >= 1 AND month BETWEEN $month_from AND $month_to AND """ + SLICE_SQL + """
GROUP BY ALL ORDER BY ALL
""")  # noqa: S608 (constant SQL fragments and a view name or the registry's constant subquery)


CUBE_DPD_MIN = 1  # the threshold the cube answers; any other reads the snapshots
CAUSE_BASE_SCHEMA = {"month": pl.Date, "branch_id": pl.String, "product": pl.String, "cause": pl.String,
                     "total_count": pl.Int64, "total_balance": MONEY}


def cause_base(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
               branches: tuple[str, ...] = (), products: tuple[str, ...] = (), dpd_min: int = 1) -> pl.DataFrame:
    """Overdue count and balance per month x branch x product x cause (null cause -> ``not_reported``)."""
    params = slice_params(branches, products) | {
        "month_from": month_from, "month_to": month_to, "not_reported": NOT_REPORTED}
    if dpd_min == CUBE_DPD_MIN:
        cube, cube_params = derived.source(con, "aging_cause_cube")
        return query(con, _cube_base_sql(cube, "month, branch_id, product"), params | cube_params,
                     CAUSE_BASE_SCHEMA)
    return query(con, CAUSE_BASE_SQL, params | {"dpd_min": dpd_min}, CAUSE_BASE_SCHEMA)


def _cause_rank() -> pl.Expr:
    return pl.col("cause").replace_strict(CAUSE_ORDER, list(range(len(CAUSE_ORDER))), default=len(CAUSE_ORDER),
                                          return_dtype=pl.Int32)


def _sum_by(base: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    return base.group_by(by).agg(pl.col("total_count").sum().cast(pl.Int64),
                                 pl.col("total_balance").sum().cast(MONEY))


def pareto(con: duckdb.DuckDBPyConnection, *, month: dt.date, basis: str = "balance", branches: tuple[str, ...] = (),
           products: tuple[str, ...] = (), dpd_min: int = 1) -> pl.DataFrame:
    """Causes at ``month`` sorted by ``basis`` (desc), with each cause's share and the cumulative share.

    ``share``/``cum_share`` are on ``basis``; ``share_count``/``share_balance`` give both bases.
    """
    col = BASIS_COLUMN[basis]
    base = cause_base(con, month_from=month, month_to=month, branches=branches, products=products, dpd_min=dpd_min)
    by_cause = _sum_by(base, ["cause"])
    return (by_cause.with_columns(share_of_total("total_count").alias("share_count"),
                                  share_of_total("total_balance").alias("share_balance"))
            .with_columns(pl.col(f"share_{basis}").alias("share"))
            .sort([col, _cause_rank()], descending=[True, False])
            .with_columns(pl.col("share").cum_sum().alias("cum_share"))
            .select("cause", "total_count", "total_balance", "share_count", "share_balance", "share", "cum_share"))


def mix_over_time(con: duckdb.DuckDBPyConnection, *, month_from: dt.date = EARLIEST, month_to: dt.date,
                  branches: tuple[str, ...] = (), products: tuple[str, ...] = (), dpd_min: int = 1) -> pl.DataFrame:
    """Per month and cause: count, balance and share of the month's overdue book (shares sum to 1 per month)."""
    if branches or products:
        base = cause_base(con, month_from=month_from, month_to=month_to, branches=branches, products=products,
                          dpd_min=dpd_min)
        by_month = _sum_by(base, ["month", "cause"])
    else:
        params = {"month_from": month_from, "month_to": month_to, "not_reported": NOT_REPORTED}
        schema = {k: CAUSE_BASE_SCHEMA[k] for k in ("month", "cause", "total_count", "total_balance")}
        if dpd_min == CUBE_DPD_MIN:
            cube, cube_params = derived.source(con, "aging_cause_cube")
            by_month = query(con, _cube_base_sql(cube, "month"), params | cube_params | slice_params(), schema)
        else:
            by_month = query(con, CAUSE_MONTH_SQL, params | {"dpd_min": dpd_min}, schema)
    return (by_month.with_columns(share_of_total("total_count", ["month"]).alias("share_count"),
                                  share_of_total("total_balance", ["month"]).alias("share_balance"))
            .sort(pl.col("month"), _cause_rank())
            .select("month", "cause", "total_count", "total_balance", "share_count", "share_balance"))


def cross_table(con: duckdb.DuckDBPyConnection, *, month: dt.date, dimension: str = "branch", basis: str = "balance",
                branches: tuple[str, ...] = (), products: tuple[str, ...] = (), dpd_min: int = 1) -> pl.DataFrame:
    """One row per branch (or product), one column per cause (``basis`` values) and ``total``.

    Cause columns in ``CAUSE_ORDER``, only causes present; rows sorted by total descending.
    """
    key, col = DIMENSION_COLUMN[dimension], BASIS_COLUMN[basis]
    base = cause_base(con, month_from=month, month_to=month, branches=branches, products=products, dpd_min=dpd_min)
    long = _sum_by(base, [key, "cause"])
    if long.is_empty():
        return pl.DataFrame(schema={key: pl.String, "total": long.schema[col]})
    present = set(long["cause"].to_list())
    causes = [c for c in CAUSE_ORDER if c in present] + sorted(present - set(CAUSE_ORDER))
    wide = long.pivot(on="cause", on_columns=causes, index=key, values=col)
    wide = wide.select(key, *causes).with_columns(pl.col(causes).fill_null(0))
    dtype = long.schema[col]
    return (wide.with_columns(pl.sum_horizontal(causes).cast(dtype).alias("total"), pl.col(causes).cast(dtype))
            .sort(["total", key], descending=[True, False]))


def cause_qoq(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
              products: tuple[str, ...] = (), dpd_min: int = 1) -> pl.DataFrame:
    """Each cause's count and balance at ``month`` vs the previous quarter end, absolute and % change."""
    pq = previous_quarter_end(month)
    base = pl.concat([cause_base(con, month_from=m, month_to=m, branches=branches, products=products,
                                 dpd_min=dpd_min) for m in (pq, month)])
    by = _sum_by(base, ["month", "cause"])
    values = ("total_count", "total_balance")
    cur = by.filter(pl.col("month") == month).select("cause", *values)
    prev = by.filter(pl.col("month") == pq).select("cause", *(pl.col(v).alias(f"{v}_prev_q") for v in values))
    causes = pl.concat([cur.select("cause"), prev.select("cause")]).unique()
    out = causes.join(cur, on="cause", how="left").join(prev, on="cause", how="left").with_columns(
        pl.col("total_count", "total_count_prev_q").fill_null(0),
        pl.col("total_balance", "total_balance_prev_q").fill_null(0).cast(MONEY))
    return (out.with_columns(
        (pl.col("total_count") - pl.col("total_count_prev_q")).alias("total_count_chg"),
        (pl.col("total_balance") - pl.col("total_balance_prev_q")).cast(MONEY).alias("total_balance_chg"),
        *(pct_change(v, f"{v}_prev_q").alias(f"{v}_chg_pct") for v in values))
        .sort([pl.col("total_balance_chg").abs(), _cause_rank()], descending=[True, False])
        .select("cause", "total_balance", "total_balance_prev_q", "total_balance_chg", "total_balance_chg_pct",
                "total_count", "total_count_prev_q", "total_count_chg", "total_count_chg_pct"))
