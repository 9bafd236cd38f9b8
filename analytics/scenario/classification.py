"""Classification scenario: NPL recognised at another DPD threshold (e.g. 60 instead of 90 days), or a stricter
threshold for one product (e.g. cards).

口径 [CONV]: baseline = the booked class (what every other page shows). Scenario class = the booked class, raised to
at least 次级 (3) when DPD > the threshold of the loan's product (``product_dpd``, else ``npl_dpd``); a threshold of
90 for every product leaves the book unchanged (the 2023 rule already puts DPD > 90 in NPL, DOMAIN.md §1.2, except
where the book is misclassified). NPL ratio = NPL ÷ total loans; 偏离度 = 90+ DPD balance ÷ NPL balance; provisions
with the app-wide rate scheme on the scenario classes. Per branch and for the slice (row "total").
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics.core.expr import safe_div
from analytics.core.schema import NPL_CLASSES
from analytics.core.slice import MANAGED_SLICE_SQL, slice_params
from analytics.core.store import query
from analytics.metrics.provisioning import PBOC_2002, ProvisionRates
from analytics.scenario.compare import side_by_side

CAP = 91  # DPD above 90 is grouped: no scenario threshold goes above 90
CELLS_SQL = """
SELECT s.branch_id, l.product, s.booked_class, least(s.dpd, """ + str(CAP) + """)::INTEGER AS dpd_capped,
       count(*)::BIGINT AS total_count, sum(s.outstanding_principal)::DOUBLE AS total_balance
FROM snapshots s JOIN loans l USING (loan_id)
WHERE s.month = $month AND s.status = 'active' AND """ + MANAGED_SLICE_SQL + """
GROUP BY ALL"""
CELLS_SCHEMA = {"branch_id": pl.String, "product": pl.String, "booked_class": pl.Int8, "dpd_capped": pl.Int32,
                "total_count": pl.Int64, "total_balance": pl.Float64}
VALUES = ("total_balance", "npl_balance", "npl_ratio_balance", "npl_count", "npl_ratio_count", "deviation_balance",
          "provision")


def cells(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
          products: tuple[str, ...] = ()) -> pl.DataFrame:
    """Loans and balances per branch x product x booked class x DPD (capped at 91) at ``month``."""
    return query(con, CELLS_SQL, {"month": month, **slice_params(branches, products)}, CELLS_SCHEMA)


def summarise(frame: pl.DataFrame, class_col: str, rates: ProvisionRates) -> pl.DataFrame:
    """NPL balance and count, ratios, 偏离度 and provision per branch and in total for the class in ``class_col``."""
    npl = pl.col(class_col) >= min(NPL_CLASSES)
    rate = pl.col(class_col).replace_strict(rates.by_class(), return_dtype=pl.Float64)
    parts = frame.with_columns(
        pl.when(npl).then(pl.col("total_balance")).otherwise(0.0).alias("npl_balance"),
        pl.when(npl).then(pl.col("total_count")).otherwise(0).alias("npl_count"),
        pl.when(pl.col("dpd_capped") > 90).then(pl.col("total_balance")).otherwise(0.0).alias("dpd90_balance"),
        (pl.col("total_balance") * rate).alias("provision"))
    sums = ("total_balance", "total_count", "npl_balance", "npl_count", "dpd90_balance", "provision")
    by_branch = parts.group_by("branch_id").agg(pl.col(sums).sum()).sort("branch_id")
    total = by_branch.select(pl.lit("total").alias("branch_id"), pl.col(sums).sum())
    return pl.concat([by_branch, total]).with_columns(
        safe_div("npl_balance", "total_balance").alias("npl_ratio_balance"),
        safe_div("npl_count", "total_count").alias("npl_ratio_count"),
        safe_div("dpd90_balance", "npl_balance").alias("deviation_balance"),
        pl.col("provision").round(2))


def scenario_classes(frame: pl.DataFrame, *, npl_dpd: int = 90,
                     product_dpd: tuple[tuple[str, int], ...] = ()) -> pl.DataFrame:
    """``frame`` with ``scenario_class``: the booked class raised to 次级 above the product's threshold."""
    threshold = pl.col("product").replace_strict(dict(product_dpd), default=npl_dpd, return_dtype=pl.Int32)
    raised = (pl.col("dpd_capped") > threshold) & (pl.col("booked_class") < min(NPL_CLASSES))
    return frame.with_columns(pl.when(raised).then(pl.lit(min(NPL_CLASSES), dtype=pl.Int8))
                              .otherwise(pl.col("booked_class")).alias("scenario_class"))


def compare(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
            products: tuple[str, ...] = (), npl_dpd: int = 90, product_dpd: tuple[tuple[str, int], ...] = (),
            rates: ProvisionRates = PBOC_2002) -> pl.DataFrame:
    """Baseline (booked classes) | scenario (the thresholds) | difference, per ``branch`` and "total"."""
    if not 0 <= npl_dpd <= 90 or any(not 0 <= d <= 90 for _, d in product_dpd):
        raise ValueError("NPL thresholds are between 0 and 90 days")
    frame = scenario_classes(cells(con, month=month, branches=branches, products=products), npl_dpd=npl_dpd,
                             product_dpd=product_dpd)
    return side_by_side(summarise(frame, "booked_class", rates), summarise(frame, "scenario_class", rates),
                        on=["branch_id"], values=list(VALUES)).rename({"branch_id": "branch"})
