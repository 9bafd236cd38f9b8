"""Aging (账龄 = overdue age here, not months on book): DPD buckets and the aging analysis report.

口径 (DOMAIN.md §2): on-book loans (status ``active``) at month end, balance = outstanding principal (the whole
principal of an overdue loan counts, §2.1). Two bucket schemes from ``analytics.core.rules``: collection
M-buckets (M0 … M7+, 30-day steps, [CONV]) and the regulatory bands of 1104 S71 (≤30, 31–60, 61–90, 91–180,
181–270, 271–360, >360, [RPT]). Bucket index 0 = not overdue (DPD 0). NPL = booked class 次级/可疑/损失.
Buckets are returned as indexes 0..7 (plus 8 = overdue subtotal and 9 = total in the report); the UI names them.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics import derived
from analytics.core.expr import safe_div
from analytics.core.months import EARLIEST, LATEST, previous_quarter_end
from analytics.core.rules import M_BUCKET_EDGES, REG_BAND_EDGES, bucket_bounds
from analytics.core.schema import MONEY
from analytics.core.slice import SLICE_SQL, slice_params
from analytics.core.store import months, query
from analytics.derived.tables import AGING_VALUES_SCHEMA

SCHEMES = ("m", "reg")
BUCKET_COLUMN = {"m": "m_bucket", "reg": "reg_band"}
N_BUCKETS = 8
OVERDUE_ROW = 8  # report row: all overdue buckets
TOTAL_ROW = 9  # report row: all on-book loans
VALUE_SCHEMA = AGING_VALUES_SCHEMA
VALUES = list(VALUE_SCHEMA)
AGING_BASE_SCHEMA = derived.REGISTRY["aging_cube"].schema
AGING_TREND_SCHEMA = {"month": pl.Date, "m_bucket": pl.Int8, "reg_band": pl.Int8} | VALUE_SCHEMA



def _cause_sql(cube: str) -> str:
    """Per month x bucket x cause, from the aging cause cube (the sums of its sums)."""
    return """
SELECT month, m_bucket, reg_band, overdue_cause,
       sum(total_count)::BIGINT AS total_count, sum(total_balance) AS total_balance,
       sum(overdue_principal) AS overdue_principal, sum(npl_count)::BIGINT AS npl_count,
       coalesce(sum(npl_balance), 0) AS npl_balance
FROM """ + cube + """ l
WHERE month IN ($month, $compare_month) AND """ + SLICE_SQL + """
GROUP BY ALL ORDER BY ALL
"""  # noqa: S608 (constant SQL fragments and a view name or the registry's constant subquery)


CAUSE_SCHEMA = {"month": pl.Date, "m_bucket": pl.Int8, "reg_band": pl.Int8, "overdue_cause": pl.String} | VALUE_SCHEMA


def bucket_dpd_range(scheme: str, index: int) -> tuple[int, int | None]:
    """(dpd_min, dpd_max) of a bucket, for a DrillSpec; dpd_max None = open-ended."""
    return bucket_bounds(M_BUCKET_EDGES if scheme == "m" else REG_BAND_EDGES, index)


def aging_base(con: duckdb.DuckDBPyConnection, *, branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
               month_from: dt.date = EARLIEST, month_to: dt.date = LATEST) -> pl.DataFrame:
    """Count, balance, overdue principal and NPL of on-book loans per month x branch x product x (M-bucket,
    regulatory band): one read serves both schemes and every grouping."""
    cube, params = derived.source(con, "aging_cube")
    sql = ("SELECT * FROM " + cube + " l WHERE l.month BETWEEN $month_from AND $month_to AND "  # noqa: S608
           + SLICE_SQL + " ORDER BY ALL")
    params |= slice_params(branches, products) | {"month_from": month_from, "month_to": month_to}
    return query(con, sql, params, AGING_BASE_SCHEMA)


def _sum_values(frame: pl.DataFrame | pl.LazyFrame, keys: list) -> pl.DataFrame | pl.LazyFrame:
    return frame.group_by(keys).agg(pl.col(VALUES).sum()).with_columns(
        pl.col(c).cast(t) for c, t in VALUE_SCHEMA.items())


def aging_trend_base(con: duckdb.DuckDBPyConnection, *, branches: tuple[str, ...] = (),
                     products: tuple[str, ...] = (), month_from: dt.date = EARLIEST,
                     month_to: dt.date = LATEST) -> pl.DataFrame:
    """``aging_base`` summed over branches and products (month x M-bucket x band): the input of ``aging_trend``."""
    keys = list(AGING_TREND_SCHEMA)[:3]
    base = aging_base(con, branches=branches, products=products, month_from=month_from, month_to=month_to)
    return _sum_values(base, keys).sort(keys)


def aging_by(base: pl.DataFrame, *, scheme: str = "m", by: tuple[str, ...] = ("month",)) -> pl.DataFrame:
    """Long form: ``by`` x bucket with count, balance, NPL and the bucket's share of the group's count/balance."""
    keys = list(by)
    return (
        _sum_values(base.lazy(), [*keys, pl.col(BUCKET_COLUMN[scheme]).alias("bucket")])
        .with_columns(
            safe_div("total_balance", pl.col("total_balance").cast(pl.Float64).sum().over(keys) if keys
                     else pl.col("total_balance").cast(pl.Float64).sum()).alias("share_balance"),
            safe_div("total_count", pl.col("total_count").sum().over(keys) if keys
                     else pl.col("total_count").sum()).alias("share_count"),
        )
        .sort([*keys, "bucket"])
        .collect()
    )


def aging_table(base: pl.DataFrame, *, month: dt.date, scheme: str = "m", by: str = "branch_id",
                basis: str = "balance") -> pl.DataFrame:
    """Wide table at ``month``: one row per ``by`` value, columns ``b0`` … ``b7`` (count or balance, every
    bucket present), ``total`` and ``overdue_ratio`` (overdue share of the row, on the same basis)."""
    value = "total_balance" if basis == "balance" else "total_count"
    long = aging_by(base.filter(pl.col("month") == month), scheme=scheme, by=(by,))
    buckets = [f"b{i}" for i in range(N_BUCKETS)]
    if long.is_empty():
        return pl.DataFrame(schema={by: pl.String, **{b: pl.Float64 for b in buckets},
                                    "total": pl.Float64, "overdue_ratio": pl.Float64})
    grid = long.select(by).unique().join(pl.DataFrame({"bucket": list(range(N_BUCKETS))},
                                                      schema={"bucket": pl.Int8}), how="cross")
    wide = (
        grid.join(long.select(by, "bucket", pl.col(value).cast(pl.Float64).alias("v")), on=[by, "bucket"],
                  how="left")
        .with_columns(pl.col("v").fill_null(0.0), pl.format("b{}", pl.col("bucket")).alias("col"))
        .pivot(on="col", index=by, values="v", aggregate_function=None)
    )
    total = pl.sum_horizontal(buckets)
    return (
        wide.select(by, *buckets)
        .with_columns(total.alias("total"))
        .with_columns(safe_div(pl.sum_horizontal(buckets[1:]), total).alias("overdue_ratio"))
        .sort(by)
    )


def aging_trend(base: pl.DataFrame, *, scheme: str = "m") -> pl.DataFrame:
    """Month x bucket (long) for a stacked trend chart: count, balance and shares
    (``base``: ``aging_trend_base`` or ``aging_base``)."""
    return aging_by(base, scheme=scheme, by=("month",))


TOP_CAUSES_DTYPE = pl.List(pl.Struct({"cause": pl.String, "share": pl.Float64}))


def _top_causes(causes: pl.LazyFrame, top: int) -> pl.LazyFrame:
    """Per bucket, the ``top`` causes by balance with their share of the bucket's balance with a cause."""
    share = pl.col("total_balance").cast(pl.Float64) / pl.col("total_balance").cast(pl.Float64).sum().over("bucket")
    return (
        causes.filter(pl.col("overdue_cause").is_not_null() & (pl.col("total_balance") > 0))
        .with_columns(share.alias("share"))
        .sort(["bucket", "total_balance", "overdue_cause"], descending=[False, True, False])
        .group_by("bucket", maintain_order=True)
        .head(top)
        .group_by("bucket", maintain_order=True)
        .agg(pl.struct(pl.col("overdue_cause").alias("cause"), "share").alias("top_causes"))
    )


def _report_rows(per_bucket: pl.LazyFrame) -> pl.LazyFrame:
    """Buckets 0..7 (all present), the overdue subtotal (row 8) and the total (row 9)."""
    grid = pl.LazyFrame({"bucket": list(range(N_BUCKETS))}, schema={"bucket": pl.Int8})
    buckets = grid.join(per_bucket, on="bucket", how="left").with_columns(
        pl.col(c).fill_null(0).cast(t) for c, t in VALUE_SCHEMA.items())
    overdue = buckets.filter(pl.col("bucket") > 0).select(pl.lit(OVERDUE_ROW, pl.Int8).alias("bucket"),
                                                          pl.col(VALUES).sum())
    total = buckets.select(pl.lit(TOTAL_ROW, pl.Int8).alias("bucket"), pl.col(VALUES).sum())
    return pl.concat([buckets, overdue, total], how="vertical_relaxed").with_columns(
        pl.col(c).cast(t) for c, t in VALUE_SCHEMA.items())


REPORT_SCHEMA = {
    "bucket": pl.Int8, "total_count": pl.Int64, "total_balance": MONEY, "share_count": pl.Float64,
    "share_balance": pl.Float64, "overdue_principal": MONEY, "npl_count": pl.Int64, "npl_balance": MONEY,
    "npl_rate_balance": pl.Float64, "npl_rate_count": pl.Float64, "top_causes": TOP_CAUSES_DTYPE,
    "prev_count": pl.Int64, "prev_balance": MONEY, "prev_share_balance": pl.Float64, "change_count": pl.Int64,
    "change_balance": MONEY, "change_share_balance": pl.Float64,
}


def aging_report(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                 products: tuple[str, ...] = (), scheme: str = "reg", compare_month: dt.date | None = None,
                 top: int = 3) -> pl.DataFrame:
    """The aging analysis report (账龄分析表) at ``month`` compared with ``compare_month`` (default: the
    previous quarter end).

    Rows: buckets 0..7, then 逾期小计 (``bucket`` 8) and 合计 (9). Per row: count, balance, share of the total
    count/balance (for the overdue subtotal that is the overdue ratio), overdue principal, NPL count/balance and
    the NPL rate within the row (count and balance), the ``top`` overdue causes by balance with their share
    (codes), the comparison month's count/balance/share and the changes (share change in ratio points).
    """
    compare_month = compare_month or previous_quarter_end(month)
    params = slice_params(branches, products) | {"month": month, "compare_month": compare_month}
    cube, cube_params = derived.source(con, "aging_cause_cube")
    causes_df = query(con, _cause_sql(cube), params | cube_params, CAUSE_SCHEMA).rename(
        {BUCKET_COLUMN[scheme]: "bucket"})
    has_prev = compare_month in months(con)
    causes = causes_df.lazy()

    def rows_at(m: dt.date) -> pl.LazyFrame:
        rows = _report_rows(causes.filter(pl.col("month") == m).group_by("bucket").agg(pl.col(VALUES).sum()))
        total = rows.filter(pl.col("bucket") == TOTAL_ROW)
        return rows.join(total.select(pl.col("total_count").alias("_tn"), pl.col("total_balance").alias("_tb")),
                         how="cross")

    now = rows_at(month).with_columns(
        safe_div("total_count", "_tn").alias("share_count"), safe_div("total_balance", "_tb").alias("share_balance"),
        safe_div("npl_balance", "total_balance").alias("npl_rate_balance"),
        safe_div("npl_count", "total_count").alias("npl_rate_count"),
    )
    prev = rows_at(compare_month).select(
        "bucket", pl.col("total_count").alias("prev_count"), pl.col("total_balance").alias("prev_balance"),
        safe_div("total_balance", "_tb").alias("prev_share_balance"))
    if not has_prev:  # no snapshot to compare with: changes unknown, not "everything is new"
        prev = prev.with_columns(pl.lit(None).alias(c) for c in ("prev_count", "prev_balance", "prev_share_balance"))
    at_month = causes.filter(pl.col("month") == month)
    cause_rows = pl.concat([
        at_month,
        at_month.filter(pl.col("bucket") > 0).with_columns(pl.lit(OVERDUE_ROW, pl.Int8).alias("bucket")),
    ]).group_by("bucket", "overdue_cause").agg(pl.col("total_balance").sum())
    # overdue principal the bank does not provide (an optional contract column) stays empty: "not provided", not 0
    at = causes_df.filter(pl.col("month") == month)
    if not at.is_empty() and at["overdue_principal"].null_count() == at.height:
        now = now.with_columns(pl.lit(None, MONEY).alias("overdue_principal"))
    return (
        now.join(prev, on="bucket", how="left")
        .join(_top_causes(cause_rows, top), on="bucket", how="left")
        .with_columns(
            (pl.col("total_count") - pl.col("prev_count")).alias("change_count"),
            (pl.col("total_balance") - pl.col("prev_balance")).alias("change_balance"),
            (pl.col("share_balance") - pl.col("prev_share_balance")).alias("change_share_balance"),
        )
        .select([pl.col(c).cast(t) for c, t in REPORT_SCHEMA.items()])
        .sort("bucket")
        .collect()
    )
