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

from analytics.core.schema import CAUSES, MONEY
from analytics.core.schema import label as schema_label
from analytics.core.store import query
from analytics.metrics.portfolio import FILTER_SQL, filter_params, previous_quarter_end

NOT_REPORTED = "not_reported"
CAUSE_ORDER = (*CAUSES, NOT_REPORTED)
NOT_REPORTED_LABEL = ("未填报", "Not reported")
BASIS_COLUMN = {"balance": "bal", "count": "n"}
DIMENSION_COLUMN = {"branch": "branch_id", "product": "product"}

CAUSE_BASE_SQL = """
SELECT s.month, l.branch_id, l.product,
       coalesce(s.overdue_cause, $not_reported) AS cause,
       count(*)::BIGINT AS n,
       coalesce(sum(s.outstanding_principal), 0) AS bal
FROM snapshots s JOIN loans l ON l.loan_id = s.loan_id
WHERE s.status = 'active' AND s.dpd >= $dpd_min AND s.month BETWEEN $month_from AND $month_to
  AND """ + FILTER_SQL + """
GROUP BY ALL ORDER BY ALL
"""
# Month x cause without the loans join (it needs no branch or product): the unfiltered mix over time.
CAUSE_MONTH_SQL = """
SELECT s.month, coalesce(s.overdue_cause, $not_reported) AS cause,
       count(*)::BIGINT AS n,
       coalesce(sum(s.outstanding_principal), 0) AS bal
FROM snapshots s
WHERE s.status = 'active' AND s.dpd >= $dpd_min AND s.month BETWEEN $month_from AND $month_to
GROUP BY ALL ORDER BY ALL
"""
CAUSE_BASE_SCHEMA = {"month": pl.Date, "branch_id": pl.String, "product": pl.String, "cause": pl.String,
                     "n": pl.Int64, "bal": MONEY}


def cause_label(code: str, lang: str = "zh") -> str:
    """Display label of a cause code, including ``not_reported``."""
    if code == NOT_REPORTED:
        return NOT_REPORTED_LABEL[0] if lang == "zh" else NOT_REPORTED_LABEL[1]
    return schema_label("overdue_cause", code, lang)


def cause_labels(lang: str = "zh") -> dict[str, str]:
    return {code: cause_label(code, lang) for code in CAUSE_ORDER}


def cause_base(con: duckdb.DuckDBPyConnection, month_from: dt.date, month_to: dt.date,
               branches: tuple[str, ...] = (), products: tuple[str, ...] = (), dpd_min: int = 1) -> pl.DataFrame:
    """Overdue count and balance per month x branch x product x cause (null cause -> ``not_reported``)."""
    params = filter_params(branches, products) | {
        "month_from": month_from, "month_to": month_to, "dpd_min": dpd_min, "not_reported": NOT_REPORTED}
    return query(con, CAUSE_BASE_SQL, params, CAUSE_BASE_SCHEMA)


def _cause_rank() -> pl.Expr:
    return pl.col("cause").replace_strict(CAUSE_ORDER, list(range(len(CAUSE_ORDER))), default=len(CAUSE_ORDER),
                                          return_dtype=pl.Int32)


def _sum_by(base: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    return base.group_by(by).agg(pl.col("n").sum().cast(pl.Int64), pl.col("bal").sum().cast(MONEY))


def _share(col: str, over: list[str] | None = None) -> pl.Expr:
    num = pl.col(col).cast(pl.Float64)
    den = num.sum() if over is None else num.sum().over(over)
    return num / pl.when(den != 0).then(den)


def pareto(con: duckdb.DuckDBPyConnection, month: dt.date, basis: str = "balance", branches: tuple[str, ...] = (),
           products: tuple[str, ...] = (), dpd_min: int = 1) -> pl.DataFrame:
    """Causes at ``month`` sorted by ``basis`` (desc), with each cause's share and the cumulative share.

    ``share``/``cum_share`` are on ``basis``; ``share_n``/``share_bal`` give both bases.
    """
    col = BASIS_COLUMN[basis]
    by_cause = _sum_by(cause_base(con, month, month, branches, products, dpd_min), ["cause"])
    return (by_cause.with_columns(_share("n").alias("share_n"), _share("bal").alias("share_bal"))
            .with_columns(pl.col(f"share_{col}").alias("share"))
            .sort([col, _cause_rank()], descending=[True, False])
            .with_columns(pl.col("share").cum_sum().alias("cum_share"))
            .select("cause", "n", "bal", "share_n", "share_bal", "share", "cum_share"))


def mix_over_time(con: duckdb.DuckDBPyConnection, month_to: dt.date, month_from: dt.date = dt.date(1900, 1, 1),
                  branches: tuple[str, ...] = (), products: tuple[str, ...] = (), dpd_min: int = 1) -> pl.DataFrame:
    """Per month and cause: count, balance and share of the month's overdue book (shares sum to 1 per month)."""
    if branches or products:
        by_month = _sum_by(cause_base(con, month_from, month_to, branches, products, dpd_min), ["month", "cause"])
    else:
        params = {"month_from": month_from, "month_to": month_to, "dpd_min": dpd_min, "not_reported": NOT_REPORTED}
        by_month = query(con, CAUSE_MONTH_SQL, params, {k: CAUSE_BASE_SCHEMA[k] for k in ("month", "cause", "n", "bal")})
    return (by_month.with_columns(_share("n", ["month"]).alias("share_n"), _share("bal", ["month"]).alias("share_bal"))
            .sort(pl.col("month"), _cause_rank())
            .select("month", "cause", "n", "bal", "share_n", "share_bal"))


def cross_table(con: duckdb.DuckDBPyConnection, month: dt.date, dimension: str = "branch", basis: str = "balance",
                branches: tuple[str, ...] = (), products: tuple[str, ...] = (), dpd_min: int = 1) -> pl.DataFrame:
    """One row per branch (or product), one column per cause (``basis`` values) and ``total``.

    Cause columns in ``CAUSE_ORDER``, only causes present; rows sorted by total descending.
    """
    key, col = DIMENSION_COLUMN[dimension], BASIS_COLUMN[basis]
    long = _sum_by(cause_base(con, month, month, branches, products, dpd_min), [key, "cause"])
    if long.is_empty():
        return pl.DataFrame(schema={key: pl.String, "total": long.schema[col]})
    present = set(long["cause"].to_list())
    causes = [c for c in CAUSE_ORDER if c in present] + sorted(present - set(CAUSE_ORDER))
    wide = long.pivot(on="cause", on_columns=causes, index=key, values=col)
    wide = wide.select(key, *causes).with_columns(pl.col(causes).fill_null(0))
    dtype = long.schema[col]
    return (wide.with_columns(pl.sum_horizontal(causes).cast(dtype).alias("total"), pl.col(causes).cast(dtype))
            .sort(["total", key], descending=[True, False]))


def cause_qoq(con: duckdb.DuckDBPyConnection, month: dt.date, branches: tuple[str, ...] = (),
              products: tuple[str, ...] = (), dpd_min: int = 1) -> pl.DataFrame:
    """Each cause's count and balance at ``month`` vs the previous quarter end, absolute and % change."""
    pq = previous_quarter_end(month)
    base = pl.concat([cause_base(con, m, m, branches, products, dpd_min) for m in (pq, month)])
    by = _sum_by(base, ["month", "cause"])
    cur = by.filter(pl.col("month") == month).select("cause", "n", "bal")
    prev = by.filter(pl.col("month") == pq).select("cause", pl.col("n").alias("n_prev_q"),
                                                     pl.col("bal").alias("bal_prev_q"))
    causes = pl.concat([cur.select("cause"), prev.select("cause")]).unique()
    out = causes.join(cur, on="cause", how="left").join(prev, on="cause", how="left").with_columns(
        pl.col("n", "n_prev_q").fill_null(0), pl.col("bal", "bal_prev_q").fill_null(0).cast(MONEY))
    return (out.with_columns(
        (pl.col("n") - pl.col("n_prev_q")).alias("n_chg"),
        (pl.col("bal") - pl.col("bal_prev_q")).cast(MONEY).alias("bal_chg"),
        _pct_change("n"), _pct_change("bal"))
        .sort([pl.col("bal_chg").abs(), _cause_rank()], descending=[True, False])
        .select("cause", "bal", "bal_prev_q", "bal_chg", "bal_chg_pct", "n", "n_prev_q", "n_chg", "n_chg_pct"))


def _pct_change(col: str) -> pl.Expr:
    cur, prev = pl.col(col).cast(pl.Float64), pl.col(f"{col}_prev_q").cast(pl.Float64)
    return ((cur - prev) / pl.when(prev != 0).then(prev)).alias(f"{col}_chg_pct")
