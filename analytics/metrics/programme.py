"""Programme effect evaluation (清收措施及效果评估): the reduction programme's targets since its start month.

口径 [CONV], each target a saved parameter (``DEFAULT_TARGETS``, versioned with ``analytics.core.config``):

- ``new_loan_npl_ratio`` — NPL balance ÷ outstanding balance, at the as-of month, of loans originated in or after
  the start month (a ceiling, default 1%);
- ``recovery_rate`` — share of the overdue balance at the start (the month end before the start month) resolved
  by the as-of month: cured, repaid in full or collected in cash, i.e. −(cured + repaid + cash_recovered) of the
  overdue bridge from the start to the as-of month ÷ its opening balance (a floor, default 80%);
- ``overdue_ratio_drop`` — relative fall of the overdue ratio (balance) from the start to min(as-of, start + 6
  months): (start ratio − ratio then) ÷ start ratio (a floor, default 5%; the seed's range is 5–10%);
- ``legal_benefit`` — (cash collected − cost) ÷ cost of litigation actions since the start (a floor, default 0:
  the legal route at least pays for itself);
- ``satisfaction`` — satisfied surveys ÷ surveys with a score of the return visits (回访) from the start to the as-of
  month (a floor, default 85%, the seed's 满意度 ≥ 85%; ``analytics.metrics.satisfaction``; the branch filter
  applies, the product filter does not: a survey is of the customer). The sample size is the number of surveys.

Status: ``met`` when the target is reached; ``at_risk`` when it is not yet reached but within ``tolerance``
(relative, default 10%) of it, or when the six-month window of the overdue-ratio target is still running;
``missed`` otherwise; ``no_data`` when there is nothing to measure. The sample size (loans) is given with each.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics.core.months import add_months, months_between
from analytics.core.slice import slice_params
from analytics.core.store import months, query
from analytics.metrics import bridge, portfolio
from analytics.metrics import satisfaction as sat

DEFAULT_TARGETS: dict = {
    "start_month": None,  # ISO date of the programme start; default: 6 months before the as-of month
    "new_loan_npl_ratio": 0.01,
    "recovery_rate": 0.80,
    "overdue_ratio_drop": 0.05,
    "legal_benefit": 0.0,
    "satisfaction": 0.85,
    "tolerance": 0.10,
}
KINDS = {"new_loan_npl_ratio": "ceiling", "recovery_rate": "floor", "overdue_ratio_drop": "floor",
         "legal_benefit": "floor", "satisfaction": "floor"}

_NEW_LOANS_SQL = """
SELECT count(*)::BIGINT AS n,
       coalesce(sum(s.outstanding_principal), 0) AS total_balance,
       coalesce(sum(s.outstanding_principal) FILTER (WHERE s.booked_class >= 3), 0) AS npl_balance
FROM snapshots s JOIN loans l USING (loan_id)
WHERE s.month = $month AND s.status = 'active' AND l.origination_date >= $start
  AND (len($branches) = 0 OR list_contains($branches, """ + bridge.BRANCH_SQL + """))
  AND (len($products) = 0 OR list_contains($products, l.product))
"""  # noqa: S608 (constant SQL fragments only)

_LEGAL_SQL = """
SELECT count(DISTINCT a.loan_id)::BIGINT AS n, coalesce(sum(a.amount_collected), 0) AS collected,
       coalesce(sum(a.cost), 0) AS cost
FROM collection_actions a JOIN loans l USING (loan_id)
LEFT JOIN snapshots s ON s.loan_id = a.loan_id AND s.month = a.month
WHERE a.channel = 'litigation' AND a.month BETWEEN $start AND $month
  AND (len($branches) = 0 OR list_contains($branches, coalesce(s.branch_id, l.branch_id)))
  AND (len($products) = 0 OR list_contains($products, l.product))
"""  # noqa: S608 (constant SQL fragments only)

STATUS_SCHEMA = {"target": pl.String, "value": pl.Float64, "goal": pl.Float64, "kind": pl.String,
                 "status": pl.String, "loans_count": pl.Int64, "window_end": pl.Date}


def _status(value: float | None, goal: float, kind: str, tolerance: float, running: bool = False) -> str:
    if value is None:
        return "no_data"
    met = value <= goal if kind == "ceiling" else value >= goal
    if met:
        return "met"
    near = value <= goal * (1 + tolerance) if kind == "ceiling" else value >= goal - abs(goal) * tolerance
    return "at_risk" if running or near else "missed"


def default_start(as_of: dt.date) -> dt.date:
    return add_months(as_of, -6)


def programme_status(con: duckdb.DuckDBPyConnection, *, as_of: dt.date, start_month: dt.date,
                     branches: tuple[str, ...] = (), products: tuple[str, ...] = (), new_loan_npl_ratio: float = 0.01,
                     recovery_rate: float = 0.80, overdue_ratio_drop: float = 0.05, legal_benefit: float = 0.0,
                     tolerance: float = 0.10, satisfaction: float = 0.85) -> pl.DataFrame:
    """One row per programme target: value, goal, status, sample size and the end of its window."""

    params = slice_params(branches, products)
    rows = []
    new = query(con, _NEW_LOANS_SQL, params | {"month": as_of, "start": start_month}).row(0, named=True)
    ratio = float(new["npl_balance"]) / float(new["total_balance"]) if new["total_balance"] else None
    rows.append(("new_loan_npl_ratio", ratio, new_loan_npl_ratio, new["n"], as_of, False))

    opening = add_months(start_month, -1)
    if opening in months(con):
        b = bridge.bridge(con, measure="overdue", open_month=opening, close_month=as_of, branches=branches,
                          products=products)
        amount = dict(zip(b["line"], b["amount"].cast(pl.Float64), strict=True))
        counts = dict(zip(b["line"], b["loans_count"], strict=True))
        resolved = -(amount["cured"] + amount["repaid"] + amount["cash_recovered"])
        rate = resolved / amount["opening"] if amount["opening"] else None
        rows.append(("recovery_rate", rate, recovery_rate, counts["opening"], as_of, False))
    else:
        rows.append(("recovery_rate", None, recovery_rate, 0, as_of, False))

    window_end = min(add_months(start_month, 6), as_of)
    trend = portfolio.quality_by(con, branches=branches, products=products, month_from=opening, month_to=window_end)
    at = {r["month"]: r for r in trend.iter_rows(named=True)}
    drop = None
    if opening in at and window_end in at and at[opening]["overdue_ratio_balance"]:
        start_ratio = at[opening]["overdue_ratio_balance"]
        drop = (start_ratio - at[window_end]["overdue_ratio_balance"]) / start_ratio
    running = months_between(start_month, as_of) < 6
    rows.append(("overdue_ratio_drop", drop, overdue_ratio_drop, at.get(window_end, {}).get("total_count", 0),
                 window_end, running))

    legal = query(con, _LEGAL_SQL, params | {"start": start_month, "month": as_of}).row(0, named=True)
    cost = float(legal["cost"])
    benefit = (float(legal["collected"]) - cost) / cost if cost else None
    rows.append(("legal_benefit", benefit, legal_benefit, legal["n"], as_of, False))

    rate, surveys = sat.period_rate(con, month_from=start_month, month_to=as_of, branches=branches)
    rows.append(("satisfaction", rate, satisfaction, surveys, as_of, False))

    return pl.DataFrame(
        [{"target": t, "value": v, "goal": g, "kind": KINDS[t], "status": _status(v, g, KINDS[t], tolerance, run),
          "loans_count": n, "window_end": w} for t, v, g, n, w, run in rows], schema=STATUS_SCHEMA)
