"""Warning reports: the per-loan warning report (PDF: typst with the embedded WenQuanYi Micro Hei font, the pattern
of ``analytics.pack.pdf``) and the aggregated monthly warning report (Excel, one sheet per table, text neutralised
against formula injection)."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import duckdb
import polars as pl
import xlsxwriter

import labels
from analytics.core import export
from analytics.core import months as mo
from analytics.core.store import query
from analytics.warning import rules as R
from analytics.warning import signals as S

FONT_DIRS = [p for p in ("/usr/share/fonts/truetype/wqy", "/usr/share/fonts/wqy-microhei") if Path(p).is_dir()]

FACTS_SQL = """
SELECT l.loan_id, l.customer_id, l.branch_id, coalesce(b.branch_name, l.branch_id) AS branch_name, l.product,
  l.origination_date, l.maturity_date, l.principal::DOUBLE AS principal, l.annual_rate, l.term_months,
  l.repayment_method, l.guarantee_type, l.industry, l.internal_rating
FROM loans l LEFT JOIN branches b ON b.branch_id = l.branch_id WHERE l.loan_id = $loan_id"""
HISTORY_SQL = """
SELECT month, outstanding_principal::DOUBLE AS balance, dpd, booked_class, amount_due::DOUBLE AS amount_due,
  amount_paid::DOUBLE AS amount_paid
FROM snapshots WHERE loan_id = $loan_id AND month BETWEEN $month_from AND $month ORDER BY month"""


def loan_report_data(con: duckdb.DuckDBPyConnection, *, month: dt.date, loan_id: str, rules: str = "",
                     model=None) -> dict:
    """Everything the per-loan report shows: loan facts, the warning row at ``month`` (None when not warned),
    the last 6 months of balance / DPD / class / payments, and the rule table version's time nodes."""
    facts = query(con, FACTS_SQL, {"loan_id": loan_id})
    rules_d = R.parse(rules)
    warned = S.warnings(con, month=month, rules=rules, model=model, loan_ids=(loan_id,))
    hist = query(con, HISTORY_SQL, {"loan_id": loan_id, "month_from": mo.add_months(month, -5), "month": month})
    return {"month": month, "loan_id": loan_id, "facts": facts.row(0, named=True) if facts.height else {},
            "warning": warned.row(0, named=True) if warned.height else None, "history": hist.to_dicts(),
            "time_nodes": rules_d["time_nodes"]}


TEMPLATE = """
#set page(paper: "a4", margin: 1.6cm, numbering: "1 / 1")
#set text(font: "WenQuanYi Micro Hei", size: 9pt, lang: sys.inputs.lang)
#let d = json(bytes(sys.inputs.data))
#let grid-table(head, rows) = table(columns: head.len(), stroke: 0.4pt + luma(180), inset: 4pt,
  fill: (_, y) => if y == 0 { luma(235) },
  ..head.map(h => strong(h)), ..rows.flatten())
= #d.title
#d.subtitle
#for s in d.sections [
  == #s.name
  #grid-table(s.head, s.rows)
]
== #d.reasons_title
#for r in d.reasons [ - #r ]
== #d.action_title
#d.action
"""


def _t(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _fmt(v: object) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return str(v)


def loan_report_content(data: dict, lang: str) -> dict:
    """The report's text content (title, sections as head + rows, reasons, recommended action)."""
    f, w = data["facts"], data["warning"]
    L = lambda kind, code: labels.label(kind, code, lang)  # noqa: E731
    facts_rows = [[_t(lang, "借据号", "Loan"), _fmt(f.get("loan_id"))],
                  [_t(lang, "客户号", "Customer"), _fmt(f.get("customer_id"))],
                  [_t(lang, "机构", "Branch"), f"{_fmt(f.get('branch_id'))} {_fmt(f.get('branch_name'))}"],
                  [_t(lang, "产品", "Product"), L("product", f.get("product"))],
                  [_t(lang, "放款/到期日", "Originated / matures"),
                   f"{_fmt(f.get('origination_date'))} / {_fmt(f.get('maturity_date'))}"],
                  [_t(lang, "放款金额", "Principal"), _fmt(f.get("principal"))],
                  [_t(lang, "担保方式", "Guarantee"), L("guarantee_type", f.get("guarantee_type"))],
                  [_t(lang, "还款方式", "Repayment"), L("repayment_method", f.get("repayment_method"))],
                  [_t(lang, "行业", "Industry"), _fmt(f.get("industry"))]]
    sections = [{"name": _t(lang, "客户与借据", "Customer and loan"), "head": [_t(lang, "项目", "Item"),
                                                                          _t(lang, "内容", "Value")],
                 "rows": facts_rows}]
    if w:
        ind = [[_t(lang, "预警等级", "Level"), L("warning_level", w["level"])],
               [_t(lang, "本金余额", "Outstanding"), _fmt(w["balance"])],
               [_t(lang, "逾期天数", "DPD"), _fmt(w["dpd"])], [_t(lang, "上月逾期天数", "DPD last month"), _fmt(w["prev_dpd"])],
               [_t(lang, "五级分类", "Class"), L("class", w["booked_class"])],
               [_t(lang, "下一分类临界(天)", "Next threshold (DPD)"), _fmt(w["next_threshold"])],
               [_t(lang, "距临界天数", "Days to threshold"), _fmt(w["days_to_next"])],
               [_t(lang, "临界日期(不还款)", "Crossing date (if unpaid)"), _fmt(w["crossing_date"])],
               [_t(lang, "逾期金额", "Overdue amount"), _fmt(w["overdue_amount"])],
               [_t(lang, "本月应还/实还", "Due / paid this month"), f"{_fmt(w['amount_due'])} / {_fmt(w['amount_paid'])}"],
               [_t(lang, "近3月还款比例/前3月", "Paid÷due last 3 m / 3 before"),
                f"{_fmt(w['pay_ratio_3'])} / {_fmt(w['pay_ratio_prior'])}"],
               [_t(lang, "抵押率 LTV", "LTV"), _fmt(w["ltv"])],
               [_t(lang, "违约概率 PD", "PD"), _fmt(w["pd"]) if w["pd"] is not None else _t(lang, "无模型", "no model")],
               [_t(lang, "催收员", "Collector"), _fmt(w["collector_id"])]]
        sections.append({"name": _t(lang, "预警指标", "Indicators"), "head": [_t(lang, "指标", "Indicator"),
                                                                         _t(lang, "值", "Value")], "rows": ind})
        nodes = data["time_nodes"][w["level"]]
        reasons = [L("warning_signal", r) for r in w["reasons"]]
        action = (L("warning_action", w["level"]) + _t(
            lang, f"（首次处置时限 {nodes['respond_days']} 天，{nodes['escalate_days']} 天未解除升级处理）",
            f" (first action within {nodes['respond_days']} days; escalate if still open after "
            f"{nodes['escalate_days']} days)"))
    else:
        reasons = [_t(lang, "本月未触发预警", "No warning this month")]
        action = L("warning_action", "blue")
    hist_rows = [[_fmt(h["month"])[:7], _fmt(h["balance"]), _fmt(h["dpd"]), L("class", h["booked_class"]),
                  _fmt(h["amount_due"]), _fmt(h["amount_paid"])] for h in data["history"]]
    sections.append({"name": _t(lang, "近6个月", "Last 6 months"),
                     "head": [_t(lang, "月份", "Month"), _t(lang, "余额", "Balance"), "DPD", _t(lang, "分类", "Class"),
                              _t(lang, "应还", "Due"), _t(lang, "实还", "Paid")], "rows": hist_rows})
    return {"title": _t(lang, f"贷后预警报告 · {data['loan_id']}", f"Early-warning report · {data['loan_id']}"),
            "subtitle": _t(lang, f"数据月份 {mo.month_label(data['month'])} 月末",
                           f"As of the {mo.month_label(data['month'])} month end"),
            "sections": sections, "reasons_title": _t(lang, "预警原因", "Reasons"), "reasons": reasons,
            "action_title": _t(lang, "建议处置措施", "Recommended action"), "action": action}


def loan_report_pdf(data: dict, lang: str) -> bytes:
    """The per-loan warning report as PDF bytes."""
    import typst

    content = loan_report_content(data, lang)
    return typst.compile({"main.typ": TEMPLATE.encode()},
                         sys_inputs={"data": json.dumps(content, ensure_ascii=False, default=str), "lang": lang},
                         font_paths=FONT_DIRS)


def _plain(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        [pl.col(n).cast(pl.Float64) for n, t in df.schema.items() if isinstance(t, pl.Decimal)]
        + [pl.col(n).list.join(", ") for n, t in df.schema.items() if t == pl.List(pl.String)])


def monthly_report_xlsx(sheets: dict[str, pl.DataFrame]) -> bytes:
    """The aggregated monthly warning report: one sheet per (already labelled) table; text neutralised."""
    buf = io.BytesIO()
    with xlsxwriter.Workbook(buf, {"strings_to_formulas": False, "strings_to_urls": False}) as book:
        for name, df in sheets.items():
            export.neutralise(_plain(df)).write_excel(book, worksheet=name[:31], autofit=True)
    return buf.getvalue()


LABEL_COLUMNS = {"level": "warning_level", "prev_level": "warning_level", "change": "warning_change",
                 "handling": "warning_handling", "stage": "notice_stage", "code": "warning_limit",
                 "product": "product", "booked_class": "class", "rule_level": "warning_level",
                 "grade": "customer_grade", "blacklisted": "yes_no"}


def labelled(df: pl.DataFrame, lang: str) -> pl.DataFrame:
    """A warning table for the screen or a report: code columns as labels, reason lists as labelled text."""
    out = df.with_columns(
        pl.col(c).cast(pl.String).replace_strict(labels.label_map(kind, lang), default=pl.col(c).cast(pl.String))
        for c, kind in LABEL_COLUMNS.items() if c in df.columns)
    names = labels.label_map("warning_signal", lang)
    if "reasons" in out.columns:
        out = out.with_columns(pl.col("reasons").list.eval(pl.element().replace(names)).list.join("；"))
    return out


def headers(lang: str) -> dict[str, str]:
    """Column headers of the warning tables."""
    zh = lang == "zh"
    pairs = {
        "month": ("月份", "Month"), "loan_id": ("借据号", "Loan"), "customer_id": ("客户号", "Customer"),
        "branch_id": ("机构", "Branch"), "product": ("产品", "Product"), "collector_id": ("催收员", "Collector"),
        "level": ("预警等级", "Level"), "level_rank": ("等级序号", "Level rank"), "reasons": ("预警原因", "Reasons"),
        "balance": ("本金余额", "Balance"), "dpd": ("逾期天数", "DPD"), "prev_dpd": ("上月逾期天数", "DPD last month"),
        "booked_class": ("五级分类", "Class"), "next_threshold": ("下一临界(DPD)", "Next threshold (DPD)"),
        "days_to_next": ("距临界天数", "Days to threshold"), "crossing_date": ("临界日期", "Crossing date"),
        "overdue_amount": ("逾期金额", "Overdue amount"), "amount_due": ("本月应还", "Due"),
        "amount_paid": ("本月实还", "Paid"), "pay_ratio_3": ("近3月还款比例", "Paid÷due 3 m"),
        "pay_ratio_prior": ("前3月还款比例", "Paid÷due 3 m before"), "ltv": ("抵押率LTV", "LTV"),
        "restructured": ("重组", "Restructured"), "pd": ("违约概率PD", "PD"), "pd_prev": ("上月PD", "PD last month"),
        "prev_level": ("上月等级", "Level last month"), "change": ("变动", "Change"), "loans": ("笔数", "Loans"),
        "raised_date": ("预警日期", "Raised"), "respond_days": ("处置时限(天)", "Respond within (days)"),
        "escalate_days": ("升级时限(天)", "Escalate after (days)"), "first_action": ("首次处置", "First action"),
        "actions": ("处置次数", "Actions"), "age_days": ("已持续(天)", "Age (days)"),
        "response_days": ("响应天数", "Response (days)"), "handling": ("处置状态", "Handling"),
        "escalation_due": ("需升级", "Escalation due"), "warnings": ("预警数", "Warnings"),
        "handled_on_time": ("按时处置", "On time"), "handled_late": ("逾时处置", "Late"),
        "overdue": ("超时未处置", "Overdue"), "pending": ("待处置", "Pending"), "stage": ("通知阶段", "Stage"),
        "notices": ("通知数", "Notices"), "outstanding": ("贷款余额", "Outstanding"), "text_zh": ("通知内容(中文)", "Text (Chinese)"),
        "text_en": ("通知内容(英文)", "Text (English)"), "code": ("指标", "Measure"), "value": ("当前值", "Value"),
        "limit": ("限额/区间上限", "Limit"), "breached": ("是否突破", "Breached"), "basis": ("方向", "Direction"),
        "warned": ("预警笔数", "Warned"), "hits": ("H月内逾期超90天", "Reached 90+ DPD within H"),
        "precision": ("命中率(精确率)", "Precision"), "events": ("新进入90天以上", "New 90+ DPD loans"),
        "caught": ("事前已预警", "Warned before"), "recall": ("覆盖率(召回率)", "Recall"),
        "lead_median_months": ("提前期中位数(月)", "Median lead (months)"), "collectors": ("催收员数", "Collectors"),
        "unassigned": ("未分配", "Unassigned"), "per_collector": ("人均预警", "Warnings per collector"),
        "grade": ("客户分级", "Grade"), "blacklisted": ("黑名单", "Blacklisted"),
        "rule_level": ("规则表等级", "Level by the rule table"),
    }
    return {k: (zh_ if zh else en) for k, (zh_, en) in pairs.items()}
