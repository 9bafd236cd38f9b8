"""Portfolio-quality balances and ratios by month, branch and product.

One scan of the snapshots gives the month x branch x product base (counts and balances of
each quality group); every ratio is then aggregated from those numerators and denominators in
Polars for whatever grouping a page asks for (never an average of ratios).

口径 [CONV]: on-book = snapshot status ``active``; balance = outstanding principal (本金余额);
overdue = DPD ≥ 1 with the whole outstanding principal counted (逾期贷款余额, DOMAIN.md §2.1);
NPL = booked class 次级/可疑/损失; 90+ = DPD > 90; 偏离度 = 90+ balance / NPL balance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from analytics.core.schema import CLASSES, MONEY
from analytics.core.store import has_view, query

FILTER_SQL = """(len($branches) = 0 OR list_contains($branches, l.branch_id))
  AND (len($products) = 0 OR list_contains($products, l.product))"""

GROUPS = {
    # name: (SQL condition on a snapshot row s, label zh, label en)
    "total": ("TRUE", "贷款余额", "Total loans"),
    "overdue": ("s.dpd >= 1", "逾期贷款", "Overdue loans"),
    "dpd30": ("s.dpd > 30", "逾期30天以上", "30+ DPD"),
    "dpd60": ("s.dpd > 60", "逾期60天以上", "60+ DPD"),
    "dpd90": ("s.dpd > 90", "逾期90天以上", "90+ DPD"),
    "class1": ("s.booked_class = 1", "正常类", "Pass"),
    "class2": ("s.booked_class = 2", "关注类", "Special mention"),
    "class3": ("s.booked_class = 3", "次级类", "Substandard"),
    "class4": ("s.booked_class = 4", "可疑类", "Doubtful"),
    "class5": ("s.booked_class = 5", "损失类", "Loss"),
    "npl": ("s.booked_class >= 3", "不良贷款", "NPL"),
}


def _base_sql() -> str:
    aggs = []
    for name, (cond, _, _) in GROUPS.items():
        aggs.append("count(*) FILTER (WHERE " + cond + ")::BIGINT AS " + name + "_n")
        aggs.append("coalesce(sum(s.outstanding_principal) FILTER (WHERE " + cond + "), 0) AS " + name + "_bal")
    return (
        "SELECT s.month, l.branch_id, l.product,\n  "
        + ",\n  ".join(aggs)
        + "\nFROM snapshots s JOIN loans l USING (loan_id)\n"
        "WHERE s.status = 'active' AND s.month BETWEEN $month_from AND $month_to\n  AND "
        + FILTER_SQL
        + "\nGROUP BY ALL"
    )


BASE_SQL = _base_sql()
BASE_SCHEMA = {"month": pl.Date, "branch_id": pl.String, "product": pl.String} | {
    f"{name}_{kind}": (pl.Int64 if kind == "n" else MONEY) for name in GROUPS for kind in ("n", "bal")
}


def filter_params(branches: tuple[str, ...], products: tuple[str, ...]) -> dict[str, object]:
    """Portfolio filters as typed list parameters (an empty tuple means all)."""
    return {
        "branches": duckdb.Value(list(branches), duckdb.list_type(duckdb.sqltype("VARCHAR"))),
        "products": duckdb.Value(list(products), duckdb.list_type(duckdb.sqltype("VARCHAR"))),
    }


CUBE = "quality_cube"  # the base for every month, precomputed by analytics.derive.build
CUBE_SQL = "SELECT * FROM " + CUBE + " l WHERE l.month BETWEEN $month_from AND $month_to AND " + FILTER_SQL  # noqa: S608
FIRST, LAST = dt.date(1900, 1, 1), dt.date(2999, 12, 1)


def quality_base(con: duckdb.DuckDBPyConnection, branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
                 month_from: dt.date = FIRST, month_to: dt.date = LAST) -> pl.DataFrame:
    """Counts and balances of each quality group per month x branch x product (on-book loans).

    Read from the derived cube when it exists (a few thousand rows), else aggregated from the snapshots.
    """
    params = filter_params(branches, products) | {"month_from": month_from, "month_to": month_to}
    sql = CUBE_SQL if has_view(con, CUBE) else BASE_SQL
    return query(con, sql + " ORDER BY ALL", params, BASE_SCHEMA)


def quality_cube(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The base over all months and the whole portfolio, from the snapshots (what derive.build stores)."""
    return query(con, BASE_SQL + " ORDER BY ALL", filter_params((), ()) | {"month_from": FIRST, "month_to": LAST},
                 BASE_SCHEMA)


def _ratio(num: str, den: str, name: str) -> pl.Expr:
    den_expr = pl.col(den).cast(pl.Float64)
    return (pl.col(num).cast(pl.Float64) / pl.when(den_expr != 0).then(den_expr)).alias(name)


RATIO_DEFS = {
    # ratio name: (numerator group, denominator group)
    "overdue_ratio": ("overdue", "total"),
    "dpd30_ratio": ("dpd30", "total"),
    "dpd90_ratio": ("dpd90", "total"),
    "special_mention_ratio": ("class2", "total"),
    "npl_ratio": ("npl", "total"),
    "deviation": ("dpd90", "npl"),  # 偏离度
}


def ratio_exprs() -> list[pl.Expr]:
    """Balance ratios (``<name>``) and count ratios (``<name>_count``) from summed groups."""
    exprs = []
    for name, (num, den) in RATIO_DEFS.items():
        exprs.append(_ratio(f"{num}_bal", f"{den}_bal", name))
        exprs.append(_ratio(f"{num}_n", f"{den}_n", f"{name}_count"))
    return exprs


def summarise(base: pl.DataFrame, by: tuple[str, ...] = ("month",)) -> pl.DataFrame:
    """Sum the base over ``by`` and add every ratio (numerators and denominators summed first)."""
    value_cols = [c for c in base.columns if c.endswith(("_n", "_bal"))]
    return (
        base.lazy()
        .group_by(list(by))
        .agg(pl.col(value_cols).sum())
        .with_columns(pl.col(c).cast(MONEY) for c in value_cols if c.endswith("_bal"))
        .with_columns(ratio_exprs())
        .sort(list(by))
        .collect()
    )


def quality_by(con: duckdb.DuckDBPyConnection, by: tuple[str, ...] = ("month",), branches: tuple[str, ...] = (),
               products: tuple[str, ...] = (), month_from: dt.date = dt.date(1900, 1, 1),
               month_to: dt.date = dt.date(2999, 12, 1)) -> pl.DataFrame:
    """Quality groups and ratios grouped by any of month, branch_id, product."""
    return summarise(quality_base(con, branches, products, month_from, month_to), by)


# --- provisioning ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvisionRates:
    """Provision rate per booked class (decimal). Simplified regulatory-style provision, not ECL."""

    normal: float = 0.01
    special_mention: float = 0.02
    substandard: float = 0.25
    doubtful: float = 0.50
    loss: float = 1.00

    def by_class(self) -> dict[int, float]:
        return dict(zip(CLASSES, (self.normal, self.special_mention, self.substandard, self.doubtful, self.loss),
                        strict=True))


PBOC_2002 = ProvisionRates()
"""2002 PBOC reference schedule [CONV]: 1% general on 正常, 2 / 25 / 50 / 100% specific."""
MOF_2012 = ProvisionRates(0.015, 0.03, 0.30, 0.60, 1.00)
"""2012 MoF standard-method risk coefficients (一般准备), offered as an alternative preset."""
PROVISION_PRESETS = {"pboc2002": PBOC_2002, "mof2012": MOF_2012}


def provision_expr(rates: ProvisionRates = PBOC_2002) -> pl.Expr:
    """Σ class balance × rate, rounded to the fen, as MONEY (needs ``class1_bal`` … ``class5_bal``)."""
    total = pl.sum_horizontal(pl.col(f"class{c}_bal").cast(pl.Float64) * rate for c, rate in rates.by_class().items())
    return total.round(2).cast(MONEY).alias("provision")


def add_provisions(summary: pl.DataFrame, rates: ProvisionRates = PBOC_2002) -> pl.DataFrame:
    """Add provision, 拨备覆盖率 (``coverage`` = provision / NPL) and 贷款拨备率 (``provision_ratio`` =
    provision / total loans) to a frame summed by ``portfolio.summarise``."""
    prov = pl.col("provision").cast(pl.Float64)
    npl = pl.col("npl_bal").cast(pl.Float64)
    total = pl.col("total_bal").cast(pl.Float64)
    return summary.with_columns(provision_expr(rates)).with_columns(
        (prov / pl.when(npl != 0).then(npl)).alias("coverage"),
        (prov / pl.when(total != 0).then(total)).alias("provision_ratio"),
    )


def dimensions(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """What the sidebar offers: snapshot months, branches (id, name) and products present."""
    months = query(con, "SELECT DISTINCT month FROM snapshots ORDER BY month")["month"].to_list()
    branches = query(con, "SELECT branch_id, branch_name FROM branches ORDER BY branch_id")
    products = query(con, "SELECT DISTINCT product FROM loans ORDER BY product")["product"].to_list()
    return {
        "months": months,
        "branches": list(zip(branches["branch_id"].to_list(), branches["branch_name"].to_list(), strict=True)),
        "products": products,
    }


def previous_quarter_end(month: dt.date) -> dt.date:
    """The last month of the quarter before ``month``'s quarter (quarter-on-quarter comparisons)."""
    q_start = (month.month - 1) // 3 * 3 + 1
    y, m = month.year, q_start - 1
    if m == 0:
        y, m = y - 1, 12
    return dt.date(y, m, 1)


def add_months(month: dt.date, n: int) -> dt.date:
    k = month.year * 12 + month.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


KPI_NAMES = ("total_bal", "overdue_bal", "overdue_ratio", "npl_bal", "npl_ratio", "dpd90_bal", "deviation",
             "special_mention_ratio", "coverage", "provision_ratio")


def kpi_tiles(con: duckdb.DuckDBPyConnection, month: dt.date, branches: tuple[str, ...] = (),
              products: tuple[str, ...] = (), rates: ProvisionRates = PBOC_2002) -> pl.DataFrame:
    """The overview KPIs at ``month``, the previous month and the previous quarter end, with changes.

    One row per KPI: value, prev_month, prev_quarter, change_mom, change_qoq (absolute change;
    for ratios in ratio points, i.e. 0.001 = 0.1 percentage point).
    """
    ref = {"value": month, "prev_month": add_months(month, -1), "prev_quarter": previous_quarter_end(month)}
    by_month = add_provisions(quality_by(con, ("month",), branches, products, min(ref.values()), month), rates)
    cols = {}
    for col, m in ref.items():
        row = by_month.filter(pl.col("month") == m)
        cols[col] = [float(row[k][0]) if row.height and row[k][0] is not None else None for k in KPI_NAMES]
    df = pl.DataFrame({"kpi": list(KPI_NAMES), **cols}, schema_overrides={c: pl.Float64 for c in ref})
    return df.with_columns(
        (pl.col("value") - pl.col("prev_month")).alias("change_mom"),
        (pl.col("value") - pl.col("prev_quarter")).alias("change_qoq"),
    )
