"""Borrower notices by stage: templates (中文 + English), placeholder check, batches for the SMS / letter system.

Stage of a loan at the month (DPD at the month end) [ILLUS bounds, parameters]:
``pre_due`` DPD 0 with an instalment due (amount due > 0) — a reminder before the next due date; ``m1`` DPD 1-30;
``m2`` DPD 31-60; ``pre_legal`` DPD >= 61 (before the loan passes 90 DPD and legal steps start).
What a notice tells an overdue borrower (the seed's list): the amount and days overdue, the consequences (penalty
interest, a record in the credit report 征信), the repayment channels, the remedies (instalment plan, extension)
and, from M2 on, the legal risk. Templates are saved as versioned configuration ``notice_templates``.
"""

from __future__ import annotations

import datetime as dt
import json
import string

import duckdb
import polars as pl

from analytics.core.slice import MANAGED_SLICE_SQL, list_param, slice_params
from analytics.core.store import query

STAGES = ("pre_due", "m1", "m2", "pre_legal")
CONFIG_NAME = "notice_templates"

LOAN_FIELDS = ("customer_id", "loan_id", "branch_name", "product_name", "outstanding", "overdue_amount", "dpd",
               "amount_due", "as_of", "crossing_date")
"""Placeholders filled from the loan (amounts as 12,345.67, dates as YYYY-MM-DD)."""

DEFAULT_SETTINGS = {
    "bank_name": "本行", "bank_name_en": "the Bank", "hotline": "95XXX",
    "channels": "手机银行、网上银行、柜台或还款账户存款自动扣款",
    "channels_en": "mobile banking, online banking, any branch counter, or a deposit to your repayment account",
    "penalty_rate": "在合同利率基础上加收50%", "penalty_rate_en": "the contract rate plus 50%",
}

_ZH = {
    "pre_due": ("【{bank_name}】尊敬的客户，您的借据{loan_id}本期应还{amount_due}元即将到期，请于到期日前存足款项，"
                "可通过{channels}还款。逾期将按{penalty_rate}计收罚息并记入征信。如有困难请致电{hotline}。"),
    "m1": ("【{bank_name}】尊敬的客户，您的借据{loan_id}已逾期{dpd}天，逾期金额{overdue_amount}元。逾期将按{penalty_rate}"
           "计收罚息，并将如实报送人民银行征信系统，影响您的信用记录。请尽快通过{channels}还款；如有困难可致电{hotline}"
           "申请分期还款或展期。长期逾期本行将依法追索。"),
    "m2": ("【{bank_name}】逾期警示：您的借据{loan_id}已逾期{dpd}天，逾期金额{overdue_amount}元，贷款余额{outstanding}元。"
           "逾期期间按{penalty_rate}计收罚息，逾期记录已报送征信系统。若继续逾期，本行将依法采取催收措施并可能提起诉讼。"
           "请立即通过{channels}还款，或致电{hotline}协商分期还款、展期等方案。"),
    "pre_legal": ("【{bank_name}】诉前通知：您的借据{loan_id}已逾期{dpd}天，逾期金额{overdue_amount}元，贷款余额{outstanding}"
                  "元。请于收到本通知之日起7日内还清逾期款项。逾期未还的，本行将依法提起诉讼，申请财产保全及强制执行，"
                  "由此产生的诉讼费、律师费等由您承担，相关记录将载入征信系统。如需协商还款方案请致电{hotline}。"),
}
_EN = {
    "pre_due": ("[{bank_name_en}] Dear customer, the instalment of CNY {amount_due} on loan {loan_id} is due soon. "
                "Please have the amount ready by the due date; you can pay through {channels_en}. A late payment "
                "bears penalty interest at {penalty_rate_en} and is reported to the credit reference system. "
                "If you have difficulties, call {hotline}."),
    "m1": ("[{bank_name_en}] Dear customer, loan {loan_id} is {dpd} days overdue; overdue amount CNY {overdue_amount}. "
           "Penalty interest at {penalty_rate_en} accrues and the overdue is reported to the PBOC credit reference "
           "system, which affects your credit record. Please pay as soon as possible through {channels_en}; call "
           "{hotline} to ask for an instalment plan or an extension. A lasting overdue will be pursued at law."),
    "m2": ("[{bank_name_en}] Warning: loan {loan_id} is {dpd} days overdue; overdue amount CNY {overdue_amount}, "
           "outstanding CNY {outstanding}. Penalty interest at {penalty_rate_en} accrues and the overdue is in your "
           "credit report. If it stays unpaid the Bank will take collection measures and may sue. Pay now through "
           "{channels_en}, or call {hotline} to agree an instalment plan or an extension."),
    "pre_legal": ("[{bank_name_en}] Notice before legal action: loan {loan_id} is {dpd} days overdue; overdue amount "
                  "CNY {overdue_amount}, outstanding CNY {outstanding}. Please repay the overdue amount within 7 days "
                  "of this notice. Otherwise the Bank will sue, apply for asset preservation and enforcement; court "
                  "and lawyer fees will be borne by you and the case will be recorded in your credit report. "
                  "Call {hotline} to agree a repayment plan."),
}
DEFAULT_BOUNDS = {"m1_from": 1, "m2_from": 31, "pre_legal_from": 61}


def default_templates() -> dict:
    return {"templates": {st: {"zh": _ZH[st], "en": _EN[st]} for st in STAGES},
            "settings": dict(DEFAULT_SETTINGS), "bounds": dict(DEFAULT_BOUNDS)}


class TemplateError(ValueError):
    """A template that cannot be saved or used; the message names the stage, language and placeholder."""


def placeholders(text: str) -> list[str]:
    """The placeholder names in ``text`` (``{name}``; ``{{`` / ``}}`` are literal braces)."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise TemplateError(f"malformed braces: {exc}") from exc


def validate(config: dict) -> dict:
    """The notice configuration completed with defaults and checked: every placeholder must be a loan field or a
    setting; an unknown one is an error naming it (never a blank in the notice)."""
    if not isinstance(config, dict):
        raise TemplateError("the notice configuration must be an object")
    out = default_templates()
    settings = out["settings"] | {str(k): str(v) for k, v in (config.get("settings") or {}).items()}
    for key in settings:
        if not key.isidentifier():
            raise TemplateError(f"setting name {key!r} must be letters, digits and _")
    out["settings"] = settings
    allowed = set(LOAN_FIELDS) | set(settings)
    for stage, pair in (config.get("templates") or {}).items():
        if stage not in STAGES:
            raise TemplateError(f"unknown stage {stage!r}")
        out["templates"][stage] = out["templates"][stage] | {k: str(v) for k, v in pair.items() if k in ("zh", "en")}
    for stage, pair in out["templates"].items():
        for lang, text in pair.items():
            where = f"{stage}/{lang}"
            try:
                parsed = list(string.Formatter().parse(text))
            except ValueError as exc:
                raise TemplateError(f"{where}: malformed braces ({exc})") from exc
            for _, name, spec, conv in parsed:
                if name is None:
                    continue
                if name == "" or name.isdigit():
                    raise TemplateError(f"{where}: empty or positional placeholder {{{name}}}; use a name")
                if name not in allowed:
                    raise TemplateError(f"{where}: unknown placeholder {{{name}}}")
                if spec or conv:
                    raise TemplateError(f"{where}: placeholder {{{name}}} must not carry a format or conversion")
    bounds = out["bounds"] | {k: int(v) for k, v in (config.get("bounds") or {}).items() if k in DEFAULT_BOUNDS}
    if not 1 <= bounds["m1_from"] < bounds["m2_from"] < bounds["pre_legal_from"]:
        raise TemplateError("bounds: need 1 <= m1_from < m2_from < pre_legal_from")
    out["bounds"] = bounds
    return out


def parse(config: str | dict | None) -> dict:
    if config is None or config == "":
        return default_templates()
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError as exc:
            raise TemplateError(f"not valid JSON: {exc}") from exc
    return validate(config)


def stage_expr(bounds: dict) -> pl.Expr:
    dpd = pl.col("dpd")
    return (pl.when(dpd >= bounds["pre_legal_from"]).then(pl.lit("pre_legal"))
            .when(dpd >= bounds["m2_from"]).then(pl.lit("m2"))
            .when(dpd >= bounds["m1_from"]).then(pl.lit("m1"))
            .when((dpd == 0) & (pl.col("amount_due") > 0)).then(pl.lit("pre_due"))
            .otherwise(None))


LOANS_SQL = """
SELECT s.loan_id, l.customer_id, s.branch_id, coalesce(b.branch_name, s.branch_id) AS branch_name, l.product,
  s.outstanding_principal AS outstanding, s.overdue_principal + s.overdue_interest AS overdue_amount, s.dpd,
  s.amount_due
FROM snapshots s JOIN loans l USING (loan_id) LEFT JOIN branches b ON b.branch_id = s.branch_id
WHERE s.month = $month AND s.status = 'active' AND (len($loan_ids) = 0 OR s.loan_id IN (SELECT unnest($loan_ids)))
  AND """ + MANAGED_SLICE_SQL

LOANS_SCHEMA = {"loan_id": pl.String, "customer_id": pl.String, "branch_id": pl.String, "branch_name": pl.String,
                "product": pl.String, "outstanding": pl.Float64, "overdue_amount": pl.Float64, "dpd": pl.Int32,
                "amount_due": pl.Float64}
BATCH_COLUMNS = ("stage", "loan_id", "customer_id", "branch_id", "product", "dpd", "overdue_amount", "outstanding",
                 "text_zh", "text_en")


def _money(v: float | None) -> str:
    return "0.00" if v is None else f"{v:,.2f}"


def render(text: str, values: dict) -> str:
    """``text`` with its placeholders filled (an unknown placeholder raises ``TemplateError``)."""
    missing = [n for n in placeholders(text) if n not in values]
    if missing:
        raise TemplateError(f"unknown placeholder {{{missing[0]}}}")
    return text.format_map(values)


def notice_batch(con: duckdb.DuckDBPyConnection, *, month: dt.date, templates: str = "", loan_ids: tuple[str, ...] = (),
                 stages: tuple[str, ...] = (), branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
                 product_names: tuple[tuple[str, str, str], ...] = ()) -> pl.DataFrame:
    """One notice per selected loan on the book at ``month`` that is in a stage (and in ``stages`` if given):
    stage, loan, customer, DPD, amounts and the text in Chinese and English. ``loan_ids`` empty = every loan of
    the slice; ``product_names`` = (code, 中文, English) for the ``product_name`` placeholder (default: the code)."""
    cfg = parse(templates)
    df = query(con, LOANS_SQL, {"month": month, "loan_ids": list_param(loan_ids), **slice_params(branches, products)},
               LOANS_SCHEMA)
    df = df.with_columns(stage_expr(cfg["bounds"]).alias("stage")).filter(pl.col("stage").is_not_null())
    if stages:
        df = df.filter(pl.col("stage").is_in(list(stages)))
    df = df.with_columns(pl.col("loan_id").cast(pl.String))
    if df.is_empty():
        return pl.DataFrame(schema={c: (pl.Int32 if c == "dpd" else pl.Float64 if c in ("overdue_amount", "outstanding")
                                        else pl.String) for c in BATCH_COLUMNS})
    from analytics.warning.signals import with_crossing

    df = with_crossing(df.with_columns(pl.lit(month).alias("month")))
    names = {code: (zh, en) for code, zh, en in product_names}
    as_of = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    texts_zh, texts_en = [], []
    for row in df.iter_rows(named=True):
        values = dict(cfg["settings"]) | {
            "customer_id": row["customer_id"] or "", "loan_id": row["loan_id"], "branch_name": row["branch_name"] or "",
            "outstanding": _money(row["outstanding"]), "overdue_amount": _money(row["overdue_amount"]),
            "dpd": str(row["dpd"]), "amount_due": _money(row["amount_due"]), "as_of": as_of.isoformat(),
            "crossing_date": row["crossing_date"].isoformat() if row["crossing_date"] else ""}
        zh, en = names.get(row["product"], (row["product"], row["product"]))
        pair = cfg["templates"][row["stage"]]
        texts_zh.append(render(pair["zh"], values | {"product_name": zh}))
        texts_en.append(render(pair["en"], values | {"product_name": en}))
    order = {s: i for i, s in enumerate(STAGES)}
    return (df.with_columns(pl.Series("text_zh", texts_zh, dtype=pl.String), pl.Series("text_en", texts_en, dtype=pl.String),
                            pl.col("stage").replace_strict(order, return_dtype=pl.Int8).alias("_o"))
            .sort("_o", "loan_id").select(BATCH_COLUMNS))


def summary(batch: pl.DataFrame) -> pl.DataFrame:
    """Notices per stage (every stage listed, zero when none), with the overdue amount they concern."""
    base = pl.DataFrame({"stage": list(STAGES)})
    agg = batch.group_by("stage").agg(pl.len().cast(pl.Int64).alias("notices"),
                                      pl.col("overdue_amount").sum().alias("overdue_amount"))
    return base.join(agg, on="stage", how="left").with_columns(pl.col("notices").fill_null(0),
                                                               pl.col("overdue_amount").fill_null(0.0))
