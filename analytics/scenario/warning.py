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

import datetime as dt

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


# --- a PD cut-off, backtested out of time ----------------------------------------------------------------------

PD_GRID = tuple(i / 100 for i in range(1, 100))
"""The PD cut-offs the curve is computed at (1% … 99%); the page picks one of them."""
PD_METRICS = ("flagged", "precision", "recall", "lead_median_months", "workload")
PD_CURVE_SCHEMA = {"cutoff": pl.Float64, "flagged": pl.Float64, "warned": pl.Int64, "hits": pl.Int64,
                   "precision": pl.Float64, "events": pl.Int64, "caught": pl.Int64, "recall": pl.Float64,
                   "lead_median_months": pl.Float64}
_T = pl.col("month").dt.year().cast(pl.Int32) * 12 + pl.col("month").dt.month().cast(pl.Int32)


def pd_curve(live: pl.DataFrame, pairs: pl.DataFrame, *, n_events: int, n_months: int,
             grid: tuple[float, ...] = PD_GRID) -> pl.DataFrame:
    """The trade-off of a PD cut-off c, one row per c of ``grid`` (pure; the 口径 of ``bt.backtest`` with "flagged"
    meaning PD ≥ c):

    - ``live`` (loan_id, t, pd, hit): the scored loan-months (on book, not in default), ``hit`` = reaches DPD > 90
      within the horizon; flagged = rows with pd ≥ c; per month = flagged ÷ ``n_months``;
      precision = Σ hits ÷ Σ flagged over the months;
    - ``pairs`` (loan_id, u, t, pd): each default event u (of ``n_events``) with the scored months t in the horizon
      before it; caught = events with some pd ≥ c there; recall = caught ÷ events; lead = u − the first such t
      (median over the caught events)."""
    rows = []
    for c in grid:
        flagged = live.filter(pl.col("pd") >= c)
        warned, hits = flagged.height, int(flagged["hit"].sum()) if flagged.height else 0
        caught = pairs.filter(pl.col("pd") >= c).group_by("loan_id", "u").agg(pl.col("t").min())
        lead = caught["u"] - caught["t"]
        rows.append({"cutoff": c, "flagged": warned / max(n_months, 1), "warned": warned, "hits": hits,
                     "precision": hits / warned if warned else None, "events": n_events, "caught": caught.height,
                     "recall": caught.height / n_events if n_events else None,
                     "lead_median_months": float(lead.median()) if caught.height else None})
    return pl.DataFrame(rows, schema=PD_CURVE_SCHEMA)


def pd_backtest(con: duckdb.DuckDBPyConnection, *, model, horizon: int = bt.HORIZON, months: int = bt.MONTHS,
                branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> dict:
    """The PD cut-off curve (``pd_curve`` over ``PD_GRID``) on the latest ``months`` warning months that are out of
    time for ``model`` (after its calibration window; a model fitted without a time split is in sample and says so)
    and have a complete outcome window. Scoring is the slow part: the page reads this once per slice and model, and
    a cut-off or team-size change afterwards is a row lookup.

    Recall's events are the entries into DPD > 90 in the H months after a tested month (first tested month
    excluded), each looking back at the tested months among its H months before.

    Returns ``curve``, ``months`` (tested), ``oot_from`` (first out-of-time month or None), ``in_sample``,
    ``scored`` (loan-months scored) and ``events``."""
    from analytics.core import months as mo
    from analytics.core.store import months as store_months
    from analytics.model import features as feat
    from analytics.model import pipeline

    windows = ((model.report or {}).get("card") or {}).get("windows") or {}
    cal = windows.get("calibration")
    oot_from = mo.add_months(dt.date.fromisoformat(str(cal[1])[:10]), 1) if cal else None
    have = store_months(con)
    empty = {"curve": pl.DataFrame(schema=PD_CURVE_SCHEMA), "months": [], "oot_from": oot_from,
             "in_sample": oot_from is None, "scored": 0, "events": 0}
    if not have:
        return empty
    last = have[-1]
    tested = [m for m in have if mo.add_months(m, horizon) <= last and (oot_from is None or m >= oot_from)][-months:]
    if not tested:
        return empty
    frame = feat.features(con, months=tuple(tested), branches=branches, products=products)
    scored = frame.select("loan_id", "month").with_columns(
        pl.Series("pd", pipeline.predict_pd(model.calibrated, frame.select(feat.FEATURES)) if frame.height else [],
                  dtype=pl.Float64), _T.alias("t"))
    d90 = bt.dpd90(con, month_from=tested[0], month_to=last, branches=branches, products=products).with_columns(
        _T.alias("u"))
    hit = (scored.select("loan_id", "t").join(d90.select("loan_id", "u"), on="loan_id")
           .filter((pl.col("u") > pl.col("t")) & (pl.col("u") <= pl.col("t") + horizon))
           .select("loan_id", "t").unique().with_columns(pl.lit(True).alias("hit")))
    live = scored.join(hit, on=["loan_id", "t"], how="left").with_columns(pl.col("hit").fill_null(False))
    # events: entries into DPD > 90 within the horizon after a tested month (out of time the tested months are
    # few, often fewer than the horizon, so an event's look-back is the tested months in the H months before it)
    events = d90.filter(pl.col("prev_dpd").is_not_null() & (pl.col("prev_dpd") <= 90)
                        & (pl.col("month") > tested[0])
                        & (pl.col("month") <= mo.add_months(tested[-1], horizon))).select("loan_id", "u")
    pairs = (events.join(scored.select("loan_id", "t", "pd"), on="loan_id")
             .filter((pl.col("t") >= pl.col("u") - horizon) & (pl.col("t") < pl.col("u"))))
    return {"curve": pd_curve(live, pairs, n_events=events.height, n_months=len(tested)), "months": tested,
            "oot_from": oot_from, "in_sample": oot_from is None, "scored": live.height, "events": events.height}


def pd_combine(curve: pl.DataFrame, *, baseline: float, scenario: float, team_size: int = 10) -> pl.DataFrame:
    """One row per metric: the saved rule table's PD threshold (``baseline``) | the analyst's cut-off | difference
    (both taken at the nearest cut-off of the grid)."""
    if team_size < 1:
        raise ValueError("team size must be at least 1")

    def at(c: float) -> dict:
        if curve.is_empty():
            return {}
        row = curve.with_columns((pl.col("cutoff") - c).abs().alias("_d")).sort("_d").row(0, named=True)
        return row | {"workload": row["flagged"] / team_size / WORKING_DAYS}

    b, s = at(baseline), at(scenario)
    rows = [{"metric": m, "baseline": b.get(m), "scenario": s.get(m)} for m in PD_METRICS]
    return pl.DataFrame(rows, schema={"metric": pl.String, "baseline": pl.Float64, "scenario": pl.Float64}
                        ).with_columns((pl.col("scenario") - pl.col("baseline")).alias("diff"))
