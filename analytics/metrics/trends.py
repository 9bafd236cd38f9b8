"""Overdue trends: overdue ratio, NPL ratio and new overdue by month, branch and product, with QoQ change.

Ratios come from ``analytics.portfolio`` (``quality_base`` + ``summarise``: numerators and
denominators summed first). This module adds the new-overdue flow and the quarter-on-quarter view.

口径 [CONV]:
- New overdue (新增逾期) at month t: on-book loans with DPD ≥ 1 at t that were not overdue at t-1
  (no snapshot at t-1 with DPD ≥ 1; a loan new to the book that is already overdue counts), measured
  at its balance at t. Count and balance. Quarterly new overdue = sum of the quarter's months.
  For the first month of the store (no t-1 snapshot) new overdue is unknown (null).
- QoQ: value at the as-of month vs the previous quarter end (``portfolio.previous_quarter_end``);
  ratio changes in ratio points (0.001 = 0.1 pp), amounts absolute and relative.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics import derived
from analytics.core.expr import pct_change
from analytics.core.months import EARLIEST, LATEST, add_months, previous_quarter_end
from analytics.core.schema import MONEY
from analytics.core.slice import SLICE_SQL, slice_params, slice_sql
from analytics.core.store import months, query
from analytics.metrics import portfolio

DIMENSIONS = {"total": (), "branch": ("branch_id",), "product": ("product",)}
TOTAL = "total"
KEYS = ("month", "branch_id", "product")

NEW_OVERDUE_SQL = """
WITH cur AS (
    SELECT s.month, s.loan_id, s.branch_id, s.outstanding_principal
    FROM snapshots s
    WHERE s.status = 'active' AND s.dpd >= $dpd_min AND s.month BETWEEN $month_from AND $month_to
),
prev AS (
    SELECT CAST(p.month + INTERVAL 1 MONTH AS DATE) AS month, p.loan_id
    FROM snapshots p
    WHERE p.dpd >= $dpd_min AND p.month BETWEEN $prev_from AND $prev_to
)
SELECT c.month, c.branch_id, l.product,
       count(*)::BIGINT AS new_overdue_count,
       coalesce(sum(c.outstanding_principal), 0) AS new_overdue_balance
FROM cur c
JOIN loans l ON l.loan_id = c.loan_id
LEFT JOIN prev p ON p.loan_id = c.loan_id AND p.month = c.month
WHERE p.loan_id IS NULL AND """ + slice_sql("c.branch_id", "l.product") + """
GROUP BY ALL ORDER BY ALL
"""  # noqa: S608 (constant SQL fragments only)


def _new_overdue_transitions_sql(trans: str) -> str:
    """The same count for ``dpd_min`` 1 from the transition cube (branch and product on the row, previous
    month's bucket precomputed: bucket >= 1 <=> DPD >= 1)."""
    return """
SELECT month, branch_id, product,
       sum(total_count)::BIGINT AS new_overdue_count,
       coalesce(sum(balance), 0) AS new_overdue_balance
FROM """ + trans + """ l
WHERE month BETWEEN $month_from AND $month_to
  AND status = 'active' AND to_bucket >= 1 AND coalesce(from_bucket, 0) = 0 AND """ + SLICE_SQL + """
GROUP BY ALL ORDER BY ALL
"""  # noqa: S608 (constant SQL fragments and a view name or the registry's constant subquery)


NEW_OVERDUE_SCHEMA = {"month": pl.Date, "branch_id": pl.String, "product": pl.String,
                      "new_overdue_count": pl.Int64, "new_overdue_balance": MONEY}


NEW_OVERDUE = ("new_overdue_count", "new_overdue_balance")
SERIES_COLUMNS = ("total_count", "total_balance", "overdue_count", "overdue_balance", "npl_count", "npl_balance",
                  *NEW_OVERDUE, "overdue_ratio_balance", "overdue_ratio_count", "npl_ratio_balance", "npl_ratio_count")

# basis -> {output name: (series column, kind)}; kind "ratio" changes in ratio points, "amount" also in %.
QOQ_METRICS = {
    basis: {"overdue_ratio": (f"overdue_ratio_{basis}", "ratio"), "npl_ratio": (f"npl_ratio_{basis}", "ratio"),
            "overdue": (f"overdue_{basis}", "amount"), "npl": (f"npl_{basis}", "amount"),
            "new_overdue": (f"new_overdue_{basis}", "amount")}
    for basis in ("balance", "count")
}


def new_overdue_base(con: duckdb.DuckDBPyConnection, *, branches: tuple[str, ...] = (),
                     products: tuple[str, ...] = (), month_from: dt.date = EARLIEST, month_to: dt.date = LATEST,
                     dpd_min: int = 1) -> pl.DataFrame:
    """New overdue count and balance per month x branch x product (only combinations with new overdue).

    ``dpd_min`` 1 reads the derived ``transitions`` table; another threshold reads the snapshots.
    """
    params = slice_params(branches, products) | {"month_from": month_from, "month_to": month_to}
    if dpd_min == 1:
        trans, trans_params = derived.source(con, "transition_cube", month_from=month_from, month_to=month_to)
        return query(con, _new_overdue_transitions_sql(trans), params | trans_params, NEW_OVERDUE_SCHEMA)
    params |= {"dpd_min": dpd_min, "prev_from": add_months(month_from, -1) if month_from > EARLIEST else month_from,
               "prev_to": add_months(month_to, -1)}
    return query(con, NEW_OVERDUE_SQL, params, NEW_OVERDUE_SCHEMA)


def _months_without_prev(con: duckdb.DuckDBPyConnection, month_from: dt.date, month_to: dt.date) -> list[dt.date]:
    """Months in range whose previous month has no snapshot (new overdue is unknown there)."""
    lo = add_months(month_from, -1) if month_from > EARLIEST else month_from
    present = {m for m in months(con) if lo <= m <= month_to}
    return sorted(m for m in present if m >= month_from and add_months(m, -1) not in present)


def trend_base(con: duckdb.DuckDBPyConnection, *, branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
               month_from: dt.date = EARLIEST, month_to: dt.date = LATEST, dpd_min: int = 1) -> pl.DataFrame:
    """``portfolio.quality_base`` plus new overdue (null in months without a previous snapshot)."""
    window = {"branches": branches, "products": products, "month_from": month_from, "month_to": month_to}
    base = portfolio.quality_base(con, **window)
    new = new_overdue_base(con, **window, dpd_min=dpd_min)
    unknown = _months_without_prev(con, month_from, month_to)
    joined = base.join(new, on=list(KEYS), how="left").with_columns(
        pl.col("new_overdue_count").fill_null(0), pl.col("new_overdue_balance").fill_null(0).cast(MONEY))
    return joined.with_columns(
        pl.when(pl.col("month").is_in(unknown)).then(None).otherwise(pl.col(c)).alias(c) for c in NEW_OVERDUE)


def _member_expr(dimension: str) -> pl.Expr:
    by = DIMENSIONS[dimension]
    return pl.col(by[0]).alias("member") if by else pl.lit(TOTAL).alias("member")


def summarise_trend(base: pl.DataFrame, dimension: str = "total") -> pl.DataFrame:
    """Monthly series per member of ``dimension``: portfolio ratios plus new overdue (null-preserving)."""
    by = ("month", *DIMENSIONS[dimension])
    ratios = portfolio.summarise(base.drop(*NEW_OVERDUE), by=by)
    new = (base.group_by(list(by))
           .agg(pl.col(NEW_OVERDUE).sum(), pl.col("new_overdue_count").null_count().alias("_unknown")))
    new = new.with_columns(
        pl.when(pl.col("_unknown") > 0).then(None).otherwise(pl.col(c)).alias(c) for c in NEW_OVERDUE).drop("_unknown")
    return (ratios.join(new, on=list(by), how="left")
            .select("month", _member_expr(dimension), *SERIES_COLUMNS)
            .with_columns(pl.col("new_overdue_balance").cast(MONEY))
            .sort("member", "month"))


def to_quarters(series: pl.DataFrame) -> pl.DataFrame:
    """Quarterly view: stocks and ratios at the last month present in each quarter, new overdue summed.

    A quarter with any unknown month has unknown new overdue; the current quarter is quarter-to-date.
    """
    q = pl.col("month").dt.truncate("3mo")
    stocks = [c for c in SERIES_COLUMNS if c not in NEW_OVERDUE]
    flows = (series.group_by(q.alias("quarter"), "member")
             .agg(pl.col("month").max(),
                  *(pl.when(pl.col(c).null_count() > 0).then(None).otherwise(pl.col(c).sum()).alias(c)
                    for c in NEW_OVERDUE),
                  pl.len().alias("months_in_quarter")))
    return (flows.join(series.select("month", "member", *stocks), on=["month", "member"], how="left")
            .select("quarter", "month", "member", *SERIES_COLUMNS, "months_in_quarter")
            .with_columns(pl.col("new_overdue_count").cast(pl.Int64), pl.col("new_overdue_balance").cast(MONEY),
                          pl.col("months_in_quarter").cast(pl.Int32))
            .sort("member", "quarter"))


def trend_series(con: duckdb.DuckDBPyConnection, *, dimension: str = "total", branches: tuple[str, ...] = (),
                 products: tuple[str, ...] = (), month_from: dt.date = EARLIEST, month_to: dt.date = LATEST,
                 freq: str = "month", dpd_min: int = 1) -> pl.DataFrame:
    """Overdue/NPL ratios (balance and count) and new overdue per month (or quarter) and member.

    ``dimension``: ``total`` (member ``"total"``), ``branch`` (member = branch_id) or ``product``.
    ``freq``: ``month`` or ``quarter`` (see ``to_quarters``).
    """
    base = trend_base(con, branches=branches, products=products, month_from=month_from, month_to=month_to,
                      dpd_min=dpd_min)
    series = summarise_trend(base, dimension)
    return to_quarters(series) if freq == "quarter" else series


def _qoq_columns(name: str, kind: str) -> list[pl.Expr]:
    cur, prev = pl.col(name), pl.col(f"{name}_prev_q")
    exprs = [(cur - prev).alias(f"{name}_chg")]
    if kind == "amount":
        exprs.append(pct_change(cur, prev).alias(f"{name}_chg_pct"))
    return exprs


def qoq_change(series: pl.DataFrame, month: dt.date, basis: str = "balance") -> pl.DataFrame:
    """Per member: each metric at ``month``, at the previous quarter end, and the change.

    Also the quarter's new overdue to date (``new_overdue_qtd``: months of ``month``'s quarter up to
    ``month``) vs the whole previous quarter (``new_overdue_qtd_prev_q``).
    """
    metrics = QOQ_METRICS[basis]
    pq = previous_quarter_end(month)
    pick = [pl.col(src).alias(out) for out, (src, _) in metrics.items()]
    cur = series.filter(pl.col("month") == month).select("member", *pick)
    prev = series.filter(pl.col("month") == pq).select(
        "member", *(pl.col(src).alias(f"{out}_prev_q") for out, (src, _) in metrics.items()))
    flow = metrics["new_overdue"][0]
    quarters = series.filter(pl.col("month").is_between(add_months(pq, -2), month))
    qtd = _quarter_sum(quarters.filter(pl.col("month") > pq), flow, "new_overdue_qtd")
    prev_q = _quarter_sum(quarters.filter(pl.col("month") <= pq), flow, "new_overdue_qtd_prev_q")
    members = series.filter(pl.col("month").is_in([month, pq])).select("member").unique()
    out = (members.join(cur, on="member", how="left").join(prev, on="member", how="left")
           .join(qtd, on="member", how="left").join(prev_q, on="member", how="left"))
    kinds = {**{out_: kind for out_, (_, kind) in metrics.items()}, "new_overdue_qtd": "amount"}
    order = ["member"]
    for name, kind in kinds.items():
        order += [name, f"{name}_prev_q", f"{name}_chg"] + ([f"{name}_chg_pct"] if kind == "amount" else [])
    return (out.with_columns(e for name, kind in kinds.items() for e in _qoq_columns(name, kind))
            .select(order).sort("member"))


def _quarter_sum(frame: pl.DataFrame, column: str, name: str) -> pl.DataFrame:
    """Sum of ``column`` per member; null if any month is unknown."""
    col = pl.col(column)
    return frame.group_by("member").agg(
        pl.when(col.null_count() > 0).then(None).otherwise(col.sum()).alias(name))


def qoq_table(con: duckdb.DuckDBPyConnection, *, month: dt.date, dimension: str = "total", basis: str = "balance",
              branches: tuple[str, ...] = (), products: tuple[str, ...] = (), dpd_min: int = 1) -> pl.DataFrame:
    """The league / QoQ table at ``month`` for ``dimension`` on ``basis`` (``balance`` or ``count``).

    Reads only the months from the start of the previous quarter to ``month``.
    """
    month_from = add_months(previous_quarter_end(month), -2)
    base = trend_base(con, branches=branches, products=products, month_from=month_from, month_to=month,
                      dpd_min=dpd_min)
    return qoq_change(summarise_trend(base, dimension), month, basis)
