"""Loan-level warning signals and levels as of a month, level changes, the crossing calendar, handling status and
portfolio-level limits (DOMAIN.md §7; the 口径 are in docs/warning.md).

- On book = snapshot status ``active`` at the month; balance = outstanding principal.
- Crossing: for an overdue loan (DPD >= 1) the next threshold is the smallest T in (91, 271, 361) above its DPD;
  ``days_to_next = T - DPD`` and ``crossing_date = month end + days_to_next`` (the calendar day on which its DPD
  reaches T if it pays nothing; the month-end DPD is the DPD on the last day of the month).
- Signals are SQL conditions with bound parameters from the rule table (``rules.py``); the PD signals are added
  from a scored book when a model exists (``model=`` given), otherwise they are absent ("no model trained").
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics import derived
from analytics.core import months as mo
from analytics.core.slice import MANAGED_SLICE_SQL, list_param, slice_params, slice_sql
from analytics.core.store import query
from analytics.warning import rules as R

T1, T2, T3 = R.THRESHOLDS

FLAG_SQL = {
    "cross_91_soon": "b.dpd BETWEEN 1 AND $t1 - 1 AND $t1 - b.dpd <= $cross_91_soon_days",
    "cross_91": "b.dpd BETWEEN 1 AND $t1 - 1 AND $t1 - b.dpd > $cross_91_soon_days AND $t1 - b.dpd <= $cross_91_days",
    "cross_271": "b.dpd BETWEEN $t1 AND $t2 - 1 AND $t2 - b.dpd <= $cross_271_days",
    "cross_361": "b.dpd BETWEEN $t2 AND $t3 - 1 AND $t3 - b.dpd <= $cross_361_days",
    "roll_m1_m2": "b.prev_dpd BETWEEN 1 AND 30 AND b.dpd BETWEEN 31 AND 60",
    "roll_c_m1": "b.prev_dpd = 0 AND b.dpd BETWEEN 1 AND 30",
    "missed_payment": "b.amount_due > 0 AND b.amount_paid < b.amount_due",
    "ltv_high": "b.collateral_value > 0 AND b.balance / b.collateral_value > $ltv_high_limit",
    "restructured": "b.restructured",
    "pay_ratio_fall": ("b.due_prior > 0 AND b.due_3 > 0 AND "
                       "b.paid_prior / b.due_prior - b.paid_3 / b.due_3 >= $pay_ratio_fall_drop"),
}
SQL_SIGNALS = tuple(FLAG_SQL)
ALL_SIGNALS = tuple(R.SIGNALS)

# Over ``warning_inputs`` (``{src}``: the derived view, or its SQL inline), the slice and the loans chosen.
_RULES_SQL = """
WITH b AS (
  SELECT * FROM {src} b
  WHERE b.month BETWEEN $month_from AND $month_to AND """ + slice_sql("b.branch_id", "b.product") + """
    AND (len($loan_ids) = 0 OR list_contains($loan_ids, b.loan_id))
), f AS (
  SELECT b.*, """ + ",\n    ".join(f"coalesce({sql}, false) AS f_{code}" for code, sql in FLAG_SQL.items()) + """
  FROM b
)
SELECT f.*, least(""" + ", ".join(f"CASE WHEN f_{c} THEN $rank_{c} END" for c in FLAG_SQL) + """)::TINYINT AS rule_rank
FROM f"""  # noqa: S608 (fixed signal codes; every value is a bound parameter)

FRAME_SCHEMA = {
    "month": pl.Date, "loan_id": pl.String, "customer_id": pl.String, "branch_id": pl.String, "product": pl.String,
    "balance": pl.Float64, "dpd": pl.Int32, "prev_dpd": pl.Int32, "booked_class": pl.Int8, "restructured": pl.Boolean,
    "collateral_value": pl.Float64, "amount_due": pl.Float64, "amount_paid": pl.Float64,
    "overdue_amount": pl.Float64, "collector_id": pl.String, "paid_3": pl.Float64, "due_3": pl.Float64,
    "paid_prior": pl.Float64, "due_prior": pl.Float64,
    **{f"f_{c}": pl.Boolean for c in SQL_SIGNALS}, "rule_rank": pl.Int8,
}
SHORT_SCHEMA = {"month": pl.Date, "loan_id": pl.String, "branch_id": pl.String, "collector_id": pl.String,
                "dpd": pl.Int32, "rule_rank": pl.Int8}


def _params(rules: dict, month_from: dt.date, month_to: dt.date, branches: tuple[str, ...],
            products: tuple[str, ...], loan_ids: tuple[str, ...] = ()) -> dict:
    sig = rules["signals"]
    params = {"month_from": month_from, "month_to": month_to, "loan_ids": list_param(loan_ids),
              "t1": T1, "t2": T2, "t3": T3, **slice_params(branches, products)}
    for code in ("cross_91_soon", "cross_91", "cross_271", "cross_361"):
        params[f"{code}_days"] = sig[code]["days"]
    params["ltv_high_limit"] = sig["ltv_high"]["limit"]
    params["pay_ratio_fall_drop"] = sig["pay_ratio_fall"]["drop"]
    params |= {f"rank_{c}": R.rank(rules, c) for c in SQL_SIGNALS}
    return params


def rule_frame(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date, rules: dict,
               branches: tuple[str, ...] = (), products: tuple[str, ...] = (), warned_only: bool = False,
               short: bool = False, loan_ids: tuple[str, ...] = ()) -> pl.DataFrame:
    """Every on-book loan-month in [month_from, month_to] with its indicators, the SQL signal flags ``f_<code>``
    and ``rule_rank`` (most severe level rank of the fired rule signals; null = none). ``warned_only`` keeps the
    warned rows; ``short`` returns month, loan_id, branch_id, collector_id, dpd, rule_rank only; ``loan_ids``
    (empty = all) restricts the loans."""
    src, src_params = derived.source(con, "warning_inputs", month_from=month_from, month_to=month_to)
    sql = base = _RULES_SQL.replace("{src}", src)
    if warned_only or short:
        cols = ", ".join(SHORT_SCHEMA) if short else "*"
        sql = f"SELECT {cols} FROM ({base}) x" + (" WHERE rule_rank IS NOT NULL" if warned_only else "")  # noqa: S608
    params = _params(rules, month_from, month_to, branches, products, tuple(loan_ids)) | src_params
    return query(con, sql, params, SHORT_SCHEMA if short else FRAME_SCHEMA)


# --- crossing ---------------------------------------------------------------------------------------------


def next_threshold_expr(dpd: pl.Expr) -> pl.Expr:
    """The next classification threshold of an overdue loan (null when current or already past 360)."""
    return (pl.when(dpd < 1).then(None).when(dpd < T1).then(T1).when(dpd < T2).then(T2).when(dpd < T3).then(T3)
            .otherwise(None).cast(pl.Int32))


def with_crossing(df: pl.DataFrame) -> pl.DataFrame:
    """Add ``next_threshold``, ``days_to_next`` and ``crossing_date`` (month end + days_to_next) from month, dpd."""
    return df.with_columns(next_threshold_expr(pl.col("dpd")).alias("next_threshold")).with_columns(
        (pl.col("next_threshold") - pl.col("dpd")).cast(pl.Int32).alias("days_to_next")).with_columns(
        (pl.col("month").dt.month_end() + pl.duration(days=pl.col("days_to_next"))).alias("crossing_date"))


def crossing_date(month: dt.date, dpd: int) -> dt.date | None:
    """The crossing date of one loan (see ``with_crossing``)."""
    out = with_crossing(pl.DataFrame({"month": [month], "dpd": [dpd]}, schema={"month": pl.Date, "dpd": pl.Int32}))
    return out["crossing_date"][0]


# --- levels -----------------------------------------------------------------------------------------------


def _pd_flags(df: pl.DataFrame, rules: dict) -> pl.DataFrame:
    hi, up = rules["signals"]["pd_high"], rules["signals"]["pd_up"]
    return df.with_columns(
        (pl.col("pd") >= hi["threshold"]).fill_null(False).alias("f_pd_high"),
        ((pl.col("pd") >= up["min_pd"]) & (pl.col("pd") >= up["factor"] * pl.col("pd_prev"))
         & (pl.col("pd_prev") > 0)).fill_null(False).alias("f_pd_up"))


def finish(df: pl.DataFrame, rules: dict, *, with_pd: bool) -> pl.DataFrame:
    """The warned rows only, with level (code and rank) and reasons (signal codes, most severe first) from the flags; crossing columns;
    LTV and the two payment ratios as indicators."""
    if with_pd:
        df = _pd_flags(df, rules)
        df = df.filter(pl.col("rule_rank").is_not_null()
                       | (pl.col("f_pd_high") & (R.rank(rules, "pd_high") is not None))
                       | (pl.col("f_pd_up") & (R.rank(rules, "pd_up") is not None)))
    else:
        df = df.filter(pl.col("rule_rank").is_not_null())
        df = df.with_columns(pl.lit(None, pl.Float64).alias("pd"), pl.lit(None, pl.Float64).alias("pd_prev"),
                             pl.lit(False).alias("f_pd_high"), pl.lit(False).alias("f_pd_up"))
    codes = [c for c in ALL_SIGNALS if R.rank(rules, c) is not None]
    order = sorted(codes, key=lambda c: (R.rank(rules, c), ALL_SIGNALS.index(c)))
    level_rank = pl.min_horizontal([pl.when(pl.col(f"f_{c}")).then(pl.lit(R.rank(rules, c), pl.Int8))
                                    for c in codes]) if codes else pl.lit(None, pl.Int8)
    reasons = (pl.concat_list([pl.when(pl.col(f"f_{c}")).then(pl.lit(c)) for c in order]).list.drop_nulls()
               if order else pl.lit([], pl.List(pl.String)))
    ratio3 = pl.when(pl.col("due_3") > 0).then(pl.col("paid_3") / pl.col("due_3"))
    ratio_prior = pl.when(pl.col("due_prior") > 0).then(pl.col("paid_prior") / pl.col("due_prior"))
    return with_crossing(df.with_columns(
        level_rank.cast(pl.Int8).alias("level_rank"), reasons.alias("reasons"),
        pl.when(pl.col("collateral_value") > 0).then(pl.col("balance") / pl.col("collateral_value")).alias("ltv"),
        ratio3.alias("pay_ratio_3"), ratio_prior.alias("pay_ratio_prior"),
    ).with_columns(pl.col("level_rank").replace_strict({r: lv for lv, r in R.RANK.items()}, default=None,
                                                         return_dtype=pl.String).alias("level")))


LIST_COLUMNS = ("month", "loan_id", "customer_id", "branch_id", "product", "collector_id", "level", "level_rank",
                "reasons", "balance", "dpd", "prev_dpd", "booked_class", "next_threshold", "days_to_next",
                "crossing_date", "overdue_amount", "amount_due", "amount_paid", "pay_ratio_3", "pay_ratio_prior",
                "ltv", "restructured", "pd", "pd_prev")


def _scores(con, model, month: dt.date, branches, products, loan_ids: tuple[str, ...] = ()) -> pl.DataFrame:
    from analytics.model import scoring

    if month not in _store_months(con):
        return pl.DataFrame(schema={"loan_id": pl.String, "pd": pl.Float64})
    if loan_ids:
        scored = scoring.pd_for_loans(con, month=month, loan_ids=loan_ids, reason_min_pd=2.0, model=model)
    else:
        scored = scoring.score_month(con, month=month, branches=branches, products=products, reason_min_pd=2.0,
                                     model=model)
    return scored.select("loan_id", "pd")


def _store_months(con) -> list[dt.date]:
    return query(con, "SELECT DISTINCT month FROM snapshots ORDER BY month")["month"].to_list()


def _levels(con, *, month, rules, branches, products, model, scores: dict, month_from=None,
            loan_ids: tuple[str, ...] = ()) -> pl.DataFrame:
    """Warned rows of the months [month_from, month] (default: ``month`` alone), PD signals when ``model``."""
    month_from = month_from or month
    frame = rule_frame(con, month_from=month_from, month_to=month, rules=rules, branches=branches,
                       products=products, warned_only=model is None, loan_ids=loan_ids)
    if model is not None:
        parts = []
        m = month_from
        while m <= month:
            for x in (m, mo.add_months(m, -1)):
                if x not in scores:
                    scores[x] = _scores(con, model, x, branches, products, loan_ids)
            parts.append(frame.filter(pl.col("month") == m).join(scores[m], on="loan_id", how="left").join(
                scores[mo.add_months(m, -1)].rename({"pd": "pd_prev"}), on="loan_id", how="left"))
            m = mo.add_months(m, 1)
        frame = pl.concat(parts)
    return finish(frame, rules, with_pd=model is not None)


def warnings(con: duckdb.DuckDBPyConnection, *, month: dt.date, rules: str = "", branches: tuple[str, ...] = (),
             products: tuple[str, ...] = (), model=None, loan_ids: tuple[str, ...] = ()) -> pl.DataFrame:
    """The warned loans at ``month`` (one row each, most severe first, then balance): level, reasons,
    indicators, crossing. ``model`` (an ``analytics.model.artifact.Artifact``) adds the PD signals; ``loan_ids``
    (empty = all) restricts the loans looked at."""
    rules_d = R.parse(rules)
    out = _levels(con, month=month, rules=rules_d, branches=branches, products=products, model=model, scores={},
                  loan_ids=tuple(loan_ids))
    return (out.filter(pl.col("level_rank").is_not_null()).select(LIST_COLUMNS)
            .sort(["level_rank", "balance", "loan_id"], descending=[False, True, False]))


CHANGES = ("new", "escalated", "unchanged", "de_escalated", "closed")


def centre(con: duckdb.DuckDBPyConnection, *, month: dt.date, rules: str = "", branches: tuple[str, ...] = (),
           products: tuple[str, ...] = (), model=None) -> dict[str, pl.DataFrame | bool]:
    """What the warning centre shows for ``month``: ``list`` (the warnings with ``prev_level`` and ``change``
    vs last month: new / escalated / unchanged / de_escalated), ``closed`` (warned last month, not now — also
    loans that left the book), ``by_level`` / ``by_branch`` / ``by_product`` (counts and balance),
    ``changes`` (count per change), ``with_model``."""
    rules_d = R.parse(rules)
    prev_month = mo.add_months(month, -1)
    both = _levels(con, month=month, month_from=prev_month, rules=rules_d, branches=branches, products=products,
                   model=model, scores={})
    now = both.filter(pl.col("month") == month)
    prev = both.filter(pl.col("month") == prev_month)
    prev_small = prev.select("loan_id", pl.col("level").alias("prev_level"), pl.col("level_rank").alias("prev_rank"))
    lst = now.join(prev_small, on="loan_id", how="left").with_columns(
        pl.when(pl.col("prev_rank").is_null()).then(pl.lit("new"))
        .when(pl.col("level_rank") < pl.col("prev_rank")).then(pl.lit("escalated"))
        .when(pl.col("level_rank") > pl.col("prev_rank")).then(pl.lit("de_escalated"))
        .otherwise(pl.lit("unchanged")).alias("change"))
    lst = lst.select(*LIST_COLUMNS, "prev_level", "change").sort(
        ["level_rank", "balance", "loan_id"], descending=[False, True, False])
    closed = prev.join(now.select("loan_id"), on="loan_id", how="anti").select(
        "loan_id", "customer_id", "branch_id", "product", pl.col("level").alias("prev_level"), "balance",
        "reasons").with_columns(pl.lit("closed").alias("change")).sort("loan_id")

    def by(*cols: str) -> pl.DataFrame:
        return (lst.group_by(*cols).agg(pl.len().cast(pl.Int64).alias("loans"), pl.col("balance").sum())
                .sort(list(cols)))

    by_level = (pl.DataFrame({"level": list(R.LEVELS), "level_rank": [R.RANK[x] for x in R.LEVELS]},
                             schema={"level": pl.String, "level_rank": pl.Int8})
                .join(by("level", "level_rank"), on=["level", "level_rank"], how="left")
                .with_columns(pl.col("loans").fill_null(0), pl.col("balance").fill_null(0.0)))
    changes = pl.DataFrame({"change": list(CHANGES)}).join(
        pl.concat([lst.select("change"), closed.select("change")]).group_by("change").agg(
            pl.len().cast(pl.Int64).alias("loans")), on="change", how="left").with_columns(pl.col("loans").fill_null(0))
    return {"list": lst, "closed": closed, "by_level": by_level,
            "by_branch": by("branch_id", "level_rank", "level"), "by_product": by("product", "level_rank", "level"),
            "changes": changes, "with_model": model is not None}


def by_branch_wide(by_group: pl.DataFrame, value: str = "loans", group: str = "branch_id") -> pl.DataFrame:
    """Groups x levels (red ... blue columns, in level order, plus ``total``) of ``centre()['by_branch']`` or
    ``['by_product']`` (``group="product"``)."""
    if by_group.is_empty():
        return pl.DataFrame(schema={group: pl.String, **{lv: pl.Float64 for lv in R.LEVELS}, "total": pl.Float64})
    wide = by_group.pivot("level", index=group, values=value, aggregate_function="sum").fill_null(0)
    for lv in R.LEVELS:
        if lv not in wide.columns:
            wide = wide.with_columns(pl.lit(0).alias(lv))
    return wide.select(group, *R.LEVELS).with_columns(pl.sum_horizontal(*R.LEVELS).alias("total")).sort(group)


# --- crossing calendar -----------------------------------------------------------------------------------

CALENDAR_SQL = """
SELECT s.loan_id, l.customer_id, s.branch_id, l.product, s.collector_id, s.outstanding_principal AS balance, s.dpd
FROM snapshots s JOIN loans l USING (loan_id)
WHERE s.month = $month AND s.status = 'active' AND s.dpd >= 1 AND s.dpd < $t3 AND """ + MANAGED_SLICE_SQL

CALENDAR_SCHEMA = {"loan_id": pl.String, "customer_id": pl.String, "branch_id": pl.String, "product": pl.String,
                   "collector_id": pl.String, "balance": pl.Float64, "dpd": pl.Int32}


def crossing_calendar(con: duckdb.DuckDBPyConnection, *, month: dt.date, horizon_days: int = 30,
                      branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> pl.DataFrame:
    """Loans that will cross 90 / 270 / 360 DPD (reach 91 / 271 / 361) in the ``horizon_days`` days after the
    month end unless they pay: loan, branch, balance, dpd, next_threshold, days_to_next, crossing_date."""
    df = query(con, CALENDAR_SQL, {"month": month, "t3": T3, **slice_params(branches, products)}, CALENDAR_SCHEMA)
    df = with_crossing(df.with_columns(pl.lit(month).alias("month")))
    return (df.filter(pl.col("days_to_next").is_between(1, horizon_days))
            .select("crossing_date", "next_threshold", "days_to_next", "loan_id", "customer_id", "branch_id",
                    "product", "collector_id", "balance", "dpd")
            .sort("crossing_date", "branch_id", "loan_id"))


def calendar_by_day(calendar: pl.DataFrame) -> pl.DataFrame:
    """Per crossing date, threshold and branch: loans and balance."""
    return (calendar.group_by("crossing_date", "next_threshold", "branch_id")
            .agg(pl.len().cast(pl.Int64).alias("loans"), pl.col("balance").sum())
            .sort("crossing_date", "next_threshold", "branch_id"))


def calendar_wide(calendar: pl.DataFrame) -> pl.DataFrame:
    """Crossing date x branch: number of loans crossing (any threshold)."""
    if calendar.is_empty():
        return pl.DataFrame(schema={"crossing_date": pl.Date})
    return (calendar.pivot("branch_id", index="crossing_date", values="loan_id", aggregate_function="len")
            .fill_null(0).sort("crossing_date"))


# --- handling status ------------------------------------------------------------------------------------

HANDLING = ("handled_on_time", "handled_late", "overdue", "pending")

ACTIONS_SQL = """
SELECT a.loan_id, a.action_date
FROM collection_actions a
WHERE a.month BETWEEN $month_from AND $month AND a.action_date <= $as_of AND list_contains($loans, a.loan_id)"""


def handling_status(con: duckdb.DuckDBPyConnection, *, month: dt.date, rules: str = "",
                    branches: tuple[str, ...] = (), products: tuple[str, ...] = (), model=None) -> pl.DataFrame:
    """Each warning at ``month`` with its handling: ``raised_date`` = month end of the first month of the
    current unbroken run of warned months (rule signals), ``age_days`` = month end − raised_date, the first
    collection action after raised_date (up to the month end), and ``handling``: handled_on_time (first action
    within respond_days), handled_late, overdue (no action, age > respond_days), pending; ``escalation_due``
    when age > escalate_days (time nodes of the level)."""
    from analytics.core.slice import list_param

    rules_d = R.parse(rules)
    lst = warnings(con, month=month, rules=rules, branches=branches, products=products, model=model)
    look = max(n["escalate_days"] for n in rules_d["time_nodes"].values()) // 28 + 2  # months looked back
    start = mo.add_months(month, -look)
    hist = rule_frame(con, month_from=start, month_to=mo.add_months(month, -1), rules=rules_d, branches=branches,
                      products=products, warned_only=True, short=True,
                      loan_ids=tuple(lst["loan_id"].to_list())).select("loan_id", "month")
    # first month of the unbroken run ending at ``month``: walk back while the previous month is warned
    run = lst.select("loan_id").with_columns(pl.lit(month).alias("since"))
    warned = set(zip(hist["loan_id"].to_list(), hist["month"].to_list(), strict=True))
    since = []
    for loan in run["loan_id"].to_list():
        m = month
        while (loan, mo.add_months(m, -1)) in warned:
            m = mo.add_months(m, -1)
        since.append(m)
    run = run.with_columns(pl.Series("since", since, dtype=pl.Date))
    as_of = mo.add_months(month, 1) - dt.timedelta(days=1)
    raw = query(con, ACTIONS_SQL, {"month_from": start, "month": month, "as_of": as_of,
                                   "loans": list_param(lst["loan_id"].to_list())},
                {"loan_id": pl.String, "action_date": pl.Date})
    # an action counts only after the warning was raised
    actions = (raw.join(run.with_columns(pl.col("since").dt.month_end().alias("raised")), on="loan_id")
               .filter(pl.col("action_date") > pl.col("raised")).group_by("loan_id")
               .agg(pl.col("action_date").min().alias("first_action"), pl.len().cast(pl.Int64).alias("actions")))
    nodes = pl.DataFrame([{"level": lv, **n} for lv, n in rules_d["time_nodes"].items()],
                         schema={"level": pl.String, "respond_days": pl.Int64, "escalate_days": pl.Int64})
    out = (lst.select("loan_id", "branch_id", "product", "collector_id", "level", "level_rank", "balance", "dpd")
           .join(run, on="loan_id").with_columns(pl.col("since").dt.month_end().alias("raised_date"))
           .join(nodes, on="level", how="left")
           .join(actions, on="loan_id", how="left")
           .with_columns(pl.col("actions").fill_null(0),
                         (pl.lit(as_of) - pl.col("raised_date")).dt.total_days().cast(pl.Int64).alias("age_days"),
                         (pl.col("first_action") - pl.col("raised_date")).dt.total_days().cast(pl.Int64)
                         .alias("response_days")))
    return out.with_columns(
        pl.when(pl.col("first_action").is_not_null() & (pl.col("response_days") <= pl.col("respond_days")))
        .then(pl.lit("handled_on_time"))
        .when(pl.col("first_action").is_not_null()).then(pl.lit("handled_late"))
        .when(pl.col("age_days") > pl.col("respond_days")).then(pl.lit("overdue"))
        .otherwise(pl.lit("pending")).alias("handling"),
        (pl.col("age_days") > pl.col("escalate_days")).alias("escalation_due"),
    ).drop("since").sort(["level_rank", "age_days", "loan_id"], descending=[False, True, False])


def handling_summary(status: pl.DataFrame) -> pl.DataFrame:
    """Per level: warnings, each handling status, escalation due (counts)."""
    base = pl.DataFrame({"level": list(R.LEVELS), "level_rank": [R.RANK[x] for x in R.LEVELS]},
                        schema={"level": pl.String, "level_rank": pl.Int8})
    agg = status.group_by("level").agg(
        pl.len().cast(pl.Int64).alias("warnings"),
        *[(pl.col("handling") == h).sum().cast(pl.Int64).alias(h) for h in HANDLING],
        pl.col("escalation_due").sum().cast(pl.Int64).alias("escalation_due"))
    return base.join(agg, on="level", how="left").fill_null(0).sort("level_rank")


# --- portfolio limits -----------------------------------------------------------------------------------

LIMIT_SCHEMA = {"code": pl.String, "value": pl.Float64, "limit": pl.Float64, "breached": pl.Boolean,
                "basis": pl.String}


def portfolio_limits(con: duckdb.DuckDBPyConnection, *, month: dt.date, rules: str = "",
                     branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
                     provision_rates=None) -> pl.DataFrame:
    """Portfolio-level limits at ``month``: NPL ratio above its maximum, 偏离度 above 100%, provision coverage
    below its minimum (balance basis), the C→M1 and M1→M2 roll rates (balance) above the maximum of the previous
    ``range_months`` months, the newest cohort's ever-30+ rate at ``vintage_mob`` above the maximum of the
    ``range_months`` cohorts before it. ``provision_rates``: the app-wide provision scheme (default the 2002 PBOC
    rates), so the coverage checked is the overview's."""
    from analytics.metrics import portfolio, rollrate, vintage
    from analytics.metrics.provisioning import PBOC_2002

    lim = R.parse(rules)["portfolio"]
    rows = []
    k = portfolio.kpi_tiles(con, month=month, branches=branches, products=products,
                            rates=provision_rates or PBOC_2002)
    kv = dict(zip(k["kpi"].to_list(), k["value"].to_list(), strict=True))
    rows.append(("npl_ratio", kv.get("npl_ratio_balance"), lim["npl_ratio_max"], "max"))
    rows.append(("deviation", kv.get("deviation_balance"), lim["deviation_max"], "max"))
    rows.append(("coverage", kv.get("coverage"), lim["coverage_min"], "min"))
    n = int(lim["range_months"])
    rates = rollrate.roll_rates(con, branches=branches, products=products, month_from=mo.add_months(month, -n),
                                month_to=month).filter(pl.col("kind") == "roll")
    for code, frm in (("roll_c_m1", "M0"), ("roll_m1_m2", "M1")):
        r = rates.filter(pl.col("from_state") == frm)
        now = r.filter(pl.col("month") == month)["rate_balance"]
        before = r.filter(pl.col("month") < month)["rate_balance"].drop_nulls()
        rows.append((code, now[0] if now.len() else None, before.max() if before.len() else None, "max"))
    mob = int(lim["vintage_mob"])
    curves = vintage.vintage_curves(con, measure="ever", threshold=30, branches=branches, products=products)
    at = curves.filter((pl.col("mob") == mob) & (pl.col("obs_month") <= month)).sort("cohort")
    newest = at.filter(pl.col("obs_month") == month)
    prior = at.filter(pl.col("obs_month") < month).tail(n)["rate_balance"].drop_nulls()
    rows.append(("vintage_30", newest["rate_balance"][0] if newest.height else None,
                 prior.max() if prior.len() else None, "max"))
    out = []
    for code, value, limit, kind in rows:
        breached = None if value is None or limit is None else (value > limit if kind == "max" else value < limit)
        out.append({"code": code, "value": value, "limit": limit, "breached": breached, "basis": kind})
    return pl.DataFrame(out, schema=LIMIT_SCHEMA)
