"""The registry of derived tables: one entry per table (name, SQL over the base views, schema, partitioning).

Derived tables are rebuilt from the store after every store change (``analytics.derived.build``) and are
never imported. Readers never decide "derived view or inline SQL" themselves: they ask
``analytics.derived.source(con, name, ...)``, which names the built view when it exists and otherwise the
same SQL as an inline subquery (one fallback rule; results are identical, tests prove it).

Branch: the cubes and ``transitions`` carry the MANAGING branch of the snapshot row (``snapshots.branch_id`` at
that month); ``loan_facts`` (vintage) carries the ORIGINATION branch (``loans.branch_id``), and ``transitions``
also carries it as ``origination_branch_id`` for the point-in-time vintage.

- ``quality_cube``: month x branch x product counts and balances of every named measure (on-book loans).
- ``aging_cube``: month x branch x product x (M-bucket, regulatory band) counts, balances, NPL.
- ``loan_facts``: one row per loan: cohort, branch, product, principal, first/last month, the first month
  with DPD > 0 / 30 / 60 / 90 and the balance then (frozen), exit month, status and balance.
- ``transitions`` (partitioned by month): one row per loan-month on book at t or leaving the book at t: the
  M-bucket at t-1 (NULL when not on book at t-1), at t (NULL on an exit row), status, DPD, balances at t-1, t.
- ``aging_cause_cube``: ``aging_cube`` split by overdue cause too (the aging report's causes, the causes page).
- ``transition_cube`` (partitioned by month): ``transitions`` summed per month x branch x product x from-bucket x
  to-bucket x status (roll rates, roll matrix, new overdue): loans, balance at t-1, balance at t.
- ``migration_cube`` (partitioned by the end month): the five-tier migration (start class x end state) of every
  month, quarter and year-to-date period, per start branch x product (``classification.transition_base``).
- ``warning_inputs`` (partitioned by month): one row per on-book loan-month with what the early-warning rules read
  (DPD and DPD a month earlier, class, restructured flag, collateral, this month's due and paid, collector, and
  the paid/due sums of months t-2..t and t-5..t-3); the rule table is applied on it at query time
  (``warning.signals.rule_frame``), so a changed threshold costs one scan instead of the self-joins.
- ``overdue_rows`` (partitioned by month): every snapshot row with DPD >= 1 (any status) with the loan fields the
  drill-down list shows (customer, product, origination date and branch, principal) and the state a month earlier
  (DPD, class, balance, managing branch): the list of overdue loans of a month without joining 1.8M loans
  (``drilldown.loans_behind``).

Balance of a row (``BALANCE_SQL``): outstanding principal, except on a disposal row (written off,
transferred, foreclosed), where it is the disposed principal: a loan removed keeps the balance it left with.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from analytics.core.measures import MEASURES
from analytics.core.months import PERIODS, add_months, period_start
from analytics.core.rules import M_BUCKET_SQL, MIGRATION_END_SQL, REG_BAND_SQL
from analytics.core.schema import MONEY
from analytics.core.slice import list_param

EVER_THRESHOLDS = (0, 30, 60, 90)  # "X+" means DPD > X; 0 means any overdue (DPD >= 1)

BALANCE_SQL = """CASE WHEN status IN ('written_off', 'transferred', 'foreclosed')
    THEN disposed_principal ELSE outstanding_principal END"""


@dataclass(frozen=True)
class DerivedTable:
    name: str
    sql: str  # over the base views; parameters (if any) come from ``params``
    schema: dict[str, pl.DataType]
    partition: str | None = None  # hive partition column; built in chunks of months
    params: Callable[[dt.date, dt.date], dict[str, object]] = field(default=lambda month_from, month_to: {})
    # For a partitioned table, ``sql`` covers the months [$t_from, $t_to] given by ``params``.
    # ``sql`` keeps the loans with hash(loan_id) % $buckets = $bucket: a one-row-per-loan table is grouped one bucket
    # of loans at a time on a big book, a partitioned one builds a month of many rows one bucket at a time
    bucketed: bool = False


# --- quality cube ------------------------------------------------------------------------------------

def _quality_sql() -> str:
    aggs = []
    for name, m in MEASURES.items():
        aggs.append("count(*) FILTER (WHERE " + m.sql + ")::BIGINT AS " + name + "_count")
        aggs.append("coalesce(sum(s.outstanding_principal) FILTER (WHERE " + m.sql + "), 0) AS " + name + "_balance")
    return ("SELECT s.month, s.branch_id, l.product,\n  " + ",\n  ".join(aggs)
            + "\nFROM snapshots s JOIN loans l USING (loan_id)\nWHERE s.status = 'active'\nGROUP BY ALL")


QUALITY_CUBE = DerivedTable(
    "quality_cube", _quality_sql(),
    {"month": pl.Date, "branch_id": pl.String, "product": pl.String}
    | {f"{name}_{basis}": (pl.Int64 if basis == "count" else MONEY) for name in MEASURES
       for basis in ("count", "balance")},
)

# --- aging cube --------------------------------------------------------------------------------------

AGING_VALUES_SQL = """count(*)::BIGINT AS total_count,
       sum(s.outstanding_principal) AS total_balance,
       sum(s.overdue_principal) AS overdue_principal,
       count(*) FILTER (WHERE """ + MEASURES["npl"].sql + """)::BIGINT AS npl_count,
       coalesce(sum(s.outstanding_principal) FILTER (WHERE """ + MEASURES["npl"].sql + """), 0) AS npl_balance"""
BUCKETS_SQL = "(" + M_BUCKET_SQL + ")::TINYINT AS m_bucket, (" + REG_BAND_SQL + ")::TINYINT AS reg_band"
AGING_VALUES_SCHEMA = {"total_count": pl.Int64, "total_balance": MONEY, "overdue_principal": MONEY,
                       "npl_count": pl.Int64, "npl_balance": MONEY}

AGING_CUBE = DerivedTable(
    "aging_cube",
    "SELECT s.month, s.branch_id, l.product, " + BUCKETS_SQL + ",\n       " + AGING_VALUES_SQL
    + "\nFROM snapshots s JOIN loans l USING (loan_id)\nWHERE s.status = 'active'\nGROUP BY ALL",
    {"month": pl.Date, "branch_id": pl.String, "product": pl.String, "m_bucket": pl.Int8, "reg_band": pl.Int8}
    | AGING_VALUES_SCHEMA,
)

# --- loan facts --------------------------------------------------------------------------------------


def _ever_columns() -> str:
    cols = []
    for x in EVER_THRESHOLDS:
        cols.append("min(month) FILTER (WHERE dpd > $over" + str(x) + ") AS first_over" + str(x) + "_month")
        cols.append("arg_min(bal, month) FILTER (WHERE dpd > $over" + str(x) + ") AS first_over" + str(x) + "_balance")
    return ",\n        ".join(cols)


# The aggregated columns of loan_facts, named (``a.* EXCLUDE`` has no Apache Spark spelling: core/spark.py).
_FACT_COLUMNS = ", ".join("a." + c for c in (
    "first_month", "last_month", *[f"first_over{x}_{k}" for x in EVER_THRESHOLDS for k in ("month", "balance")],
    "exit_month", "exit_status", "exit_balance"))

LOAN_FACTS = DerivedTable(
    "loan_facts",
    """
WITH s AS (
    SELECT loan_id, month, dpd, status, """ + BALANCE_SQL + """ AS bal FROM snapshots
    WHERE hash(loan_id) % $buckets = $bucket
),
agg AS (
    SELECT loan_id, min(month) AS first_month, max(month) AS last_month,
        """ + _ever_columns() + """,
        min(month) FILTER (WHERE status <> 'active') AS exit_month,
        arg_min(status, month) FILTER (WHERE status <> 'active') AS exit_status,
        arg_min(bal, month) FILTER (WHERE status <> 'active') AS exit_balance
    FROM s GROUP BY loan_id
)
SELECT l.loan_id, l.branch_id, l.product, CAST(date_trunc('month', l.origination_date) AS DATE) AS cohort_month,
       l.principal, """ + _FACT_COLUMNS + """
FROM loans l LEFT JOIN agg a USING (loan_id)
WHERE hash(l.loan_id) % $buckets = $bucket
ORDER BY cohort_month, l.loan_id
""",  # noqa: S608 (constant SQL fragments only; every value is a bound parameter)
    {
        "loan_id": pl.String, "branch_id": pl.String, "product": pl.String, "cohort_month": pl.Date,
        "principal": MONEY, "first_month": pl.Date, "last_month": pl.Date,
        **{k: v for x in EVER_THRESHOLDS
           for k, v in ((f"first_over{x}_month", pl.Date), (f"first_over{x}_balance", MONEY))},
        "exit_month": pl.Date, "exit_status": pl.String, "exit_balance": MONEY,
    },
    params=lambda month_from, month_to: {f"over{x}": x for x in EVER_THRESHOLDS} | {"buckets": 1, "bucket": 0},
    bucketed=True,
)

# --- transitions -------------------------------------------------------------------------------------

TRANSITIONS = DerivedTable(
    "transitions",
    """
WITH cur AS (
    SELECT month, loan_id, branch_id, status, dpd, """ + BALANCE_SQL + """ AS balance, """ + M_BUCKET_SQL + """ AS bucket
    FROM snapshots WHERE month BETWEEN $t_from AND $t_to
),
prev AS (
    SELECT CAST(month + INTERVAL 1 MONTH AS DATE) AS month, loan_id,
           """ + M_BUCKET_SQL + """ AS from_bucket, outstanding_principal AS prev_balance
    FROM snapshots WHERE month BETWEEN $p_from AND $p_to AND status = 'active'
)
SELECT c.month, c.loan_id, c.branch_id, l.product, l.branch_id AS origination_branch_id,
       CAST(date_trunc('month', l.origination_date) AS DATE) AS cohort_month,
       p.from_bucket,
       CASE WHEN c.status = 'active' THEN c.bucket END AS to_bucket,
       c.status, c.dpd, p.prev_balance, c.balance
FROM cur c
JOIN loans l ON l.loan_id = c.loan_id
LEFT JOIN prev p ON p.loan_id = c.loan_id AND p.month = c.month
WHERE c.status = 'active' OR p.loan_id IS NOT NULL
""",  # noqa: S608 (constant SQL fragments only)
    {
        "month": pl.Date, "loan_id": pl.String, "branch_id": pl.String, "product": pl.String,
        "origination_branch_id": pl.String, "cohort_month": pl.Date, "from_bucket": pl.Int8, "to_bucket": pl.Int8, "status": pl.String,
        "dpd": pl.Int32, "prev_balance": MONEY, "balance": MONEY,
    },
    partition="month",
    params=lambda month_from, month_to: {"t_from": month_from, "t_to": month_to,
                                         "p_from": add_months(month_from, -1), "p_to": add_months(month_to, -1)},
)

# --- pre-aggregates of the whole-history questions (a few thousand rows per month instead of a 1M-row scan) ---

AGING_CAUSE_CUBE = DerivedTable(
    "aging_cause_cube",
    "SELECT s.month, s.branch_id, l.product, " + BUCKETS_SQL + ", s.overdue_cause,\n       " + AGING_VALUES_SQL
    + "\nFROM snapshots s JOIN loans l USING (loan_id)\nWHERE s.status = 'active'\nGROUP BY ALL",
    {"month": pl.Date, "branch_id": pl.String, "product": pl.String, "m_bucket": pl.Int8, "reg_band": pl.Int8,
     "overdue_cause": pl.String} | AGING_VALUES_SCHEMA,
)

TRANSITION_CUBE = DerivedTable(
    "transition_cube",
    """
SELECT month, branch_id, product, from_bucket, to_bucket, status,
       count(*)::BIGINT AS total_count, sum(prev_balance) AS prev_balance, sum(balance) AS balance
FROM (""" + TRANSITIONS.sql + """) t
GROUP BY ALL
""",  # noqa: S608 (constant SQL fragments only)
    {"month": pl.Date, "branch_id": pl.String, "product": pl.String, "from_bucket": pl.Int8, "to_bucket": pl.Int8,
     "status": pl.String, "total_count": pl.Int64, "prev_balance": MONEY, "balance": MONEY},
    partition="month",
    params=TRANSITIONS.params,
)



def migration_pairs(month_from: dt.date, month_to: dt.date) -> list[tuple[dt.date, dt.date]]:
    """(start, end) of every supervisory migration period (month, quarter, year to date) ending in
    [month_from, month_to]."""
    pairs, end = [], month_from
    while end <= month_to:
        pairs += [(period_start(end, p), end) for p in PERIODS]
        end = add_months(end, 1)
    return list(dict.fromkeys(pairs))  # January's month, quarter and year start at the same December


def _migration_params(month_from: dt.date, month_to: dt.date) -> dict[str, object]:
    pairs = migration_pairs(month_from, month_to)
    starts = [a for a, _ in pairs]
    # One list of "start|end" texts (ISO dates): two lists unnested side by side pair up on DuckDB but make a
    # cross product on Spark.
    return {"pair_starts": list_param(starts, "DATE"), "pairs": list_param([f"{a:%Y-%m-%d}|{b:%Y-%m-%d}" for a, b in pairs]),
            "s_from": min(starts), "s_to": max(starts), "t_from": month_from, "t_to": month_to}


# The five-tier migration of ``classification.transition_base`` for every period the page offers, per start
# month x end month (``month``) x branch at the start x product: one row per cell instead of three month scans.
MIGRATION_CUBE = DerivedTable(
    "migration_cube",
    """
WITH pairs AS (
    SELECT * FROM (SELECT CAST(substr(pair, 1, 10) AS DATE) AS start_month, CAST(substr(pair, 12, 10) AS DATE) AS end_month
                   FROM (SELECT unnest($pairs) AS pair) AS listed) AS paired
    WHERE end_month IN (SELECT DISTINCT month FROM snapshots WHERE month BETWEEN $t_from AND $t_to)
),
start AS (
    SELECT p.start_month, p.end_month, s.loan_id, s.branch_id, s.booked_class AS start_class,
           s.outstanding_principal AS start_bal
    FROM snapshots s JOIN pairs p ON p.start_month = s.month
    WHERE s.month BETWEEN $s_from AND $s_to AND list_contains($pair_starts, s.month) AND s.status = 'active'
),
fin AS (
    SELECT month AS end_month, loan_id, booked_class AS end_class, outstanding_principal AS end_bal
    FROM snapshots WHERE month BETWEEN $t_from AND $t_to AND status = 'active'
),
exits AS (
    SELECT st.start_month, st.end_month, st.loan_id, arg_min(x.status, x.month) AS exit_status
    FROM start st JOIN snapshots x ON x.loan_id = st.loan_id
    WHERE x.month BETWEEN $s_from AND $t_to AND x.status <> 'active'
      AND x.month > st.start_month AND x.month <= st.end_month
    GROUP BY ALL
),
per_loan AS (
    SELECT st.start_month, st.end_month, st.branch_id, st.loan_id, st.start_class,
           """ + MIGRATION_END_SQL + """
    FROM start st
    LEFT JOIN fin f ON f.loan_id = st.loan_id AND f.end_month = st.end_month
    LEFT JOIN exits x ON x.loan_id = st.loan_id AND x.start_month = st.start_month AND x.end_month = st.end_month
)
SELECT p.end_month AS month, p.start_month, p.branch_id, l.product, p.start_class::TINYINT AS start_class,
       p.end_state, count(*)::BIGINT AS total_count, sum(p.start_bal) AS start_balance,
       sum(p.end_bal) AS end_balance, sum(p.reduction_bal) AS reduction_balance
FROM per_loan p JOIN loans l ON l.loan_id = p.loan_id
GROUP BY ALL
""",  # noqa: S608 (constant SQL only; every value is a bound parameter)
    {"month": pl.Date, "start_month": pl.Date, "branch_id": pl.String, "product": pl.String, "start_class": pl.Int8,
     "end_state": pl.String, "total_count": pl.Int64, "start_balance": MONEY, "end_balance": MONEY,
     "reduction_balance": MONEY},
    partition="month",
    params=_migration_params,
)


# --- early-warning inputs (the rule-independent part of the warning signals) -------------------------------

WARNING_INPUTS = DerivedTable(
    "warning_inputs",
    """
WITH t AS (
  SELECT m.month, o.k, CAST(m.month - o.k * INTERVAL 1 MONTH AS DATE) AS src
  FROM (SELECT DISTINCT month FROM snapshots WHERE month BETWEEN $t_from AND $t_to) m
  CROSS JOIN (SELECT unnest(range(6)) AS k) o
), pay AS (
  SELECT t.month, x.loan_id,
    sum(x.amount_paid) FILTER (WHERE t.k < 3) AS paid_3, sum(x.amount_due) FILTER (WHERE t.k < 3) AS due_3,
    sum(x.amount_paid) FILTER (WHERE t.k >= 3) AS paid_prior, sum(x.amount_due) FILTER (WHERE t.k >= 3) AS due_prior
  FROM t JOIN snapshots x ON x.month = t.src
  WHERE x.month BETWEEN $p_from AND $t_to AND hash(x.loan_id) % $buckets = $bucket
  GROUP BY t.month, x.loan_id
)
SELECT s.month, s.loan_id, l.customer_id, s.branch_id, l.product, s.outstanding_principal AS balance, s.dpd,
  p.dpd AS prev_dpd, s.booked_class, s.restructured, s.collateral_value, s.amount_due, s.amount_paid,
  s.overdue_principal + s.overdue_interest AS overdue_amount, s.collector_id,
  w.paid_3, w.due_3, w.paid_prior, w.due_prior
FROM snapshots s JOIN loans l ON l.loan_id = s.loan_id AND hash(l.loan_id) % $buckets = $bucket
LEFT JOIN snapshots p ON p.loan_id = s.loan_id AND p.month = CAST(s.month - INTERVAL 1 MONTH AS DATE)
  AND p.status = 'active' AND p.month BETWEEN $p_from AND $t_to AND hash(p.loan_id) % $buckets = $bucket
LEFT JOIN pay w ON w.loan_id = s.loan_id AND w.month = s.month
WHERE s.month BETWEEN $t_from AND $t_to AND s.status = 'active' AND hash(s.loan_id) % $buckets = $bucket
ORDER BY s.month, s.loan_id
""",  # noqa: S608 (constant SQL only; ordered within a bucket: the same store gives the same files, byte for byte)
    {"month": pl.Date, "loan_id": pl.String, "customer_id": pl.String, "branch_id": pl.String, "product": pl.String,
     "balance": pl.Float64, "dpd": pl.Int32, "prev_dpd": pl.Int32, "booked_class": pl.Int8,
     "restructured": pl.Boolean, "collateral_value": pl.Float64, "amount_due": pl.Float64, "amount_paid": pl.Float64,
     "overdue_amount": pl.Float64, "collector_id": pl.String, "paid_3": pl.Float64, "due_3": pl.Float64,
     "paid_prior": pl.Float64, "due_prior": pl.Float64},
    partition="month",
    # the payment sums look back 5 months (the previous month's DPD one): months before t_from are read, not written
    params=lambda month_from, month_to: {"t_from": month_from, "t_to": month_to, "p_from": add_months(month_from, -5),
                                         "buckets": 1, "bucket": 0},
    bucketed=True,  # a month of 6M loans joins 10M loans and six months of payments: one bucket at a time
)

# --- overdue rows (the drill-down list of overdue loans without a join) ------------------------------------

OVERDUE_ROW_COLUMNS = ("loan_id", "branch_id", "outstanding_principal", "overdue_principal", "dpd", "booked_class",
                       "status", "tech_overdue", "overdue_cause", "collector_id", "restructured", "disposed_principal")
OVERDUE_ROWS = DerivedTable(
    "overdue_rows",
    """
SELECT s.month, """ + ", ".join("s." + c for c in OVERDUE_ROW_COLUMNS) + """,
       l.customer_id, l.product, l.origination_date, l.principal, l.branch_id AS origination_branch_id,
       p.dpd AS prev_dpd, p.booked_class AS prev_class, p.outstanding_principal AS prev_outstanding,
       p.branch_id AS prev_branch_id
FROM snapshots s JOIN loans l ON l.loan_id = s.loan_id
LEFT JOIN snapshots p ON p.loan_id = s.loan_id AND p.month = CAST(s.month - INTERVAL 1 MONTH AS DATE)
  AND p.month BETWEEN $p_from AND $t_to
WHERE s.month BETWEEN $t_from AND $t_to AND s.dpd >= 1
ORDER BY s.month, s.outstanding_principal DESC, s.loan_id
""",  # noqa: S608 (constant SQL only; ordered: the same store gives the same files, byte for byte)
    {"month": pl.Date, "loan_id": pl.String, "branch_id": pl.String, "outstanding_principal": MONEY,
     "overdue_principal": MONEY, "dpd": pl.Int32, "booked_class": pl.Int8, "status": pl.String,
     "tech_overdue": pl.Boolean, "overdue_cause": pl.String, "collector_id": pl.String, "restructured": pl.Boolean,
     "disposed_principal": MONEY, "customer_id": pl.String, "product": pl.String, "origination_date": pl.Date,
     "principal": MONEY, "origination_branch_id": pl.String, "prev_dpd": pl.Int32, "prev_class": pl.Int8,
     "prev_outstanding": MONEY, "prev_branch_id": pl.String},
    partition="month",
    params=lambda month_from, month_to: {"t_from": month_from, "t_to": month_to, "p_from": add_months(month_from, -1)},
)

REGISTRY: dict[str, DerivedTable] = {t.name: t for t in (QUALITY_CUBE, AGING_CUBE, LOAN_FACTS, TRANSITIONS,
                                                          AGING_CAUSE_CUBE, TRANSITION_CUBE, MIGRATION_CUBE,
                                                          WARNING_INPUTS, OVERDUE_ROWS)}
