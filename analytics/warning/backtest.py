"""Backtest of the warning rules on history (rule signals only: the PD signals are left out, since a model trained
on the store has seen the outcomes it would be tested on).

For each warning month t whose outcome window is complete (t + H <= last month in the store):
- precision of level L at t = warned loans of level L at t (DPD <= 90 at t) that are at DPD > 90 at some month end
  in t+1 … t+H ÷ warned loans of level L at t (DPD <= 90);
- recall: a default event is a loan entering DPD > 90 at month u (DPD > 90 at u, on book with DPD <= 90 at u-1)
  with u-H >= the first month scanned; recall of level L = events with a warning of level L or more severe in
  u-H … u-1 ÷ events; lead time = u − the first such warning month (months), median over the caught events;
- workload at t = warnings ÷ distinct collectors assigned to warned loans (unassigned warnings counted apart).
Totals over months are summed numerators and denominators, never averaged rates.
"""

from __future__ import annotations

import duckdb
import polars as pl

from analytics import derived
from analytics.core import months as mo
from analytics.core.slice import slice_params, slice_sql
from analytics.core.store import query
from analytics.warning import rules as R
from analytics.warning import signals as S

HORIZON = 3
"""[ILLUS] Outcome window H in months."""
MONTHS = 12
"""[ILLUS] Warning months tested (the latest ones with a complete outcome window)."""

# On-book loan-months at DPD > 90 with the DPD a month earlier (NULL when not on book then), from
# ``warning_inputs`` (``{src}``: the derived view, or its SQL inline).
DPD90_SQL = """
SELECT b.loan_id, b.month, b.dpd, b.prev_dpd
FROM {src} b
WHERE b.month BETWEEN $month_from AND $month_to AND b.dpd > 90 AND """ + slice_sql("b.branch_id", "b.product")


def dpd90(con: duckdb.DuckDBPyConnection, *, month_from, month_to, branches: tuple[str, ...] = (),
          products: tuple[str, ...] = ()) -> pl.DataFrame:
    """``DPD90_SQL`` over [month_from, month_to] on the slice: loan_id, month, dpd, prev_dpd."""
    src, src_params = derived.source(con, "warning_inputs", month_from=month_from, month_to=month_to)
    return query(con, DPD90_SQL.replace("{src}", src),
                 {"month_from": month_from, "month_to": month_to, **slice_params(branches, products), **src_params},
                 {"loan_id": pl.String, "month": pl.Date, "dpd": pl.Int32, "prev_dpd": pl.Int32})


_IDX = pl.col("month").dt.year().cast(pl.Int32) * 12 + pl.col("month").dt.month().cast(pl.Int32)


def _level_frame() -> pl.DataFrame:
    return pl.DataFrame({"level": list(R.LEVELS), "level_rank": [R.RANK[x] for x in R.LEVELS]},
                        schema={"level": pl.String, "level_rank": pl.Int8})


def backtest(con: duckdb.DuckDBPyConnection, *, horizon: int = HORIZON, months: int = MONTHS, rules: str = "",
             branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
             warnings: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """Precision (by month and level, and in total), recall and median lead time by level, workload by month.

    ``rules`` is a rule table (JSON text or dict), so other thresholds can be tested (the scenario analyses call
    this with their own tables). ``warnings`` (month, loan_id, collector_id, dpd, level_rank) replaces the rule
    signals (tests, or another rule engine)."""
    rules_d = R.parse(rules) if not isinstance(rules, dict) else R.validate(rules)
    store_months = query(con, "SELECT DISTINCT month FROM snapshots ORDER BY month")["month"].to_list()
    empty = {"precision": pl.DataFrame(), "precision_total": pl.DataFrame(), "recall": pl.DataFrame(),
             "workload": pl.DataFrame(), "months": []}
    if len(store_months) <= horizon:
        return empty
    last = store_months[-1]
    tested = [m for m in store_months if mo.add_months(m, horizon) <= last][-months:]
    if not tested:
        return empty
    first, t_last = tested[0], tested[-1]
    if warnings is None:
        warnings = S.rule_frame(con, month_from=first, month_to=t_last, rules=rules_d, branches=branches,
                                products=products, warned_only=True, short=True).rename({"rule_rank": "level_rank"})
    w = warnings.filter(pl.col("month").is_between(first, t_last)).with_columns(_IDX.alias("t"))
    d90 = dpd90(con, month_from=first, month_to=last, branches=branches, products=products).with_columns(
        _IDX.alias("u"))

    # precision
    live = w.filter(pl.col("dpd") <= 90)
    hit = (live.select("loan_id", "t").unique().join(d90.select("loan_id", "u"), on="loan_id")
           .filter((pl.col("u") > pl.col("t")) & (pl.col("u") <= pl.col("t") + horizon))
           .select("loan_id", "t").unique().with_columns(pl.lit(True).alias("hit")))
    scored = live.join(hit, on=["loan_id", "t"], how="left").with_columns(pl.col("hit").fill_null(False))
    grid = pl.DataFrame({"month": tested}, schema={"month": pl.Date}).join(_level_frame(), how="cross")
    per = scored.group_by("month", "level_rank").agg(pl.len().cast(pl.Int64).alias("warned"),
                                                     pl.col("hit").sum().cast(pl.Int64).alias("hits"))
    precision = (grid.join(per, on=["month", "level_rank"], how="left").fill_null(0)
                 .with_columns(pl.when(pl.col("warned") > 0).then(pl.col("hits") / pl.col("warned"))
                               .alias("precision")).sort("month", "level_rank"))
    total = (precision.group_by("level", "level_rank").agg(pl.col("warned", "hits").sum())
             .with_columns(pl.when(pl.col("warned") > 0).then(pl.col("hits") / pl.col("warned")).alias("precision"))
             .sort("level_rank"))

    # recall and lead time
    events = d90.filter(pl.col("prev_dpd").is_not_null() & (pl.col("prev_dpd") <= 90)
                        & (pl.col("month") >= mo.add_months(first, horizon))
                        & (pl.col("month") <= mo.add_months(t_last, 1))).select("loan_id", "u")
    pairs = (events.join(w.select("loan_id", "t", "level_rank"), on="loan_id")
             .filter((pl.col("t") >= pl.col("u") - horizon) & (pl.col("t") < pl.col("u"))))
    n_events = events.height
    rec = []
    for level, rank in zip(R.LEVELS, range(1, 5), strict=True):
        caught = pairs.filter(pl.col("level_rank") <= rank).group_by("loan_id", "u").agg(pl.col("t").min())
        lead = (caught["u"] - caught["t"]) if caught.height else pl.Series([], dtype=pl.Int32)
        rec.append({"level": level, "level_rank": rank, "events": n_events, "caught": caught.height,
                    "recall": caught.height / n_events if n_events else None,
                    "lead_median_months": float(lead.median()) if lead.len() else None})
    recall = pl.DataFrame(rec, schema={"level": pl.String, "level_rank": pl.Int8, "events": pl.Int64,
                                       "caught": pl.Int64, "recall": pl.Float64, "lead_median_months": pl.Float64})

    workload = (pl.DataFrame({"month": tested}, schema={"month": pl.Date})
                .join(w.group_by("month").agg(
                    pl.len().cast(pl.Int64).alias("warnings"),
                    pl.col("collector_id").drop_nulls().n_unique().cast(pl.Int64).alias("collectors"),
                    pl.col("collector_id").is_null().sum().cast(pl.Int64).alias("unassigned")),
                    on="month", how="left").fill_null(0)
                .with_columns(pl.when(pl.col("collectors") > 0)
                              .then((pl.col("warnings") - pl.col("unassigned")) / pl.col("collectors"))
                              .alias("per_collector")).sort("month"))
    return {"precision": precision, "precision_total": total, "recall": recall, "workload": workload,
            "months": tested}


