"""Aging (账龄 = overdue age here, not months on book): DPD buckets and the aging analysis report.

口径 (DOMAIN.md §2): on-book loans (status ``active``) at month end, balance = outstanding principal (the whole
principal of an overdue loan counts, §2.1). Two bucket schemes from ``analytics.rules``: collection M-buckets
(M0 … M7+, 30-day steps, [CONV]) and the regulatory bands of 1104 S71 (≤30, 31–60, 61–90, 91–180, 181–270,
271–360, >360, [RPT]). Bucket index 0 = not overdue (DPD 0). NPL = booked class 次级/可疑/损失.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics.core.rules import (
    M_BUCKET_DPD,
    M_BUCKET_EDGES,
    M_BUCKET_LABELS,
    M_BUCKET_SQL,
    REG_BAND_EDGES,
    REG_BAND_LABELS,
    REG_BAND_LABELS_EN,
    REG_BAND_SQL,
    bucket_bounds,
)
from analytics.core.schema import CAUSES, MONEY, label
from analytics.core.store import has_view, query
from analytics.metrics import portfolio

SCHEMES = ("m", "reg")
BUCKET_COLUMN = {"m": "m_bucket", "reg": "reg_band"}
N_BUCKETS = 8
OVERDUE_ROW = 8  # report row: all overdue buckets
TOTAL_ROW = 9  # report row: all on-book loans

_VALUES = """count(*)::BIGINT AS n,
       sum(s.outstanding_principal) AS bal,
       sum(s.overdue_principal) AS overdue_principal,
       count(*) FILTER (WHERE s.booked_class >= 3)::BIGINT AS npl_n,
       coalesce(sum(s.outstanding_principal) FILTER (WHERE s.booked_class >= 3), 0) AS npl_bal"""
_BUCKETS = "(" + M_BUCKET_SQL + ")::TINYINT AS m_bucket, (" + REG_BAND_SQL + ")::TINYINT AS reg_band"

AGING_BASE_SQL = """
SELECT s.month, l.branch_id, l.product, """ + _BUCKETS + """,
       """ + _VALUES + """
FROM snapshots s JOIN loans l USING (loan_id)
WHERE s.status = 'active' AND s.month BETWEEN $month_from AND $month_to AND """ + portfolio.FILTER_SQL + """
GROUP BY ALL ORDER BY ALL
"""
VALUE_SCHEMA = {"n": pl.Int64, "bal": MONEY, "overdue_principal": MONEY, "npl_n": pl.Int64, "npl_bal": MONEY}
AGING_BASE_SCHEMA = {"month": pl.Date, "branch_id": pl.String, "product": pl.String, "m_bucket": pl.Int8,
                     "reg_band": pl.Int8} | VALUE_SCHEMA

CUBE = "aging_cube"  # AGING_BASE_SQL over every month and the whole portfolio, stored by analytics.derive.build
CUBE_SQL = ("SELECT * FROM " + CUBE + " l WHERE l.month BETWEEN $month_from AND $month_to AND "  # noqa: S608
            + portfolio.FILTER_SQL + " ORDER BY ALL")
AGING_TREND_SCHEMA = {"month": pl.Date, "m_bucket": pl.Int8, "reg_band": pl.Int8} | VALUE_SCHEMA

CAUSE_SQL = """
SELECT s.month, """ + _BUCKETS + """, s.overdue_cause,
       """ + _VALUES + """
FROM snapshots s JOIN loans l USING (loan_id)
WHERE s.status = 'active' AND s.month IN ($month, $compare_month) AND """ + portfolio.FILTER_SQL + """
GROUP BY ALL ORDER BY ALL
"""
CAUSE_SCHEMA = {"month": pl.Date, "m_bucket": pl.Int8, "reg_band": pl.Int8, "overdue_cause": pl.String} | VALUE_SCHEMA
# Whether a snapshot exists at a month at all (whatever the filters): an empty filtered month compares as zero.
MONTH_EXISTS_SQL = "SELECT count(*)::BIGINT AS n FROM snapshots WHERE month = $month"


def bucket_labels(scheme: str, lang: str = "zh") -> list[str]:
    """Display labels of buckets 0..7 (M-buckets with their DPD range)."""
    if scheme == "m":
        return [f"{name} ({M_BUCKET_DPD[i]})" for i, name in enumerate(M_BUCKET_LABELS)]
    return list(REG_BAND_LABELS if lang == "zh" else REG_BAND_LABELS_EN)


def bucket_dpd_range(scheme: str, index: int) -> tuple[int, int | None]:
    """(dpd_min, dpd_max) of a bucket, for a DrillSpec; dpd_max None = open-ended."""
    return bucket_bounds(M_BUCKET_EDGES if scheme == "m" else REG_BAND_EDGES, index)


def aging_base(con: duckdb.DuckDBPyConnection, branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
               month_from: dt.date = dt.date(1900, 1, 1), month_to: dt.date = dt.date(2999, 12, 1)) -> pl.DataFrame:
    """Count, balance, overdue principal and NPL of on-book loans per month x branch x product x (M-bucket,
    regulatory band): one scan serves both schemes and every grouping."""
    params = portfolio.filter_params(branches, products) | {"month_from": month_from, "month_to": month_to}
    return query(con, CUBE_SQL if has_view(con, CUBE) else AGING_BASE_SQL, params, AGING_BASE_SCHEMA)


def aging_cube(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The aging base over every month and the whole portfolio, from the snapshots (what derive.build stores)."""
    params = portfolio.filter_params((), ()) | {"month_from": portfolio.FIRST, "month_to": portfolio.LAST}
    return query(con, AGING_BASE_SQL, params, AGING_BASE_SCHEMA)


def aging_trend_base(con: duckdb.DuckDBPyConnection, branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
                     month_from: dt.date = dt.date(1900, 1, 1),
                     month_to: dt.date = dt.date(2999, 12, 1)) -> pl.DataFrame:
    """``aging_base`` summed over branches and products (month x M-bucket x band): the input of ``aging_trend``."""
    keys = list(AGING_TREND_SCHEMA)[:3]
    return (
        aging_base(con, branches, products, month_from, month_to)
        .group_by(keys)
        .agg(pl.col(list(VALUE_SCHEMA)).sum())
        .with_columns(pl.col(c).cast(t) for c, t in VALUE_SCHEMA.items())
        .sort(keys)
    )


def _bucket_totals(base: pl.DataFrame, scheme: str, by: list[str]) -> pl.LazyFrame:
    return (
        base.lazy()
        .group_by([*by, pl.col(BUCKET_COLUMN[scheme]).alias("bucket")])
        .agg(pl.col(list(VALUE_SCHEMA)).sum())
        .with_columns(pl.col(c).cast(t) for c, t in VALUE_SCHEMA.items())
    )


def aging_by(base: pl.DataFrame, scheme: str = "m", by: tuple[str, ...] = ("month",)) -> pl.DataFrame:
    """Long form: ``by`` x bucket with count, balance, NPL and the bucket's share of the group's count/balance."""
    keys = list(by)
    total_n = pl.col("n").sum().over(keys) if keys else pl.col("n").sum()
    total_bal = pl.col("bal").cast(pl.Float64).sum().over(keys) if keys else pl.col("bal").cast(pl.Float64).sum()
    return (
        _bucket_totals(base, scheme, keys)
        .with_columns(
            (pl.col("bal").cast(pl.Float64) / pl.when(total_bal != 0).then(total_bal)).alias("bal_share"),
            (pl.col("n") / pl.when(total_n != 0).then(total_n)).alias("n_share"),
        )
        .sort([*keys, "bucket"])
        .collect()
    )


def aging_table(base: pl.DataFrame, month: dt.date, scheme: str = "m", by: str = "branch_id",
                measure: str = "bal", names: dict[str, str] | None = None) -> pl.DataFrame:
    """Wide table at ``month``: one row per ``by`` value, columns ``b0`` … ``b7`` (count or balance, every
    bucket present), ``total`` and ``overdue_ratio`` (overdue share of the row, by the same measure).
    ``names`` (code -> display name) adds a ``name`` column after ``by``."""
    value = "bal" if measure == "bal" else "n"
    long = aging_by(base.filter(pl.col("month") == month), scheme, (by,))
    if long.is_empty():
        return pl.DataFrame(schema={by: pl.String, **{f"b{i}": pl.Float64 for i in range(N_BUCKETS)},
                                    "total": pl.Float64, "overdue_ratio": pl.Float64})
    grid = long.select(by).unique().join(pl.DataFrame({"bucket": list(range(N_BUCKETS))},
                                                      schema={"bucket": pl.Int8}), how="cross")
    wide = (
        grid.join(long.select(by, "bucket", pl.col(value).cast(pl.Float64).alias("v")), on=[by, "bucket"],
                  how="left")
        .with_columns(pl.col("v").fill_null(0.0), pl.format("b{}", pl.col("bucket")).alias("col"))
        .pivot(on="col", index=by, values="v", aggregate_function=None)
    )
    buckets = [f"b{i}" for i in range(N_BUCKETS)]
    total = pl.sum_horizontal(buckets)
    table = (
        wide.select(by, *buckets)
        .with_columns(total.alias("total"))
        .with_columns((pl.sum_horizontal(buckets[1:]) / pl.when(total != 0).then(total)).alias("overdue_ratio"))
        .sort(by)
    )
    if names is not None:
        name = pl.col(by).replace_strict(names, default=pl.col(by), return_dtype=pl.String).alias("name")
        table = table.select(by, name, pl.exclude(by))
    return table


def aging_trend(base: pl.DataFrame, scheme: str = "m", lang: str = "zh") -> pl.DataFrame:
    """Month x bucket (long) for a stacked trend chart: count, balance, shares and ``bucket_label``
    (``base``: ``aging_trend_base`` or ``aging_base``)."""
    labels = dict(enumerate(bucket_labels(scheme, lang)))
    return aging_by(base, scheme, ("month",)).with_columns(
        pl.col("bucket").replace_strict(labels, return_dtype=pl.String).alias("bucket_label"))


def _top_causes(causes: pl.LazyFrame, lang: str, top: int) -> pl.LazyFrame:
    labels = pl.col("overdue_cause").replace_strict(
        {c: label("overdue_cause", c, lang) for c in CAUSES}, default=pl.col("overdue_cause"))
    share = pl.col("bal").cast(pl.Float64) / pl.col("bal").cast(pl.Float64).sum().over("bucket")
    return (
        causes.filter(pl.col("overdue_cause").is_not_null() & (pl.col("bal") > 0))
        .with_columns(share.alias("share"))
        .sort(["bucket", "bal", "overdue_cause"], descending=[False, True, False])
        .group_by("bucket", maintain_order=True)
        .head(top)
        .group_by("bucket", maintain_order=True)
        .agg(pl.format("{} {}%", labels, (pl.col("share") * 100).round(1)).str.join(", ").alias("top_causes"))
    )


def _report_rows(per_bucket: pl.LazyFrame) -> pl.LazyFrame:
    """Buckets 0..7 (all present), the overdue subtotal (row 8) and the total (row 9)."""
    values = list(VALUE_SCHEMA)
    grid = pl.LazyFrame({"bucket": list(range(N_BUCKETS))}, schema={"bucket": pl.Int8})
    buckets = grid.join(per_bucket, on="bucket", how="left").with_columns(
        pl.col(c).fill_null(0).cast(t) for c, t in VALUE_SCHEMA.items())
    overdue = buckets.filter(pl.col("bucket") > 0).select(pl.lit(OVERDUE_ROW, pl.Int8).alias("bucket"),
                                                          pl.col(values).sum())
    total = buckets.select(pl.lit(TOTAL_ROW, pl.Int8).alias("bucket"), pl.col(values).sum())
    return pl.concat([buckets, overdue, total], how="vertical_relaxed").with_columns(
        pl.col(c).cast(t) for c, t in VALUE_SCHEMA.items())


def _ratio(num: str, den: pl.Expr, name: str) -> pl.Expr:
    d = den.cast(pl.Float64)
    return (pl.col(num).cast(pl.Float64) / pl.when(d != 0).then(d)).alias(name)


REPORT_SCHEMA = {
    "bucket": pl.Int8, "bucket_label": pl.String, "n": pl.Int64, "bal": MONEY, "n_share": pl.Float64,
    "bal_share": pl.Float64, "overdue_principal": MONEY, "npl_n": pl.Int64, "npl_bal": MONEY,
    "npl_rate": pl.Float64, "npl_rate_count": pl.Float64, "top_causes": pl.String, "prev_n": pl.Int64,
    "prev_bal": MONEY, "prev_bal_share": pl.Float64, "change_n": pl.Int64, "change_bal": MONEY,
    "change_bal_share": pl.Float64,
}


def aging_report(con: duckdb.DuckDBPyConnection, month: dt.date, branches: tuple[str, ...] = (),
                 products: tuple[str, ...] = (), scheme: str = "reg", compare_month: dt.date | None = None,
                 lang: str = "zh", top: int = 3) -> pl.DataFrame:
    """The aging analysis report (账龄分析表) at ``month`` compared with ``compare_month`` (default: the
    previous quarter end).

    Rows: buckets 0..7, then 逾期小计 (``bucket`` 8) and 合计 (9). Per row: count, balance, share of the total
    count/balance (for the overdue subtotal that is the overdue ratio), overdue principal, NPL count/balance and
    the NPL rate within the row (count and balance), the ``top`` overdue causes by balance with their share, the
    comparison month's count/balance/share and the changes (share change in ratio points).
    """
    compare_month = compare_month or portfolio.previous_quarter_end(month)
    params = portfolio.filter_params(branches, products) | {"month": month, "compare_month": compare_month}
    causes_df = query(con, CAUSE_SQL, params, CAUSE_SCHEMA).rename({BUCKET_COLUMN[scheme]: "bucket"})
    has_prev = query(con, MONTH_EXISTS_SQL, {"month": compare_month}, {"n": pl.Int64})["n"][0] > 0
    causes = causes_df.lazy()

    def rows_at(m: dt.date) -> pl.LazyFrame:
        per_bucket = causes.filter(pl.col("month") == m).group_by("bucket").agg(pl.col(list(VALUE_SCHEMA)).sum())
        rows = _report_rows(per_bucket)
        total = rows.filter(pl.col("bucket") == TOTAL_ROW)
        return rows.join(total.select(pl.col("n").alias("_tn"), pl.col("bal").alias("_tb")), how="cross")

    now = rows_at(month).with_columns(
        _ratio("n", pl.col("_tn"), "n_share"), _ratio("bal", pl.col("_tb"), "bal_share"),
        _ratio("npl_bal", pl.col("bal"), "npl_rate"), _ratio("npl_n", pl.col("n"), "npl_rate_count"),
    )
    prev = rows_at(compare_month).select(
        "bucket", pl.col("n").alias("prev_n"), pl.col("bal").alias("prev_bal"),
        _ratio("bal", pl.col("_tb"), "prev_bal_share"))
    if not has_prev:  # no snapshot to compare with: changes unknown, not "everything is new"
        prev = prev.with_columns(pl.lit(None).alias(c) for c in ("prev_n", "prev_bal", "prev_bal_share"))
    at_month = causes.filter(pl.col("month") == month)
    cause_rows = pl.concat([
        at_month,
        at_month.filter(pl.col("bucket") > 0).with_columns(pl.lit(OVERDUE_ROW, pl.Int8).alias("bucket")),
    ]).group_by("bucket", "overdue_cause").agg(pl.col("bal").sum())
    labels = bucket_labels(scheme, lang) + (["逾期小计", "合计"] if lang == "zh" else ["Overdue subtotal", "Total"])
    return (
        now.join(prev, on="bucket", how="left")
        .join(_top_causes(cause_rows, lang, top), on="bucket", how="left")
        .with_columns(
            pl.col("bucket").replace_strict(dict(enumerate(labels)), return_dtype=pl.String).alias("bucket_label"),
            (pl.col("n") - pl.col("prev_n")).alias("change_n"),
            (pl.col("bal") - pl.col("prev_bal")).alias("change_bal"),
            (pl.col("bal_share") - pl.col("prev_bal_share")).alias("change_bal_share"),
        )
        .select([pl.col(c).cast(t) for c, t in REPORT_SCHEMA.items()])
        .sort("bucket")
        .collect()
    )
