"""Early-warning threshold scenario: a changed rule table backtested against the saved one.

口径 (``analytics.warning.backtest``, rule signals only): for a cut-off level L (red = most severe … blue), the loans
flagged at level L or more severe:
- flagged = warned loans (DPD ≤ 90 at the warning month) per tested month, summed over the months ÷ months;
- precision = flagged loans reaching DPD > 90 within the horizon ÷ flagged loans (sums over the months);
- recall = default events with a warning of level L or more severe in the horizon before ÷ events;
- median lead time = months from the first such warning to the event, over the caught events;
- workload = flagged per month ÷ team size ÷ working days per month [ILLUS ``WORKING_DAYS``] (cases per collector
  per day).
The trade-off curve: (recall, precision, flagged) at each cut-off level, for both rule tables.
"""

from __future__ import annotations

import duckdb
import polars as pl

from analytics.warning import backtest as bt
from analytics.warning import rules as R

WORKING_DAYS = 21.75
"""[ILLUS] Working days per month (5 days × 52 weeks ÷ 12, before holidays)."""
METRICS = ("flagged", "precision", "recall", "lead_median_months", "workload")


def curve(result: dict) -> pl.DataFrame:
    """One row per cut-off level of a backtest result: flagged per month, precision, recall, median lead time."""
    total, recall, n_months = result["precision_total"], result["recall"], max(len(result["months"]), 1)
    if recall.is_empty():
        return pl.DataFrame(schema={"level": pl.String, "level_rank": pl.Int8}
                            | {m: pl.Float64 for m in METRICS if m != "workload"})
    cum = (total.sort("level_rank").with_columns(pl.col("warned").cum_sum().alias("w"),
                                                  pl.col("hits").cum_sum().alias("h"))
           .select("level_rank", "w", "h"))
    return (recall.join(cum, on="level_rank", how="left")
            .with_columns((pl.col("w").cast(pl.Float64) / n_months).alias("flagged"),
                          pl.when(pl.col("w") > 0).then(pl.col("h") / pl.col("w")).alias("precision"))
            .select("level", "level_rank", *(pl.col(m).cast(pl.Float64) for m in METRICS if m != "workload"))
            .sort("level_rank"))


def trade_off(con: duckdb.DuckDBPyConnection, *, rules: str = "", horizon: int = bt.HORIZON,
              months: int = bt.MONTHS, branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> pl.DataFrame:
    """The trade-off curve of one rule table (the page caches the baseline's, so a change costs one backtest)."""
    return curve(bt.backtest(con, rules=rules, horizon=horizon, months=months, branches=branches, products=products))


def combine(baseline: pl.DataFrame, scenario: pl.DataFrame, *, level: str = "yellow",
            team_size: int = 10) -> dict[str, pl.DataFrame]:
    """``summary``: one row per metric at the cut-off ``level``, baseline | scenario | difference; ``curve``: both
    curves with the workload for ``team_size`` (column ``side``)."""
    if level not in R.LEVELS:
        raise ValueError(f"level: one of {R.LEVELS}")
    if team_size < 1:
        raise ValueError("team size must be at least 1")
    curves = {side: c.with_columns((pl.col("flagged") / team_size / WORKING_DAYS).alias("workload"))
              for side, c in (("baseline", baseline), ("scenario", scenario))}
    at = {side: c.filter(pl.col("level") == level) for side, c in curves.items()}

    def value(side: str, metric: str) -> float | None:
        return at[side][metric][0] if at[side].height else None

    rows = [{"metric": m, "baseline": value("baseline", m), "scenario": value("scenario", m)} for m in METRICS]
    summary = pl.DataFrame(rows, schema={"metric": pl.String, "baseline": pl.Float64, "scenario": pl.Float64}
                           ).with_columns((pl.col("scenario") - pl.col("baseline")).alias("diff"))
    both = pl.concat([c.with_columns(pl.lit(side).alias("side")) for side, c in curves.items()])
    return {"summary": summary, "curve": both}


def compare(con: duckdb.DuckDBPyConnection, *, rules_baseline: str = "", rules_scenario: str = "",
            level: str = "yellow", team_size: int = 10, horizon: int = bt.HORIZON, months: int = bt.MONTHS,
            branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> dict[str, pl.DataFrame]:
    """Both backtests and ``combine`` in one call."""
    common = {"horizon": horizon, "months": months, "branches": branches, "products": products}
    return combine(trade_off(con, rules=rules_baseline, **common), trade_off(con, rules=rules_scenario, **common),
                   level=level, team_size=team_size)
