"""Customer grading for the collection strategy (客户分级): ability and willingness to pay.

One customer = every loan with the same customer id (a loan without one is its own customer: its customer id
is its loan id). The features of a customer at a month, over the loans on the book then (in the user's
branches), are computed from the snapshots and the collection actions of the ``lookback_months`` up to it:

- ``dpd`` (today, the worst loan), ``worst_dpd`` (the worst month end of the lookback), ``overdue_months``;
- ``pay_ratio`` = amount paid ÷ amount due over the last ``pay_months`` months (null when nothing was due);
- contact outcomes of the lookback: ``contacts`` (actions), ``reached`` (right-party contact, promise, payment),
  ``ptp``, ``payments`` (partial or full payment outcomes), ``refused``, ``lost_contact``;
- ``cause``: the latest overdue cause reported on any of its loans.

The rule table (saved versioned parameter ``grading_rules``) is an ordered list; the first rule that matches gives
the grade. A rule matches when all its ``all`` conditions hold and, if it has ``any`` conditions, at least one of
them does. Customers never overdue in the lookback are ``current`` (not graded). Defaults [ILLUS]:
D fraud / lost contact, C unwilling, B temporary hardship, A pays late but pays; each grade has a recommended
action.
"""

from __future__ import annotations

import copy
import datetime as dt
import json

import duckdb
import polars as pl

from analytics.core import schema
from analytics.core.months import add_months
from analytics.core.slice import slice_params
from analytics.core.store import query

CONFIG_NAME = "grading_rules"
GRADES = ("A", "B", "C", "D")
ALL_GRADES = (*GRADES, "current")
ACTIONS = ("remind", "negotiate", "escalate", "legal", "none")
NUMERIC_FIELDS = ("dpd", "worst_dpd", "overdue_months", "pay_ratio", "contacts", "reached", "ptp", "payments",
                  "refused", "lost_contact", "loans_count")
TEXT_FIELDS = ("cause",)
OPS = (">=", ">", "<=", "<", "==", "in")

DEFAULT_RULES: dict = {
    "lookback_months": 12,
    "pay_months": 6,
    "rules": [
        {"grade": "D", "any": [{"field": "cause", "op": "in", "value": ["fraud"]},
                               {"field": "lost_contact", "op": ">=", "value": 2}]},
        {"grade": "C", "any": [{"field": "cause", "op": "in", "value": ["willingness"]},
                               {"field": "refused", "op": ">=", "value": 2}]},
        {"grade": "C", "all": [{"field": "worst_dpd", "op": ">=", "value": 90},
                               {"field": "pay_ratio", "op": "<", "value": 0.1}]},
        {"grade": "B", "any": [{"field": "cause", "op": "in",
                                "value": ["illness", "income_drop", "business_difficulty", "over_indebted"]},
                               {"field": "pay_ratio", "op": "<", "value": 0.8}]},
        {"grade": "A", "all": []},
    ],
    "actions": {"A": "remind", "B": "negotiate", "C": "escalate", "D": "legal"},
}


class GradingError(ValueError):
    """A rule table that cannot be used; the message names the rule."""


def default_rules() -> dict:
    return copy.deepcopy(DEFAULT_RULES)


def _condition(c: object, where: str) -> dict:
    if not isinstance(c, dict) or set(c) != {"field", "op", "value"}:
        raise GradingError(f"{where}: a condition is {{field, op, value}}")
    if c["field"] in TEXT_FIELDS:
        if c["op"] != "in" or not isinstance(c["value"], list):
            raise GradingError(f"{where}: {c['field']} takes op 'in' and a list of codes")
        unknown = [v for v in c["value"] if v not in schema.CAUSES]
        if unknown:
            raise GradingError(f"{where}: unknown cause {unknown[0]!r}")
        return {"field": c["field"], "op": "in", "value": list(c["value"])}
    if c["field"] not in NUMERIC_FIELDS:
        raise GradingError(f"{where}: unknown field {c['field']!r}")
    if c["op"] not in OPS[:-1]:
        raise GradingError(f"{where}: op one of {OPS[:-1]}, got {c['op']!r}")
    if isinstance(c["value"], bool) or not isinstance(c["value"], (int, float)):
        raise GradingError(f"{where}: value must be a number")
    return {"field": c["field"], "op": c["op"], "value": float(c["value"])}


def validate(rules: dict) -> dict:
    if not isinstance(rules, dict):
        raise GradingError("the rule table must be an object")
    out = default_rules()
    for name in ("lookback_months", "pay_months"):
        value = rules.get(name, out[name])
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 36:
            raise GradingError(f"{name}: a whole number 1-36")
        out[name] = int(value)
    if "rules" in rules:
        if not isinstance(rules["rules"], list) or not rules["rules"]:
            raise GradingError("rules: a non-empty list")
        checked = []
        for i, r in enumerate(rules["rules"], 1):
            if not isinstance(r, dict) or r.get("grade") not in GRADES or set(r) - {"grade", "all", "any"}:
                raise GradingError(f"rule {i}: {{grade (A-D), all, any}}")
            checked.append({"grade": r["grade"], **{k: [_condition(c, f"rule {i}") for c in r.get(k) or []]
                                                    for k in ("all", "any") if k in r}})
        out["rules"] = checked
    for grade, action in (rules.get("actions") or {}).items():
        if grade not in GRADES or action not in ACTIONS:
            raise GradingError(f"actions: {grade!r} -> {action!r} (grades {GRADES}, actions {ACTIONS})")
        out["actions"][grade] = action
    return out


def parse(rules: str | dict | None) -> dict:
    if rules is None or rules == "":
        return default_rules()
    if isinstance(rules, str):
        try:
            rules = json.loads(rules)
        except ValueError as exc:
            raise GradingError(f"not valid JSON: {exc}") from exc
    return validate(rules)


def dumps(rules: dict) -> str:
    return json.dumps(validate(rules), sort_keys=True, ensure_ascii=False)


def _expr(c: dict) -> pl.Expr:
    col = pl.col(c["field"])
    if c["op"] == "in":
        return col.is_in(c["value"]).fill_null(False)
    op = {">=": col >= c["value"], ">": col > c["value"], "<=": col <= c["value"], "<": col < c["value"],
          "==": col == c["value"]}[c["op"]]
    return op.fill_null(False)


def grade_expr(rules: dict) -> pl.Expr:
    """The grade of a feature row: the first matching rule; ``current`` when never overdue in the lookback."""
    out = pl.lit(None, pl.String)
    for r in reversed(rules["rules"]):
        cond = pl.lit(True)
        for c in r.get("all", []):
            cond = cond & _expr(c)
        if r.get("any"):
            anyc = pl.lit(False)
            for c in r["any"]:
                anyc = anyc | _expr(c)
            cond = cond & anyc
        out = pl.when(cond).then(pl.lit(r["grade"])).otherwise(out)
    return pl.when(pl.col("worst_dpd").fill_null(0) <= 0).then(pl.lit("current")).otherwise(out)


def apply(features: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """``features`` with ``grade`` (null when no rule matched) and the recommended ``action``."""
    actions = rules["actions"] | {"current": "none"}
    return features.with_columns(grade_expr(rules).alias("grade")).with_columns(
        pl.col("grade").replace_strict(actions, default=None, return_dtype=pl.String).alias("action"))


_FEATURES_SQL = """
WITH s AS (
  SELECT s.month, s.loan_id, coalesce(l.customer_id, l.loan_id) AS customer_id, s.branch_id, s.dpd, s.status,
         s.outstanding_principal, coalesce(s.overdue_principal, 0) + coalesce(s.overdue_interest, 0) AS overdue_amount,
         s.amount_due, s.amount_paid, s.overdue_cause, s.collector_id
  FROM snapshots s JOIN loans l USING (loan_id)
  WHERE s.month BETWEEN $month_from AND $month
    AND (len($products) = 0 OR list_contains($products, l.product))
    AND coalesce(l.customer_id, l.loan_id) IN (
      SELECT coalesce(y.customer_id, y.loan_id) FROM snapshots x JOIN loans y USING (loan_id)
      WHERE x.month = $month AND x.status = 'active' AND (len($branches) = 0 OR list_contains($branches, x.branch_id))
        AND (len($products) = 0 OR list_contains($products, y.product))
        AND (len($customer_ids) = 0 OR list_contains($customer_ids, coalesce(y.customer_id, y.loan_id))))
    AND (len($branches) = 0 OR list_contains($branches, s.branch_id))
), cur AS (
  SELECT customer_id, count(*)::BIGINT AS loans_count, sum(outstanding_principal) AS balance,
         sum(overdue_amount) AS overdue_amount, max(dpd) AS dpd,
         arg_max(branch_id, outstanding_principal) AS branch_id, arg_max(collector_id, dpd) AS collector_id
  FROM s WHERE month = $month AND status = 'active' GROUP BY customer_id
), hist AS (
  SELECT customer_id, max(dpd) AS worst_dpd, count(DISTINCT month) FILTER (WHERE dpd > 0)::BIGINT AS overdue_months,
         sum(amount_paid) FILTER (WHERE month >= $pay_from) AS paid,
         sum(amount_due) FILTER (WHERE month >= $pay_from) AS due,
         arg_max(overdue_cause, month) FILTER (WHERE overdue_cause IS NOT NULL) AS cause
  FROM s GROUP BY customer_id
), acts AS (
  SELECT s2.customer_id, count(*)::BIGINT AS contacts,
         count(*) FILTER (WHERE a.outcome IN ('rpc', 'ptp', 'partial_payment', 'full_payment'))::BIGINT AS reached,
         count(*) FILTER (WHERE a.outcome = 'ptp')::BIGINT AS ptp,
         count(*) FILTER (WHERE a.outcome IN ('partial_payment', 'full_payment'))::BIGINT AS payments,
         count(*) FILTER (WHERE a.outcome = 'refused')::BIGINT AS refused,
         count(*) FILTER (WHERE a.outcome = 'lost_contact')::BIGINT AS lost_contact
  FROM collection_actions a JOIN (SELECT DISTINCT loan_id, customer_id FROM s) s2 USING (loan_id)
  WHERE a.month BETWEEN $month_from AND $month
  GROUP BY s2.customer_id
)
SELECT cur.customer_id, cur.branch_id, cur.collector_id, cur.loans_count, cur.balance, cur.overdue_amount, cur.dpd,
       hist.worst_dpd, hist.overdue_months, CAST(hist.paid AS DOUBLE) / NULLIF(CAST(hist.due AS DOUBLE), 0) AS pay_ratio, hist.cause,
       coalesce(acts.contacts, 0) AS contacts, coalesce(acts.reached, 0) AS reached, coalesce(acts.ptp, 0) AS ptp,
       coalesce(acts.payments, 0) AS payments, coalesce(acts.refused, 0) AS refused,
       coalesce(acts.lost_contact, 0) AS lost_contact
FROM cur JOIN hist USING (customer_id) LEFT JOIN acts USING (customer_id)
ORDER BY cur.customer_id
"""  # noqa: S608 (constant SQL; every value a bound parameter)
FEATURES_SCHEMA = {"customer_id": pl.String, "branch_id": pl.String, "collector_id": pl.String,
                   "loans_count": pl.Int64, "balance": pl.Float64, "overdue_amount": pl.Float64, "dpd": pl.Int32,
                   "worst_dpd": pl.Int32, "overdue_months": pl.Int64, "pay_ratio": pl.Float64, "cause": pl.String,
                   "contacts": pl.Int64, "reached": pl.Int64, "ptp": pl.Int64, "payments": pl.Int64,
                   "refused": pl.Int64, "lost_contact": pl.Int64}


def features(con: duckdb.DuckDBPyConnection, *, month: dt.date, lookback_months: int = 12, pay_months: int = 6,
             branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
             customer_ids: tuple[str, ...] = ()) -> pl.DataFrame:
    """One row per customer with a loan on the book at ``month`` in the slice: the grading features (module
    docstring); ``branch_id`` = the branch of its largest loan, ``collector_id`` = that of its worst loan."""
    params = {"month": month, "month_from": add_months(month, -(lookback_months - 1)),
              "pay_from": add_months(month, -(pay_months - 1)), "customer_ids": list(customer_ids),
              **slice_params(branches, products)}
    return query(con, _FEATURES_SQL, params, FEATURES_SCHEMA)


GRADED_EXTRA = {"grade": pl.String, "action": pl.String}


def grades(con: duckdb.DuckDBPyConnection, *, month: dt.date, rules: str = "", branches: tuple[str, ...] = (),
           products: tuple[str, ...] = (), customer_ids: tuple[str, ...] = ()) -> pl.DataFrame:
    """Every customer on the book at ``month`` with its features, grade and recommended action."""
    r = parse(rules)
    f = features(con, month=month, lookback_months=r["lookback_months"], pay_months=r["pay_months"],
                 branches=branches, products=products, customer_ids=customer_ids)
    return apply(f, r)


SUMMARY_SCHEMA = {"grade": pl.String, "customers_count": pl.Int64, "loans_count": pl.Int64, "balance": pl.Float64,
                  "overdue_amount": pl.Float64, "share_count": pl.Float64, "share_balance": pl.Float64}


def summary(graded: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """Customers, loans, balance and overdue amount per grade (and per ``by``: branch_id or collector_id),
    with the shares of the group; every grade listed."""
    keys = ["grade"] if by is None else [by, "grade"]
    g = graded.with_columns(pl.col("grade").fill_null("current"))
    agg = g.group_by(keys).agg(pl.len().cast(pl.Int64).alias("customers_count"),
                               pl.col("loans_count").sum().cast(pl.Int64), pl.col("balance").sum(),
                               pl.col("overdue_amount").sum())
    if by is None:
        frame = pl.DataFrame({"grade": list(ALL_GRADES)}).join(agg, on="grade", how="left")
    else:
        frame = (g.select(by).unique().join(pl.DataFrame({"grade": list(ALL_GRADES)}), how="cross")
                 .join(agg, on=keys, how="left"))
    frame = frame.with_columns(pl.col("customers_count", "loans_count").fill_null(0),
                               pl.col("balance", "overdue_amount").fill_null(0.0))
    over = [by] if by else []
    tot_c = pl.col("customers_count").sum().over(over) if over else pl.col("customers_count").sum()
    tot_b = pl.col("balance").sum().over(over) if over else pl.col("balance").sum()
    order = {g_: i for i, g_ in enumerate(ALL_GRADES)}
    out = frame.with_columns(
        pl.when(tot_c > 0).then(pl.col("customers_count") / tot_c).alias("share_count"),
        pl.when(tot_b > 0).then(pl.col("balance") / tot_b).alias("share_balance"),
        pl.col("grade").replace_strict(order, return_dtype=pl.Int8).alias("_o"))
    out = out.sort([*over, "_o"]).drop("_o")
    schema_ = ({by: pl.String} if by else {}) | SUMMARY_SCHEMA
    return out.select(list(schema_)).cast(schema_)
