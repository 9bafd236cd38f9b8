"""The customer view (客户视图): everything the bank knows about one customer and what it owes, across branches
and products. A customer is a customer id; a loan imported without one is its own customer (its loan id).

Every function takes ``branches`` (empty = all): a branch-restricted user sees only the customer's loans managed
in its branches (the loans' latest month-end branch), and only customers with such a loan.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics.core.months import add_months
from analytics.core.store import query
from analytics.warning import notices as nt

_CUSTOMER = "coalesce(l.customer_id, l.loan_id)"
# the managing branch (latest month end up to $month) of the loans of one customer / of the loans matching a search
_MANAGED = """(SELECT x.loan_id, arg_max(x.branch_id, x.month) AS branch_id FROM snapshots x JOIN loans y USING (loan_id)
              WHERE x.month <= $month AND coalesce(y.customer_id, y.loan_id) = $customer_id GROUP BY x.loan_id)"""
_MANAGED_FOUND = """(SELECT x.loan_id, arg_max(x.branch_id, x.month) AS branch_id FROM snapshots x JOIN loans y USING (loan_id)
              WHERE x.month <= $month AND (contains(coalesce(y.customer_id, y.loan_id), $text)
                                           OR contains(y.loan_id, $text)) GROUP BY x.loan_id)"""

_FIND_SQL = f"""
SELECT {_CUSTOMER} AS customer_id, count(*)::BIGINT AS loans_count,
       sum(s.outstanding_principal) FILTER (WHERE s.status = 'active') AS balance, max(s.dpd) AS dpd,
       min(m.branch_id) AS branch_id, string_agg(DISTINCT m.branch_id, ',' ORDER BY m.branch_id) AS branches
FROM loans l JOIN {_MANAGED_FOUND} m USING (loan_id)
LEFT JOIN snapshots s ON s.loan_id = l.loan_id AND s.month = $month
WHERE (len($branches) = 0 OR list_contains($branches, m.branch_id))
  AND (contains({_CUSTOMER}, $text) OR contains(l.loan_id, $text))
GROUP BY 1 ORDER BY dpd DESC NULLS LAST, balance DESC NULLS LAST, customer_id LIMIT $limit
"""  # noqa: S608 (constant SQL fragments)
FIND_SCHEMA = {"customer_id": pl.String, "loans_count": pl.Int64, "balance": pl.Float64, "dpd": pl.Int32,
               "branch_id": pl.String, "branches": pl.String}


def find_customers(con: duckdb.DuckDBPyConnection, *, text: str, month: dt.date, branches: tuple[str, ...] = (),
                   limit: int = 50) -> pl.DataFrame:
    """Customers whose customer id or one of whose loan ids contains ``text`` (plain substring), worst DPD first."""
    return query(con, _FIND_SQL, {"text": text.strip(), "month": month, "branches": list(branches), "limit": limit},
                 FIND_SCHEMA)


_LOANS_SQL = f"""
SELECT l.loan_id, m.branch_id, coalesce(b.branch_name, m.branch_id) AS branch_name, l.product, l.origination_date,
       l.maturity_date, l.principal, l.annual_rate, l.guarantee_type, s.status, s.outstanding_principal,
       s.overdue_principal, s.overdue_interest, s.dpd, s.booked_class, s.overdue_cause, s.collector_id,
       s.amount_due, s.amount_paid, s.month AS last_month
FROM loans l JOIN {_MANAGED} m USING (loan_id)
LEFT JOIN branches b ON b.branch_id = m.branch_id
LEFT JOIN (SELECT x.loan_id, max(x.month) AS month FROM snapshots x JOIN loans y USING (loan_id)
           WHERE x.month <= $month AND coalesce(y.customer_id, y.loan_id) = $customer_id GROUP BY x.loan_id) lm
  ON lm.loan_id = l.loan_id
LEFT JOIN snapshots s ON s.loan_id = l.loan_id AND s.month = lm.month
WHERE {_CUSTOMER} = $customer_id AND (len($branches) = 0 OR list_contains($branches, m.branch_id))
ORDER BY s.status = 'active' DESC, s.dpd DESC NULLS LAST, l.loan_id
"""  # noqa: S608
LOANS_SCHEMA = {"loan_id": pl.String, "branch_id": pl.String, "branch_name": pl.String, "product": pl.String,
                "origination_date": pl.Date, "maturity_date": pl.Date, "principal": pl.Float64,
                "annual_rate": pl.Float64, "guarantee_type": pl.String, "status": pl.String,
                "outstanding_principal": pl.Float64, "overdue_principal": pl.Float64, "overdue_interest": pl.Float64,
                "dpd": pl.Int32, "booked_class": pl.Int8, "overdue_cause": pl.String, "collector_id": pl.String,
                "amount_due": pl.Float64, "amount_paid": pl.Float64, "last_month": pl.Date}


def customer_loans(con: duckdb.DuckDBPyConnection, *, customer_id: str, month: dt.date,
                   branches: tuple[str, ...] = ()) -> pl.DataFrame:
    """Every loan of the customer (all products and branches in scope), at its latest month end up to ``month``;
    exited loans keep their exit row."""
    return query(con, _LOANS_SQL, {"customer_id": customer_id, "month": month, "branches": list(branches)},
                 LOANS_SCHEMA)


def customer_loans_with_pd(con: duckdb.DuckDBPyConnection, *, customer_id: str, month: dt.date,
                           branches: tuple[str, ...] = (), model=None) -> pl.DataFrame:
    """``customer_loans`` with the model's ``pd`` at ``month`` (null for loans not scorable: exited, in default)."""
    from analytics.model import scoring

    loans = customer_loans(con, customer_id=customer_id, month=month, branches=branches)
    ids = tuple(loans.filter(pl.col("status") == "active")["loan_id"].to_list())
    scored = (scoring.pd_for_loans(con, month=month, loan_ids=ids, model=model).select("loan_id", "pd")
              if ids and model is not None else pl.DataFrame(schema={"loan_id": pl.String, "pd": pl.Float64}))
    return loans.join(scored, on="loan_id", how="left")


SUMMARY_SCHEMA = {"loans_count": pl.Int64, "active_count": pl.Int64, "branches_count": pl.Int64,
                  "products_count": pl.Int64, "exposure": pl.Float64, "overdue_amount": pl.Float64,
                  "worst_dpd": pl.Int32, "max_pd": pl.Float64}


def summary(loans: pl.DataFrame) -> dict:
    """Loans, active loans, branches, products, exposure (outstanding of active loans), overdue amount, worst DPD
    and the highest PD of a customer's loans frame."""
    active = loans.filter(pl.col("status") == "active")
    pd_ = active["pd"].max() if "pd" in active.columns and active.height else None
    return {"loans_count": loans.height, "active_count": active.height,
            "branches_count": loans["branch_id"].n_unique(), "products_count": loans["product"].n_unique(),
            "exposure": float(active["outstanding_principal"].sum() or 0),
            "overdue_amount": float((active["overdue_principal"].fill_null(0) + active["overdue_interest"].fill_null(0))
                                    .sum() or 0),
            "worst_dpd": int(active["dpd"].max() or 0) if active.height else 0, "max_pd": pd_}


_ACTIONS_SQL = f"""
SELECT a.action_date, a.loan_id, m.branch_id, a.collector_id, a.channel, a.outcome, a.promised_amount,
       a.promised_date, a.amount_collected, a.cost
FROM collection_actions a JOIN loans l USING (loan_id) JOIN {_MANAGED} m ON m.loan_id = a.loan_id
WHERE {_CUSTOMER} = $customer_id AND a.month <= $month AND (len($branches) = 0 OR list_contains($branches, m.branch_id))
ORDER BY a.action_date DESC, a.action_id DESC
"""  # noqa: S608
ACTIONS_SCHEMA = {"action_date": pl.Date, "loan_id": pl.String, "branch_id": pl.String, "collector_id": pl.String,
                  "channel": pl.String, "outcome": pl.String, "promised_amount": pl.Float64, "promised_date": pl.Date,
                  "amount_collected": pl.Float64, "cost": pl.Float64}


def customer_actions(con: duckdb.DuckDBPyConnection, *, customer_id: str, month: dt.date,
                     branches: tuple[str, ...] = ()) -> pl.DataFrame:
    """The collection history of the customer's loans up to ``month``, newest first."""
    return query(con, _ACTIONS_SQL, {"customer_id": customer_id, "month": month, "branches": list(branches)},
                 ACTIONS_SCHEMA)


_VISITS_SQL = """
SELECT v.visit_date, v.loan_id, v.branch_id, v.visit_channel, v.visit_outcome, v.satisfaction_score, v.complaint
FROM return_visits v
WHERE v.customer_id = $customer_id AND v.month <= $month AND (len($branches) = 0 OR list_contains($branches, v.branch_id))
ORDER BY v.visit_date DESC, v.visit_id DESC
"""
VISITS_SCHEMA = {"visit_date": pl.Date, "loan_id": pl.String, "branch_id": pl.String, "visit_channel": pl.String,
                 "visit_outcome": pl.String, "satisfaction_score": pl.Int32, "complaint": pl.Boolean}


def customer_visits(con: duckdb.DuckDBPyConnection, *, customer_id: str, month: dt.date,
                    branches: tuple[str, ...] = ()) -> pl.DataFrame:
    """The customer's return visits and surveys up to ``month``, newest first."""
    return query(con, _VISITS_SQL, {"customer_id": customer_id, "month": month, "branches": list(branches)},
                 VISITS_SCHEMA)


NOTICE_SCHEMA = {"month": pl.Date, "stage": pl.String, "loan_id": pl.String, "branch_id": pl.String,
                 "dpd": pl.Int32, "overdue_amount": pl.Float64, "text_zh": pl.String, "text_en": pl.String}


def customer_notices(con: duckdb.DuckDBPyConnection, *, customer_id: str, month: dt.date, months: int = 6,
                     templates: str = "", branches: tuple[str, ...] = ()) -> pl.DataFrame:
    """The borrower notices the monthly batch (``analytics.warning.notices``, the templates in force) produced for
    the customer's loans in each of the ``months`` months up to ``month``, newest first."""
    loans = customer_loans(con, customer_id=customer_id, month=month, branches=branches)
    ids = tuple(loans["loan_id"].to_list())
    if not ids:
        return pl.DataFrame(schema=NOTICE_SCHEMA)
    parts = []
    for k in range(months):
        m = add_months(month, -k)
        batch = nt.notice_batch(con, month=m, templates=templates, loan_ids=ids, branches=branches)
        parts.append(batch.with_columns(pl.lit(m).alias("month")))
    return pl.concat(parts, how="diagonal_relaxed").select(list(NOTICE_SCHEMA)).cast(NOTICE_SCHEMA)
