"""Derived per-loan tables, rebuilt from the store after every store change (``<root>/derived/``).

Vintage and roll rates need each loan joined to its own history (previous month, first month
at 30+ ...). Doing that join once at load time turns those pages into slice-sized aggregates:

- ``loan_facts.parquet``: one row per loan: cohort (origination month), branch, product, disbursed
  principal, first and last snapshot month, the first month with DPD > 0 / > 30 / > 60 / > 90 and
  the balance then (frozen), the exit month, exit status and balance at exit.
- ``transitions/month=YYYY-MM-01/part-0.parquet``: one row per loan-month that is on book at t or
  left the book at t (exit row of a loan on book at t-1): cohort, branch, product, the M-bucket at
  t-1 (``from_bucket``, NULL when the loan was not on book at t-1), the M-bucket at t
  (``to_bucket``, NULL on an exit row), the status and DPD at t, the balance at t-1 and at t.

Balance of a row (``BALANCE_SQL``): the outstanding principal, except on a disposal row (written
off, transferred, foreclosed) where it is the disposed principal, so that a loan removed from the
book keeps the balance it left with.

``build(root)`` writes both into a temp folder next to ``derived/`` and swaps it in, so a reader
sees either the old or the new set. Analytics modules read the views ``loan_facts`` and
``transitions`` when present and otherwise fall back to the same SQL inline (``source``).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import duckdb
import polars as pl

from analytics.core import store
from analytics.core.rules import M_BUCKET_SQL
from analytics.core.schema import MONEY
from analytics.metrics import aging, portfolio
from analytics.metrics.portfolio import add_months

DERIVED = "derived"
CHUNK_MONTHS = 4  # transitions built this many months per query (~4 x loans-on-book rows in memory)
EVER_THRESHOLDS = (0, 30, 60, 90)  # "X+" means DPD > X; 0 means any overdue (DPD >= 1)

BALANCE_SQL = """CASE WHEN status IN ('written_off', 'transferred', 'foreclosed')
    THEN disposed_principal ELSE outstanding_principal END"""


def _ever_columns() -> str:
    cols = []
    for x in EVER_THRESHOLDS:
        cols.append("min(month) FILTER (WHERE dpd > $over" + str(x) + ") AS first_over" + str(x) + "_month")
        cols.append("arg_min(bal, month) FILTER (WHERE dpd > $over" + str(x) + ") AS first_over" + str(x) + "_bal")
    return ",\n        ".join(cols)


LOAN_FACTS_SQL = """
WITH s AS (
    SELECT loan_id, month, dpd, status, """ + BALANCE_SQL + """ AS bal FROM snapshots
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
       l.principal, a.* EXCLUDE (loan_id)
FROM loans l LEFT JOIN agg a USING (loan_id)
ORDER BY cohort_month, l.loan_id
"""  # noqa: S608 (constant SQL fragments only; every value is a bound parameter)
LOAN_FACTS_PARAMS = {f"over{x}": x for x in EVER_THRESHOLDS}

LOAN_FACTS_SCHEMA = {
    "loan_id": pl.String, "branch_id": pl.String, "product": pl.String, "cohort_month": pl.Date,
    "principal": MONEY, "first_month": pl.Date, "last_month": pl.Date,
    **{k: v for x in EVER_THRESHOLDS for k, v in ((f"first_over{x}_month", pl.Date), (f"first_over{x}_bal", MONEY))},
    "exit_month": pl.Date, "exit_status": pl.String, "exit_balance": MONEY,
}

# Loan-months of [$t_from, $t_to]; the previous month's rows come from [$p_from, $p_to] (one month earlier).
TRANSITIONS_SQL = """
WITH cur AS (
    SELECT month, loan_id, status, dpd, """ + BALANCE_SQL + """ AS balance, """ + M_BUCKET_SQL + """ AS bucket
    FROM snapshots WHERE month BETWEEN $t_from AND $t_to
),
prev AS (
    SELECT CAST(month + INTERVAL 1 MONTH AS DATE) AS month, loan_id,
           """ + M_BUCKET_SQL + """ AS from_bucket, outstanding_principal AS prev_balance
    FROM snapshots WHERE month BETWEEN $p_from AND $p_to AND status = 'active'
)
SELECT c.month, c.loan_id, l.branch_id, l.product,
       CAST(date_trunc('month', l.origination_date) AS DATE) AS cohort_month,
       p.from_bucket,
       CASE WHEN c.status = 'active' THEN c.bucket END AS to_bucket,
       c.status, c.dpd, p.prev_balance, c.balance
FROM cur c
JOIN loans l ON l.loan_id = c.loan_id
LEFT JOIN prev p ON p.loan_id = c.loan_id AND p.month = c.month
WHERE c.status = 'active' OR p.loan_id IS NOT NULL
"""  # noqa: S608 (constant SQL fragments only)

TRANSITIONS_SCHEMA = {
    "month": pl.Date, "loan_id": pl.String, "branch_id": pl.String, "product": pl.String,
    "cohort_month": pl.Date, "from_bucket": pl.Int8, "to_bucket": pl.Int8, "status": pl.String,
    "dpd": pl.Int32, "prev_balance": MONEY, "balance": MONEY,
}


def transitions_params(month_from: dt.date, month_to: dt.date) -> dict[str, object]:
    return {"t_from": month_from, "t_to": month_to,
            "p_from": add_months(month_from, -1), "p_to": add_months(month_to, -1)}


# --- reading: the derived view, or the same SQL inline --------------------------------------------


has_view = store.has_view


def loan_facts_source(con: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, object]]:
    """SQL text naming the loan facts (the view, or a subquery) and the parameters it needs."""
    if has_view(con, "loan_facts"):
        return "loan_facts", {}
    return "(" + LOAN_FACTS_SQL + ")", dict(LOAN_FACTS_PARAMS)


def transitions_source(con: duckdb.DuckDBPyConnection, month_from: dt.date,
                       month_to: dt.date) -> tuple[str, dict[str, object]]:
    """SQL text naming the transitions of [month_from, month_to] and the parameters it needs.

    The caller still filters ``month BETWEEN $month_from AND $month_to`` (pruning on the view).
    """
    if has_view(con, "transitions"):
        return "transitions", {}
    return "(" + TRANSITIONS_SQL + ")", transitions_params(month_from, month_to)


# --- building -----------------------------------------------------------------------------------


def loan_facts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return store.query(con, LOAN_FACTS_SQL, LOAN_FACTS_PARAMS, LOAN_FACTS_SCHEMA)


def transitions(con: duckdb.DuckDBPyConnection, month_from: dt.date, month_to: dt.date) -> pl.DataFrame:
    sql = TRANSITIONS_SQL + "ORDER BY c.month, c.loan_id"
    return store.query(con, sql, transitions_params(month_from, month_to), TRANSITIONS_SCHEMA)


def build(root: str | os.PathLike | None = None, threads: int | None = None) -> Path:
    """Rebuild ``<root>/derived/`` from the store; returns its path.

    Written into a temp folder, then swapped in by two renames (old set removed afterwards).
    With no snapshots, or when the build fails, the folder is removed (an old set may no longer match
    the store) and the analytics fall back to inline SQL.
    """
    root = store.data_root(root)
    target = root / DERIVED
    tmp = root / f".{DERIVED}-tmp-{uuid.uuid4().hex[:8]}"
    try:
        con = store.connect(root, threads=threads)
    except duckdb.Error:  # an unreadable derived file: drop the old set, it is rebuilt from the store
        shutil.rmtree(target, ignore_errors=True)
        con = store.connect(root, threads=threads)
    try:
        months = store.months(con)
        if not months:
            shutil.rmtree(target, ignore_errors=True)
            return target
        tmp.mkdir(parents=True)
        loan_facts(con).write_parquet(tmp / "loan_facts.parquet", compression="zstd")
        portfolio.quality_cube(con).write_parquet(tmp / f"{portfolio.CUBE}.parquet", compression="zstd")
        aging.aging_cube(con).write_parquet(tmp / f"{aging.CUBE}.parquet", compression="zstd")
        for i in range(0, len(months), CHUNK_MONTHS):  # a few months at a time: bounded memory
            params = transitions_params(months[i], months[min(i + CHUNK_MONTHS, len(months)) - 1])
            chunk = store.query(con, TRANSITIONS_SQL, params, TRANSITIONS_SCHEMA)
            for (month,), part in chunk.partition_by("month", as_dict=True, maintain_order=True).items():
                folder = tmp / "transitions" / store.month_dir_name(month)
                folder.mkdir(parents=True)
                part.drop("month").write_parquet(folder / "part-0.parquet", compression="zstd")
    except BaseException:  # the old set no longer matches the store: drop it (readers fall back to inline SQL)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        con.close()
    _swap(tmp, target)
    return target


def _swap(new: Path, target: Path) -> None:
    old = target.with_name(f".{DERIVED}-old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


if __name__ == "__main__":  # python -m analytics.derive [root]
    import sys
    import time

    started = time.perf_counter()
    path = build(sys.argv[1] if len(sys.argv) > 1 else None)
    print(f"derived tables in {path} built in {time.perf_counter() - started:.1f} s")
