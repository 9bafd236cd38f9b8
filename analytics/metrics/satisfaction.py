"""Return visits and satisfaction (回访与满意度) by branch and quarter, against the programme's target.

口径 [CONV] (``DEFAULT_TARGETS`` a saved versioned parameter ``satisfaction_targets``):

- ``overdue_customers_count``: customers (coalesce(customer id, loan id)) with a loan overdue (DPD > 0) at one of
  the quarter's month ends, managed by the branch then (a customer overdue at two branches counts at each);
- ``revisit_rate`` = overdue customers the branch visited in the quarter ÷ overdue customers (回访率);
- ``satisfaction_rate`` = surveys with a score >= ``satisfied_min`` (default 4 of 5) ÷ surveys with a score
  (满意度; target >= 85%);
- ``complaint_rate`` = visits with a complaint ÷ visits that reached the customer (投诉率).
Numerators and denominators are summed before dividing (``totals``); n is shown next to each rate.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics.core.months import add_months, quarter_start
from analytics.core.store import query

CONFIG_NAME = "satisfaction_targets"
DEFAULT_TARGETS = {"satisfaction_min": 0.85, "satisfied_min": 4, "revisit_min": 0.5, "complaint_max": 0.05}

_SQL = """
WITH o AS (
  SELECT s.branch_id, date_trunc('quarter', s.month)::DATE AS quarter,
         count(DISTINCT coalesce(l.customer_id, l.loan_id))::BIGINT AS overdue_customers_count
  FROM snapshots s JOIN loans l USING (loan_id)
  WHERE s.dpd > 0 AND s.month BETWEEN $month_from AND $month_to
    AND (len($branches) = 0 OR list_contains($branches, s.branch_id))
  GROUP BY ALL
), od AS (
  SELECT DISTINCT s.branch_id, date_trunc('quarter', s.month)::DATE AS quarter,
         coalesce(l.customer_id, l.loan_id) AS customer_id
  FROM snapshots s JOIN loans l USING (loan_id)
  WHERE s.dpd > 0 AND s.month BETWEEN $month_from AND $month_to
    AND (len($branches) = 0 OR list_contains($branches, s.branch_id))
), v AS (
  SELECT branch_id, date_trunc('quarter', month)::DATE AS quarter, customer_id, visit_outcome, satisfaction_score,
         coalesce(complaint, false) AS complaint
  FROM return_visits
  WHERE month BETWEEN $month_from AND $month_to AND (len($branches) = 0 OR list_contains($branches, branch_id))
), va AS (
  SELECT branch_id, quarter, count(*)::BIGINT AS visits_count,
         count(*) FILTER (WHERE visit_outcome = 'reached')::BIGINT AS reached_count,
         count(satisfaction_score)::BIGINT AS surveyed_count,
         count(*) FILTER (WHERE satisfaction_score >= $satisfied_min)::BIGINT AS satisfied_count,
         count(*) FILTER (WHERE complaint AND visit_outcome = 'reached')::BIGINT AS complaints_count
  FROM v GROUP BY ALL
), vc AS (
  SELECT v.branch_id, v.quarter, count(DISTINCT v.customer_id)::BIGINT AS visited_customers_count
  FROM v JOIN od ON od.branch_id = v.branch_id AND od.quarter = v.quarter AND od.customer_id = v.customer_id
  GROUP BY ALL
)
SELECT coalesce(o.branch_id, va.branch_id) AS branch_id, coalesce(o.quarter, va.quarter) AS quarter,
       coalesce(o.overdue_customers_count, 0) AS overdue_customers_count,
       coalesce(vc.visited_customers_count, 0) AS visited_customers_count,
       coalesce(va.visits_count, 0) AS visits_count, coalesce(va.reached_count, 0) AS reached_count,
       coalesce(va.surveyed_count, 0) AS surveyed_count, coalesce(va.satisfied_count, 0) AS satisfied_count,
       coalesce(va.complaints_count, 0) AS complaints_count
FROM o FULL JOIN va ON va.branch_id = o.branch_id AND va.quarter = o.quarter
LEFT JOIN vc ON vc.branch_id = coalesce(o.branch_id, va.branch_id) AND vc.quarter = coalesce(o.quarter, va.quarter)
ORDER BY quarter, branch_id
"""
COUNTS = ("overdue_customers_count", "visited_customers_count", "visits_count", "reached_count", "surveyed_count",
          "satisfied_count", "complaints_count")
SCHEMA = {"branch_id": pl.String, "quarter": pl.Date, **{c: pl.Int64 for c in COUNTS},
          "revisit_rate": pl.Float64, "satisfaction_rate": pl.Float64, "complaint_rate": pl.Float64,
          "satisfaction_target": pl.Float64, "satisfaction_status": pl.String}


def _rates(df: pl.DataFrame, target: float) -> pl.DataFrame:
    def ratio(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den))

    return df.with_columns(
        ratio("visited_customers_count", "overdue_customers_count").alias("revisit_rate"),
        ratio("satisfied_count", "surveyed_count").alias("satisfaction_rate"),
        ratio("complaints_count", "reached_count").alias("complaint_rate"),
        pl.lit(target).alias("satisfaction_target"),
    ).with_columns(pl.when(pl.col("satisfaction_rate").is_null()).then(pl.lit("no_data"))
                   .when(pl.col("satisfaction_rate") >= target).then(pl.lit("met")).otherwise(pl.lit("missed"))
                   .alias("satisfaction_status"))


def by_branch_quarter(con: duckdb.DuckDBPyConnection, *, quarter_from: dt.date, quarter_to: dt.date,
                      branches: tuple[str, ...] = (), satisfied_min: int = 4,
                      satisfaction_min: float = 0.85) -> pl.DataFrame:
    """One row per branch and quarter in [quarter_from, quarter_to] (first days of quarters): the counts, the
    three rates and the satisfaction status against ``satisfaction_min``."""
    params = {"month_from": quarter_start(quarter_from), "month_to": add_months(quarter_start(quarter_to), 2),
              "branches": list(branches), "satisfied_min": satisfied_min}
    df = query(con, _SQL, params, {"branch_id": pl.String, "quarter": pl.Date, **{c: pl.Int64 for c in COUNTS}})
    return _rates(df, satisfaction_min).select(list(SCHEMA)).cast(SCHEMA)


def totals(df: pl.DataFrame, *, by: str = "quarter", satisfaction_min: float = 0.85) -> pl.DataFrame:
    """The per-branch rows re-aggregated by ``by`` (quarter, or branch_id over the quarters): counts summed,
    rates recomputed from the sums."""
    agg = df.group_by(by).agg(pl.col(c).sum() for c in COUNTS).sort(by)
    return _rates(agg, satisfaction_min)


def period_rate(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
                branches: tuple[str, ...] = (), satisfied_min: int = 4) -> tuple[float | None, int]:
    """(satisfaction rate, surveys) of the visits in [month_from, month_to] (the programme's effect evaluation)."""
    sql = """SELECT count(satisfaction_score)::BIGINT AS n,
                    count(*) FILTER (WHERE satisfaction_score >= $satisfied_min)::BIGINT AS k
             FROM return_visits WHERE month BETWEEN $month_from AND $month_to
               AND (len($branches) = 0 OR list_contains($branches, branch_id))"""
    row = query(con, sql, {"month_from": month_from, "month_to": month_to, "branches": list(branches),
                           "satisfied_min": satisfied_min}).row(0, named=True)
    n = int(row["n"] or 0)
    return (int(row["k"]) / n if n else None), n
