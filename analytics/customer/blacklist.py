"""The blacklist (黑名单) of wilful defaulters and fraud.

A customer is listed when it meets a rule of the saved versioned parameter ``blacklist_rules`` [ILLUS], or when a
data steward added it with a reason:

- ``fraud``: the latest overdue cause reported on one of its loans is fraud (欺诈);
- ``wilful``: worst DPD of the grading lookback >= ``min_dpd`` and (cause = unwilling to pay, or at least
  ``min_refused`` refused contacts): able to be reached, not willing to pay (恶意逃废债);
- ``grade_d`` (off by default): every grade-D customer (fraud / lost contact).

Manual changes are user data, kept as the append-only record list of the saved configuration ``blacklist``
(versioned, each save in the audit log with who and why; a reimport of the loan data never touches it):
``{"customer_id", "action": "add" | "remove", "reason", "who", "at"}``. A customer's latest record decides: "add"
lists it (whatever the rules say), "remove" takes it off (also a rule-listed customer) until it is added again.
Removal always needs a reason.

The list drives the early-warning list (``warnings``: a listed customer's loans get the reason ``blacklisted``
and at least the level ``warning_level``; grade C / D customers get ``grade_c`` / ``grade_d`` at
``grade_levels``) and new-loan screening (``screening_ids``: one row per listed customer id).
"""

from __future__ import annotations

import copy
import datetime as dt
import json

import duckdb
import polars as pl

from analytics.customer import grading
from analytics.warning import rules as wr
from analytics.warning import signals

CONFIG_NAME = "blacklist"
RULES_CONFIG = "blacklist_rules"
REASONS = ("fraud", "wilful", "grade_d", "manual")
DEFAULT_RULES: dict = {
    "fraud": True,
    "wilful": {"enabled": True, "min_dpd": 90, "min_refused": 2},
    "grade_d": False,
    "warning_level": "red",
    "grade_levels": {"C": "orange", "D": "red"},
}


class BlacklistError(ValueError):
    """A refused blacklist change or an unusable rule table, with a bilingual message."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


def default_rules() -> dict:
    return copy.deepcopy(DEFAULT_RULES)


def validate(rules: dict) -> dict:
    out = default_rules()
    if not isinstance(rules, dict):
        raise BlacklistError("规则表格式错误", "the rule table must be an object")
    for name in ("fraud", "grade_d"):
        if name in rules:
            out[name] = bool(rules[name])
    wilful = out["wilful"] | dict(rules.get("wilful") or {})
    for name in ("min_dpd", "min_refused"):
        v = wilful[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise BlacklistError(f"wilful.{name} 须为非负数", f"wilful.{name}: a non-negative number")
        wilful[name] = int(v)
    wilful["enabled"] = bool(wilful["enabled"])
    out["wilful"] = {k: wilful[k] for k in ("enabled", "min_dpd", "min_refused")}
    level = rules.get("warning_level", out["warning_level"])
    levels = out["grade_levels"] | dict(rules.get("grade_levels") or {})
    for v in (level, *levels.values()):
        if v not in wr.LEVELS:
            raise BlacklistError(f"预警级别须为 {wr.LEVELS} 之一", f"warning level one of {wr.LEVELS}, got {v!r}")
    if set(levels) - {"A", "B", "C", "D"}:
        raise BlacklistError("grade_levels 只能含 A-D", "grade_levels: grades A-D only")
    out["warning_level"], out["grade_levels"] = level, levels
    return out


def parse(rules: str | dict | None) -> dict:
    if rules is None or rules == "":
        return default_rules()
    return validate(json.loads(rules) if isinstance(rules, str) else rules)


def dumps(rules: dict) -> str:
    return json.dumps(validate(rules), sort_keys=True, ensure_ascii=False)


# --- manual records -----------------------------------------------------------------------------------------


def empty() -> dict:
    return {"records": []}


def _latest(data: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for r in data.get("records", []):
        out[r["customer_id"]] = r
    return out


def add(data: dict, *, customer_id: str, reason: str, who: str, at: dt.datetime | None = None) -> dict:
    """``data`` with a new "add" record (a new dict; the saved versions are never changed)."""
    customer_id, reason = (customer_id or "").strip(), (reason or "").strip()
    if not customer_id:
        raise BlacklistError("请填写客户号", "a customer id is required")
    if not reason:
        raise BlacklistError("列入黑名单须填写原因", "a reason is required to add a customer")
    if _latest(data).get(customer_id, {}).get("action") == "add":
        raise BlacklistError(f"客户 {customer_id} 已在黑名单中", f"customer {customer_id} is already listed")
    return _append(data, customer_id, "add", reason, who, at)


def remove(data: dict, *, customer_id: str, reason: str, who: str, at: dt.datetime | None = None) -> dict:
    """``data`` with a "remove" record; refused without a reason."""
    customer_id, reason = (customer_id or "").strip(), (reason or "").strip()
    if not reason:
        raise BlacklistError("移出黑名单须填写原因", "a reason is required to remove a customer")
    if not customer_id:
        raise BlacklistError("请填写客户号", "a customer id is required")
    return _append(data, customer_id, "remove", reason, who, at)


def _append(data: dict, customer_id: str, action: str, reason: str, who: str, at: dt.datetime | None) -> dict:
    at = at or dt.datetime.now()
    record = {"customer_id": customer_id, "action": action, "reason": reason, "who": who,
              "at": at.isoformat(timespec="seconds")}
    return {"records": [*copy.deepcopy(data.get("records", [])), record]}


RECORD_SCHEMA = {"customer_id": pl.String, "action": pl.String, "reason": pl.String, "who": pl.String,
                 "at": pl.String}


def records_frame(data: dict) -> pl.DataFrame:
    """Every manual record, newest first (the blacklist's own history)."""
    recs = data.get("records", [])
    return pl.DataFrame(recs[::-1], schema=RECORD_SCHEMA) if recs else pl.DataFrame(schema=RECORD_SCHEMA)


def dumps_records(data: dict) -> str:
    return json.dumps({"records": data.get("records", [])}, sort_keys=True, ensure_ascii=False)


# --- the list -----------------------------------------------------------------------------------------------

LIST_SCHEMA = {"customer_id": pl.String, "branch_id": pl.String, "list_source": pl.String, "reasons": pl.List(pl.String),
               "note": pl.String, "listed_by": pl.String, "listed_at": pl.String, "grade": pl.String,
               "loans_count": pl.Int64, "balance": pl.Float64, "dpd": pl.Int32}


def rule_hits(graded: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """customer_id and the list of rule reasons it meets (customers meeting none are absent)."""
    w = rules["wilful"]
    flags = {
        "fraud": (pl.col("cause") == "fraud").fill_null(False) if rules["fraud"] else pl.lit(False),
        "wilful": (((pl.col("worst_dpd") >= w["min_dpd"]) & ((pl.col("cause") == "willingness").fill_null(False)
                                                             | (pl.col("refused") >= w["min_refused"])))
                   .fill_null(False) if w["enabled"] else pl.lit(False)),
        "grade_d": (pl.col("grade") == "D").fill_null(False) if rules["grade_d"] else pl.lit(False),
    }
    reasons = pl.concat_list([pl.when(e).then(pl.lit(k)) for k, e in flags.items()]).list.drop_nulls()
    return graded.select("customer_id", reasons.alias("reasons")).filter(pl.col("reasons").list.len() > 0)


def listing(con: duckdb.DuckDBPyConnection, *, month: dt.date, records: str = "", rules: str = "",
            grade_rules: str = "", branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> pl.DataFrame:
    """The blacklist at ``month``: rule-listed and manually added customers less those removed, with where they
    are managed (the branch of the largest loan on the book; a manually listed customer without a loan on the book
    in the user's branches is shown only to users who see every branch, with an empty branch)."""
    r = parse(rules)
    data = json.loads(records) if records else empty()
    graded = grading.grades(con, month=month, rules=grade_rules, branches=branches, products=products)
    hits = rule_hits(graded, r)
    latest = _latest(data)
    manual = [c for c, rec in latest.items() if rec["action"] == "add"]
    removed = {c for c, rec in latest.items() if rec["action"] == "remove"}
    rule_rows = hits.filter(~pl.col("customer_id").is_in(list(removed) + manual)).with_columns(
        pl.lit("rule").alias("list_source"), pl.lit(None, pl.String).alias("note"), pl.lit(None, pl.String).alias("listed_by"),
        pl.lit(None, pl.String).alias("listed_at"))
    manual_rows = pl.DataFrame(
        {"customer_id": manual, "list_source": ["manual"] * len(manual), "reasons": [["manual"]] * len(manual),
         "note": [latest[c]["reason"] for c in manual], "listed_by": [latest[c]["who"] for c in manual],
         "listed_at": [latest[c]["at"] for c in manual]},
        schema={"customer_id": pl.String, "list_source": pl.String, "reasons": pl.List(pl.String), "note": pl.String,
                "listed_by": pl.String, "listed_at": pl.String})
    rows = pl.concat([rule_rows.select(manual_rows.columns), manual_rows])
    out = rows.join(graded.select("customer_id", "branch_id", "grade", "loans_count", "balance", "dpd"),
                    on="customer_id", how="left")
    if branches:  # a restricted slice: only customers with a loan in it
        out = out.filter(pl.col("branch_id").is_not_null())
    return out.sort("list_source", "customer_id").select(list(LIST_SCHEMA)).cast(LIST_SCHEMA)


def with_reason_text(listed: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """``reasons`` as one text of the given display names (the caller's labels), for a table or a file."""
    return listed.with_columns(pl.col("reasons").list.eval(pl.element().replace(names)).list.join("、"))


SCREENING_SCHEMA = {"customer_id": pl.String, "list_source": pl.String, "reasons": pl.String, "listed_at": pl.String}


def screening_ids(listed: pl.DataFrame) -> pl.DataFrame:
    """The export for new-loan screening: one row per listed customer id (reasons as text)."""
    return (listed.select("customer_id", "list_source", pl.col("reasons").list.join(",").alias("reasons"), "listed_at")
            .unique("customer_id", keep="first", maintain_order=True).sort("customer_id")
            .select(list(SCREENING_SCHEMA)).cast(SCREENING_SCHEMA))


def warnings(con: duckdb.DuckDBPyConnection, *, month: dt.date, rules: str = "", records: str = "",
             blacklist_rules: str = "", grade_rules: str = "", branches: tuple[str, ...] = (),
             products: tuple[str, ...] = (), model=None, loan_ids: tuple[str, ...] = ()) -> pl.DataFrame:
    """The early-warning list (of ``loan_ids`` only, when given) with the customer side: ``grade`` and ``blacklisted`` per loan; a listed customer's
    loans on the book get the reason ``blacklisted`` and at least ``warning_level`` (loans no other signal warned
    are added), grade C / D customers' warned loans ``grade_c`` / ``grade_d`` at ``grade_levels``."""
    r = parse(blacklist_rules)
    listed = listing(con, month=month, records=records, rules=blacklist_rules, grade_rules=grade_rules,
                     branches=branches, products=products)
    graded = grading.grades(con, month=month, rules=grade_rules, branches=branches, products=products)
    warned = signals.warnings(con, month=month, rules=rules, branches=branches, products=products, model=model,
                              loan_ids=tuple(loan_ids))
    ids = listed["customer_id"].to_list()
    extra_rows = signals.rule_frame(con, month_from=month, month_to=month, rules=wr.parse(rules), branches=branches,
                                    products=products, loan_ids=tuple(loan_ids))
    extra_rows = extra_rows.filter(pl.col("customer_id").is_in(ids) & ~pl.col("loan_id").is_in(warned["loan_id"].implode()))
    if not extra_rows.is_empty():
        extra_rows = signals.with_crossing(extra_rows.with_columns(
            pl.lit(None, pl.Int8).alias("level_rank"), pl.lit([], pl.List(pl.String)).alias("reasons"),
            pl.lit(None, pl.Float64).alias("pd"), pl.lit(None, pl.Float64).alias("pd_prev"),
            pl.lit(None, pl.Float64).alias("ltv"), pl.lit(None, pl.Float64).alias("pay_ratio_3"),
            pl.lit(None, pl.Float64).alias("pay_ratio_prior"), pl.lit(None, pl.String).alias("level")))
        warned = pl.concat([warned, extra_rows.select(warned.columns).cast(warned.schema)])
    grade_of = graded.select("customer_id", "grade")
    out = warned.join(grade_of, on="customer_id", how="left").with_columns(
        pl.col("customer_id").is_in(ids).alias("blacklisted"))
    bl_rank = wr.RANK[r["warning_level"]]
    ranks = {g: wr.RANK[lv] for g, lv in r["grade_levels"].items()}
    grade_rank = pl.col("grade").replace_strict(ranks, default=None, return_dtype=pl.Int8)
    new_rank = pl.min_horizontal(pl.col("level_rank"), pl.when(pl.col("blacklisted")).then(pl.lit(bl_rank, pl.Int8)),
                                 grade_rank)
    extra = pl.concat_list([pl.when(pl.col("blacklisted")).then(pl.lit("blacklisted")),
                            pl.when(grade_rank.is_not_null()).then(pl.lit("grade_") + pl.col("grade").str.to_lowercase())
                            ]).list.drop_nulls()
    out = out.with_columns(new_rank.cast(pl.Int8).alias("level_rank"),
                           pl.concat_list(extra, pl.col("reasons")).alias("reasons"))
    out = out.with_columns(pl.col("level_rank").replace_strict({v: k for k, v in wr.RANK.items()}, default=None,
                                                               return_dtype=pl.String).alias("level"))
    return out.sort(["level_rank", "balance", "loan_id"], descending=[False, True, False])
