"""Vintage (账龄分析): cohorts of loans by origination month or quarter, followed by months on book.

口径 [CONV] (DOMAIN.md §3.1), each a parameter with the default shown:
- Cohort = origination month (``grain="month"``) or quarter (``"quarter"``) of ``loans.origination_date``.
- MOB of a loan at month t = months from its own origination month to t, plus ``mob_base`` (0: the
  origination month is MOB0). A quarter cohort shows MOB m only once all its loans have reached m.
- "X+" means DPD > X (``threshold`` 30, 60, 90; 0 = any overdue).
- Ever X+ at MOB m: loans that had DPD > X in any snapshot up to their MOB m. Count = # loans;
  balance = principal outstanding in the month the loan first went X+ (frozen at first hit).
- Point-in-time X+ at MOB m: on-book loans with DPD > X at MOB m, at their balance then. Loans that
  left the book by disposal (``keep_exits``: written off, transferred, foreclosed) after reaching X+
  stay in the numerator from their exit on, at the principal they left with; paid-off loans leave.
- Denominator: the cohort's number of loans, or its disbursed principal (``loans.principal``).
- Left-censoring: cohorts originated before the first snapshot have unobserved early months (and may
  miss loans closed before it); they are left out unless ``include_left_censored``, and then show
  only the MOBs observed from the first snapshot on (their ever rates count events from then on).
- Above median: a cohort's rate is above the median of all cohorts' rates at the same MOB.
- Small cohorts: ``low_n`` flags a cohort of fewer than ``min_n`` loans (default ``MIN_N`` = 30) [CONV]; the
  page hides its rates (they jump between 0% and 100%) and shows n next to every cohort.
- Worst cohort (``worst_cohort``): among cohorts of at least ``min_n`` loans that reached the reference MOB
  (default: the largest MOB reached by at least half of those cohorts), the highest rate at that MOB.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics import derived
from analytics.core.expr import safe_div
from analytics.core.months import add_months, add_months_expr, month_diff_expr, month_label, quarter_label
from analytics.core.schema import DISPOSAL_STATUSES, MONEY
from analytics.core.slice import SLICE_SQL, list_param, slice_params
from analytics.core.store import months, query
from analytics.derived.tables import TRANSITIONS
from analytics.metrics.drilldown import DrillSpec

GRAINS = ("month", "quarter")
MEASURES = ("ever", "pit")
THRESHOLDS = (30, 60, 90)
MIN_N = 30  # [CONV] fewest loans in a cohort for its rates to be read

_COHORT_SQL = ("CASE WHEN $grain = 'quarter' THEN CAST(date_trunc('quarter', cohort_month) AS DATE) "
               "ELSE cohort_month END")


def _pick(kind: str) -> str:
    # The loan-facts column of the chosen threshold (columns cannot be parameters; the CASE can).
    whens = " ".join("WHEN " + str(x) + " THEN first_over" + str(x) + "_" + kind for x in derived.EVER_THRESHOLDS)
    return "CASE $threshold " + whens + " END"


def _events_sql(facts: str) -> str:
    """Per cohort x event MOB: cohort size and the loans whose event (first hit, or kept exit) is then."""
    return """
WITH f AS (
    SELECT l.*, """ + _COHORT_SQL + """ AS cohort,
           """ + _pick("month") + """ AS hit_month, """ + _pick("balance") + """ AS hit_bal
    FROM """ + facts + """ l
    WHERE """ + SLICE_SQL + """
),
e AS (
    SELECT cohort, cohort_month, principal,
           CASE WHEN $measure = 'ever' THEN hit_month
                WHEN list_contains($keep_exits, exit_status) AND hit_month <= exit_month THEN exit_month END
               AS event_month,
           CASE WHEN $measure = 'ever' THEN hit_bal ELSE exit_balance END AS event_bal
    FROM f
)
SELECT cohort, date_diff('month', cohort_month, event_month) + $mob_base AS event_mob,
       count(*)::BIGINT AS cohort_count, sum(principal) AS cohort_balance,
       count(event_month)::BIGINT AS event_count,
       coalesce(sum(event_bal) FILTER (WHERE event_month IS NOT NULL), 0) AS event_balance
FROM e GROUP BY ALL ORDER BY ALL
"""  # noqa: S608 (constant SQL fragments and a view name or derive's constant subquery)


EVENTS_SCHEMA = {"cohort": pl.Date, "event_mob": pl.Int32, "cohort_count": pl.Int64, "cohort_balance": MONEY,
                 "event_count": pl.Int64, "event_balance": MONEY}


# Every transitions column but branch_id, named (``* EXCLUDE`` has no Apache Spark spelling: core/spark.py).
_TRANSITION_COLUMNS = ", ".join(c for c in TRANSITIONS.schema if c != "branch_id")


def _pit_sql(trans: str) -> str:
    """Per cohort x MOB: on-book loans with DPD > threshold and their balance."""
    return """
SELECT """ + _COHORT_SQL + """ AS cohort, date_diff('month', cohort_month, month) + $mob_base AS mob,
       count(*)::BIGINT AS pit_count, sum(balance) AS pit_balance
FROM (SELECT """ + _TRANSITION_COLUMNS + """, origination_branch_id AS branch_id FROM """ + trans + """) l
WHERE month BETWEEN $month_from AND $month_to AND status = 'active' AND dpd > $threshold AND """ + SLICE_SQL + """
GROUP BY ALL ORDER BY ALL
"""  # noqa: S608 (constant SQL fragments and a view name or derive's constant subquery)


PIT_SCHEMA = {"cohort": pl.Date, "mob": pl.Int32, "pit_count": pl.Int64, "pit_balance": MONEY}

CURVES_SCHEMA = {
    "cohort": pl.Date, "cohort_end": pl.Date, "mob": pl.Int32, "obs_month": pl.Date,
    "cohort_count": pl.Int64, "cohort_balance": MONEY, "num_count": pl.Int64, "num_balance": MONEY,
    "rate_count": pl.Float64, "rate_balance": pl.Float64, "median_count": pl.Float64, "median_balance": pl.Float64,
    "above_median_count": pl.Boolean, "above_median_balance": pl.Boolean,
}


def _grid(cohorts: pl.DataFrame, grain: str, first: dt.date, last: dt.date, mob_base: int,
          include_left_censored: bool) -> pl.DataFrame:
    """Cohort x MOB pairs observed for every loan of the cohort."""
    span = 2 if grain == "quarter" else 0
    cs = pl.col("cohort")
    ends = cohorts.with_columns(
        pl.min_horizontal(add_months_expr(cs, span), pl.lit(last)).alias("cohort_end"),
        (pl.max_horizontal(month_diff_expr(cs, pl.lit(first)), pl.lit(0)) + mob_base).alias("mob_lo"),
    ).with_columns((month_diff_expr(pl.col("cohort_end"), pl.lit(last)) + mob_base).alias("mob_hi"))
    if not include_left_censored:
        ends = ends.filter(cs >= first)
    return (
        ends.filter(pl.col("mob_hi") >= pl.col("mob_lo"))
        .with_columns(pl.int_ranges("mob_lo", pl.col("mob_hi") + 1, dtype=pl.Int32).alias("mob"))
        .explode("mob")
        .with_columns(add_months_expr(pl.col("cohort_end"), pl.col("mob") - mob_base).alias("obs_month"))
        .select("cohort", "cohort_end", "mob", "obs_month", "cohort_count", "cohort_balance")
    )


def _cumulative(grid: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Add the events up to each MOB (num_count, num_balance) to the grid."""
    cum = (
        events.filter(pl.col("event_mob").is_not_null())
        .sort("cohort", "event_mob")
        .select("cohort", pl.col("event_mob").alias("mob"),
                pl.col("event_count").cum_sum().over("cohort").alias("num_count"),
                pl.col("event_balance").cum_sum().over("cohort").alias("num_balance"))
    )
    joined = grid.sort("cohort", "mob").join_asof(cum, on="mob", by="cohort", strategy="backward",
                                                  check_sortedness=False)
    return joined.with_columns(pl.col("num_count").fill_null(0), pl.col("num_balance").fill_null(0))


def _with_rates(df: pl.DataFrame) -> pl.DataFrame:
    df = df.with_columns(safe_div("num_count", "cohort_count").alias("rate_count"),
                         safe_div("num_balance", "cohort_balance").alias("rate_balance"))
    for basis in ("count", "balance"):
        rate = pl.col(f"rate_{basis}")
        df = df.with_columns(rate.median().over("mob").alias(f"median_{basis}")).with_columns(
            (rate > pl.col(f"median_{basis}")).fill_null(False).alias(f"above_median_{basis}"))
    return df


def vintage_curves(con: duckdb.DuckDBPyConnection, *, grain: str = "month", measure: str = "ever", threshold: int = 30,
                   branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
                   include_left_censored: bool = False, mob_base: int = 0,
                   keep_exits: tuple[str, ...] = DISPOSAL_STATUSES, min_n: int = MIN_N) -> pl.DataFrame:
    """Cohort x MOB rates (count and balance), with the median at each MOB and the above-median flag.

    ``measure`` "ever" (ever X+) or "pit" (point-in-time X+); see the module 口径. ``low_n``: the cohort has
    fewer than ``min_n`` loans.
    """
    if grain not in GRAINS or measure not in MEASURES:
        raise ValueError(f"grain {grain!r} / measure {measure!r}")
    if measure == "ever" and threshold not in derived.EVER_THRESHOLDS:
        raise ValueError(f"ever threshold must be one of {derived.EVER_THRESHOLDS}")
    store_months = months(con)
    if not store_months:
        return pl.DataFrame(schema=CURVES_SCHEMA | {"low_n": pl.Boolean})
    first, last = store_months[0], store_months[-1]
    base = slice_params(branches, products) | {"grain": grain, "threshold": threshold, "mob_base": mob_base}
    facts, facts_params = derived.source(con, "loan_facts")
    keep = list_param(keep_exits)
    events = query(con, _events_sql(facts), base | facts_params | {"measure": measure, "keep_exits": keep},
                   EVENTS_SCHEMA)
    cohorts = events.group_by("cohort").agg(pl.col("cohort_count").sum(), pl.col("cohort_balance").sum().cast(MONEY))
    grid = _grid(cohorts, grain, first, last, mob_base, include_left_censored)
    curves = _cumulative(grid, events)
    if measure == "pit":
        trans, trans_params = derived.source(con, "transitions", month_from=first, month_to=last)
        pit = query(con, _pit_sql(trans), base | trans_params | {"month_from": first, "month_to": last}, PIT_SCHEMA)
        curves = curves.join(pit, on=["cohort", "mob"], how="left").with_columns(
            (pl.col("num_count") + pl.col("pit_count").fill_null(0)).alias("num_count"),
            (pl.col("num_balance") + pl.col("pit_balance").fill_null(0)).alias("num_balance"))
    return _with_rates(curves).select(
        *(pl.col(name).cast(dtype) for name, dtype in CURVES_SCHEMA.items()),
        (pl.col("cohort_count") < min_n).alias("low_n")).sort("cohort", "mob")


# --- presentation helpers (pure, on the curves frame) ---------------------------------------------


def cohort_label(cohort: dt.date, grain: str) -> str:
    return quarter_label(cohort) if grain == "quarter" else month_label(cohort)


def cohort_label_expr(grain: str, column: str = "cohort") -> pl.Expr:
    c = pl.col(column)
    return pl.format("{}Q{}", c.dt.year(), c.dt.quarter()) if grain == "quarter" else c.dt.strftime("%Y-%m")


def triangle(curves: pl.DataFrame, basis: str, grain: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The cohort x MOB triangle of rates (columns "cohort", "0", "1", ...) and the same-shaped
    above-median flags. ``basis`` "count" or "balance"."""
    if curves.is_empty():
        return pl.DataFrame({"cohort": []}, schema={"cohort": pl.String}), pl.DataFrame(schema={"cohort": pl.String})
    labelled = curves.sort("mob", "cohort").with_columns(
        cohort_label_expr(grain).alias("label"),
        pl.col("mob").cast(pl.String).alias("mob_s"))

    def wide(value: str) -> pl.DataFrame:
        out = labelled.pivot(on="mob_s", index=["cohort", "label"], values=value, sort_columns=False)
        return out.sort("cohort").drop("cohort").rename({"label": "cohort"})

    return wide(f"rate_{basis}"), wide(f"above_median_{basis}")


def cohort_sizes(curves: pl.DataFrame) -> pl.DataFrame:
    """One row per cohort: cohort, cohort_count (n), cohort_balance, the largest MOB shown."""
    return (curves.group_by("cohort", maintain_order=True)
            .agg(pl.col("cohort_count").first(), pl.col("cohort_balance").first(), pl.col("mob").max().alias("max_mob"))
            .sort("cohort"))


def worst_cohort(curves: pl.DataFrame, *, basis: str, min_n: int = MIN_N, mob: int | None = None) -> dict | None:
    """The cohort with the highest rate at the reference MOB among cohorts of at least ``min_n`` loans that
    reached it: {"cohort", "mob", "rate", "cohort_count", "median"}; None when no cohort qualifies.
    Reference MOB: ``mob``, else the largest MOB reached by at least half of the qualifying cohorts."""
    big = curves.filter(pl.col("cohort_count") >= min_n)
    if big.is_empty():
        return None
    if mob is None:
        reach = big.group_by("cohort").agg(pl.col("mob").max())["mob"].sort(descending=True)
        mob = int(reach[(reach.len() - 1) // 2])
    at = big.filter((pl.col("mob") == mob) & pl.col(f"rate_{basis}").is_not_null())
    if at.is_empty():
        return None
    row = at.sort(f"rate_{basis}", "cohort", descending=[True, False]).row(0, named=True)
    return {"cohort": row["cohort"], "mob": mob, "rate": row[f"rate_{basis}"], "cohort_count": row["cohort_count"],
            "median": at[f"rate_{basis}"].median()}


def mob_range(curves: pl.DataFrame) -> tuple[int, int]:
    """The smallest and largest MOB shown (for widgets)."""
    if curves.is_empty():
        return 0, 0
    return int(curves["mob"].min()), int(curves["mob"].max())


def cohort_bounds(cohort: dt.date, grain: str) -> tuple[dt.date, dt.date]:
    """First and last origination month of a cohort."""
    return cohort, add_months(cohort, 2) if grain == "quarter" else cohort


def point_spec(cohort: dt.date, grain: str, mob: int, measure: str, threshold: int,
               branches: tuple[str, ...] = (), products: tuple[str, ...] = (), mob_base: int = 0,
               part: str = "on_book", keep_exits: tuple[str, ...] = DISPOSAL_STATUSES,
               last_month: dt.date | None = None, title: str = "") -> DrillSpec | None:
    """The loans behind one cohort point (None when a list cannot match the number exactly).

    Ever X+: the cohort's loans that were X+ by their own MOB ``mob``, each at its first X+ row (the frozen
    balance of the numerator: outstanding principal, or disposed principal on a disposal row).
    Point-in-time (month cohorts only): ``part`` "on_book" = on-book loans X+ at that MOB;
    "kept" = loans disposed of after reaching X+, kept in the numerator.
    """
    start, end = cohort_bounds(cohort, grain)
    obs_end = min(end, last_month) if last_month else end
    month = add_months(obs_end, mob - mob_base)
    common = {"month": month, "branches": branches, "products": products, "cohort_start": start, "cohort_end": end,
              "title": title, "branch_basis": "origination"}
    if measure == "ever":
        return DrillSpec(**common, statuses=(), ever_dpd_min=threshold + 1, rows="first_hit",
                         ever_mob_max=mob - mob_base)
    if grain != "month":
        return None
    if part == "kept":
        return DrillSpec(**common, statuses=keep_exits, ever_dpd_min=threshold + 1, rows="latest")
    return DrillSpec(**common, statuses=("active",), dpd_min=threshold + 1)
