"""Portfolio-quality balances and ratios by month, branch and product.

One read of the quality cube (``analytics.derived``: month x branch x product counts and balances of every
named measure, ``analytics.core.measures``) gives the base; every ratio is then aggregated from those
numerators and denominators in Polars for whatever grouping a page asks for (never an average of ratios).

口径 [CONV]: on-book = snapshot status ``active``; balance = outstanding principal (本金余额);
overdue = DPD ≥ 1 with the whole outstanding principal counted (逾期贷款余额, DOMAIN.md §2.1);
NPL = booked class 次级/可疑/损失; 90+ = DPD > 90; 偏离度 = 90+ balance / NPL balance.
Columns are ``<measure>_<basis>`` with basis ``balance`` or ``count``.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics import derived
from analytics.core.expr import safe_div
from analytics.core.measures import BASES, RATIOS
from analytics.core.months import EARLIEST, LATEST, add_months, previous_quarter_end
from analytics.core.schema import MONEY
from analytics.core.slice import SLICE_SQL, slice_params
from analytics.core.store import months as store_months
from analytics.core.store import query
from analytics.metrics.provisioning import PBOC_2002, ProvisionRates, add_provisions

BASE_SCHEMA = derived.REGISTRY["quality_cube"].schema


def quality_base(con: duckdb.DuckDBPyConnection, *, branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
                 month_from: dt.date = EARLIEST, month_to: dt.date = LATEST) -> pl.DataFrame:
    """Counts and balances of each measure per month x branch x product (on-book loans)."""
    cube, params = derived.source(con, "quality_cube")
    sql = ("SELECT * FROM " + cube + " l WHERE l.month BETWEEN $month_from AND $month_to AND "  # noqa: S608
           + SLICE_SQL + " ORDER BY ALL")
    params |= slice_params(branches, products) | {"month_from": month_from, "month_to": month_to}
    return query(con, sql, params, BASE_SCHEMA)


def ratio_exprs() -> list[pl.Expr]:
    """Every ratio of ``measures.RATIOS`` on both bases (``<ratio>_balance``, ``<ratio>_count``)."""
    return [safe_div(f"{num}_{basis}", f"{den}_{basis}").alias(f"{name}_{basis}")
            for name, (num, den) in RATIOS.items() for basis in BASES]


def summarise(base: pl.DataFrame, *, by: tuple[str, ...] = ("month",)) -> pl.DataFrame:
    """Sum the base over ``by`` and add every ratio (numerators and denominators summed first)."""
    value_cols = [c for c in base.columns if c.endswith(("_count", "_balance"))]
    return (
        base.lazy()
        .group_by(list(by))
        .agg(pl.col(value_cols).sum())
        .with_columns(pl.col(c).cast(MONEY) for c in value_cols if c.endswith("_balance"))
        .with_columns(ratio_exprs())
        .sort(list(by))
        .collect()
    )


def quality_by(con: duckdb.DuckDBPyConnection, *, by: tuple[str, ...] = ("month",), branches: tuple[str, ...] = (),
               products: tuple[str, ...] = (), month_from: dt.date = EARLIEST,
               month_to: dt.date = LATEST) -> pl.DataFrame:
    """Measures and ratios grouped by any of month, branch_id, product."""
    base = quality_base(con, branches=branches, products=products, month_from=month_from, month_to=month_to)
    return summarise(base, by=by)


def dimensions(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """What the sidebar offers: snapshot months, branches (id, name) and products present."""
    months = store_months(con)
    branches = query(con, "SELECT branch_id, branch_name FROM branches ORDER BY branch_id")
    products = query(con, "SELECT DISTINCT product FROM loans ORDER BY product")["product"].to_list()
    return {
        "months": months,
        "branches": list(zip(branches["branch_id"].to_list(), branches["branch_name"].to_list(), strict=True)),
        "products": products,
    }


KPI_NAMES = ("total_balance", "overdue_balance", "overdue_ratio_balance", "npl_balance", "npl_ratio_balance",
             "dpd90_balance", "deviation_balance", "special_mention_ratio_balance", "coverage", "provision_ratio")


def kpi_tiles(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
              products: tuple[str, ...] = (), rates: ProvisionRates = PBOC_2002) -> pl.DataFrame:
    """The overview KPIs at ``month``, the previous month and the previous quarter end, with changes.

    One row per KPI: value, prev_month, prev_quarter, change_mom, change_qoq (absolute change;
    for ratios in ratio points, i.e. 0.001 = 0.1 percentage point).
    """
    ref = {"value": month, "prev_month": add_months(month, -1), "prev_quarter": previous_quarter_end(month)}
    by_month = add_provisions(quality_by(con, branches=branches, products=products, month_from=min(ref.values()),
                                         month_to=month), rates)
    cols = {}
    for col, m in ref.items():
        row = by_month.filter(pl.col("month") == m)
        cols[col] = [float(row[k][0]) if row.height and row[k][0] is not None else None for k in KPI_NAMES]
    df = pl.DataFrame({"kpi": list(KPI_NAMES), **cols}, schema_overrides={c: pl.Float64 for c in ref})
    return df.with_columns(
        (pl.col("value") - pl.col("prev_month")).alias("change_mom"),
        (pl.col("value") - pl.col("prev_quarter")).alias("change_qoq"),
    )
