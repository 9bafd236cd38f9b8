"""Point-in-time features and the default target at an observation month t.

Features at t use only snapshot rows at or before t (window frames that end at the CURRENT ROW) and the
loan's origination attributes; the target looks at the H months after t. The observation population is
the loans ACTIVE at t and NOT already in default (DPD <= 90): a loan in default at t has no "will it
default" question left, and a loan that has exited is no longer on the book.

Target (DOMAIN.md §8.1, aligned with NPL / 90+ DPD): 1 when, within months t+1 .. t+H, the loan reaches
DPD > 90 or leaves by write-off, transfer or foreclosure; 0 otherwise (paying off, or staying at or below
90 DPD). An observation is labelled only when the store holds month t+H (the whole performance window).

The lookback windows (3, 6, 12 months) are definitions of the features, written into the SQL: each
observation row is joined to the loan's snapshot rows k = 0 .. 11 months before it ("the last 3 months" is
k <= 2), so a missing month in the data is simply absent, never shifted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from analytics.core import months as mo
from analytics.core import schema, store
from analytics.core.slice import SLICE_SQL, list_param, slice_params

FEATURE_VERSION = "1"
"""Bumped whenever a feature definition changes: part of the data contract an artifact is checked against."""
HORIZON = 12
"""Performance window H in months [CONV] (DOMAIN.md §8.1)."""
DEFAULT_DPD = 90
"""Default = DPD above this [CONV] (90+ DPD, aligned with NPL)."""
LOOKBACK = 12
"""Months of history the features read (the longest window)."""
NEVER_DELINQUENT = 12
"""``months_since_delinquent`` when the loan was not overdue in the last 12 months."""
RATINGS = {code: rank for rank, code in enumerate(schema.RATINGS)}  # AAA = 0 ... CCC = 6

NUMERIC = (
    "dpd", "max_dpd_3m", "max_dpd_6m", "max_dpd_12m", "times_30p_12m", "months_since_delinquent",
    "balance_change_6m", "paid_change_3m", "pay_ratio_1m", "pay_ratio_3m", "pay_ratio_12m", "mob", "ltv",
    "restructured", "borrower_age", "annual_income", "rating_rank",
)
CATEGORICAL = ("product", "guarantee_type", "branch_id")
FEATURES = NUMERIC + CATEGORICAL
INCREASING = ("dpd", "max_dpd_3m", "max_dpd_6m", "max_dpd_12m", "times_30p_12m", "ltv")
"""Business sense: more past delinquency and a higher LTV never lower the risk (monotonic constraints)."""
ID_COLUMNS = ("loan_id", "month", "branch_id", "product", "balance")

LABELS = {
    "dpd": ("当前逾期天数", "Days past due now"),
    "max_dpd_3m": ("近3月最大逾期天数", "Max DPD, last 3 months"),
    "max_dpd_6m": ("近6月最大逾期天数", "Max DPD, last 6 months"),
    "max_dpd_12m": ("近12月最大逾期天数", "Max DPD, last 12 months"),
    "times_30p_12m": ("近12月逾期30天以上次数", "Months at 30+ DPD, last 12"),
    "months_since_delinquent": ("距上次逾期月数", "Months since last overdue"),
    "balance_change_6m": ("近6月余额变化率", "Balance change, 6 months"),
    "paid_change_3m": ("近3月还款额变化率", "Payments, last 3 vs prior 3 months"),
    "pay_ratio_1m": ("本月实还/应还", "Paid ÷ due, this month"),
    "pay_ratio_3m": ("近3月实还/应还", "Paid ÷ due, 3 months"),
    "pay_ratio_12m": ("近12月实还/应还", "Paid ÷ due, 12 months"),
    "mob": ("账龄(月)", "Months on book"),
    "ltv": ("贷款价值比(现值)", "LTV (current collateral value)"),
    "restructured": ("重组", "Restructured"),
    "borrower_age": ("借款人年龄", "Borrower age"),
    "annual_income": ("年收入", "Annual income"),
    "rating_rank": ("内部评级(放款时,0=AAA)", "Internal rating at origination (0 = AAA)"),
    "product": ("产品", "Product"),
    "guarantee_type": ("担保方式", "Guarantee type"),
    "branch_id": ("机构", "Branch"),
}

FEATURE_SCHEMA = {
    "loan_id": pl.String, "month": pl.Date, "branch_id": pl.String, "product": pl.String, "balance": pl.Float64,
    **{name: pl.Float64 for name in NUMERIC},
    "guarantee_type": pl.String,
}
TARGET_SCHEMA = {"loan_id": pl.String, "month": pl.Date, "target": pl.Int8}

# Rows of snapshots from the first lookback month to the last observation month (plus H for the target).
# The sample keeps a loan in every observation month or in none (a stable hash of its id).
_BASE_SQL = """
s AS (
  SELECT s.*
  FROM snapshots s
  WHERE s.month BETWEEN $read_from AND $read_to
    AND ($keep_per_mille >= 1000 OR hash(s.loan_id) % 1000 < $keep_per_mille)
    AND (len($loan_ids) = 0 OR s.loan_id IN (SELECT unnest($loan_ids)))
)"""

# Each observation row (loan, month t) joined to the loan's own snapshot rows k = 0 .. 11 months before t:
# nothing after t can reach a feature.
FEATURES_SQL = "WITH" + _BASE_SQL + """,
c AS (
  SELECT s.loan_id, s.month, s.dpd, s.outstanding_principal::DOUBLE AS balance,
    s.collateral_value::DOUBLE AS collateral_now, s.restructured,
    s.amount_due::DOUBLE AS due_1m, s.amount_paid::DOUBLE AS paid_1m
  FROM s JOIN loans l USING (loan_id)
  WHERE list_contains($obs_months, s.month) AND s.status = 'active' AND s.dpd <= $default_dpd
    AND """ + SLICE_SQL + """
),
h AS (
  SELECT c.loan_id, c.month, date_diff('month', s.month, c.month) AS k, s.dpd,
    s.outstanding_principal::DOUBLE AS balance, s.amount_due AS due, s.amount_paid AS paid
  FROM c JOIN s ON s.loan_id = c.loan_id AND s.month <= c.month AND s.month >= c.month - INTERVAL 11 MONTH
),
-- money sums stay DECIMAL (exact) until the end: a parallel sum of doubles is not reproducible to the last bit
w AS (
  SELECT h.loan_id, h.month,
    max(h.dpd) FILTER (WHERE h.k <= 2) AS max_dpd_3m,
    max(h.dpd) FILTER (WHERE h.k <= 5) AS max_dpd_6m,
    max(h.dpd) AS max_dpd_12m,
    count(*) FILTER (WHERE h.dpd > 30) AS times_30p_12m,
    min(h.k) FILTER (WHERE h.dpd > 0) AS months_since_delinquent,
    arg_max(h.balance, h.k) FILTER (WHERE h.k <= 6) AS balance_6m_ago,
    (sum(h.due) FILTER (WHERE h.k <= 2))::DOUBLE AS due_3m, (sum(h.paid) FILTER (WHERE h.k <= 2))::DOUBLE AS paid_3m,
    (sum(h.paid) FILTER (WHERE h.k BETWEEN 3 AND 5))::DOUBLE AS paid_prior_3m,
    (sum(h.due))::DOUBLE AS due_12m, (sum(h.paid))::DOUBLE AS paid_12m
  FROM h
  GROUP BY h.loan_id, h.month
)
SELECT c.loan_id, c.month, l.branch_id, l.product, c.balance,
  c.dpd::DOUBLE AS dpd, w.max_dpd_3m::DOUBLE AS max_dpd_3m, w.max_dpd_6m::DOUBLE AS max_dpd_6m,
  w.max_dpd_12m::DOUBLE AS max_dpd_12m, w.times_30p_12m::DOUBLE AS times_30p_12m,
  coalesce(w.months_since_delinquent, $never)::DOUBLE AS months_since_delinquent,
  c.balance / NULLIF(w.balance_6m_ago, 0) - 1 AS balance_change_6m,
  w.paid_3m / NULLIF(w.paid_prior_3m, 0) - 1 AS paid_change_3m,
  c.paid_1m / NULLIF(c.due_1m, 0) AS pay_ratio_1m,
  w.paid_3m / NULLIF(w.due_3m, 0) AS pay_ratio_3m,
  w.paid_12m / NULLIF(w.due_12m, 0) AS pay_ratio_12m,
  date_diff('month', date_trunc('month', l.origination_date), c.month)::DOUBLE AS mob,
  c.balance / NULLIF(c.collateral_now, 0) AS ltv,
  c.restructured::INT::DOUBLE AS restructured,
  (l.borrower_age + date_diff('month', date_trunc('month', l.origination_date), c.month) // 12)::DOUBLE
    AS borrower_age,
  l.annual_income::DOUBLE AS annual_income,
  list_position($ratings, l.internal_rating)::DOUBLE - 1 AS rating_rank,
  l.guarantee_type
FROM c JOIN w USING (loan_id, month) JOIN loans l USING (loan_id)
ORDER BY c.month, c.loan_id"""  # noqa: S608 - constant SQL fragments only; values are bound parameters

# The next month after each row in which the loan is bad (DPD above the default line or disposed of).
TARGET_SQL = "WITH" + _BASE_SQL + """,
b AS (
  SELECT s.loan_id, s.month, s.status, s.dpd,
    min(CASE WHEN s.dpd > $default_dpd OR s.status IN ('written_off', 'transferred', 'foreclosed')
             THEN s.month END) OVER (PARTITION BY s.loan_id ORDER BY s.month
                                    ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_bad
  FROM s
)
SELECT b.loan_id, b.month,
  coalesce(date_diff('month', b.month, b.next_bad) <= $horizon, false)::TINYINT AS target
FROM b JOIN loans l USING (loan_id)
WHERE list_contains($obs_months, b.month) AND b.status = 'active' AND b.dpd <= $default_dpd
  AND """ + SLICE_SQL + """
ORDER BY b.month, b.loan_id"""  # noqa: S608 - constant SQL fragments only; values are bound parameters


@dataclass(frozen=True)
class Sample:
    """Which observations to build: months, and the per-mille of loans kept (1000 = all)."""

    months: tuple[dt.date, ...]
    keep_per_mille: int = 1000


def _params(sample: Sample, read_to: dt.date, branches: tuple[str, ...], products: tuple[str, ...],
            loan_ids: tuple[str, ...] = ()) -> dict:
    return {
        "loan_ids": list_param(loan_ids),
        "read_from": mo.add_months(min(sample.months), -(LOOKBACK - 1)),
        "read_to": read_to,
        "keep_per_mille": sample.keep_per_mille,
        "obs_months": list_param(sample.months, "DATE"),
        "default_dpd": DEFAULT_DPD,
        **slice_params(branches, products),
    }


def features(con: duckdb.DuckDBPyConnection, *, months: tuple[dt.date, ...], keep_per_mille: int = 1000,
             branches: tuple[str, ...] = (), products: tuple[str, ...] = (), loan_ids: tuple[str, ...] = ()
             ) -> pl.DataFrame:
    """One row per loan active and not in default at each observation month: ids, balance and FEATURES
    (``loan_ids``: only those loans; empty = all)."""
    if not months:
        return pl.DataFrame(schema=FEATURE_SCHEMA)
    sample = Sample(tuple(months), keep_per_mille)
    params = _params(sample, max(months), branches, products, loan_ids) | {
        "never": NEVER_DELINQUENT, "ratings": list_param(schema.RATINGS)}
    return store.query(con, FEATURES_SQL, params, FEATURE_SCHEMA).select(list(FEATURE_SCHEMA))


def targets(con: duckdb.DuckDBPyConnection, *, months: tuple[dt.date, ...], horizon: int = HORIZON,
            keep_per_mille: int = 1000, branches: tuple[str, ...] = (), products: tuple[str, ...] = ()
            ) -> pl.DataFrame:
    """The target of each observation (same population as ``features``); only months whose whole
    performance window t+1 .. t+H is in the store."""
    last = store.months(con)[-1] if months else None
    labelled = tuple(m for m in months if last is not None and mo.add_months(m, horizon) <= last)
    if not labelled:
        return pl.DataFrame(schema=TARGET_SCHEMA)
    sample = Sample(labelled, keep_per_mille)
    params = _params(sample, mo.add_months(max(labelled), horizon), branches, products) | {"horizon": horizon}
    return store.query(con, TARGET_SQL, params, TARGET_SCHEMA)


def labelled_features(con: duckdb.DuckDBPyConnection, *, months: tuple[dt.date, ...], horizon: int = HORIZON,
                      keep_per_mille: int = 1000) -> pl.DataFrame:
    """Features joined to their target (observations without a full performance window dropped)."""
    y = targets(con, months=months, horizon=horizon, keep_per_mille=keep_per_mille)
    if y.is_empty():
        return pl.DataFrame(schema=FEATURE_SCHEMA | {"target": pl.Int8})
    x = features(con, months=tuple(sorted(set(y["month"].to_list()))), keep_per_mille=keep_per_mille)
    return x.join(y, on=["loan_id", "month"], how="inner", maintain_order="left")


def observation_months(con: duckdb.DuckDBPyConnection, *, horizon: int = HORIZON,
                       history: int = LOOKBACK) -> list[dt.date]:
    """Months that can be observation points: ``history`` months of lookback in the store before them
    (the month itself included) and the whole performance window after them."""
    all_months = store.months(con)
    if not all_months:
        return []
    first, last = all_months[0], all_months[-1]
    return [m for m in all_months
            if mo.months_between(first, m) >= history - 1 and mo.add_months(m, horizon) <= last]


def as_model_frame(df: pl.DataFrame, feature_names: tuple[str, ...] = FEATURES) -> pl.DataFrame:
    """The model's input columns in order (categoricals as strings)."""
    return df.select(feature_names)
