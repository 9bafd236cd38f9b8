"""Collection capacity scenario: collectors per entry bucket -> expected cured and recovered balance.

口径 [CONV], from the collection records of the ``months`` months ending at ``month`` (``metrics.collections.cases``:
one row per loan and month in a collector's queue, entry bucket = the M-bucket at the previous month end; a case is
worked when it has at least one collection action that month):
- per entry bucket and month (averages over the months): cases, worked cases, collectors working the bucket
  (distinct collectors with a worked case), worked cases per collector = worked ÷ collector-months;
- cure rate of worked / unworked cases = entry balance of cases back to M0 (or paid off) ÷ entry balance;
  recovery rate = amount paid ÷ entry balance (sums, never averages of rates);
- with n collectors on a bucket: worked = min(cases, n × worked per collector); expected cured balance =
  worked × mean entry balance × worked cure rate + (cases − worked) × mean entry balance × unworked cure rate;
  recovered likewise. The baseline uses the observed collectors, so it reproduces the observed worked cases.
The relation is observed, not causal: worked cases may differ from unworked ones in more than the contact.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics.core.expr import safe_div
from analytics.core.months import add_months
from analytics.core.rules import M_BUCKET_LABELS
from analytics.metrics import collections
from analytics.scenario.compare import side_by_side

VALUES = ("collectors", "worked", "cured_balance", "recovered_balance")


def observed(cases: pl.DataFrame, *, months: int) -> pl.DataFrame:
    """Per entry bucket: cases, worked, collectors (per month), mean entry balance, cure and recovery rates of
    worked and unworked cases, worked cases per collector."""
    c = cases.with_columns(
        ((pl.col("close_bucket") == 0) | (pl.col("status") == "paid_off")).fill_null(False).alias("cured"),
        pl.col("entry_balance").cast(pl.Float64), pl.col("amount_paid").cast(pl.Float64).fill_null(0.0))

    def part(worked: bool, name: str) -> list[pl.Expr]:
        sel = pl.col("worked") == worked
        bal = pl.col("entry_balance").filter(sel).sum()
        return [safe_div(pl.col("entry_balance").filter(sel & pl.col("cured")).sum(), bal).alias(f"cure_{name}"),
                safe_div(pl.col("amount_paid").filter(sel).sum(), bal).alias(f"recovery_{name}")]

    per_month_collectors = (c.filter(pl.col("worked")).group_by("entry_bucket", "month")
                            .agg(pl.col("collector_id").n_unique().alias("n"))
                            .group_by("entry_bucket").agg(pl.col("n").sum().alias("collector_months")))
    return (c.group_by("entry_bucket").agg(
                (pl.len() / months).alias("cases"), (pl.col("worked").sum() / months).alias("worked"),
                pl.col("entry_balance").mean().alias("mean_balance"), *part(True, "worked"), *part(False, "unworked"))
            .join(per_month_collectors, on="entry_bucket", how="left")
            .with_columns(pl.col("collector_months").fill_null(0))
            .with_columns((pl.col("collector_months") / months).alias("collectors"),
                          safe_div(pl.col("worked") * months, "collector_months").alias("per_collector"))
            .drop("collector_months").sort("entry_bucket")
            .select(pl.col("entry_bucket").replace_strict(dict(enumerate(M_BUCKET_LABELS)), return_dtype=pl.String)
                    .alias("bucket"), pl.all()))


def plan(obs: pl.DataFrame, collectors: dict[int, float]) -> pl.DataFrame:
    """Expected worked cases, cured and recovered balance per bucket with ``collectors`` (bucket -> n; a bucket
    not given keeps its observed collectors), and a total row (bucket "total")."""
    n = pl.col("entry_bucket").replace_strict(collectors, default=pl.col("collectors"), return_dtype=pl.Float64)
    out = obs.with_columns(n.alias("collectors")).with_columns(
        pl.min_horizontal(pl.col("cases"), pl.col("collectors") * pl.col("per_collector").fill_null(0.0))
        .alias("worked")).with_columns(
        (pl.col("cases") - pl.col("worked")).alias("_unworked")).with_columns(
        (pl.col("mean_balance") * (pl.col("worked") * pl.col("cure_worked").fill_null(0.0)
                                   + pl.col("_unworked") * pl.col("cure_unworked").fill_null(0.0))).alias("cured_balance"),
        (pl.col("mean_balance") * (pl.col("worked") * pl.col("recovery_worked").fill_null(0.0)
                                   + pl.col("_unworked") * pl.col("recovery_unworked").fill_null(0.0)))
        .alias("recovered_balance")).drop("_unworked")
    total = out.select(pl.lit("total").alias("bucket"), pl.col(*VALUES, "cases").sum())
    return pl.concat([out, total], how="diagonal_relaxed")


def compare(con: duckdb.DuckDBPyConnection, *, month: dt.date, months: int = 3, branches: tuple[str, ...] = (),
            products: tuple[str, ...] = (), collectors: tuple[tuple[int, float], ...] = ()) -> dict[str, pl.DataFrame]:
    """``observed`` (per bucket) and ``plan``: baseline (observed collectors) | scenario | difference per bucket."""
    cases = collections.cases(con, month_from=add_months(month, 1 - months), month_to=month, branches=branches,
                              products=products)
    obs = observed(cases, months=months)
    base, scen = plan(obs, {}), plan(obs, dict(collectors))
    return {"observed": obs, "plan": side_by_side(base, scen, on=["bucket"], values=list(VALUES))}
