"""The loans behind a number.

Every page describes the number a user clicked as a ``DrillSpec`` (month, portfolio filters and
the criteria that define the number); ``loans_behind`` returns those loans with their key fields
and ``loan_history`` one loan's monthly path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import duckdb
import polars as pl

from analytics.core.rules import DEFAULT_FLOOR, FLOOR_SQL, FloorRule
from analytics.core.schema import MONEY
from analytics.core.store import query


@dataclass(frozen=True)
class DrillSpec:
    """Criteria that select loan rows of the snapshot at ``month``. None / () means "any".

    - ``statuses``: snapshot status at ``month`` (default: on book).
    - ``prev_month`` with ``prev_*``: the loan's state one snapshot earlier (transition cells).
    - ``cohort_start``/``cohort_end``: origination month range (inclusive, first-of-month dates).
    - ``ever_dpd_min``: the loan reached at least this DPD in any snapshot up to ``month``.
    - ``below_floor``: booked class better than the regulatory floor.
    - ``new_overdue``: DPD ≥ 1 at ``month`` and not overdue (DPD 0 or absent) at ``prev_month``
      (default: the month before ``month``), as ``analytics.trends`` counts new overdue.
    - ``cause_not_reported``: overdue cause is null (未填报).
    - ``exits_in_period`` (with ``prev_month``): instead of the row at ``month``, each loan's first exit row
      (status not active) in (``prev_month``, ``month``]: loans that left the book during the period.
    - ``latest_row``: instead of the row at ``month``, each loan's latest row at or before ``month`` (so a
      cohort's loans that left the book earlier are listed at their exit row; vintage points).
    - ``hit_row`` (with ``ever_dpd_min``): instead of the row at ``month``, each loan's first row at or before
      ``month`` with DPD ≥ ``ever_dpd_min``: the balance an ever-X+ vintage point freezes at first hit.
    - ``ever_mob_max`` (with ``ever_dpd_min``): the ever window also ends at the loan's own months on book
      ``ever_mob_max`` (MOB0 = origination month), e.g. a quarter cohort at one MOB.
    """

    month: dt.date
    branches: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("active",)
    dpd_min: int | None = None
    dpd_max: int | None = None
    classes: tuple[int, ...] = ()
    causes: tuple[str, ...] = ()
    prev_month: dt.date | None = None
    prev_dpd_min: int | None = None
    prev_dpd_max: int | None = None
    prev_classes: tuple[int, ...] = ()
    cohort_start: dt.date | None = None
    cohort_end: dt.date | None = None
    ever_dpd_min: int | None = None
    below_floor: bool = False
    new_overdue: bool = False
    cause_not_reported: bool = False
    title: str = ""
    exits_in_period: bool = False
    latest_row: bool = False
    ever_mob_max: int | None = None
    hit_row: bool = False


LOAN_LIST_SCHEMA = {
    "loan_id": pl.String,
    "customer_id": pl.String,
    "branch_id": pl.String,
    "branch_name": pl.String,
    "product": pl.String,
    "origination_date": pl.Date,
    "principal": MONEY,
    "outstanding_principal": MONEY,
    "overdue_principal": MONEY,
    "dpd": pl.Int32,
    "booked_class": pl.Int8,
    "floor_class": pl.Int8,
    "status": pl.String,
    "overdue_cause": pl.String,
    "collector_id": pl.String,
    "restructured": pl.Boolean,
    "disposed_principal": MONEY,
    "prev_dpd": pl.Int32,
    "prev_class": pl.Int8,
    "prev_outstanding": MONEY,
}

# Composed from constant SQL fragments only; every value is a bound parameter.
_LOANS_SQL = """
WITH cur AS (
    SELECT s.*, """ + FLOOR_SQL + """ AS floor_class
    FROM snapshots s
    WHERE s.month = $month AND NOT $exits_in_period AND NOT $latest_row AND NOT $hit_row
    UNION ALL
    SELECT s.*, """ + FLOOR_SQL + """ AS floor_class
    FROM snapshots s
    WHERE $exits_in_period AND s.month > $prev_month AND s.month <= $month AND s.status <> 'active'
    QUALIFY row_number() OVER (PARTITION BY s.loan_id ORDER BY s.month) = 1
    UNION ALL
    SELECT s.*, """ + FLOOR_SQL + """ AS floor_class
    FROM snapshots s
    WHERE $latest_row AND s.month <= $month
      AND ($cohort_start IS NULL OR s.loan_id IN (
            SELECT loan_id FROM loans WHERE origination_date >= $cohort_start
              AND ($cohort_end IS NULL OR origination_date < $cohort_end_excl)))
    QUALIFY row_number() OVER (PARTITION BY s.loan_id ORDER BY s.month DESC) = 1
    UNION ALL
    SELECT s.*, """ + FLOOR_SQL + """ AS floor_class
    FROM snapshots s
    WHERE $hit_row AND s.month <= $month AND s.dpd >= $ever_dpd_min
      AND ($cohort_start IS NULL OR s.loan_id IN (
            SELECT loan_id FROM loans WHERE origination_date >= $cohort_start
              AND ($cohort_end IS NULL OR origination_date < $cohort_end_excl)))
    QUALIFY row_number() OVER (PARTITION BY s.loan_id ORDER BY s.month) = 1
),
prev AS (
    SELECT loan_id, dpd AS prev_dpd, booked_class AS prev_class, outstanding_principal AS prev_outstanding
    FROM snapshots
    WHERE month = $prev_month
)
SELECT c.loan_id, l.customer_id, l.branch_id, b.branch_name, l.product, l.origination_date, l.principal,
       c.outstanding_principal, c.overdue_principal, c.dpd, c.booked_class, c.floor_class, c.status,
       c.overdue_cause, c.collector_id, c.restructured, c.disposed_principal,
       p.prev_dpd, p.prev_class, p.prev_outstanding
FROM cur c
JOIN loans l USING (loan_id)
LEFT JOIN branches b ON b.branch_id = l.branch_id
LEFT JOIN prev p USING (loan_id)
WHERE (len($branches) = 0 OR list_contains($branches, l.branch_id))
  AND (len($products) = 0 OR list_contains($products, l.product))
  AND (len($statuses) = 0 OR list_contains($statuses, c.status))
  AND ($dpd_min IS NULL OR c.dpd >= $dpd_min)
  AND ($dpd_max IS NULL OR c.dpd <= $dpd_max)
  AND (len($classes) = 0 OR list_contains($classes, c.booked_class))
  AND (len($causes) = 0 OR list_contains($causes, c.overdue_cause))
  AND ($prev_month IS NULL OR $new_overdue OR p.prev_dpd IS NOT NULL)
  AND (NOT $new_overdue OR (c.dpd >= 1 AND coalesce(p.prev_dpd, 0) < 1))
  AND (NOT $cause_not_reported OR c.overdue_cause IS NULL)
  AND ($prev_dpd_min IS NULL OR p.prev_dpd >= $prev_dpd_min)
  AND ($prev_dpd_max IS NULL OR p.prev_dpd <= $prev_dpd_max)
  AND (len($prev_classes) = 0 OR list_contains($prev_classes, p.prev_class))
  AND ($cohort_start IS NULL OR l.origination_date >= $cohort_start)
  AND ($cohort_end IS NULL OR l.origination_date < $cohort_end_excl)
  AND ($ever_dpd_min IS NULL OR c.loan_id IN (
        SELECT loan_id FROM snapshots WHERE month <= $month AND dpd >= $ever_dpd_min))
  AND ($ever_mob_max IS NULL OR c.loan_id IN (
        SELECT x.loan_id FROM snapshots x JOIN loans lx ON lx.loan_id = x.loan_id
        WHERE x.month <= $month AND x.dpd >= $ever_dpd_min
          AND date_diff('month', CAST(date_trunc('month', lx.origination_date) AS DATE), x.month) <= $ever_mob_max))
  AND (NOT $below_floor OR c.booked_class < c.floor_class)
ORDER BY c.outstanding_principal DESC, c.loan_id
"""  # noqa: S608


def _next_month(d: dt.date) -> dt.date:
    return dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _prev_month(d: dt.date) -> dt.date:
    return dt.date(d.year - 1, 12, 1) if d.month == 1 else dt.date(d.year, d.month - 1, 1)


def spec_params(spec: DrillSpec, rule: FloorRule = DEFAULT_FLOOR) -> dict[str, object]:
    params = {k: v for k, v in asdict(spec).items() if k != "title"}
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}
    params["cohort_end_excl"] = _next_month(spec.cohort_end) if spec.cohort_end else None
    if spec.new_overdue and spec.prev_month is None:
        params["prev_month"] = _prev_month(spec.month)
    return params | rule.params()


def loans_behind(con: duckdb.DuckDBPyConnection, spec: DrillSpec, rule: FloorRule = DEFAULT_FLOOR,
                 limit: int | None = None) -> pl.DataFrame:
    """The loans behind ``spec``, largest balance first (``limit`` rows at most)."""
    df = query(con, _LOANS_SQL, _typed(spec_params(spec, rule)), LOAN_LIST_SCHEMA)
    return df.head(limit) if limit else df


def _typed(params: dict[str, object]) -> dict[str, object]:
    # Empty Python lists have no element type for DuckDB; give them one.
    typed = {}
    for k, v in params.items():
        if isinstance(v, list) and not v:
            v = duckdb.Value([], duckdb.list_type(duckdb.sqltype("INTEGER" if k.endswith("classes") else "VARCHAR")))
        typed[k] = v
    return typed


HISTORY_SCHEMA = {
    "month": pl.Date,
    "outstanding_principal": MONEY,
    "overdue_principal": MONEY,
    "overdue_interest": MONEY,
    "dpd": pl.Int32,
    "booked_class": pl.Int8,
    "status": pl.String,
    "overdue_cause": pl.String,
    "collector_id": pl.String,
    "restructured": pl.Boolean,
    "amount_due": MONEY,
    "amount_paid": MONEY,
    "disposed_principal": MONEY,
}

_HISTORY_SQL = """
SELECT month, outstanding_principal, overdue_principal, overdue_interest, dpd, booked_class, status, overdue_cause,
       collector_id, restructured, amount_due, amount_paid, disposed_principal
FROM snapshots WHERE loan_id = $loan_id ORDER BY month
"""


def loan_history(con: duckdb.DuckDBPyConnection, loan_id: str) -> pl.DataFrame:
    """One loan's monthly snapshots, oldest first."""
    return query(con, _HISTORY_SQL, {"loan_id": loan_id}, HISTORY_SCHEMA)


def find(loans: pl.DataFrame, text: str) -> pl.DataFrame:
    """Rows whose loan id or customer id contains ``text`` (plain substring, not a pattern)."""
    return loans.filter(
        pl.col("loan_id").str.contains(text, literal=True) | pl.col("customer_id").str.contains(text, literal=True)
    )
