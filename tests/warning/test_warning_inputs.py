"""The early-warning rules read the derived ``warning_inputs`` table: the same rows, flags and backtest as the
row-level spelling they replaced (every loan-month self-joined to its previous month and its 6-month payment sums),
through the built view and through the inline fallback (a store version without derived tables)."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import derived
from analytics.core import store
from analytics.core.slice import MANAGED_SLICE_SQL, slice_params
from analytics.warning import backtest as bt
from analytics.warning import rules as R
from analytics.warning import signals as S

# The query of the warning signals before ``warning_inputs`` existed (kept here as the reference).
ROW_LEVEL_SQL = """
WITH t AS (
  SELECT m.month, o.k, CAST(m.month - o.k * INTERVAL 1 MONTH AS DATE) AS src
  FROM (SELECT DISTINCT month FROM snapshots WHERE month BETWEEN $month_from AND $month_to) m
  CROSS JOIN (SELECT unnest(range(6)) AS k) o
), pay AS (
  SELECT t.month, x.loan_id,
    sum(x.amount_paid) FILTER (WHERE t.k < 3) AS paid_3, sum(x.amount_due) FILTER (WHERE t.k < 3) AS due_3,
    sum(x.amount_paid) FILTER (WHERE t.k >= 3) AS paid_prior, sum(x.amount_due) FILTER (WHERE t.k >= 3) AS due_prior
  FROM t JOIN snapshots x ON x.month = t.src
  GROUP BY t.month, x.loan_id
), b AS (
  SELECT s.month, s.loan_id, l.customer_id, s.branch_id, l.product, s.outstanding_principal AS balance, s.dpd,
    p.dpd AS prev_dpd, s.booked_class, s.restructured, s.collateral_value, s.amount_due, s.amount_paid,
    s.overdue_principal + s.overdue_interest AS overdue_amount, s.collector_id,
    w.paid_3, w.due_3, w.paid_prior, w.due_prior
  FROM snapshots s JOIN loans l USING (loan_id)
  LEFT JOIN snapshots p ON p.loan_id = s.loan_id AND p.month = CAST(s.month - INTERVAL 1 MONTH AS DATE)
    AND p.status = 'active'
  LEFT JOIN pay w ON w.loan_id = s.loan_id AND w.month = s.month
  WHERE s.month BETWEEN $month_from AND $month_to AND s.status = 'active' AND """ + MANAGED_SLICE_SQL + """
), f AS (
  SELECT b.*, """ + ",\n    ".join(f"coalesce({sql}, false) AS f_{code}" for code, sql in S.FLAG_SQL.items()) + """
  FROM b
)
SELECT f.*, least(""" + ", ".join(f"CASE WHEN f_{c} THEN $rank_{c} END" for c in S.FLAG_SQL) + """)::TINYINT AS rule_rank
FROM f"""  # noqa: S608 (fixed signal codes; every value is a bound parameter)

SLICES = [((), ()), (("B03",), ("consumer",))]
# a stricter table: every crossing window wider, LTV and payment-fall limits lower, ranks moved
STRICT = {"signals": {"cross_91": {"days": 60}, "ltv_high": {"limit": 0.5}, "pay_ratio_fall": {"drop": 0.1},
                      "missed_payment": {"level": "orange"}}}


def _rules(table):
    return R.parse(table)


@pytest.fixture(scope="module")
def bare_con(demo_root):
    """The demo store's base tables only (the inline fallback of every derived table)."""
    con = store.connect_manifest(demo_root, store.current_manifest(demo_root), derived=False)
    yield con
    con.close()


@pytest.mark.parametrize("branches,products", SLICES)
@pytest.mark.parametrize("rules", ["", STRICT])
def test_rule_frame_equals_the_row_level_query(demo_con, bare_con, branches, products, rules):
    assert derived.has_view(demo_con, "warning_inputs") and not derived.has_view(bare_con, "warning_inputs")
    months = store.months(demo_con)
    m_from, m_to = months[-6], months[-1]
    rules_d = _rules(rules)
    params = S._params(rules_d, m_from, m_to, branches, products)
    params.pop("loan_ids")
    want = store.query(demo_con, ROW_LEVEL_SQL, params, S.FRAME_SCHEMA).sort("month", "loan_id")
    assert want.height >= 100 and want["rule_rank"].is_not_null().sum() >= 10  # many rows, some warned
    for con in (demo_con, bare_con):
        got = S.rule_frame(con, month_from=m_from, month_to=m_to, rules=rules_d, branches=branches,
                           products=products).sort("month", "loan_id")
        assert_frame_equal(got, want)


def test_rule_frame_for_chosen_loans(demo_con, bare_con):
    months = store.months(demo_con)
    full = S.rule_frame(demo_con, month_from=months[-2], month_to=months[-1], rules=_rules(""), warned_only=True)
    loans = tuple(sorted(full["loan_id"].unique().to_list())[:7])
    want = full.filter(full["loan_id"].is_in(list(loans))).sort("month", "loan_id")
    for con in (demo_con, bare_con):
        got = S.rule_frame(con, month_from=months[-2], month_to=months[-1], rules=_rules(""), warned_only=True,
                           loan_ids=loans).sort("month", "loan_id")
        assert_frame_equal(got, want)
        assert got["loan_id"].n_unique() == 7


@pytest.mark.parametrize("branches,products", [((), ()), ((), ("consumer",))])
def test_dpd90_equals_the_snapshot_self_join(demo_con, bare_con, branches, products):
    months = store.months(demo_con)
    sql = """
SELECT s.loan_id, s.month, s.dpd, p.dpd AS prev_dpd
FROM snapshots s JOIN loans l USING (loan_id)
LEFT JOIN snapshots p ON p.loan_id = s.loan_id AND p.month = CAST(s.month - INTERVAL 1 MONTH AS DATE)
  AND p.status = 'active'
WHERE s.month BETWEEN $month_from AND $month_to AND s.status = 'active' AND s.dpd > 90 AND """ + MANAGED_SLICE_SQL
    schema = {"loan_id": pl.String, "month": pl.Date, "dpd": pl.Int32, "prev_dpd": pl.Int32}
    want = store.query(demo_con, sql, {"month_from": months[0], "month_to": months[-1],
                                       **slice_params(branches, products)}, schema).sort("month", "loan_id")
    assert want.height >= 10
    for con in (demo_con, bare_con):
        got = bt.dpd90(con, month_from=months[0], month_to=months[-1], branches=branches, products=products)
        assert_frame_equal(got.sort("month", "loan_id"), want)


def test_backtest_same_on_view_and_inline(demo_con, bare_con):
    a = bt.backtest(demo_con, months=4, rules=_rules(STRICT))
    b = bt.backtest(bare_con, months=4, rules=_rules(STRICT))
    assert a["months"] == b["months"] and len(a["months"]) == 4
    for key in ("precision", "precision_total", "recall", "workload"):
        assert_frame_equal(a[key], b[key])
    assert a["precision_total"]["warned"].sum() > 0

