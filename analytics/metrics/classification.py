"""Five-tier classification (五级分类): regulatory floor check, ratios with provisioning, supervisory migration.

口径 (DOMAIN.md §1):

- Floor: the 2023 DPD floors (``rules.FLOOR_SQL``); a loan is *below floor* when its booked class is better
  (smaller) than the floor class. A short (≤ 7 days) technical overdue (``tech_overdue``) keeps the floor at 正常.
- Ratios: ``portfolio.quality_by`` (on-book loans, outstanding principal). Provision here is a simplified
  regulatory-style provision, Σ class balance × rate per class [CONV]; the bank's real allowance is ECL-based.
- Migration (G12 / 非现场监管指标, §1.7): cohort of on-book loans by class at the period-start snapshot
  (the end of the previous period) followed to the as-of snapshot. Numerator = as-of balance of the loans of
  class K that are in a worse class at the as-of month; denominator = start K balance − 期间减少, where 期间减少
  per loan = max(start balance − end balance, 0) for loans still on book and the whole start balance of loans
  that left the book (paid off, written off, transferred, foreclosed) or are missing at the as-of month.
  Count variant: numerator count / (start count − loans that left the book). Loans originated during the
  period are in no start cohort.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics import derived
from analytics.core import months as months_mod
from analytics.core.expr import safe_div
from analytics.core.months import EARLIEST, LATEST
from analytics.core.rules import DEFAULT_FLOOR, FLOOR_SQL, MIGRATION_END_SQL, FloorRule
from analytics.core.schema import CLASSES, EXIT_STATUSES, MONEY
from analytics.core.slice import SLICE_SQL, SNAPSHOT_SLICE_SQL, slice_params
from analytics.core.store import months, query
from analytics.metrics import portfolio
from analytics.metrics.provisioning import PBOC_2002, ProvisionRates, add_provisions

MISSING = "missing"  # on book at period start, no row at the as-of month and no exit row in the period
END_STATES = tuple(str(c) for c in CLASSES) + EXIT_STATUSES + (MISSING,)


def provision_ratios(con: duckdb.DuckDBPyConnection, *, by: tuple[str, ...] = ("month",),
                     branches: tuple[str, ...] = (), products: tuple[str, ...] = (), month_from: dt.date = EARLIEST,
                     month_to: dt.date = LATEST, rates: ProvisionRates = PBOC_2002) -> pl.DataFrame:
    """``portfolio.quality_by`` plus provision, coverage and provision_ratio (for one month: month_from = month_to)."""
    return add_provisions(portfolio.quality_by(con, by=by, branches=branches, products=products,
                                               month_from=month_from, month_to=month_to), rates)


BRANCH_NAMES_SQL = "SELECT branch_id, branch_name FROM branches"


def quality_views(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                  products: tuple[str, ...] = (), rates: ProvisionRates = PBOC_2002,
                  month_from: dt.date = EARLIEST) -> dict[str, pl.DataFrame]:
    """One scan, four views: ``trend`` by month up to ``month``; ``current`` (one row), ``branch`` (with
    ``branch_name``) and ``product`` at ``month``. Empty frames when nothing matches the filters."""
    base = portfolio.quality_base(con, branches=branches, products=products, month_from=month_from, month_to=month)
    at_month = base.filter(pl.col("month") == month)
    names = query(con, BRANCH_NAMES_SQL, schema={"branch_id": pl.String, "branch_name": pl.String})
    by_branch = add_provisions(portfolio.summarise(at_month, by=("branch_id",)), rates)
    return {
        "current": add_provisions(portfolio.summarise(at_month, by=("month",)), rates),
        "trend": add_provisions(portfolio.summarise(base, by=("month",)), rates),
        "branch": by_branch.join(names, on="branch_id", how="left")
        .with_columns(pl.col("branch_name").fill_null(pl.col("branch_id"))),
        "product": add_provisions(portfolio.summarise(at_month, by=("product",)), rates),
    }


# --- regulatory floor ------------------------------------------------------------------------------

_FLOOR_ROWS_SQL = """
SELECT s.branch_id, s.booked_class, s.outstanding_principal AS bal,
       coalesce(s.tech_overdue, FALSE) AND s.dpd BETWEEN 1 AND $floor_tech_grace_days AS tech_exempt,
       """ + FLOOR_SQL + """ AS floor_class
FROM snapshots s
WHERE s.month = $month AND s.status = 'active' AND """ + SNAPSHOT_SLICE_SQL

BELOW_FLOOR_SQL = """
WITH cur AS (""" + _FLOOR_ROWS_SQL + """)
SELECT c.branch_id, coalesce(b.branch_name, c.branch_id) AS branch_name,
       count(*)::BIGINT AS total_count, sum(c.bal) AS total_balance,
       count(*) FILTER (WHERE c.booked_class < c.floor_class)::BIGINT AS below_count,
       coalesce(sum(c.bal) FILTER (WHERE c.booked_class < c.floor_class), 0) AS below_balance,
       count(*) FILTER (WHERE c.tech_exempt)::BIGINT AS tech_exempt_count,
       coalesce(sum(c.bal) FILTER (WHERE c.tech_exempt), 0) AS tech_exempt_balance
FROM cur c LEFT JOIN branches b ON b.branch_id = c.branch_id
GROUP BY ALL
"""
BELOW_FLOOR_SCHEMA = {"branch_id": pl.String, "branch_name": pl.String, "total_count": pl.Int64,
                      "total_balance": MONEY, "below_count": pl.Int64, "below_balance": MONEY,
                      "tech_exempt_count": pl.Int64, "tech_exempt_balance": MONEY}

FLOOR_MATRIX_SQL = """
WITH cur AS (""" + _FLOOR_ROWS_SQL + """)
SELECT booked_class::TINYINT AS booked_class, floor_class::TINYINT AS floor_class,
       count(*)::BIGINT AS total_count, sum(bal) AS total_balance
FROM cur GROUP BY ALL ORDER BY ALL
"""
FLOOR_MATRIX_SCHEMA = {"booked_class": pl.Int8, "floor_class": pl.Int8, "total_count": pl.Int64,
                       "total_balance": MONEY}


def _floor_params(month: dt.date, branches: tuple[str, ...], products: tuple[str, ...],
                  rule: FloorRule) -> dict[str, object]:
    return slice_params(branches, products) | rule.params() | {"month": month}


def below_floor_by_branch(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                          products: tuple[str, ...] = (), rule: FloorRule = DEFAULT_FLOOR) -> pl.DataFrame:
    """Per branch at ``month``: on-book loans, loans booked better than the regulatory floor (count, balance,
    shares) and loans kept at 正常 by the technical-overdue exception. Worst branch (below-floor balance) first."""
    df = query(con, BELOW_FLOOR_SQL, _floor_params(month, branches, products, rule), BELOW_FLOOR_SCHEMA)
    return df.with_columns(
        safe_div("below_balance", "total_balance").alias("below_share_balance"),
        safe_div("below_count", "total_count").alias("below_share_count"),
    ).sort(["below_balance", "branch_id"], descending=[True, False])


def floor_vs_booked(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                    products: tuple[str, ...] = (), rule: FloorRule = DEFAULT_FLOOR) -> pl.DataFrame:
    """Booked class x floor class at ``month`` (count and balance of on-book loans), long form."""
    return query(con, FLOOR_MATRIX_SQL, _floor_params(month, branches, products, rule), FLOOR_MATRIX_SCHEMA)


# --- supervisory migration -----------------------------------------------------------------------------

PERIODS = months_mod.PERIODS
period_start = months_mod.period_start


TRANSITION_SQL = """
WITH start AS (
    SELECT s.loan_id, s.booked_class AS start_class, s.outstanding_principal AS start_bal
    FROM snapshots s
    WHERE s.month = $start_month AND s.status = 'active' AND """ + SNAPSHOT_SLICE_SQL + """
),
fin AS (
    SELECT loan_id, booked_class AS end_class, outstanding_principal AS end_bal
    FROM snapshots WHERE month = $end_month AND status = 'active'
),
exits AS (
    SELECT loan_id, arg_min(status, month) AS exit_status
    FROM snapshots WHERE month > $start_month AND month <= $end_month AND status <> 'active'
    GROUP BY loan_id
),
per_loan AS (
    SELECT st.start_class,
           """ + MIGRATION_END_SQL + """
    FROM start st LEFT JOIN fin f USING (loan_id) LEFT JOIN exits x USING (loan_id)
)
SELECT start_class::TINYINT AS start_class, end_state, count(*)::BIGINT AS total_count,
       sum(start_bal) AS start_balance, sum(end_bal) AS end_balance, sum(reduction_bal) AS reduction_balance
FROM per_loan GROUP BY ALL ORDER BY ALL
"""  # noqa: S608 - constant SQL fragments only; values are bound parameters
TRANSITION_SCHEMA = {"start_class": pl.Int8, "end_state": pl.String, "total_count": pl.Int64,
                     "start_balance": MONEY, "end_balance": MONEY, "reduction_balance": MONEY}


def transition_base(con: duckdb.DuckDBPyConnection, *, start_month: dt.date, end_month: dt.date,
                    branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> pl.DataFrame:
    """Loans on book at ``start_month`` by start class x end state at ``end_month``.

    End state: the booked class ("1" … "5") if on book at ``end_month``, else the first exit status seen in
    (start_month, end_month], else ``missing``. Per cell: count, start balance, end balance and 期间减少.
    """
    params = slice_params(branches, products) | {"start_month": start_month, "end_month": end_month}
    if (start_month, end_month) in derived.migration_pairs(end_month, end_month) and end_month in months(con):
        cube, cube_params = derived.source(con, "migration_cube", month_from=end_month, month_to=end_month)
        return query(con, _migration_sql(cube), params | cube_params, TRANSITION_SCHEMA)
    return query(con, TRANSITION_SQL, params, TRANSITION_SCHEMA)


def _migration_sql(cube: str) -> str:
    """``TRANSITION_SQL``'s cells from the migration cube (a period the page offers)."""
    return """
SELECT start_class, end_state, sum(total_count)::BIGINT AS total_count, sum(start_balance) AS start_balance,
       sum(end_balance) AS end_balance, sum(reduction_balance) AS reduction_balance
FROM """ + cube + """ l
WHERE month = $end_month AND start_month = $start_month AND """ + SLICE_SQL + """
GROUP BY ALL ORDER BY ALL
"""  # noqa: S608 (constant SQL fragments and a view name or the registry's constant subquery)


RATES = {
    # code (label key "migration_<code>"): (start classes, worse end classes)
    "class1": ((1,), (2, 3, 4, 5)),
    "class2": ((2,), (3, 4, 5)),
    "class3": ((3,), (4, 5)),
    "class4": ((4,), (5,)),
    "performing": ((1, 2), (3, 4, 5)),
}


def _rate_row(base: pl.DataFrame, code: str) -> pl.DataFrame:
    starts, worse = RATES[code]
    on_book = pl.col("end_state").is_in([str(c) for c in CLASSES])
    worse_cells = pl.col("end_state").is_in([str(c) for c in worse])
    return (
        base.lazy()
        .filter(pl.col("start_class").is_in(starts))
        .select(
            pl.lit(code).alias("rate"),
            pl.col("start_balance").sum().alias("start_balance"),
            pl.col("reduction_balance").sum().alias("reduction_balance"),
            pl.col("end_balance").filter(worse_cells).sum().alias("migrated_balance"),
            pl.col("total_count").sum().alias("start_count"),
            pl.col("total_count").filter(~on_book).sum().alias("exit_count"),
            pl.col("total_count").filter(worse_cells).sum().alias("migrated_count"),
        )
        .collect()
    )


def migration_rates(base: pl.DataFrame) -> pl.DataFrame:
    """The five supervisory migration rates from a ``transition_base`` frame (balance and count variants)."""
    rows = pl.concat([_rate_row(base, code) for code in RATES])
    return (
        rows.with_columns(pl.col(c).cast(MONEY) for c in ("start_balance", "reduction_balance", "migrated_balance"))
        .with_columns(pl.col(c).cast(pl.Int64) for c in ("start_count", "exit_count", "migrated_count"))
        .with_columns(
            (pl.col("start_balance") - pl.col("reduction_balance")).cast(MONEY).alias("denominator_balance"),
            (pl.col("start_count") - pl.col("exit_count")).alias("denominator_count"),
        )
        .with_columns(
            safe_div("migrated_balance", "denominator_balance").alias("migration_rate_balance"),
            safe_div("migrated_count", "denominator_count").alias("migration_rate_count"),
        )
        .select("rate", "start_balance", "reduction_balance", "denominator_balance", "migrated_balance",
                "migration_rate_balance", "start_count", "exit_count", "denominator_count", "migrated_count",
                "migration_rate_count")
    )


def supervisory_migration(con: duckdb.DuckDBPyConnection, *, month: dt.date, period: str = "quarter",
                          branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> pl.DataFrame:
    """The migration rates for the period (``month`` / ``quarter`` / ``ytd``) ending at ``month``."""
    return migration_rates(transition_base(con, start_month=period_start(month, period), end_month=month,
                                           branches=branches, products=products))


def migration_matrix(base: pl.DataFrame, *, basis: str = "balance", share: bool = False) -> pl.DataFrame:
    """Start class (rows 1..5) x end state (columns "1".."5", exit statuses, "missing" when present).

    ``basis``: ``balance`` (period-START balance, so each row adds up to the start balance of the class and
    exits keep the balance they left with) or ``count``. ``share``: each cell as a share of its row.
    A ``total`` column holds the row total (1.0 when ``share``).
    """
    value = "start_balance" if basis == "balance" else "total_count"
    states = [s for s in END_STATES if s != MISSING or MISSING in base["end_state"].to_list()]
    grid = pl.DataFrame({"start_class": list(CLASSES)}, schema={"start_class": pl.Int8}).join(
        pl.DataFrame({"end_state": states}), how="cross")
    long = (
        grid.join(base.select("start_class", "end_state", pl.col(value).cast(pl.Float64).alias("v")),
                  on=["start_class", "end_state"], how="left")
        .with_columns(pl.col("v").fill_null(0.0))
        .with_columns(pl.col("v").sum().over("start_class").alias("total"))
    )
    if share:
        long = long.with_columns(pl.col("v") / pl.when(pl.col("total") != 0).then(pl.col("total")),
                                 pl.when(pl.col("total") != 0).then(1.0).alias("total"))
    wide = long.pivot(on="end_state", index=["start_class", "total"], values="v", aggregate_function=None)
    return wide.select("start_class", *states, "total").sort("start_class")


def matrix_cell_spec_args(start_class: int, end_state: str) -> dict[str, object]:
    """DrillSpec keyword arguments (besides month/prev_month/filters) for one transition-matrix cell."""
    if end_state in {str(c) for c in CLASSES}:
        return {"prev_classes": (start_class,), "classes": (int(end_state),), "statuses": ("active",)}
    statuses = EXIT_STATUSES if end_state == MISSING else (end_state,)
    return {"prev_classes": (start_class,), "statuses": statuses}
