"""清收绩效 / Collection performance: KPIs per collector, team, branch and channel (DOMAIN.md §5, [CONV]).

Units and 口径 (every choice is a field of ``CollectionRules`` with its default in brackets):

- **Case** (案件): a loan overdue and on book at a month end, with a collector in that snapshot, is a case of
  that collector in the FOLLOWING month (the monthly queue; none after the latest snapshot month). Its **entry bucket** is its M-bucket at that
  month end (``rules.M_BUCKET_SQL``), its entry balance the outstanding principal then, its arrears the
  overdue principal + interest then. A quarter counts each loan once per month it is in a queue.
- **Worked** (已作业): the case has at least one action on that loan in that month. Coverage = worked ÷ assigned.
- **Contact KPIs** use the actions on ``contact_channels`` [phone, visit, outsourced] (SMS and letters are
  one-way notices, litigation is the legal route): attempts = those actions; connected = outcome in
  ``connected_outcomes`` [all but no_answer]; RPC = outcome in ``rpc_outcomes`` [rpc, ptp, partial/full
  payment, refused]; PTP = outcome ptp. Contact rate = connected ÷ attempts, RPC rate = RPC ÷ attempts,
  PTP rate = PTP ÷ RPC.
- **Promise kept** (承诺兑现): a promise is kept when the payments on the loan from the promise's action date
  to promised date + ``grace_days`` [3] (and not after the as-of date) add up to at least the promised
  amount; a promise whose deadline (promised date + grace) is after the as-of date and not yet kept is
  **pending**, never broken; otherwise broken. Kept rate by count = kept ÷ (kept + broken); by amount =
  Σ min(paid in window, promised) ÷ Σ promised, over kept + broken promises. A promise belongs to the
  period of its deadline month (``ptp_period="due"``, DOMAIN "PTPs falling due in period") or of the month
  it was made (``"made"``).
- **Cash** = Σ ``amount_collected`` of the actions (all channels); **cost** = Σ action ``cost``;
  cost to collect = cost ÷ cash; collected-amount rate (回款率) = cash ÷ arrears of the cases.
- **Recovery by entry bucket** (催回率): cases of entry bucket k in the period; cured = DPD 0 at the month end
  (on book or paid off) [``recovered_as="cured"``] or additionally "did not roll to a worse bucket" (cured,
  partly cured or stayed) [``"not_rolled"``]; rate by balance = entry balance of recovered cases ÷ entry
  balance of all cases; by count likewise; cash rate = cash on the cases ÷ their entry balance.
- **Productivity**: a collector is active in a month when it has a case or an action; working days =
  Monday-Friday of the month (``working_days``: a fixed number per month instead); contacts per collector
  per working day = RPC [``contact_measure="rpc"``, or ``"attempts"``] ÷ Σ active collector working days;
  amount per collector = cash ÷ average active headcount (active collector-months ÷ months in the period).
- **CEI** = (B_open + billed − B_close_total) ÷ (B_open + billed − B_close_current) × 100 over the cases:
  B_open = arrears at the entry month end, billed = the month's ``amount_due`` minus those arrears
  (``amount_due_includes_arrears`` [True]; else the whole ``amount_due``), B_close_total = arrears at the
  month end (a loan disposed of in the month keeps B_open + billed − paid: written off is not collected),
  B_close_current = closing arrears of cases at DPD ≤ ``current_dpd_max`` [0, i.e. none]. Summed over the
  months of the period before dividing.
- **Days to resolve** (处置天数): an episode starts at the first month end with DPD > 0 after a month end at
  DPD 0 (entry date = month end − DPD + 1) and is attributed to the collector of that snapshot; it is
  resolved at the first later month end at DPD 0 or paid off (resolution date = the last payment action of
  that month, else the month end), closed unresolved when written off, transferred or foreclosed first,
  and open (right-censored) when neither happened by the as-of date. Mean and median over resolved
  episodes; share open and share disposed of all episodes of the period.
- **Legal route** (诉讼): a loan whose first litigation action falls in the period (a new filing); the
  non-legal route: loans worked in the period with no litigation action up to the as-of date. Both are
  shown by the entry bucket at the start (the month end before the filing / the first action in the period):
  claim = outstanding principal + overdue interest then; recovered = cash on the loan from the start month
  to the as-of date; cost = cost of its actions in that time; concluded = the loan reached DPD 0 or left the
  book by the as-of date; success = concluded as ``success_ends`` [cured, paid_off, foreclosed] (the
  contract has no judgment field: a recovery or enforcement on collateral stands for a favourable
  outcome); enforcement recovery = recovered ÷ claim; cost-benefit = (recovered − cost) ÷ cost.
- Every rate comes with its denominator (n) and ``<rate>_small`` = denominator below ``min_n`` [30].
Groups: ``by`` = collector | team | branch (the collector's) | channel | total; ``freq`` = month | quarter.
Portfolio filters (branches, products) apply to the loans.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from analytics.core import months as mo
from analytics.core.expr import safe_div
from analytics.core.rules import M_BUCKET_LABELS, M_BUCKET_SQL
from analytics.core.schema import MONEY
from analytics.core.slice import SLICE_SQL, list_param, slice_params
from analytics.core.store import query

BY = ("collector", "team", "branch", "channel", "total")
FREQS = ("month", "quarter")
ROUTES = ("legal", "non_legal")
BUCKETS = tuple(range(1, len(M_BUCKET_LABELS)))  # entry buckets M1 .. M7+


@dataclass(frozen=True)
class CollectionRules:
    """The 口径 of the collection KPIs (see the module docstring); hashable so it passes through the cache."""

    grace_days: int = 3
    contact_channels: tuple[str, ...] = ("phone", "visit", "outsourced")
    connected_outcomes: tuple[str, ...] = ("rpc", "ptp", "partial_payment", "full_payment", "refused",
                                           "lost_contact")
    rpc_outcomes: tuple[str, ...] = ("rpc", "ptp", "partial_payment", "full_payment", "refused")
    ptp_period: str = "due"
    recovered_as: str = "cured"
    contact_measure: str = "rpc"
    working_days: int | None = None
    amount_due_includes_arrears: bool = True
    current_dpd_max: int = 0
    success_ends: tuple[str, ...] = ("cured", "paid_off", "foreclosed")
    min_n: int = 30


DEFAULT_RULES = CollectionRules()

# --- period helpers ----------------------------------------------------------------------------------


def month_end(month: dt.date) -> dt.date:
    return mo.add_months(month, 1) - dt.timedelta(days=1)


def _period(col: str, freq: str) -> pl.Expr:
    """The period of a first-of-month date column: itself, or the first month of its quarter."""
    c = pl.col(col)
    if freq == "month":
        return c.alias("period")
    return pl.date(c.dt.year(), (c.dt.month() - 1) // 3 * 3 + 1, 1).alias("period")


def _month_of(col: str) -> pl.Expr:
    return pl.col(col).dt.truncate("1mo")


def working_days(month: dt.date, fixed: int | None = None) -> int:
    """Monday-Friday days of ``month`` (or ``fixed``)."""
    if fixed is not None:
        return fixed
    start = np.datetime64(month, "D")
    return int(np.busday_count(start, np.datetime64(mo.add_months(month, 1), "D")))


def default_as_of(con: duckdb.DuckDBPyConnection) -> dt.date:
    """The last day of the latest snapshot month (or of the latest action month when later)."""
    df = query(con, "SELECT (SELECT max(month) FROM snapshots) AS s, (SELECT max(month) FROM collection_actions) AS a")
    latest = max(m for m in (df["s"][0], df["a"][0], mo.EARLIEST) if m is not None)
    return month_end(latest)


# --- base frames (one SQL each, slice-sized) ------------------------------------------------------------

C_BUCKET_SQL = M_BUCKET_SQL.replace("dpd", "c.dpd")  # the bucket of the row aliased c
S_BUCKET_SQL = M_BUCKET_SQL.replace("dpd", "s.dpd")

ACTIONS_SQL = """
SELECT a.month, a.action_id, a.loan_id, a.collector_id, a.action_date, a.channel, a.outcome,
       a.promised_amount, a.promised_date, a.amount_collected, a.cost
FROM collection_actions a JOIN loans l ON l.loan_id = a.loan_id
WHERE a.month BETWEEN $month_from AND $month_to AND """ + SLICE_SQL + """
  AND (len($collector_ids) = 0 OR list_contains($collector_ids, a.collector_id))"""  # noqa: S608 (constant fragments)

ACTIONS_SCHEMA = {"month": pl.Date, "action_id": pl.String, "loan_id": pl.String, "collector_id": pl.String,
                  "action_date": pl.Date, "channel": pl.String, "outcome": pl.String, "promised_amount": MONEY,
                  "promised_date": pl.Date, "amount_collected": MONEY, "cost": MONEY}

CASES_SQL = """
WITH q AS (
    SELECT CAST(s.month + INTERVAL 1 MONTH AS DATE) AS month, s.loan_id, s.collector_id,
           """ + M_BUCKET_SQL + """ AS entry_bucket, s.dpd AS entry_dpd, s.outstanding_principal AS entry_balance,
           s.overdue_principal + s.overdue_interest AS entry_arrears
    FROM snapshots s
    WHERE s.month BETWEEN $prev_from AND $prev_to AND s.dpd > 0 AND s.status = 'active'
      AND s.collector_id IS NOT NULL AND (len($collector_ids) = 0 OR list_contains($collector_ids, s.collector_id))
),
cur AS (
    SELECT month, loan_id, dpd, status, amount_due, amount_paid, overdue_principal + overdue_interest AS close_arrears
    FROM snapshots WHERE month BETWEEN $month_from AND $month_to AND loan_id IN (SELECT loan_id FROM q)
),
worked AS (
    SELECT DISTINCT month, loan_id FROM collection_actions WHERE month BETWEEN $month_from AND $month_to
)
SELECT q.month, q.loan_id, q.collector_id, q.entry_bucket, q.entry_balance, q.entry_arrears,
       w.loan_id IS NOT NULL AS worked, c.loan_id IS NOT NULL AS observed, c.dpd, c.status,
       """ + C_BUCKET_SQL + """ AS close_bucket,
       c.amount_due, c.amount_paid, c.close_arrears
FROM q JOIN loans l ON l.loan_id = q.loan_id
LEFT JOIN cur c ON c.loan_id = q.loan_id AND c.month = q.month
LEFT JOIN worked w ON w.loan_id = q.loan_id AND w.month = q.month
WHERE q.month <= (SELECT max(month) FROM snapshots) AND """ + SLICE_SQL  # noqa: S608 (constant fragments)

CASES_SCHEMA = {"month": pl.Date, "loan_id": pl.String, "collector_id": pl.String, "entry_bucket": pl.Int8,
                "entry_balance": MONEY, "entry_arrears": MONEY, "worked": pl.Boolean, "observed": pl.Boolean,
                "dpd": pl.Int32, "status": pl.String, "close_bucket": pl.Int8, "amount_due": MONEY,
                "amount_paid": MONEY, "close_arrears": MONEY}

COLLECTORS_SCHEMA = {"collector_id": pl.String, "collector_name": pl.String, "team": pl.String,
                     "collector_branch": pl.String}


def _range_params(month_from: dt.date, month_to: dt.date, branches, products) -> dict[str, object]:
    return {"month_from": month_from, "month_to": month_to} | slice_params(branches, products)


def collectors(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Collector id, name, team and branch (``collector_branch``)."""
    sql = "SELECT collector_id, collector_name, team, branch_id AS collector_branch FROM collectors ORDER BY 1"
    return query(con, sql, {}, COLLECTORS_SCHEMA)


def actions(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
            branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
            collector_ids: tuple[str, ...] = ()) -> pl.DataFrame:
    """The action rows of [month_from, month_to] on the slice's loans (by ``collector_ids``; empty = all)."""
    sql = ACTIONS_SQL + " ORDER BY a.month, a.collector_id, a.loan_id, a.action_date, a.action_id"
    params = _range_params(month_from, month_to, branches, products) | {"collector_ids": list_param(collector_ids)}
    return query(con, sql, params, ACTIONS_SCHEMA)


def cases(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
          branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
          collector_ids: tuple[str, ...] = ()) -> pl.DataFrame:
    """The cases of [month_from, month_to]: one row per loan and month in a collector's queue."""
    params = _range_params(month_from, month_to, branches, products) | {
        "collector_ids": list_param(collector_ids),
        "prev_from": mo.add_months(month_from, -1), "prev_to": mo.add_months(month_to, -1)}
    return query(con, CASES_SQL + " ORDER BY q.month, q.collector_id, q.loan_id", params, CASES_SCHEMA)


PROMISES_SQL = """
SELECT a.month, a.action_id, a.loan_id, a.collector_id, a.channel, a.action_date, a.promised_amount,
       a.promised_date, CAST(a.promised_date + $grace * INTERVAL 1 DAY AS DATE) AS deadline
FROM collection_actions a JOIN loans l ON l.loan_id = a.loan_id
WHERE a.month BETWEEN $scan_from AND $month_to AND a.outcome = 'ptp' AND list_contains($channels, a.channel)
  AND (a.month BETWEEN $month_from AND $month_to
       OR CAST(a.promised_date + $grace * INTERVAL 1 DAY AS DATE) BETWEEN $month_from AND $period_end)
  AND """ + SLICE_SQL  # noqa: S608 (constant fragments)

PAYMENTS_SQL = """
SELECT loan_id, action_date AS pay_date, amount_collected AS paid
FROM collection_actions
WHERE month BETWEEN $scan_from AND $as_of_month AND amount_collected > 0 AND action_date <= $as_of
  AND loan_id IN (SELECT unnest($loans))
"""

PROMISE_SCHEMA = {"month": pl.Date, "action_id": pl.String, "loan_id": pl.String, "collector_id": pl.String,
                  "channel": pl.String, "action_date": pl.Date, "promised_amount": MONEY, "promised_date": pl.Date,
                  "deadline": pl.Date}


def promises(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
             branches: tuple[str, ...] = (), products: tuple[str, ...] = (), as_of: dt.date | None = None,
             rules: CollectionRules = DEFAULT_RULES) -> pl.DataFrame:
    """Promises made or falling due in the period with their status: kept, broken or pending at ``as_of``.

    ``paid_in_window`` = payments on the loan from the promise date to min(deadline, as_of);
    ``kept_amount`` = min(paid_in_window, promised) on kept and broken promises (0 on pending ones);
    ``due_month`` = the deadline's month, ``month`` = the month the promise was made.
    """
    as_of = as_of or default_as_of(con)
    scan_from = mo.add_months(month_from, -12)
    params = _range_params(month_from, month_to, branches, products) | {
        "scan_from": scan_from, "period_end": month_end(month_to), "grace": rules.grace_days,
        "channels": list_param(rules.contact_channels)}
    p = query(con, PROMISES_SQL + " ORDER BY a.action_id", params, PROMISE_SCHEMA)
    pay_params = {"scan_from": scan_from, "as_of_month": mo.month_start(as_of), "as_of": as_of,
                  "loans": list_param(p["loan_id"].unique().to_list())}
    pays = query(con, PAYMENTS_SQL, pay_params, {"loan_id": pl.String, "pay_date": pl.Date, "paid": MONEY})
    window_end = pl.min_horizontal("deadline", pl.lit(as_of))
    paid = (p.lazy().select("action_id", "loan_id", "action_date", "deadline")
            .join(pays.lazy(), on="loan_id")
            .filter(pl.col("pay_date").is_between(pl.col("action_date"), window_end))
            .group_by("action_id").agg(pl.col("paid").sum().alias("paid_in_window")))
    promised = pl.col("promised_amount").cast(pl.Float64)
    got = pl.col("paid_in_window").cast(pl.Float64)
    return (
        p.lazy().join(paid, on="action_id", how="left")
        .with_columns(pl.col("paid_in_window").fill_null(0).cast(MONEY))
        .with_columns(
            pl.when(got >= promised).then(pl.lit("kept"))
            .when(pl.col("deadline") > as_of).then(pl.lit("pending"))
            .otherwise(pl.lit("broken")).alias("ptp_status"),
            _month_of("deadline").alias("due_month"),
        )
        .with_columns(pl.when(pl.col("ptp_status") == "pending").then(0)
                      .otherwise(pl.min_horizontal(got, promised)).cast(MONEY).alias("kept_amount"))
        .collect()
    )


# --- grouping --------------------------------------------------------------------------------------


def _group_cols(by: str) -> list[str]:
    if by not in BY:
        raise ValueError(f"by must be one of {BY}: {by!r}")
    return {"collector": ["collector_id", "collector_name", "team", "collector_branch"], "team": ["team"],
            "branch": ["collector_branch"], "channel": ["channel"], "total": []}[by]


def _with_collectors(df: pl.DataFrame, staff: pl.DataFrame) -> pl.DataFrame:
    return df.join(staff, on="collector_id", how="left")


def _flag_small(df: pl.DataFrame, rates: dict[str, str], min_n: int) -> pl.DataFrame:
    """``<rate>_small``: the rate's denominator (n) is below ``min_n``."""
    return df.with_columns((pl.col(den).fill_null(0) < min_n).alias(f"{rate}_small") for rate, den in rates.items())


def _action_measures(rules: CollectionRules) -> list[pl.Expr]:
    contact = pl.col("channel").is_in(rules.contact_channels)
    outcome = pl.col("outcome")
    return [
        pl.len().alias("actions"),
        contact.sum().alias("attempts"),
        (contact & outcome.is_in(rules.connected_outcomes)).sum().alias("connected"),
        (contact & outcome.is_in(rules.rpc_outcomes)).sum().alias("rpc"),
        (contact & (outcome == "ptp")).sum().alias("ptp"),
        pl.col("amount_collected").sum().cast(MONEY).alias("cash"),
        pl.col("cost").sum().cast(MONEY).alias("cost"),
    ]


def _recovered(rules: CollectionRules) -> pl.Expr:
    cured = (pl.col("dpd") == 0) & pl.col("status").is_in(["active", "paid_off"])
    if rules.recovered_as == "cured":
        return cured.fill_null(False)
    if rules.recovered_as == "not_rolled":
        return (cured | ((pl.col("status") == "active") & (pl.col("close_bucket") <= pl.col("entry_bucket")))
                ).fill_null(False)
    raise ValueError(f"recovered_as must be 'cured' or 'not_rolled': {rules.recovered_as!r}")


def _cei_parts(rules: CollectionRules) -> list[pl.Expr]:
    f = lambda c: pl.col(c).cast(pl.Float64)  # noqa: E731
    billed = (f("amount_due") - f("entry_arrears")).clip(lower_bound=0) if rules.amount_due_includes_arrears \
        else f("amount_due")
    disposed = pl.col("status").is_in(["written_off", "transferred", "foreclosed"])
    close_total = pl.when(disposed).then(f("entry_arrears") + billed - f("amount_paid")).otherwise(f("close_arrears"))
    close_current = pl.when(pl.col("dpd") <= rules.current_dpd_max).then(f("close_arrears")).otherwise(0.0)
    observed = pl.col("observed")
    base = f("entry_arrears") + billed
    return [pl.when(observed).then(base - close_total).otherwise(0.0).sum().alias("cei_num"),
            pl.when(observed).then(base - close_current).otherwise(0.0).sum().alias("cei_den")]


def _case_measures(rules: CollectionRules) -> list[pl.Expr]:
    recovered = _recovered(rules)
    return [
        pl.len().alias("cases_assigned"),
        pl.col("worked").sum().alias("cases_worked"),
        pl.col("entry_balance").sum().cast(MONEY).alias("entry_balance"),
        pl.col("entry_arrears").sum().cast(MONEY).alias("arrears"),
        recovered.sum().alias("cases_recovered"),
        pl.when(recovered).then(pl.col("entry_balance")).otherwise(0).sum().cast(MONEY).alias("recovered_balance"),
        *_cei_parts(rules),
    ]


def _active_days(acts: pl.DataFrame, case_rows: pl.DataFrame, keys: list[str], freq: str,
                 rules: CollectionRules) -> pl.DataFrame:
    """Active collector-months and their working days per period and group."""
    cols = list(dict.fromkeys(["month", "collector_id", *[k for k in keys if k != "channel"]]))
    pool = [acts.select(*cols, *(["channel"] if "channel" in keys else []))]
    if "channel" not in keys:
        pool.append(case_rows.select(cols))
    active = pl.concat(pool, how="vertical_relaxed").unique()
    months_in = sorted(active["month"].unique().to_list())
    days = pl.DataFrame({"month": months_in, "wd": [working_days(m, rules.working_days) for m in months_in]},
                        schema={"month": pl.Date, "wd": pl.Int64})
    return (active.join(days, on="month").with_columns(_period("month", freq))
            .group_by("period", *keys).agg(pl.len().alias("collector_months"), pl.col("wd").sum().alias("working_days")))


RATES = {  # rate -> its denominator column (the n shown next to it)
    "coverage": "cases_assigned", "contact_rate": "attempts", "rpc_rate": "attempts", "ptp_rate": "rpc",
    "ptp_kept_rate_count": "ptp_due", "ptp_kept_rate_balance": "ptp_due", "recovery_rate_count": "cases_assigned",
    "recovery_rate_balance": "cases_assigned", "cash_rate": "cases_assigned", "cost_to_collect": "actions",
}


def collection_kpis(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date, by: str = "collector",
                    freq: str = "quarter", branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
                    as_of: dt.date | None = None, rules: CollectionRules = DEFAULT_RULES) -> pl.DataFrame:
    """One row per period and group with every collection KPI, its numerator, denominator and small-n flag."""
    frames = base_frames(con, month_from=month_from, month_to=month_to, branches=branches, products=products,
                         as_of=as_of, rules=rules)
    return kpis_from_frames(frames, month_from=month_from, month_to=month_to, by=by, freq=freq, rules=rules)


@dataclass(frozen=True)
class BaseFrames:
    """The period's actions, cases and promises, each with the collector's name, team and branch."""

    actions: pl.DataFrame
    cases: pl.DataFrame
    promises: pl.DataFrame


def base_frames(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
                branches: tuple[str, ...] = (), products: tuple[str, ...] = (), as_of: dt.date | None = None,
                rules: CollectionRules = DEFAULT_RULES) -> BaseFrames:
    """One query each for the actions, cases and promises of [month_from, month_to] (shared by the KPIs and
    the scorecard)."""
    staff = collectors(con)
    scope = {"month_from": month_from, "month_to": month_to, "branches": branches, "products": products}
    return BaseFrames(_with_collectors(actions(con, **scope), staff), _with_collectors(cases(con, **scope), staff),
                      _with_collectors(promises(con, as_of=as_of, rules=rules, **scope), staff))


def kpis_from_frames(frames: BaseFrames, *, month_from: dt.date, month_to: dt.date, by: str = "collector",
                     freq: str = "quarter", rules: CollectionRules = DEFAULT_RULES) -> pl.DataFrame:
    """``collection_kpis`` on frames already read (see ``base_frames``)."""
    if freq not in FREQS:
        raise ValueError(f"freq must be one of {FREQS}: {freq!r}")
    keys = _group_cols(by)
    acts, case_rows, prom = frames.actions, frames.cases, frames.promises
    prom_month = "due_month" if rules.ptp_period == "due" else "month"
    prom = prom.filter(pl.col(prom_month).is_between(month_from, month_to))

    a = acts.lazy().with_columns(_period("month", freq)).group_by("period", *keys).agg(_action_measures(rules))
    p = (prom.lazy().with_columns(_period(prom_month, freq)).group_by("period", *keys).agg(
        (pl.col("ptp_status") != "pending").sum().alias("ptp_due"),
        (pl.col("ptp_status") == "kept").sum().alias("ptp_kept"),
        (pl.col("ptp_status") == "broken").sum().alias("ptp_broken"),
        (pl.col("ptp_status") == "pending").sum().alias("ptp_pending"),
        pl.when(pl.col("ptp_status") != "pending").then(pl.col("promised_amount")).otherwise(0).sum().cast(MONEY)
        .alias("promised_due_amount"),
        pl.col("kept_amount").sum().cast(MONEY).alias("kept_amount"),
    ))
    if by == "channel":  # a channel has no queue: cases worked = loan-months with an action on that channel
        c = (acts.lazy().with_columns(_period("month", freq)).group_by("period", "channel")
             .agg(pl.struct("month", "loan_id").n_unique().alias("cases_worked")))
    else:
        c = case_rows.lazy().with_columns(_period("month", freq)).group_by("period", *keys).agg(_case_measures(rules))
    days = _active_days(acts, case_rows, keys, freq, rules).lazy()
    n_months = {"month": 1, "quarter": 3}[freq]
    on = ["period", *keys]
    frames = [c, a, p, days]
    out = frames[0]
    for other in frames[1:]:
        out = out.join(other, on=on, how="full", coalesce=True, nulls_equal=True)
    out = out.collect()
    counts = ["cases_assigned", "cases_worked", "cases_recovered", "actions", "attempts", "connected", "rpc", "ptp",
              "ptp_due", "ptp_kept", "ptp_broken", "ptp_pending", "collector_months", "working_days"]
    money = ["entry_balance", "arrears", "recovered_balance", "cash", "cost", "promised_due_amount", "kept_amount"]
    for col in counts:
        if col not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Int64).alias(col))
    for col in money:
        if col not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=MONEY).alias(col))
    for col in ("cei_num", "cei_den"):
        if col not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias(col))
    fill = [pl.col(c).fill_null(0).cast(pl.Int64) for c in counts if c not in ("cases_assigned",)]
    fill += [pl.col(c).fill_null(0).cast(MONEY) for c in ("cash", "cost", "promised_due_amount", "kept_amount")]
    if by != "channel":
        fill.append(pl.col("cases_assigned").fill_null(0).cast(pl.Int64))
    out = out.with_columns(fill)
    contacts = pl.col("rpc") if rules.contact_measure == "rpc" else pl.col("attempts")
    out = out.with_columns(
        safe_div("cases_worked", "cases_assigned").alias("coverage"),
        safe_div("connected", "attempts").alias("contact_rate"),
        safe_div("rpc", "attempts").alias("rpc_rate"),
        safe_div("ptp", "rpc").alias("ptp_rate"),
        safe_div("ptp_kept", "ptp_due").alias("ptp_kept_rate_count"),
        safe_div("kept_amount", "promised_due_amount").alias("ptp_kept_rate_balance"),
        safe_div("cases_recovered", "cases_assigned").alias("recovery_rate_count"),
        safe_div("recovered_balance", "entry_balance").alias("recovery_rate_balance"),
        safe_div("cash", "arrears").alias("cash_rate"),
        safe_div("cost", "cash").alias("cost_to_collect"),
        safe_div(contacts, "working_days").alias("contacts_per_day"),
        safe_div(pl.col("collector_months").cast(pl.Float64), pl.lit(float(n_months))).alias("headcount"),
        (safe_div("cei_num", "cei_den") * 100).alias("cei"),
    ).with_columns(safe_div("cash", "headcount").alias("cash_per_collector"))
    out = _flag_small(out, RATES, rules.min_n)
    return out.sort("period", *keys, nulls_last=True)


# --- recovery by entry bucket, legal vs non-legal, days to resolve ---------------------------------------


def recovery_by_bucket(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
                       by: str = "total", freq: str = "quarter", branches: tuple[str, ...] = (),
                       products: tuple[str, ...] = (), rules: CollectionRules = DEFAULT_RULES) -> pl.DataFrame:
    """Per period, group and entry bucket: cases, entry balance, recovered cases and balance, cash on the cases."""
    keys = [k for k in _group_cols(by) if k != "channel"]
    staff = collectors(con)
    case_rows = _with_collectors(cases(con, month_from=month_from, month_to=month_to, branches=branches,
                                       products=products), staff)
    acts = actions(con, month_from=month_from, month_to=month_to, branches=branches, products=products)
    cash = acts.group_by("month", "loan_id").agg(pl.col("amount_collected").sum().cast(MONEY).alias("case_cash"))
    recovered = _recovered(rules)
    out = (
        case_rows.join(cash, on=["month", "loan_id"], how="left")
        .with_columns(_period("month", freq), pl.col("case_cash").fill_null(0))
        .group_by("period", *keys, "entry_bucket")
        .agg(pl.len().alias("cases"), pl.col("entry_balance").sum().cast(MONEY),
             recovered.sum().alias("cases_recovered"),
             pl.when(recovered).then(pl.col("entry_balance")).otherwise(0).sum().cast(MONEY).alias("recovered_balance"),
             pl.col("case_cash").sum().cast(MONEY).alias("cash"))
        .with_columns(
            pl.col("entry_bucket").replace_strict(dict(enumerate(M_BUCKET_LABELS)), return_dtype=pl.String)
            .alias("bucket"),
            safe_div("cases_recovered", "cases").alias("recovery_rate_count"),
            safe_div("recovered_balance", "entry_balance").alias("recovery_rate_balance"),
            safe_div("cash", "entry_balance").alias("cash_recovery_rate"),
        )
        .sort("period", *keys, "entry_bucket")
    )
    return _flag_small(out, {"recovery_rate_count": "cases", "recovery_rate_balance": "cases",
                             "cash_recovery_rate": "cases"}, rules.min_n)


ROUTES_SQL = """
WITH firsts AS (
    SELECT a.loan_id,
           min(a.month) FILTER (WHERE a.channel = 'litigation') AS legal_month,
           min(a.month) FILTER (WHERE a.month BETWEEN $month_from AND $month_to) AS first_month
    FROM collection_actions a WHERE a.month <= $as_of_month GROUP BY a.loan_id
),
routed AS (
    SELECT loan_id,
           CASE WHEN legal_month BETWEEN $month_from AND $month_to THEN 'legal'
                WHEN legal_month IS NULL AND first_month IS NOT NULL THEN 'non_legal' END AS route,
           CASE WHEN legal_month BETWEEN $month_from AND $month_to THEN legal_month ELSE first_month END AS start_month
    FROM firsts
),
cases AS (
    SELECT r.loan_id, r.route, r.start_month, """ + S_BUCKET_SQL + """ AS entry_bucket,
           s.outstanding_principal + s.overdue_interest AS claim
    FROM routed r JOIN loans l ON l.loan_id = r.loan_id
    JOIN (SELECT loan_id, month, dpd, outstanding_principal, overdue_interest FROM snapshots
          WHERE month BETWEEN $prev_from AND $prev_to AND dpd > 0) s
      ON s.loan_id = r.loan_id AND s.month = CAST(r.start_month - INTERVAL 1 MONTH AS DATE)
    WHERE r.route IS NOT NULL AND """ + SLICE_SQL + """
),
money AS (
    SELECT c.loan_id, sum(a.amount_collected) AS recovered, sum(a.cost) AS cost
    FROM cases c JOIN collection_actions a ON a.loan_id = c.loan_id AND a.month >= c.start_month
    WHERE a.month BETWEEN $month_from AND $as_of_month AND a.action_date <= $as_of
    GROUP BY c.loan_id
),
later AS (
    SELECT loan_id, month, status FROM snapshots
    WHERE month BETWEEN $month_from AND $as_of_month AND (dpd = 0 OR status <> 'active')
      AND loan_id IN (SELECT loan_id FROM cases)
),
ends AS (
    SELECT c.loan_id, arg_min(CASE WHEN s.status = 'active' THEN 'cured' ELSE s.status END, s.month) AS end_kind
    FROM cases c JOIN later s ON s.loan_id = c.loan_id AND s.month >= c.start_month
    GROUP BY c.loan_id
)
SELECT c.loan_id, c.route, c.start_month, c.entry_bucket, c.claim, coalesce(m.recovered, 0) AS recovered,
       coalesce(m.cost, 0) AS cost, e.end_kind
FROM cases c LEFT JOIN money m USING (loan_id) LEFT JOIN ends e USING (loan_id)
"""  # noqa: S608 (constant fragments)

ROUTE_CASES_SCHEMA = {"loan_id": pl.String, "route": pl.String, "start_month": pl.Date, "entry_bucket": pl.Int8,
                      "claim": MONEY, "recovered": MONEY, "cost": MONEY, "end_kind": pl.String}


def route_cases(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
                branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
                as_of: dt.date | None = None) -> pl.DataFrame:
    """The legal and non-legal cases of the period, one row per loan (see the module docstring)."""
    as_of = as_of or default_as_of(con)
    params = _range_params(month_from, month_to, branches, products) | {
        "as_of_month": mo.month_start(as_of), "as_of": as_of,
        "prev_from": mo.add_months(month_from, -1), "prev_to": mo.add_months(month_to, -1)}
    return query(con, ROUTES_SQL + " ORDER BY c.route, c.loan_id", params, ROUTE_CASES_SCHEMA)


def legal_vs_nonlegal(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
                      branches: tuple[str, ...] = (), products: tuple[str, ...] = (), as_of: dt.date | None = None,
                      rules: CollectionRules = DEFAULT_RULES) -> pl.DataFrame:
    """Per route and entry bucket (and ``bucket = "all"``): cases, concluded, success rate, enforcement
    recovery and cost-benefit."""
    rows = route_cases(con, month_from=month_from, month_to=month_to, branches=branches, products=products,
                       as_of=as_of)
    concluded = pl.col("end_kind").is_not_null()
    success = pl.col("end_kind").is_in(rules.success_ends).fill_null(False)
    measures = [pl.len().alias("cases"), concluded.sum().alias("concluded"), success.sum().alias("successful"),
                pl.col("claim").sum().cast(MONEY), pl.col("recovered").sum().cast(MONEY),
                pl.col("cost").sum().cast(MONEY)]
    labelled = rows.with_columns(
        pl.col("entry_bucket").replace_strict(dict(enumerate(M_BUCKET_LABELS)), return_dtype=pl.String).alias("bucket"))
    per_bucket = labelled.group_by("route", "entry_bucket", "bucket").agg(measures)
    total = labelled.group_by("route").agg(measures).with_columns(
        pl.lit(None, dtype=pl.Int8).alias("entry_bucket"), pl.lit("all").alias("bucket"))
    grid = pl.DataFrame({"route": list(ROUTES)})
    out = pl.concat([per_bucket, total.select(per_bucket.columns)])
    out = grid.join(out, on="route", how="left") if out.is_empty() else out
    rec, cost = pl.col("recovered").cast(pl.Float64), pl.col("cost").cast(pl.Float64)
    out = out.with_columns(
        safe_div("concluded", "cases").alias("concluded_rate"),
        safe_div("successful", "concluded").alias("success_rate"),
        safe_div("recovered", "claim").alias("enforcement_recovery"),
        safe_div(rec - cost, cost).alias("cost_benefit"),
    ).sort("route", pl.col("entry_bucket").fill_null(99))
    return _flag_small(out, {"success_rate": "concluded", "enforcement_recovery": "cases",
                             "cost_benefit": "cases"}, rules.min_n)


EPISODES_SQL = """
WITH cur AS (
    SELECT loan_id, month, dpd, collector_id FROM snapshots
    WHERE month BETWEEN $month_from AND $month_to AND dpd > 0 AND status = 'active'
),
entries AS (
    SELECT c.loan_id, c.month AS entry_month, c.dpd AS entry_dpd, c.collector_id, """ + C_BUCKET_SQL + """ AS entry_bucket
    FROM cur c
    JOIN (SELECT loan_id, month FROM snapshots
          WHERE month BETWEEN $prev_from AND $prev_to AND dpd = 0 AND status = 'active'
            AND loan_id IN (SELECT loan_id FROM cur)) p
      ON p.loan_id = c.loan_id AND p.month = CAST(c.month - INTERVAL 1 MONTH AS DATE)
    JOIN loans l ON l.loan_id = c.loan_id
    WHERE """ + SLICE_SQL + """
),
later AS (
    SELECT loan_id, month, status FROM snapshots
    WHERE month > $month_from AND month <= $as_of_month AND (dpd = 0 OR status <> 'active')
      AND loan_id IN (SELECT loan_id FROM entries)
),
ends AS (
    SELECT e.loan_id, e.entry_month, min(s.month) AS end_month, arg_min(s.status, s.month) AS end_status
    FROM entries e JOIN later s ON s.loan_id = e.loan_id AND s.month > e.entry_month
    GROUP BY ALL
),
pays AS (
    SELECT loan_id, month, max(action_date) AS pay_date FROM collection_actions
    WHERE month > $month_from AND month <= $as_of_month AND amount_collected > 0
      AND loan_id IN (SELECT loan_id FROM entries)
    GROUP BY ALL
)
SELECT e.loan_id, e.entry_month, e.entry_bucket, e.collector_id,
       CAST(last_day(e.entry_month) - (e.entry_dpd - 1) * INTERVAL 1 DAY AS DATE) AS entry_date,
       n.end_month, n.end_status,
       CAST(coalesce(y.pay_date, last_day(n.end_month)) AS DATE) AS end_date
FROM entries e
LEFT JOIN ends n ON n.loan_id = e.loan_id AND n.entry_month = e.entry_month
LEFT JOIN pays y ON y.loan_id = e.loan_id AND y.month = n.end_month
"""  # noqa: S608 (constant fragments)

EPISODE_SCHEMA = {"loan_id": pl.String, "entry_month": pl.Date, "entry_bucket": pl.Int8, "collector_id": pl.String,
                  "entry_date": pl.Date, "end_month": pl.Date, "end_status": pl.String, "end_date": pl.Date}


def episodes(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
             branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
             as_of: dt.date | None = None) -> pl.DataFrame:
    """Overdue episodes entering in the period: ``outcome`` resolved | disposed | open and ``days``."""
    as_of = as_of or default_as_of(con)
    params = _range_params(month_from, month_to, branches, products) | {
        "prev_from": mo.add_months(month_from, -1), "prev_to": mo.add_months(month_to, -1),
        "as_of_month": mo.month_start(as_of)}
    df = query(con, EPISODES_SQL + " ORDER BY e.entry_month, e.loan_id", params, EPISODE_SCHEMA)
    resolved = pl.col("end_status").is_in(["active", "paid_off"])
    return df.with_columns(
        pl.when(pl.col("end_status").is_null()).then(pl.lit("open"))
        .when(resolved).then(pl.lit("resolved")).otherwise(pl.lit("disposed")).alias("outcome"),
        pl.when(resolved).then((pl.col("end_date") - pl.col("entry_date")).dt.total_days()).alias("days"),
    )


def resolution_times(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
                     by: str = "collector", freq: str = "quarter", branches: tuple[str, ...] = (),
                     products: tuple[str, ...] = (), as_of: dt.date | None = None,
                     rules: CollectionRules = DEFAULT_RULES) -> pl.DataFrame:
    """Average and median days to resolve over resolved episodes, with the shares open and disposed."""
    keys = [k for k in _group_cols(by) if k != "channel"]
    eps = _with_collectors(episodes(con, month_from=month_from, month_to=month_to, branches=branches,
                                    products=products, as_of=as_of), collectors(con))
    out = (eps.with_columns(_period("entry_month", freq)).group_by("period", *keys).agg(
        pl.len().alias("episodes"), (pl.col("outcome") == "resolved").sum().alias("resolved"),
        (pl.col("outcome") == "disposed").sum().alias("disposed"), (pl.col("outcome") == "open").sum().alias("open"),
        pl.col("days").mean().alias("mean_days"), pl.col("days").median().alias("median_days"))
        .with_columns(safe_div("open", "episodes").alias("share_open"),
                      safe_div("disposed", "episodes").alias("share_disposed"))
        .sort("period", *keys, nulls_last=True))
    return _flag_small(out, {"mean_days": "resolved", "share_open": "episodes"}, rules.min_n)


# --- drill -------------------------------------------------------------------------------------------------


def _drill_filter(df: pl.DataFrame, by: str, key: str | None) -> pl.DataFrame:
    cols = _group_cols(by)
    if not cols or key is None:
        return df
    return df.filter(pl.col(cols[0]) == key)


def _drill_collectors(staff: pl.DataFrame, by: str, key: str | None) -> tuple[str, ...]:
    """The collectors of a collector / team / branch row (pushed into the SQL); () = no restriction."""
    if by in ("channel", "total") or key is None:
        return ()
    col = _group_cols(by)[0]
    chosen = tuple(staff.filter(pl.col(col) == key)["collector_id"].to_list())
    if chosen:
        return chosen
    return (key,) if by == "collector" else ("",)  # "" matches no collector: an empty result


def drill_actions(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date, by: str = "collector",
                  key: str | None = None, branches: tuple[str, ...] = (), products: tuple[str, ...] = ()
                  ) -> pl.DataFrame:
    """The actions behind a row of ``collection_kpis`` (``key`` = the row's collector id / team / branch /
    channel): their count, Σ amount_collected and Σ cost equal the row's actions, cash and cost."""
    staff = collectors(con)
    acts = _with_collectors(actions(con, month_from=month_from, month_to=month_to, branches=branches,
                                    products=products, collector_ids=_drill_collectors(staff, by, key)), staff)
    return _drill_filter(acts, by, key)


def drill_cases(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date, by: str = "collector",
                key: str | None = None, branches: tuple[str, ...] = (), products: tuple[str, ...] = ()
                ) -> pl.DataFrame:
    """The cases behind a row of ``collection_kpis``: their count, worked count and Σ entry balance equal the
    row's cases assigned, cases worked and entry balance (not defined for ``by="channel"``)."""
    if by == "channel":
        raise ValueError("a channel has no queue of cases; drill to its actions")
    staff = collectors(con)
    rows = _with_collectors(cases(con, month_from=month_from, month_to=month_to, branches=branches,
                                  products=products, collector_ids=_drill_collectors(staff, by, key)), staff)
    return _drill_filter(rows, by, key)


# --- the quarterly review (executive pack) -----------------------------------------------------------------

REVIEW_COLUMNS = ("group", "cases_assigned", "coverage", "rpc_rate", "ptp_kept_rate_count", "cash", "cost",
                  "cost_to_collect", "recovery_rate_balance", "cei", "cash_prev", "recovery_rate_balance_prev",
                  "legal_cases", "legal_cost_benefit")


def quarterly_review(con: duckdb.DuckDBPyConnection, *, quarter: dt.date, by: str = "team",
                     branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
                     rules: CollectionRules = DEFAULT_RULES) -> pl.DataFrame:
    """The quarterly collection-efficiency review (清收效果评估): one row per ``by`` group and a ``total`` row,
    with the quarter's key KPIs, last quarter's cash and recovery rate, and the legal route's cases and
    cost-benefit (the legal columns on the total row only). ``group`` holds the team / branch code."""
    start = mo.quarter_start(quarter)
    end, prev = mo.quarter_end(start), mo.add_months(start, -3)
    keep = ["cases_assigned", "coverage", "rpc_rate", "ptp_kept_rate_count", "cash", "cost", "cost_to_collect",
            "recovery_rate_balance", "cei"]
    rows = []
    for grouping in (by, "total"):
        col = _group_cols(grouping)
        now = collection_kpis(con, month_from=start, month_to=end, by=grouping, branches=branches,
                              products=products, rules=rules)
        before = collection_kpis(con, month_from=prev, month_to=mo.quarter_end(prev), by=grouping,
                                 branches=branches, products=products, rules=rules)
        label = pl.col(col[0]).alias("group") if col else pl.lit("total").alias("group")
        cur = now.select(label, *keep)
        old = before.select(label, pl.col("cash").alias("cash_prev"),
                            pl.col("recovery_rate_balance").alias("recovery_rate_balance_prev"))
        rows.append(cur.join(old, on="group", how="left"))
    legal = legal_vs_nonlegal(con, month_from=start, month_to=end, branches=branches, products=products, rules=rules)
    legal_all = legal.filter((pl.col("route") == "legal") & (pl.col("bucket") == "all"))
    out = pl.concat(rows, how="vertical_relaxed").with_columns(
        pl.when(pl.col("group") == "total").then(pl.lit(legal_all["cases"].sum() if legal_all.height else 0))
        .cast(pl.Int64).alias("legal_cases"),
        pl.when(pl.col("group") == "total").then(pl.lit(legal_all["cost_benefit"][0] if legal_all.height else None,
                                                        dtype=pl.Float64)).alias("legal_cost_benefit"),
    )
    return out.select(REVIEW_COLUMNS)


def action_months(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """The months holding collection actions, ascending."""
    return query(con, "SELECT DISTINCT month FROM collection_actions ORDER BY month")["month"].to_list()


def period_range(period: dt.date, freq: str) -> tuple[dt.date, dt.date]:
    """The first and last month of the month or quarter starting at ``period``."""
    if freq == "month":
        return period, period
    return mo.quarter_start(period), mo.quarter_end(period)
