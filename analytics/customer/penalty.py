"""Grace periods and penalty interest (宽限期, 罚息) per product, as a saved versioned parameter ``penalty_rules``.

口径 [CONV] (defaults a bank replaces with its contract terms):

- Grace period (宽限期): ``grace_days`` per product. An instalment unpaid for at most ``grace_days`` days is
  reminded, not collected, and carries no penalty if the overdue amount is cleared within the grace period; once
  the grace period is exceeded, penalty interest runs from the due date. The regulatory DPD count (逾期天数, the
  five-tier floors, every overdue ratio) does not change: a loan in grace is overdue from day 1 in every
  regulatory figure; the grace period only decides the collection treatment and the penalty.
- Penalty interest (罚息): contract rate × (1 + ``surcharge``) per year on the overdue principal, actual days / 360
  (default surcharge 50%, the top of the customary 30–50% band). Compound interest (复利) on overdue interest at the
  same penalty rate where the contract says so (``compound``).
- Days: the accrual of a day is on the overdue balance at the end of the previous day (算头不算尾): an instalment
  due on the 25th and paid on the 10th of the next month carries penalty for (10th − 25th) days; a day's accrual
  belongs to that day's month.
- Payments go first to penalty, then compound interest, then overdue interest, then overdue principal; inside the
  grace period only to interest and principal (the tentative penalty is not payable yet).

Two ways of using the same rule: ``ledger`` is the exact day-by-day account of given due dates and payments (used
for one loan and for the notice quote); ``by_month`` / ``loan_months`` apply it to the month-end snapshots, where
balances are known at month ends only: a spell's first due date is the month end minus its DPD, and the overdue
balance observed at a month end holds until the next month end (a spell already running in the first month of
the store counts from the start of that month). The two agree on the snapshots (a test checks it).
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import polars as pl

from analytics.core import schema
from analytics.core.slice import slice_params
from analytics.core.store import query

CONFIG_NAME = "penalty_rules"
DAY_COUNT = 360
CENT = Decimal("0.01")

DEFAULT_PRODUCT = {"grace_days": 3, "surcharge": 0.5, "compound": True}
DEFAULT_RULES: dict = {
    "products": {
        "mortgage": {"grace_days": 3, "surcharge": 0.5, "compound": True},
        "housing_fund": {"grace_days": 3, "surcharge": 0.5, "compound": True},
        "consumer": {"grace_days": 3, "surcharge": 0.5, "compound": True},
        "personal_business": {"grace_days": 0, "surcharge": 0.5, "compound": True},
        "micro_sme": {"grace_days": 0, "surcharge": 0.5, "compound": True},
        "credit_card": {"grace_days": 3, "surcharge": 0.5, "compound": False},
    },
    "quote_days": 10,  # a notice quotes what is owed this many days after the data date (its pay-by date)
}
MAX_GRACE = 27  # shorter than any month, so a spell crossing a month end has left its grace period


class PenaltyError(ValueError):
    """A penalty rule table that cannot be used; the message names the field."""


def default_rules() -> dict:
    return copy.deepcopy(DEFAULT_RULES)


def validate(rules: dict) -> dict:
    """The rules completed with defaults (every product listed) and checked; raises ``PenaltyError``."""
    if not isinstance(rules, dict):
        raise PenaltyError("the penalty rules must be an object")
    out = default_rules()
    for product, entry in (rules.get("products") or {}).items():
        if product not in schema.PRODUCTS:
            raise PenaltyError(f"unknown product {product!r}")
        merged = out["products"].get(product, dict(DEFAULT_PRODUCT)) | dict(entry)
        unknown = set(merged) - set(DEFAULT_PRODUCT)
        if unknown:
            raise PenaltyError(f"products.{product}: unknown parameter {sorted(unknown)[0]!r}")
        grace = merged["grace_days"]
        if isinstance(grace, bool) or not isinstance(grace, (int, float)) or not 0 <= grace <= MAX_GRACE:
            raise PenaltyError(f"products.{product}.grace_days: a whole number 0-{MAX_GRACE}, got {grace!r}")
        surcharge = merged["surcharge"]
        if isinstance(surcharge, bool) or not isinstance(surcharge, (int, float)) or not 0 <= surcharge <= 2:
            raise PenaltyError(f"products.{product}.surcharge: a number 0-2 (0.5 = +50%), got {surcharge!r}")
        out["products"][product] = {"grace_days": int(grace), "surcharge": float(surcharge),
                                    "compound": bool(merged["compound"])}
    quote = rules.get("quote_days", out["quote_days"])
    if isinstance(quote, bool) or not isinstance(quote, (int, float)) or not 0 <= quote <= 90:
        raise PenaltyError(f"quote_days: a whole number 0-90, got {quote!r}")
    out["quote_days"] = int(quote)
    return out


def parse(rules: str | dict | None) -> dict:
    """Rules from JSON text (what cached calls pass), a dict, or None / "" (the defaults)."""
    if rules is None or rules == "":
        return default_rules()
    if isinstance(rules, str):
        try:
            rules = json.loads(rules)
        except ValueError as exc:
            raise PenaltyError(f"not valid JSON: {exc}") from exc
    return validate(rules)


def dumps(rules: dict) -> str:
    return json.dumps(validate(rules), sort_keys=True, ensure_ascii=False)


def rules_frame(rules: dict) -> pl.DataFrame:
    """One row per product: grace_days, surcharge, compound (for the page's 口径 and editor)."""
    r = validate(rules)["products"]
    return pl.DataFrame({"product": list(r), "grace_days": [v["grace_days"] for v in r.values()],
                         "surcharge": [v["surcharge"] for v in r.values()],
                         "compound": [v["compound"] for v in r.values()]},
                        schema={"product": pl.String, "grace_days": pl.Int32, "surcharge": pl.Float64,
                                "compound": pl.Boolean})


# --- the exact ledger ---------------------------------------------------------------------------------------


def _d(x) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(str(x))


def _cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def ledger(events: list[tuple], *, as_of: dt.date, annual_rate: float, surcharge: float, compound: bool,
           grace_days: int) -> dict:
    """The penalty account of one loan up to ``as_of`` (inclusive).

    ``events`` (any order; same-day events in the given order): ``("due", day, principal, interest)`` an
    instalment falling due; ``("payment", day, amount)``; ``("balance", day, principal, interest)`` the overdue
    balances observed that day (a month-end snapshot; a balance of zero also settles the penalty, which the
    snapshots do not show separately).

    Returns ``by_month`` {first-of-month: (penalty, compound)} of charged accruals (cents), ``pending`` (accrued
    inside a grace period still running at ``as_of``), ``waived`` (spells cleared within grace), and what is owed
    at ``as_of``: ``principal``, ``interest``, ``penalty``, ``compound``, ``total``; ``spell_start`` (the due date of
    the open spell, else None) and ``in_grace``.
    """
    rate = _d(annual_rate) * (1 + _d(surcharge)) / DAY_COUNT
    ordered = sorted(enumerate(events), key=lambda ie: (ie[1][1], ie[0]))
    if not ordered:
        return _result({}, Decimal(0), Decimal(0), Decimal(0), Decimal(0), Decimal(0), Decimal(0), None, False)
    by_day: dict[dt.date, list[tuple]] = {}
    for _, e in ordered:
        by_day.setdefault(e[1], []).append(e)
    prin = intr = pen = comp = Decimal(0)
    charged: dict[dt.date, list[Decimal]] = {}
    tentative: dict[dt.date, list[Decimal]] = {}
    waived = Decimal(0)
    start: dt.date | None = None
    day = ordered[0][1][1]
    while day <= as_of:
        if day != ordered[0][1][1] and (prin > 0 or intr > 0):  # the accrual of `day` on the balance of the day before
            month = day.replace(day=1)
            p, c = prin * rate, (intr * rate if compound else Decimal(0))
            acc = tentative.setdefault(month, [Decimal(0), Decimal(0)])
            acc[0] += p
            acc[1] += c
        for e in by_day.get(day, ()):
            was_open = prin > 0 or intr > 0
            in_grace = start is not None and (day - start).days <= grace_days
            if e[0] == "due":
                prin, intr = prin + _d(e[2]), intr + _d(e[3])
            elif e[0] == "balance":
                prin, intr = _d(e[2]), _d(e[3])
            elif e[0] == "payment":
                left = _d(e[1 + 1])
                if not in_grace:
                    pen, comp = pen + sum(v[0] for v in tentative.values()), comp + sum(v[1] for v in tentative.values())
                    _move(tentative, charged)
                    for name in ("pen", "comp"):
                        owed = pen if name == "pen" else comp
                        paid = min(owed, left)
                        left -= paid
                        if name == "pen":
                            pen -= paid
                        else:
                            comp -= paid
                paid = min(intr, left)
                intr, left = intr - paid, left - paid
                prin -= min(prin, left)
            else:
                raise ValueError(f"unknown event kind {e[0]!r}")
            if not was_open and (prin > 0 or intr > 0):
                start = day
        if start is not None and prin == 0 and intr == 0:  # the spell closed today
            if (day - start).days <= grace_days:
                waived += sum(v[0] + v[1] for v in tentative.values())
                tentative.clear()
            else:
                pen += sum(v[0] for v in tentative.values())
                comp += sum(v[1] for v in tentative.values())
                _move(tentative, charged)
            if any(e[0] == "balance" for e in by_day.get(day, ())):
                pen = comp = Decimal(0)  # a snapshot showing nothing overdue: the borrower paid everything
            start = None
        day += dt.timedelta(days=1)
    in_grace = start is not None and (as_of - start).days <= grace_days
    pending = Decimal(0)
    if in_grace:
        pending = sum((v[0] + v[1] for v in tentative.values()), Decimal(0))
    else:
        pen += sum(v[0] for v in tentative.values())
        comp += sum(v[1] for v in tentative.values())
        _move(tentative, charged)
    return _result(charged, prin, intr, pen, comp, pending, waived, start, in_grace)


def _move(src: dict, dst: dict) -> None:
    for month, (p, c) in src.items():
        acc = dst.setdefault(month, [Decimal(0), Decimal(0)])
        acc[0] += p
        acc[1] += c
    src.clear()


def _result(charged, prin, intr, pen, comp, pending, waived, start, in_grace) -> dict:
    return {
        "by_month": {m: (_cents(v[0]), _cents(v[1])) for m, v in sorted(charged.items())},
        "pending": _cents(pending), "waived": _cents(waived),
        "principal": _cents(prin), "interest": _cents(intr), "penalty": _cents(pen), "compound": _cents(comp),
        "total": _cents(prin + intr + pen + comp), "spell_start": start, "in_grace": in_grace,
    }


# --- on the month-end snapshots -----------------------------------------------------------------------------

_ROWS_SQL = """
SELECT s.loan_id, coalesce(l.customer_id, l.loan_id) AS customer_id, s.branch_id, l.product, l.annual_rate,
       s.month, s.dpd, coalesce(s.overdue_principal, 0) AS overdue_principal,
       coalesce(s.overdue_interest, 0) AS overdue_interest, s.status
FROM snapshots s JOIN loans l USING (loan_id)
WHERE s.month <= $month_to
  AND (len($loan_ids) = 0 OR list_contains($loan_ids, s.loan_id))
  AND s.loan_id IN (SELECT x.loan_id FROM snapshots x JOIN loans y USING (loan_id)
                    WHERE x.month BETWEEN $month_from AND $month_to AND x.dpd > 0
                      AND (len($branches) = 0 OR list_contains($branches, x.branch_id))
                      AND (len($products) = 0 OR list_contains($products, y.product)))
ORDER BY s.loan_id, s.month
"""
ROWS_SCHEMA = {"loan_id": pl.String, "customer_id": pl.String, "branch_id": pl.String, "product": pl.String,
               "annual_rate": pl.Float64, "month": pl.Date, "dpd": pl.Int32, "overdue_principal": pl.Float64,
               "overdue_interest": pl.Float64, "status": pl.String}
LOAN_MONTH_SCHEMA = {"loan_id": pl.String, "customer_id": pl.String, "branch_id": pl.String, "product": pl.String,
                     "month": pl.Date, "dpd": pl.Int32, "overdue_principal": pl.Float64,
                     "overdue_interest": pl.Float64, "days": pl.Int32, "penalty": pl.Float64,
                     "compound": pl.Float64, "pending": pl.Float64, "in_grace": pl.Boolean,
                     "spell_penalty": pl.Float64}


def _month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _params_frame(rules: dict) -> pl.DataFrame:
    return rules_frame(rules).select("product", "grace_days", "surcharge", "compound")


def loan_months(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date, rules: str = "",
                branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
                loan_ids: tuple[str, ...] = ()) -> pl.DataFrame:
    """Loan-months of [month_from, month_to] of loans overdue in that window: the penalty and compound interest
    charged for the month, the accrual still ``pending`` in a grace period at ``month_to``, ``in_grace`` and the
    charged total of the open spell so far (``spell_penalty``, penalty + compound)."""
    r = parse(rules)
    df = query(con, _ROWS_SQL, {"month_from": month_from, "month_to": month_to, "loan_ids": list(loan_ids),
                                **slice_params(branches, products)}, ROWS_SCHEMA)
    if df.is_empty():
        return pl.DataFrame(schema=LOAN_MONTH_SCHEMA)
    df = df.join(_params_frame(r), on="product", how="left").with_columns(
        pl.col("grace_days").fill_null(DEFAULT_PRODUCT["grace_days"]),
        pl.col("surcharge").fill_null(DEFAULT_PRODUCT["surcharge"]),
        pl.col("compound").fill_null(DEFAULT_PRODUCT["compound"]))
    first = pl.col("month") == pl.col("month").min().over("loan_id")
    prev_month = pl.col("month").shift(1).over("loan_id")
    consecutive = prev_month == pl.col("month").dt.offset_by("-1mo")
    dim = pl.col("month").dt.month_end().dt.day().cast(pl.Int32)
    open_ = pl.col("dpd") > 0
    df = df.sort("loan_id", "month").with_columns(
        pl.when(consecutive).then(pl.col("dpd").shift(1).over("loan_id")).otherwise(0).alias("p_dpd"),
        pl.when(consecutive).then(pl.col("overdue_principal").shift(1).over("loan_id")).otherwise(0.0).alias("p_op"),
        pl.when(consecutive).then(pl.col("overdue_interest").shift(1).over("loan_id")).otherwise(0.0).alias("p_oi"),
        first.alias("_first"))
    cont = pl.col("p_dpd") > 0
    rate = pl.col("annual_rate").fill_null(0.0) * (1 + pl.col("surcharge")) / DAY_COUNT
    days = (pl.when(cont).then(dim).when(open_).then(pl.min_horizontal(pl.col("dpd"), dim)).otherwise(0)
            .cast(pl.Int32))
    base_p = pl.when(cont).then(pl.col("p_op")).otherwise(pl.col("overdue_principal"))
    base_i = pl.when(cont).then(pl.col("p_oi")).otherwise(pl.col("overdue_interest"))
    df = df.with_columns(days.alias("days")).with_columns(
        (rate * base_p * pl.col("days")).alias("_pen"),
        pl.when(pl.col("compound")).then(rate * base_i * pl.col("days")).otherwise(0.0).alias("_comp"))
    # spells: a new spell starts at an overdue month whose previous month end was not overdue
    df = df.with_columns((open_ & ~cont).cast(pl.Int32).cum_sum().over("loan_id").alias("_spell"))
    last = pl.col("month") == month_to
    grace = open_ & ~cont & (pl.col("dpd") <= pl.col("grace_days")) & last
    df = df.with_columns(
        grace.alias("in_grace"),
        pl.when(grace).then(0.0).otherwise(pl.col("_pen")).alias("penalty"),
        pl.when(grace).then(0.0).otherwise(pl.col("_comp")).alias("compound"),
        pl.when(grace).then(pl.col("_pen") + pl.col("_comp")).otherwise(0.0).alias("pending"))
    df = df.with_columns(
        pl.when(open_).then((pl.col("penalty") + pl.col("compound")).cum_sum().over("loan_id", "_spell"))
        .otherwise(0.0).alias("spell_penalty"))
    return (df.filter(pl.col("month").is_between(month_from, month_to))
            .with_columns(pl.col(c).round(2) for c in ("penalty", "compound", "pending", "spell_penalty"))
            .select(list(LOAN_MONTH_SCHEMA)).cast(LOAN_MONTH_SCHEMA))


BY_MONTH_SCHEMA = {"month": pl.Date, "loans_count": pl.Int64, "penalty": pl.Float64, "compound": pl.Float64,
                   "pending": pl.Float64, "in_grace_count": pl.Int64}


def by_month(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date, rules: str = "",
             branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> pl.DataFrame:
    """Penalty and compound interest charged per month (sum of the loan-months), loans with an accrual, the
    accrual pending in a grace period and the loans in grace at ``month_to``."""
    lm = loan_months(con, month_from=month_from, month_to=month_to, rules=rules, branches=branches,
                     products=products)
    return (lm.group_by("month").agg(
        (pl.col("days") > 0).sum().cast(pl.Int64).alias("loans_count"), pl.col("penalty").sum(),
        pl.col("compound").sum(), pl.col("pending").sum(), pl.col("in_grace").sum().cast(pl.Int64).alias("in_grace_count"))
        .sort("month").with_columns(pl.col(c).round(2) for c in ("penalty", "compound", "pending"))
        .select(list(BY_MONTH_SCHEMA)).cast(BY_MONTH_SCHEMA))


OWED_SCHEMA = {"loan_id": pl.String, "customer_id": pl.String, "branch_id": pl.String, "product": pl.String,
               "dpd": pl.Int32, "in_grace": pl.Boolean, "overdue_principal": pl.Float64,
               "overdue_interest": pl.Float64, "penalty_owed": pl.Float64, "pending": pl.Float64,
               "owed_total": pl.Float64, "quote_date": pl.Date, "quote_total": pl.Float64}


def owed(con: duckdb.DuckDBPyConnection, *, month: dt.date, rules: str = "", branches: tuple[str, ...] = (),
         products: tuple[str, ...] = (), loan_ids: tuple[str, ...] = ()) -> pl.DataFrame:
    """Per loan overdue at ``month``: what the borrower owes at the month end (overdue principal + interest +
    penalty and compound interest charged in the open spell; nothing for a loan still in grace) and what a notice
    should quote at its pay-by date (``quote_days`` later, the accrual continuing on the same balances; a loan in
    grace quotes the full amount including the penalty it carries if not paid within the grace period)."""
    r = parse(rules)
    lm = loan_months(con, month_from=month, month_to=month, rules=rules, branches=branches, products=products,
                     loan_ids=loan_ids)
    lm = lm.filter(pl.col("dpd") > 0)
    if lm.is_empty():
        return pl.DataFrame(schema=OWED_SCHEMA)
    quote = _month_end(month) + dt.timedelta(days=r["quote_days"])
    params = _params_frame(r)
    rates = query(con, "SELECT loan_id, annual_rate FROM loans WHERE list_contains($ids, loan_id)",
                  {"ids": lm["loan_id"].to_list()}, {"loan_id": pl.String, "annual_rate": pl.Float64})
    lm = lm.join(rates, on="loan_id", how="left").join(params.rename({"compound": "compound_rule"}), on="product",
                                                        how="left").with_columns(
        pl.col("surcharge").fill_null(DEFAULT_PRODUCT["surcharge"]),
        pl.col("compound_rule").fill_null(DEFAULT_PRODUCT["compound"]))
    daily = pl.col("annual_rate").fill_null(0.0) * (1 + pl.col("surcharge")) / DAY_COUNT
    extra = daily * (pl.col("overdue_principal")
                     + pl.when(pl.col("compound_rule")).then(pl.col("overdue_interest")).otherwise(0.0)) * r["quote_days"]
    base = pl.col("overdue_principal") + pl.col("overdue_interest")
    return (lm.with_columns(pl.col("spell_penalty").alias("penalty_owed"))
            .with_columns((base + pl.col("penalty_owed")).round(2).alias("owed_total"), pl.lit(quote).alias("quote_date"),
                          (base + pl.col("penalty_owed") + pl.col("pending") + extra).round(2).alias("quote_total"))
            .sort("owed_total", "loan_id", descending=[True, False]).select(list(OWED_SCHEMA)).cast(OWED_SCHEMA))


def snapshot_events(rows: pl.DataFrame) -> list[tuple]:
    """The ledger events of one loan's month-end rows (month, dpd, overdue_principal, overdue_interest, sorted):
    each spell's first due date (month end − DPD, not before the start of the first month) with the balances
    observed then, and a balance observation at every later month end."""
    events: list[tuple] = []
    prev_open, prev_month = False, None
    for row in rows.sort("month").iter_rows(named=True):
        end = _month_end(row["month"])
        consecutive = prev_month is not None and (row["month"] - prev_month).days <= 31
        is_open = row["dpd"] > 0
        if is_open and not (prev_open and consecutive):
            due = max(end - dt.timedelta(days=row["dpd"]), row["month"] - dt.timedelta(days=1))
            events.append(("due", due, _d(row["overdue_principal"]), _d(row["overdue_interest"])))
        events.append(("balance", end, _d(row["overdue_principal"] if is_open else 0),
                       _d(row["overdue_interest"] if is_open else 0)))
        prev_open, prev_month = is_open, row["month"]
    return events
