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

from analytics.core.schema import MONEY
from analytics.core.store import has_view, query
from analytics.metrics import portfolio
from analytics.metrics.portfolio import add_months, filter_params, previous_quarter_end

DIMENSIONS = {"total": (), "branch": ("branch_id",), "product": ("product",)}
TOTAL = "total"
KEYS = ("month", "branch_id", "product")
EARLIEST = dt.date(1900, 1, 1)

NEW_OVERDUE_SQL = """
WITH cur AS (
    SELECT s.month, s.loan_id, s.outstanding_principal
    FROM snapshots s
    WHERE s.status = 'active' AND s.dpd >= $dpd_min AND s.month BETWEEN $month_from AND $month_to
),
prev AS (
    SELECT CAST(p.month + INTERVAL 1 MONTH AS DATE) AS month, p.loan_id
    FROM snapshots p
    WHERE p.dpd >= $dpd_min AND p.month BETWEEN $prev_from AND $prev_to
)
SELECT c.month, l.branch_id, l.product,
       count(*)::BIGINT AS new_overdue_n,
       coalesce(sum(c.outstanding_principal), 0) AS new_overdue_bal
FROM cur c
JOIN loans l ON l.loan_id = c.loan_id
LEFT JOIN prev p ON p.loan_id = c.loan_id AND p.month = c.month
WHERE p.loan_id IS NULL
  AND (len($branches) = 0 OR list_contains($branches, l.branch_id))
  AND (len($products) = 0 OR list_contains($products, l.product))
GROUP BY ALL ORDER BY ALL
"""
# The same count from derive.py's transitions view (branch and product already on the row, previous
# month's bucket precomputed): used when the view exists and dpd_min is 1 (bucket >= 1 <=> DPD >= 1).
NEW_OVERDUE_DERIVED_SQL = """
SELECT month, branch_id, product,
       count(*)::BIGINT AS new_overdue_n,
       coalesce(sum(balance), 0) AS new_overdue_bal
FROM transitions
WHERE month BETWEEN $month_from AND $month_to
  AND status = 'active' AND dpd >= 1 AND coalesce(from_bucket, 0) = 0
  AND (len($branches) = 0 OR list_contains($branches, branch_id))
  AND (len($products) = 0 OR list_contains($products, product))
GROUP BY ALL ORDER BY ALL
"""
NEW_OVERDUE_SCHEMA = {"month": pl.Date, "branch_id": pl.String, "product": pl.String,
                      "new_overdue_n": pl.Int64, "new_overdue_bal": MONEY}

MONTHS_SQL = "SELECT DISTINCT month FROM snapshots WHERE month BETWEEN $month_from AND $month_to ORDER BY month"

SERIES_COLUMNS = ("total_n", "total_bal", "overdue_n", "overdue_bal", "npl_n", "npl_bal",
                  "new_overdue_n", "new_overdue_bal", "overdue_ratio", "overdue_ratio_count",
                  "npl_ratio", "npl_ratio_count")

# basis -> {output name: (series column, kind)}; kind "ratio" changes in ratio points, "amount" also in %.
QOQ_METRICS = {
    "balance": {"overdue_ratio": ("overdue_ratio", "ratio"), "npl_ratio": ("npl_ratio", "ratio"),
                "overdue": ("overdue_bal", "amount"), "npl": ("npl_bal", "amount"),
                "new_overdue": ("new_overdue_bal", "amount")},
    "count": {"overdue_ratio": ("overdue_ratio_count", "ratio"), "npl_ratio": ("npl_ratio_count", "ratio"),
              "overdue": ("overdue_n", "amount"), "npl": ("npl_n", "amount"),
              "new_overdue": ("new_overdue_n", "amount")},
}


def new_overdue_base(con: duckdb.DuckDBPyConnection, branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
                     month_from: dt.date = EARLIEST, month_to: dt.date = dt.date(2999, 12, 1),
                     dpd_min: int = 1) -> pl.DataFrame:
    """New overdue count and balance per month x branch x product (only combinations with new overdue).

    Reads derive.py's ``transitions`` view when present (and ``dpd_min`` is 1), else the snapshots.
    """
    params = filter_params(branches, products) | {"month_from": month_from, "month_to": month_to}
    if dpd_min == 1 and has_view(con, "transitions"):
        return query(con, NEW_OVERDUE_DERIVED_SQL, params, NEW_OVERDUE_SCHEMA)
    params |= {"dpd_min": dpd_min, "prev_from": add_months(month_from, -1) if month_from > EARLIEST else month_from,
               "prev_to": add_months(month_to, -1)}
    return query(con, NEW_OVERDUE_SQL, params, NEW_OVERDUE_SCHEMA)


def _months_without_prev(con: duckdb.DuckDBPyConnection, month_from: dt.date, month_to: dt.date) -> list[dt.date]:
    """Months in range whose previous month has no snapshot (new overdue is unknown there)."""
    lo = add_months(month_from, -1) if month_from > EARLIEST else month_from
    present = set(query(con, MONTHS_SQL, {"month_from": lo, "month_to": month_to})["month"].to_list())
    return sorted(m for m in present if m >= month_from and add_months(m, -1) not in present)


def trend_base(con: duckdb.DuckDBPyConnection, branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
               month_from: dt.date = EARLIEST, month_to: dt.date = dt.date(2999, 12, 1),
               dpd_min: int = 1) -> pl.DataFrame:
    """``portfolio.quality_base`` plus new overdue (null in months without a previous snapshot)."""
    base = portfolio.quality_base(con, branches, products, month_from, month_to)
    new = new_overdue_base(con, branches, products, month_from, month_to, dpd_min)
    unknown = _months_without_prev(con, month_from, month_to)
    joined = base.join(new, on=list(KEYS), how="left").with_columns(
        pl.col("new_overdue_n").fill_null(0), pl.col("new_overdue_bal").fill_null(0).cast(MONEY))
    return joined.with_columns(
        pl.when(pl.col("month").is_in(unknown)).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("new_overdue_n", "new_overdue_bal"))


def _member_expr(dimension: str) -> pl.Expr:
    by = DIMENSIONS[dimension]
    return pl.col(by[0]).alias("member") if by else pl.lit(TOTAL).alias("member")


def summarise_trend(base: pl.DataFrame, dimension: str = "total") -> pl.DataFrame:
    """Monthly series per member of ``dimension``: portfolio ratios plus new overdue (null-preserving)."""
    by = ("month", *DIMENSIONS[dimension])
    ratios = portfolio.summarise(base.drop("new_overdue_n", "new_overdue_bal"), by)
    new = (base.group_by(list(by))
           .agg(pl.col("new_overdue_n").sum(), pl.col("new_overdue_bal").sum(),
                pl.col("new_overdue_n").null_count().alias("_unknown")))
    new = new.with_columns(
        pl.when(pl.col("_unknown") > 0).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("new_overdue_n", "new_overdue_bal")).drop("_unknown")
    return (ratios.join(new, on=list(by), how="left")
            .select("month", _member_expr(dimension), *SERIES_COLUMNS)
            .with_columns(pl.col("new_overdue_bal").cast(MONEY))
            .sort("member", "month"))


def quarter_start(month: dt.date) -> dt.date:
    return dt.date(month.year, (month.month - 1) // 3 * 3 + 1, 1)


def to_quarters(series: pl.DataFrame) -> pl.DataFrame:
    """Quarterly view: stocks and ratios at the last month present in each quarter, new overdue summed.

    A quarter with any unknown month has unknown new overdue; the current quarter is quarter-to-date.
    """
    q = pl.col("month").dt.truncate("3mo")
    stocks = [c for c in SERIES_COLUMNS if not c.startswith("new_overdue")]
    flows = (series.group_by(q.alias("quarter"), "member")
             .agg(pl.col("month").max(),
                  *(pl.when(pl.col(c).null_count() > 0).then(None).otherwise(pl.col(c).sum()).alias(c)
                    for c in ("new_overdue_n", "new_overdue_bal")),
                  pl.len().alias("months_in_quarter")))
    return (flows.join(series.select("month", "member", *stocks), on=["month", "member"], how="left")
            .select("quarter", "month", "member", *SERIES_COLUMNS, "months_in_quarter")
            .with_columns(pl.col("new_overdue_n").cast(pl.Int64), pl.col("new_overdue_bal").cast(MONEY),
                          pl.col("months_in_quarter").cast(pl.Int32))
            .sort("member", "quarter"))


def trend_series(con: duckdb.DuckDBPyConnection, dimension: str = "total", branches: tuple[str, ...] = (),
                 products: tuple[str, ...] = (), month_to: dt.date = dt.date(2999, 12, 1),
                 month_from: dt.date = EARLIEST, freq: str = "month", dpd_min: int = 1) -> pl.DataFrame:
    """Overdue/NPL ratios (balance and count) and new overdue per month (or quarter) and member.

    ``dimension``: ``total`` (member ``"total"``), ``branch`` (member = branch_id) or ``product``.
    ``freq``: ``month`` or ``quarter`` (see ``to_quarters``).
    """
    series = summarise_trend(trend_base(con, branches, products, month_from, month_to, dpd_min), dimension)
    return to_quarters(series) if freq == "quarter" else series


def _qoq_columns(name: str, kind: str) -> list[pl.Expr]:
    cur, prev = pl.col(name), pl.col(f"{name}_prev_q")
    exprs = [(cur - prev).alias(f"{name}_chg")]
    if kind == "amount":
        prev_f = prev.cast(pl.Float64)
        exprs.append(((cur.cast(pl.Float64) - prev_f) / pl.when(prev_f != 0).then(prev_f)).alias(f"{name}_chg_pct"))
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


def qoq_table(con: duckdb.DuckDBPyConnection, month: dt.date, dimension: str = "total", basis: str = "balance",
              branches: tuple[str, ...] = (), products: tuple[str, ...] = (), dpd_min: int = 1) -> pl.DataFrame:
    """The league / QoQ table at ``month`` for ``dimension`` on ``basis`` (``balance`` or ``count``).

    Reads only the months from the start of the previous quarter to ``month``.
    """
    month_from = add_months(previous_quarter_end(month), -2)
    series = summarise_trend(trend_base(con, branches, products, month_from, month, dpd_min), dimension)
    return qoq_change(series, month, basis)


def with_labels(df: pl.DataFrame, column: str, labels: dict[str, str], name: str = "label") -> pl.DataFrame:
    """Add ``name`` with the display label of ``column`` (unknown codes pass through), first column."""
    return df.with_columns(pl.col(column).replace(labels).alias(name)).select(name, pl.exclude(name))
