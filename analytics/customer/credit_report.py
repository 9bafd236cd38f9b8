"""The credit-report repayment history (征信, 个人信用报告 "24个月还款状态") and the monthly reportable events.

Status of a loan at a month end, in the form of the personal credit report (oldest month on the left):

- ``N`` normal: on the book, nothing overdue, an instalment was due (or the amount due is not provided);
- ``1``–``7`` overdue by that many periods: DPD 1–30 = 1, 31–60 = 2, …, 151–180 = 6, over 180 = 7;
- ``*`` not due: on the book, nothing overdue and nothing due that month (amount due = 0);
- ``C`` closed: repaid in full (paid off) that month;
- ``G`` settled by other means: written off, transferred or foreclosed (以物抵债) that month;
- ``D`` guarantor paid (担保人代还): the contract has no field saying who paid, so the dashboard never infers it;
  a bank that reports it sets it in its own system;
- ``/`` no record: the month is before the loan's first snapshot or after its exit.

The monthly export (``reportable_events``) lists, for one month, every loan overdue at its end and every loan
whose overdue ended that month (cured, closed or settled), with the amounts, status and dates the bank's
credit-reporting system (征信报送) needs.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics.core.months import add_months
from analytics.core.slice import slice_params
from analytics.core.store import query

MONTHS = 24
STATUS_CODES = ("N", "1", "2", "3", "4", "5", "6", "7", "*", "C", "G", "D", "/")


def status_expr(dpd: pl.Expr, status: pl.Expr, amount_due: pl.Expr) -> pl.Expr:
    """The one-character status of a loan-month (see the module docstring)."""
    periods = pl.min_horizontal(((dpd + 29) // 30), pl.lit(7)).cast(pl.String)
    return (pl.when(status == "paid_off").then(pl.lit("C"))
            .when(status.is_in(["written_off", "transferred", "foreclosed"])).then(pl.lit("G"))
            .when(dpd > 0).then(periods)
            .when(amount_due == 0).then(pl.lit("*"))
            .otherwise(pl.lit("N")))


_HISTORY_SQL = """
WITH latest AS (
  SELECT loan_id, arg_max(branch_id, month) AS branch_id, max(dpd) AS worst_dpd
  FROM snapshots WHERE month BETWEEN $month_from AND $month_to GROUP BY loan_id
)
SELECT s.loan_id, coalesce(l.customer_id, l.loan_id) AS customer_id, t.branch_id, l.product, s.month, s.dpd,
       s.status, s.amount_due
FROM snapshots s JOIN loans l USING (loan_id) JOIN latest t ON t.loan_id = s.loan_id
WHERE s.month BETWEEN $month_from AND $month_to
  AND (len($branches) = 0 OR list_contains($branches, t.branch_id))
  AND (len($products) = 0 OR list_contains($products, l.product))
  AND (NOT $only_overdue OR t.worst_dpd > 0)
  AND (len($loan_ids) = 0 OR list_contains($loan_ids, s.loan_id))
  AND (len($customer_ids) = 0 OR list_contains($customer_ids, coalesce(l.customer_id, l.loan_id)))
"""
_HISTORY_SCHEMA = {"loan_id": pl.String, "customer_id": pl.String, "branch_id": pl.String, "product": pl.String,
                   "month": pl.Date, "dpd": pl.Int32, "status": pl.String, "amount_due": pl.Float64}
HISTORY_SCHEMA = {"loan_id": pl.String, "customer_id": pl.String, "branch_id": pl.String, "product": pl.String,
                  "history": pl.String, "latest": pl.String, "worst": pl.String, "overdue_months": pl.Int32}


def histories_from_rows(rows: pl.DataFrame, *, month: dt.date, months: int = MONTHS) -> pl.DataFrame:
    """The ``months``-character status string per loan from loan-month rows (loan_id, customer_id, branch_id,
    product, month, dpd, status, amount_due) ending at ``month``; ``latest`` = the last character, ``worst`` = the
    highest overdue period shown (empty when never overdue), ``overdue_months`` = characters 1–7. The branch is
    that of the loan's latest row."""
    if rows.is_empty():
        return pl.DataFrame(schema=HISTORY_SCHEMA)
    grid = [add_months(month, -k) for k in range(months - 1, -1, -1)]
    coded = rows.with_columns(status_expr(pl.col("dpd"), pl.col("status"), pl.col("amount_due")).alias("code"))
    info = coded.sort("month").group_by("loan_id").agg(pl.col("customer_id").last(), pl.col("branch_id").last(),
                                                        pl.col("product").last())
    full = (info.select("loan_id").join(pl.DataFrame({"month": grid}, schema={"month": pl.Date}), how="cross")
            .join(coded.select("loan_id", "month", "code"), on=["loan_id", "month"], how="left")
            .with_columns(pl.col("code").fill_null("/")).sort("loan_id", "month"))
    hist = full.group_by("loan_id", maintain_order=True).agg(pl.col("code").str.join("").alias("history"))
    digits = pl.col("history").str.extract_all(r"[1-7]")
    return (info.join(hist, on="loan_id").with_columns(
        pl.col("history").str.slice(months - 1, 1).alias("latest"),
        digits.list.max().fill_null("").alias("worst"),
        digits.list.len().cast(pl.Int32).alias("overdue_months"))
        .sort("loan_id").select(list(HISTORY_SCHEMA)).cast(HISTORY_SCHEMA))


def histories(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
              products: tuple[str, ...] = (), loan_ids: tuple[str, ...] = (), customer_ids: tuple[str, ...] = (),
              only_overdue: bool = False, months: int = MONTHS) -> pl.DataFrame:
    """The 24-month repayment status string of every loan with a record in the 24 months up to ``month`` (managed
    in ``branches`` at its latest record), optionally only some loans or customers, or only loans overdue at some
    month end of the window (``only_overdue``)."""
    rows = query(con, _HISTORY_SQL, {"month_from": add_months(month, -(months - 1)), "month_to": month,
                                     "only_overdue": only_overdue,
                                     "loan_ids": list(loan_ids), "customer_ids": list(customer_ids),
                                     **slice_params(branches, products)}, _HISTORY_SCHEMA)
    return histories_from_rows(rows, month=month, months=months)


_EVENTS_SQL = """
SELECT s.month AS report_month, s.loan_id, coalesce(l.customer_id, l.loan_id) AS customer_id, s.branch_id,
       l.product, l.origination_date, l.maturity_date, l.principal, s.outstanding_principal, s.status, s.dpd,
       p.dpd AS prev_dpd, coalesce(s.overdue_principal, 0) AS overdue_principal,
       coalesce(s.overdue_interest, 0) AS overdue_interest, s.amount_due, s.amount_paid
FROM snapshots s JOIN loans l USING (loan_id)
LEFT JOIN snapshots p ON p.loan_id = s.loan_id AND p.month = $prev
WHERE s.month = $month AND (s.dpd > 0 OR coalesce(p.dpd, 0) > 0)
  AND (len($branches) = 0 OR list_contains($branches, s.branch_id))
  AND (len($products) = 0 OR list_contains($products, l.product))
"""
EVENT_SCHEMA = {"report_month": pl.Date, "loan_id": pl.String, "customer_id": pl.String, "branch_id": pl.String,
                "product": pl.String, "report_event": pl.String, "status_code": pl.String, "dpd": pl.Int32,
                "overdue_periods": pl.Int32, "first_overdue_date": pl.Date, "overdue_principal": pl.Float64,
                "overdue_interest": pl.Float64, "overdue_amount": pl.Float64, "outstanding_principal": pl.Float64,
                "amount_due": pl.Float64, "amount_paid": pl.Float64, "principal": pl.Float64,
                "origination_date": pl.Date, "maturity_date": pl.Date, "account_status": pl.String}
EVENTS = ("overdue_new", "overdue_continuing", "cured", "closed", "settled")


def reportable_events(con: duckdb.DuckDBPyConnection, *, month: dt.date, branches: tuple[str, ...] = (),
                      products: tuple[str, ...] = ()) -> pl.DataFrame:
    """The month's reportable overdue events, one row per loan: ``overdue_new`` (overdue at the month end, not at
    the previous one), ``overdue_continuing``, ``cured`` (overdue last month, current now), ``closed`` (paid off
    after being overdue), ``settled`` (written off, transferred or foreclosed after being overdue); with the status
    character, overdue periods, the first overdue date (month end − DPD) and the amounts."""
    rows = query(con, _EVENTS_SQL, {"month": month, "prev": add_months(month, -1), **slice_params(branches, products)})
    if rows.is_empty():
        return pl.DataFrame(schema=EVENT_SCHEMA)
    end = pl.col("report_month").dt.month_end()
    event = (pl.when(pl.col("status") == "paid_off").then(pl.lit("closed"))
             .when(pl.col("status").is_in(["written_off", "transferred", "foreclosed"])).then(pl.lit("settled"))
             .when((pl.col("dpd") > 0) & (pl.col("prev_dpd").fill_null(0) > 0)).then(pl.lit("overdue_continuing"))
             .when(pl.col("dpd") > 0).then(pl.lit("overdue_new")).otherwise(pl.lit("cured")))
    return (rows.with_columns(
        event.alias("report_event"),
        status_expr(pl.col("dpd"), pl.col("status"), pl.col("amount_due")).alias("status_code"),
        pl.when(pl.col("dpd") > 0).then(pl.min_horizontal((pl.col("dpd") + 29) // 30, pl.lit(7))).otherwise(0)
        .alias("overdue_periods"),
        pl.when(pl.col("dpd") > 0).then(end - pl.duration(days=pl.col("dpd"))).alias("first_overdue_date"),
        (pl.col("overdue_principal") + pl.col("overdue_interest")).alias("overdue_amount"),
        pl.col("status").alias("account_status"))
        .with_columns(pl.col("first_overdue_date").cast(pl.Date))
        .sort("branch_id", "loan_id").select(list(EVENT_SCHEMA)).cast(EVENT_SCHEMA))
