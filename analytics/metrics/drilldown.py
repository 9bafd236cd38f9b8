"""The loans behind a number.

Every page describes the number a user clicked as a ``DrillSpec`` (month, portfolio filters, one row mode
and the criteria that define the number); ``loans_behind`` returns those loans with their key fields,
``describe`` the criteria as message keys for the page to put into words, and ``loan_history`` one loan's
monthly path.

The query is composed from constant fragments: one short candidate query per row mode (only the predicates
it needs, so DuckDB reads only the month partitions it must) inside one outer query that joins the loan,
its branch and its previous-month state and applies the criteria the spec sets. Every value is a bound
parameter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from analytics import derived
from analytics.core.months import add_months
from analytics.core.rules import DEFAULT_FLOOR, FLOOR_SQL, FloorRule
from analytics.core.schema import MONEY
from analytics.core.slice import list_param, slice_params, slice_sql
from analytics.core.store import query

ROW_MODES = ("at_month", "first_exit", "latest", "first_hit")
"""Which snapshot row of each loan is listed (see ``DrillSpec.rows``)."""
BRANCH_BASES = ("managing", "origination", "previous")
"""Which branch ``DrillSpec.branches`` filters on and the list shows (see ``DrillSpec.branch_basis``)."""


@dataclass(frozen=True)
class DrillSpec:
    """Criteria that select loan rows. None / () / False means "any".

    - ``rows``: which row of each loan is listed and tested against the criteria:
      "at_month" (default) the loan's row at ``month``;
      "first_exit" (needs ``prev_month``) each loan's first exit row (status not active) in
      (``prev_month``, ``month``]: loans that left the book during the period;
      "latest" each loan's latest row at or before ``month`` (so a cohort's loans that left the book earlier
      are listed at their exit row; vintage points);
      "first_hit" (needs ``ever_dpd_min``) each loan's first row at or before ``month`` with
      DPD ≥ ``ever_dpd_min``: the balance an ever-X+ vintage point freezes at first hit.
    - ``statuses``: status of the listed row (default: on book).
    - ``dpd_min``/``dpd_max``, ``classes``, ``causes``: DPD range, booked class, overdue cause of that row.
    - ``prev_month`` with ``prev_*``: the loan's state one snapshot earlier (transition cells); with a
      ``prev_month`` the loan must have a snapshot there (except for ``new_overdue``).
    - ``cohort_start``/``cohort_end``: origination month range (inclusive, first-of-month dates).
    - ``ever_dpd_min``: the loan reached at least this DPD in any snapshot up to ``month``.
    - ``ever_mob_max`` (with ``ever_dpd_min``): the ever window also ends at the loan's own months on book
      ``ever_mob_max`` (MOB0 = origination month), e.g. a quarter cohort at one MOB.
    - ``below_floor``: booked class better than the regulatory floor.
    - ``new_overdue``: DPD ≥ 1 at ``month`` and not overdue (DPD 0 or absent) at ``prev_month``
      (default: the month before ``month``), as ``analytics.metrics.trends`` counts new overdue.
    - ``cause_not_reported``: overdue cause is null (未填报).
    - ``branch_basis``: "managing" (default) filters and lists the managing branch of the listed row
      (``snapshots.branch_id``, as every portfolio-quality number counts it); "origination" the loan's
      origination branch (``loans.branch_id``, as vintage counts it); "previous" the managing branch at the
      ``prev_month`` snapshot (as the supervisory migration counts a loan: in its branch at the period start).

    Contradictory combinations raise ValueError when the spec is built.
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
    rows: str = "at_month"
    ever_mob_max: int | None = None
    branch_basis: str = "managing"

    def __post_init__(self) -> None:
        if self.branch_basis not in BRANCH_BASES:
            raise ValueError(f"DrillSpec.branch_basis must be one of {BRANCH_BASES}, not {self.branch_basis!r}")
        if self.branch_basis == "previous" and self.prev_month is None and not self.new_overdue:
            raise ValueError("branch_basis='previous' filters on the branch at prev_month: give prev_month")
        if self.rows not in ROW_MODES:
            raise ValueError(f"DrillSpec.rows must be one of {ROW_MODES}, not {self.rows!r}")
        if self.rows == "first_exit":
            if self.prev_month is None:
                raise ValueError("rows='first_exit' lists the exits in (prev_month, month]: give prev_month")
            if "active" in self.statuses:
                raise ValueError("rows='first_exit' lists exit rows, never 'active' ones: give exit statuses or ()")
        if self.rows == "first_hit" and self.ever_dpd_min is None:
            raise ValueError("rows='first_hit' lists each loan's first row with DPD >= ever_dpd_min: give ever_dpd_min")
        if self.ever_mob_max is not None and self.ever_dpd_min is None:
            raise ValueError("ever_mob_max bounds the window of ever_dpd_min: give ever_dpd_min")
        has_prev_criteria = (self.prev_dpd_min is not None or self.prev_dpd_max is not None
                             or bool(self.prev_classes))
        if has_prev_criteria and self.prev_month is None and not self.new_overdue:
            raise ValueError("prev_dpd_min / prev_dpd_max / prev_classes describe the state at prev_month: "
                             "give prev_month")
        if self.prev_month is not None and self.prev_month >= self.month:
            raise ValueError(f"prev_month {self.prev_month} must be before month {self.month}")
        for low, high, name in ((self.dpd_min, self.dpd_max, "dpd"), (self.prev_dpd_min, self.prev_dpd_max, "prev_dpd"),
                                (self.cohort_start, self.cohort_end, "cohort")):
            if low is not None and high is not None and low > high:
                raise ValueError(f"{name}: the lower bound {low} is above the upper bound {high}")

    @property
    def previous_month(self) -> dt.date | None:
        """The month of the ``prev_*`` state: ``prev_month``, or the month before ``month`` for new overdue."""
        if self.prev_month is None and self.new_overdue:
            return add_months(self.month, -1)
        return self.prev_month


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

# --- the query: constant fragments only -------------------------------------------------------------------

_ROWS_SELECT = "SELECT s.*, " + FLOOR_SQL + " AS floor_class FROM snapshots s WHERE "  # noqa: S608  (constant fragments)
_FIRST = "\nQUALIFY row_number() OVER (PARTITION BY s.loan_id ORDER BY s.month) = 1"
_LAST = "\nQUALIFY row_number() OVER (PARTITION BY s.loan_id ORDER BY s.month DESC) = 1"

# Row mode -> (the candidate rows' predicate, the per-loan pick). One short query each.
_ROWS_SQL = {
    "at_month": ("s.month = $month", ""),
    "first_exit": ("s.month > $prev_month AND s.month <= $month AND s.status <> 'active'", _FIRST),
    "latest": ("s.month <= $month", _LAST),
    "first_hit": ("s.month <= $month AND s.dpd >= $ever_dpd_min", _FIRST),
}

# A per-loan pick over many months reads only the loans of the slice and cohort (same rows, less work).
_LOANS_OF = "\n  AND s.loan_id IN (SELECT l.loan_id FROM loans l WHERE "

_OUTER_HEAD = "WITH cur AS (\n"
_OUTER_BODY = """
),
prev AS (
    SELECT loan_id, dpd AS prev_dpd, booked_class AS prev_class, outstanding_principal AS prev_outstanding,
           branch_id AS prev_branch_id
    FROM snapshots
    WHERE month = $prev_month
)
SELECT c.loan_id, l.customer_id, {branch} AS branch_id, b.branch_name, l.product, l.origination_date, l.principal,
       c.outstanding_principal, c.overdue_principal, c.dpd, c.booked_class, c.floor_class, c.status,
       c.overdue_cause, c.collector_id, c.restructured, c.disposed_principal,
       p.prev_dpd, p.prev_class, p.prev_outstanding
FROM cur c
JOIN loans l USING (loan_id)
LEFT JOIN prev p USING (loan_id)
LEFT JOIN branches b ON b.branch_id = {branch}
WHERE """
_OUTER_TAIL = "\nORDER BY c.outstanding_principal DESC, c.loan_id"

_EVER_SQL = "c.loan_id IN (SELECT loan_id FROM snapshots WHERE month <= $month AND dpd >= $ever_dpd_min)"
_EVER_BY_MOB_SQL = """c.loan_id IN (
    SELECT x.loan_id FROM snapshots x JOIN loans lx ON lx.loan_id = x.loan_id
    WHERE x.month <= $month AND x.dpd >= $ever_dpd_min
      AND date_diff('month', CAST(date_trunc('month', lx.origination_date) AS DATE), x.month) <= $ever_mob_max)"""

Condition = tuple[str, dict[str, object]]


@dataclass(frozen=True)
class _Names:
    """Where the conditions find the loan's fields and the previous month's state: the joined loan ``l`` and
    previous-month row ``p`` of ``loans_sql``, or the one row ``c`` of ``overdue_rows``."""
    loan: str = "l."  # product, origination_date
    loan_branch: str = "l.branch_id"
    prev: str = "p."  # prev_dpd, prev_class, prev_branch_id


_JOINED = _Names()
_ONE_ROW = _Names(loan="c.", loan_branch="c.origination_branch_id", prev="c.")


def _loan_conditions(spec: DrillSpec, n: _Names = _JOINED) -> list[Condition]:
    """Conditions on the loan: the portfolio slice (its branch part only on the origination basis) and the
    origination cohort."""
    out: list[Condition] = []
    if spec.branch_basis == "origination" and (spec.branches or spec.products):
        out.append((slice_sql(n.loan_branch, n.loan + "product"), slice_params(spec.branches, spec.products)))
    elif spec.products:
        out.append((f"list_contains($products, {n.loan}product)", {"products": list_param(spec.products)}))
    if spec.cohort_start is not None:
        out.append((f"{n.loan}origination_date >= $cohort_start", {"cohort_start": spec.cohort_start}))
    if spec.cohort_end is not None:
        out.append((f"{n.loan}origination_date < $cohort_end_excl",
                    {"cohort_end_excl": add_months(spec.cohort_end, 1)}))
    return out


def _row_conditions(spec: DrillSpec, n: _Names = _JOINED) -> list[Condition]:
    """Conditions on the listed row ``c`` and the previous-month state."""
    out: list[Condition] = []
    p = n.prev
    if spec.branch_basis in ("managing", "previous") and spec.branches:
        column = "c.branch_id" if spec.branch_basis == "managing" else p + "prev_branch_id"
        out.append((f"list_contains($managed_branches, {column})", {"managed_branches": list_param(spec.branches)}))
    if spec.statuses:
        out.append(("list_contains($statuses, c.status)", {"statuses": list_param(spec.statuses)}))
    if spec.dpd_min is not None:
        out.append(("c.dpd >= $dpd_min", {"dpd_min": spec.dpd_min}))
    if spec.dpd_max is not None:
        out.append(("c.dpd <= $dpd_max", {"dpd_max": spec.dpd_max}))
    if spec.classes:
        out.append(("list_contains($classes, c.booked_class)", {"classes": list_param(spec.classes, "INTEGER")}))
    if spec.causes:
        out.append(("list_contains($causes, c.overdue_cause)", {"causes": list_param(spec.causes)}))
    if spec.cause_not_reported:
        out.append(("c.overdue_cause IS NULL", {}))
    if spec.new_overdue:
        out.append((f"c.dpd >= 1 AND coalesce({p}prev_dpd, 0) < 1", {}))
    elif spec.prev_month is not None:
        out.append((f"{p}prev_dpd IS NOT NULL", {}))
    if spec.prev_dpd_min is not None:
        out.append((f"{p}prev_dpd >= $prev_dpd_min", {"prev_dpd_min": spec.prev_dpd_min}))
    if spec.prev_dpd_max is not None:
        out.append((f"{p}prev_dpd <= $prev_dpd_max", {"prev_dpd_max": spec.prev_dpd_max}))
    if spec.prev_classes:
        out.append((f"list_contains($prev_classes, {p}prev_class)",
                    {"prev_classes": list_param(spec.prev_classes, "INTEGER")}))
    if spec.ever_mob_max is not None:
        out.append((_EVER_BY_MOB_SQL, {"month": spec.month, "ever_dpd_min": spec.ever_dpd_min,
                                       "ever_mob_max": spec.ever_mob_max}))
    elif spec.ever_dpd_min is not None and spec.rows != "first_hit":  # a first-hit row has reached it already
        out.append((_EVER_SQL, {"month": spec.month, "ever_dpd_min": spec.ever_dpd_min}))
    if spec.below_floor:
        out.append(("c.booked_class < c.floor_class", {}))
    return out


def _rows_query(spec: DrillSpec, loan_conditions: list[Condition]) -> Condition:
    """The candidate rows of ``spec.rows``: one row per loan (at most)."""
    predicate, pick = _ROWS_SQL[spec.rows]
    params: dict[str, object] = {"month": spec.month}
    if spec.rows == "first_exit":
        params["prev_month"] = spec.prev_month
    if spec.rows == "first_hit":
        params["ever_dpd_min"] = spec.ever_dpd_min
    sql = _ROWS_SELECT + predicate
    if pick and loan_conditions:
        sql += _LOANS_OF + " AND ".join(c for c, _ in loan_conditions) + ")"
        for _, p in loan_conditions:
            params |= p
    return sql + pick, params


def loans_sql(spec: DrillSpec, rule: FloorRule = DEFAULT_FLOOR) -> tuple[str, dict[str, object]]:
    """The SQL text and bound parameters that list the loans behind ``spec``."""
    loan_conditions = _loan_conditions(spec)
    rows_sql, params = _rows_query(spec, loan_conditions)
    conditions = loan_conditions + _row_conditions(spec)
    where = "\n  AND ".join(c for c, _ in conditions) if conditions else "TRUE"
    for _, p in conditions:
        params |= p
    params |= {"prev_month": spec.previous_month} | rule.params()
    branch = {"origination": "l.branch_id", "previous": "p.prev_branch_id"}.get(spec.branch_basis, "c.branch_id")
    return _OUTER_HEAD + rows_sql + _OUTER_BODY.replace("{branch}", branch) + where + _OUTER_TAIL, params


# The overdue rows of one month with their loan fields and previous-month state (derived table ``overdue_rows``):
# a spec listing overdue rows of a month reads its partition instead of joining the month to loans and to the
# previous month. The spec's conditions are written on the one row ``c`` (``_ONE_ROW``: the loan's branch is
# ``origination_branch_id`` there).
_FAST_HEAD = "WITH c AS (\n    SELECT o.*, " + FLOOR_SQL + """ AS floor_class FROM overdue_rows o
    WHERE o.month = $month AND o.dpd >= $dpd_min
)
SELECT c.loan_id, c.customer_id, {branch} AS branch_id, b.branch_name, c.product, c.origination_date, c.principal,
       c.outstanding_principal, c.overdue_principal, c.dpd, c.booked_class, c.floor_class, c.status,
       c.overdue_cause, c.collector_id, c.restructured, c.disposed_principal,
       {prev}
FROM c
LEFT JOIN branches b ON b.branch_id = {branch}
WHERE """  # noqa: S608 (constant fragments)
_FAST_PREV = "c.prev_dpd, c.prev_class, c.prev_outstanding"
_NO_PREV = "NULL::INTEGER AS prev_dpd, NULL::TINYINT AS prev_class, NULL::DECIMAL(18, 2) AS prev_outstanding"


def overdue_rows_sql(spec: DrillSpec, rule: FloorRule = DEFAULT_FLOOR) -> tuple[str, dict[str, object]] | None:
    """The SQL of ``spec`` on ``overdue_rows`` when that table holds every row it can list (rows at one month,
    DPD >= 1, the previous-month state of the month before or none); else None."""
    prev = spec.previous_month
    uses_prev = (spec.prev_dpd_min is not None or spec.prev_dpd_max is not None or bool(spec.prev_classes)
                 or spec.branch_basis == "previous")
    if (spec.rows != "at_month" or spec.dpd_min is None or spec.dpd_min < 1
            or (prev is None and uses_prev) or (prev is not None and prev != add_months(spec.month, -1))):
        return None
    conditions = _loan_conditions(spec, _ONE_ROW) + _row_conditions(spec, _ONE_ROW)
    where = "\n  AND ".join(c for c, _ in conditions) if conditions else "TRUE"
    params: dict[str, object] = {"month": spec.month, "dpd_min": spec.dpd_min} | rule.params()
    for _, p in conditions:
        params |= p
    branch = {"origination": "c.origination_branch_id", "previous": "c.prev_branch_id"}.get(spec.branch_basis,
                                                                                           "c.branch_id")
    head = _FAST_HEAD.replace("{branch}", branch).replace("{prev}", _FAST_PREV if prev is not None else _NO_PREV)
    return head + where + _OUTER_TAIL, params


def loans_behind(con: duckdb.DuckDBPyConnection, spec: DrillSpec, *, rule: FloorRule = DEFAULT_FLOOR,
                 limit: int | None = None) -> pl.DataFrame:
    """The loans behind ``spec``, largest balance first (``limit`` rows at most): from ``overdue_rows`` when
    it is built and holds them (``overdue_rows_sql``), else from the snapshots (``loans_sql``)."""
    fast = overdue_rows_sql(spec, rule) if derived.has_view(con, "overdue_rows") else None
    sql, params = fast or loans_sql(spec, rule)
    df = query(con, sql, params, LOAN_LIST_SCHEMA)
    return df.head(limit) if limit else df


# --- the criteria in words --------------------------------------------------------------------------------


def _range(prefix: str, low: object, high: object, **extra: object) -> list[tuple[str, dict[str, object]]]:
    if low is not None and high is not None:
        return [(f"{prefix}_between", {"min": low, "max": high, **extra})]
    if low is not None:
        return [(f"{prefix}_at_least", {"min": low, **extra})]
    if high is not None:
        return [(f"{prefix}_at_most", {"max": high, **extra})]
    return []


def describe(spec: DrillSpec) -> list[tuple[str, dict[str, object]]]:
    """The criteria of ``spec`` as (message key, values), in a fixed order, for the UI to put into words.

    Keys: ``rows_at_month`` {month}, ``rows_first_exit`` {start, end}, ``rows_latest`` {month},
    ``rows_first_hit`` {min, month}; ``branches`` {branches}, ``products`` {products};
    ``cohort_between`` / ``cohort_from`` / ``cohort_to`` {start, end}; ``statuses`` {statuses};
    ``dpd_between`` / ``dpd_at_least`` / ``dpd_at_most`` {min, max}; ``classes`` {classes};
    ``causes`` {causes}; ``cause_not_reported`` {}; ``new_overdue`` {prev_month};
    ``prev_on_book`` {prev_month}; ``prev_dpd_between`` / ``prev_dpd_at_least`` / ``prev_dpd_at_most``
    {min, max, prev_month}; ``prev_classes`` {classes, prev_month}; ``ever_dpd`` {min, month};
    ``ever_dpd_by_mob`` {min, mob}; ``below_floor`` {}. Values are codes, dates and numbers, never labels.
    """
    out: list[tuple[str, dict[str, object]]] = []
    if spec.rows == "at_month":
        out.append(("rows_at_month", {"month": spec.month}))
    elif spec.rows == "first_exit":
        out.append(("rows_first_exit", {"start": spec.prev_month, "end": spec.month}))
    elif spec.rows == "latest":
        out.append(("rows_latest", {"month": spec.month}))
    else:
        out.append(("rows_first_hit", {"min": spec.ever_dpd_min, "month": spec.month}))
    if spec.branches:
        out.append(("branches", {"branches": spec.branches}))
    if spec.products:
        out.append(("products", {"products": spec.products}))
    if spec.cohort_start is not None and spec.cohort_end is not None:
        out.append(("cohort_between", {"start": spec.cohort_start, "end": spec.cohort_end}))
    elif spec.cohort_start is not None:
        out.append(("cohort_from", {"start": spec.cohort_start}))
    elif spec.cohort_end is not None:
        out.append(("cohort_to", {"end": spec.cohort_end}))
    if spec.statuses:
        out.append(("statuses", {"statuses": spec.statuses}))
    out += _range("dpd", spec.dpd_min, spec.dpd_max)
    if spec.classes:
        out.append(("classes", {"classes": spec.classes}))
    if spec.causes:
        out.append(("causes", {"causes": spec.causes}))
    if spec.cause_not_reported:
        out.append(("cause_not_reported", {}))
    prev = spec.previous_month
    if spec.new_overdue:
        out.append(("new_overdue", {"prev_month": prev}))
    elif prev is not None:
        out.append(("prev_on_book", {"prev_month": prev}))
    out += _range("prev_dpd", spec.prev_dpd_min, spec.prev_dpd_max, prev_month=prev)
    if spec.prev_classes:
        out.append(("prev_classes", {"classes": spec.prev_classes, "prev_month": prev}))
    if spec.ever_mob_max is not None:
        out.append(("ever_dpd_by_mob", {"min": spec.ever_dpd_min, "mob": spec.ever_mob_max}))
    elif spec.ever_dpd_min is not None and spec.rows != "first_hit":
        out.append(("ever_dpd", {"min": spec.ever_dpd_min, "month": spec.month}))
    if spec.below_floor:
        out.append(("below_floor", {}))
    return out


# --- one loan ---------------------------------------------------------------------------------------------

HISTORY_SCHEMA = {
    "month": pl.Date,
    "branch_id": pl.String,
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
SELECT month, branch_id, outstanding_principal, overdue_principal, overdue_interest, dpd, booked_class, status,
       overdue_cause, collector_id, restructured, amount_due, amount_paid, disposed_principal
FROM snapshots WHERE loan_id = $loan_id ORDER BY month
"""


def loan_history(con: duckdb.DuckDBPyConnection, *, loan_id: str) -> pl.DataFrame:
    """One loan's monthly snapshots, oldest first."""
    return query(con, _HISTORY_SQL, {"loan_id": loan_id}, HISTORY_SCHEMA)


def find(loans: pl.DataFrame, text: str) -> pl.DataFrame:
    """Rows whose loan id or customer id contains ``text`` (plain substring, not a pattern)."""
    return loans.filter(
        pl.col("loan_id").str.contains(text, literal=True) | pl.col("customer_id").str.contains(text, literal=True)
    )
