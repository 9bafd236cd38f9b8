"""The label catalogue of the UI: every code the analytics return, turned into 中文 / English.

Analytics return codes (product ``mortgage``, class ``3``, cause ``not_reported``, bucket ``2``, rate
``class1`` ...). The contract's own code names (``analytics.core.schema.LABELS``, which the importer also
reads to map a bank's wording) are the base; this module adds what only the screens need: measures,
migration rates, end states, buckets and report rows. ``ui.label`` reads it in the language of the run.
"""

from __future__ import annotations

import polars as pl

from analytics.core import schema
from analytics.core.rules import M_BUCKET_DPD, M_BUCKET_LABELS, REG_BAND_LABELS, REG_BAND_LABELS_EN

Pair = tuple[str, str]

CATALOGUE: dict[str, dict[str, Pair]] = {
    **schema.LABELS,
    "overdue_cause": {**schema.LABELS["overdue_cause"], "not_reported": ("未填报", "Not reported")},
    "class": {"1": ("正常类", "Pass"), "2": ("关注类", "Special mention"), "3": ("次级类", "Substandard"),
              "4": ("可疑类", "Doubtful"), "5": ("损失类", "Loss")},
    "measure": {
        "total": ("贷款余额", "Total loans"), "overdue": ("逾期贷款", "Overdue loans"),
        "dpd30": ("逾期30天以上", "30+ DPD"), "dpd60": ("逾期60天以上", "60+ DPD"), "dpd90": ("逾期90天以上", "90+ DPD"),
        "class1": ("正常类", "Pass"), "class2": ("关注类", "Special mention"), "class3": ("次级类", "Substandard"),
        "class4": ("可疑类", "Doubtful"), "class5": ("损失类", "Loss"), "npl": ("不良贷款", "NPL"),
    },
    "migration": {
        "class1": ("正常类贷款迁徙率", "Pass migration rate"),
        "class2": ("关注类贷款迁徙率", "Special-mention migration rate"),
        "class3": ("次级类贷款迁徙率", "Substandard migration rate"),
        "class4": ("可疑类贷款迁徙率", "Doubtful migration rate"),
        "performing": ("正常贷款迁徙率", "Performing-loan migration rate"),
    },
    "bucket_m": {str(i): (f"{name} ({M_BUCKET_DPD[i]})",) * 2 for i, name in enumerate(M_BUCKET_LABELS)},
    "bucket_reg": {str(i): pair for i, pair in enumerate(zip(REG_BAND_LABELS, REG_BAND_LABELS_EN, strict=True))},
    "report_row": {"8": ("逾期小计", "Overdue subtotal"), "9": ("合计", "Total")},
    "bridge_line": {
        "opening": ("期初余额", "Opening balance"), "new": ("新增", "New"), "transfer_in": ("调入", "Transferred in"),
        "cured": ("回正常/上迁", "Cured / upgraded"), "repaid": ("结清", "Repaid in full"),
        "cash_recovered": ("现金回收", "Cash recovered"), "written_off": ("核销", "Written off"),
        "transferred": ("转让", "Sold / transferred"), "foreclosed": ("以物抵债", "Foreclosed"),
        "transfer_out": ("调出", "Transferred out"), "stayer": ("存续余额变动", "Stayers' balance change"),
        "no_record": ("无记录", "No record"), "closing": ("期末余额", "Closing balance"),
    },
    "exec_kpi": {
        "overdue_balance": ("逾期贷款余额", "Overdue balance"), "overdue_ratio": ("逾期率", "Overdue ratio"),
        "npl_balance": ("不良贷款余额", "NPL balance"), "npl_ratio": ("不良率", "NPL ratio"),
        "new_npl": ("新发生不良", "New NPL"), "cash_recovered": ("现金清收", "Cash recovered"),
        "deviation": ("偏离度", "90+ DPD / NPL"), "coverage": ("拨备覆盖率(简化)", "Coverage (simplified)"),
    },
    "component": {
        "npl_balance": ("不良余额", "NPL balance"), "overdue_balance": ("逾期余额", "Overdue balance"),
        "new_npl": ("新发生不良", "New NPL"), "cash_recovery": ("现金清收", "Cash recovery"),
        "writeoff": ("核销额度使用", "Write-off vs quota"),
    },
    "tier": {"reward": ("奖励", "Reward"), "pass": ("合格", "Pass"), "penalty": ("问责", "Penalty")},
    "peer_group": {"large": ("大型", "Large"), "medium": ("中型", "Medium"), "small": ("小型", "Small"),
                   "all": ("全部", "All")},
    "programme": {
        "new_loan_npl_ratio": ("新发放贷款不良率", "NPL ratio of new loans"),
        "recovery_rate": ("逾期清收回收率", "Overdue recovery rate"),
        "overdue_ratio_drop": ("逾期率降幅(6个月)", "Overdue ratio fall (6 months)"),
        "legal_benefit": ("诉讼投入产出比", "Legal cost-benefit"),
    },
    "status": {"met": ("已达成", "Met"), "at_risk": ("有风险", "At risk"), "missed": ("未达成", "Missed"),
               "no_data": ("无数据", "No data")},
    # --- early warning (analytics.warning) ---
    "warning_level": {"red": ("红色预警", "Red"), "orange": ("橙色预警", "Orange"), "yellow": ("黄色预警", "Yellow"),
                      "blue": ("蓝色预警", "Blue")},
    "warning_signal": {
        "cross_91_soon": ("即将逾期超90天(临界)", "About to pass 90 DPD"),
        "cross_91": ("30天内将逾期超90天", "Passes 90 DPD within 30 days"),
        "cross_271": ("将逾期超270天(可疑)", "Passes 270 DPD soon (doubtful)"),
        "cross_361": ("将逾期超360天(损失)", "Passes 360 DPD soon (loss)"),
        "roll_m1_m2": ("M1滚动至M2", "Rolled M1 → M2"), "roll_c_m1": ("正常滚动至M1", "Rolled current → M1"),
        "missed_payment": ("本月未足额还款", "Missed payment this month"),
        "ltv_high": ("抵押率(LTV)超限", "Collateral LTV above limit"), "restructured": ("重组贷款", "Restructured"),
        "pay_ratio_fall": ("还款比例下降", "Payment ratio falling"), "pd_high": ("违约概率(PD)偏高", "PD above threshold"),
        "pd_up": ("违约概率(PD)骤升", "PD up sharply"),
    },
    "warning_change": {"new": ("新增", "New"), "escalated": ("升级", "Escalated"), "unchanged": ("持平", "Unchanged"),
                       "de_escalated": ("降级", "De-escalated"), "closed": ("解除", "Closed")},
    "warning_handling": {"handled_on_time": ("按时处置", "Handled on time"), "handled_late": ("逾时处置", "Handled late"),
                         "overdue": ("超时未处置", "Overdue, not handled"), "pending": ("待处置(未超时)", "Pending")},
    "warning_limit": {"npl_ratio": ("不良贷款率", "NPL ratio"), "deviation": ("偏离度(90天以上/不良)", "90+ DPD / NPL"),
                      "coverage": ("拨备覆盖率(简化)", "Provision coverage (simplified)"),
                      "roll_c_m1": ("M0→M1滚动率", "M0 → M1 roll rate"), "roll_m1_m2": ("M1→M2滚动率", "M1 → M2 roll rate"),
                      "vintage_30": ("最新批次30+逾期率(Vintage)", "Newest cohort's 30+ rate (vintage)")},
    "warning_action": {
        "red": ("立即催收/启动法律程序，冻结额度，重新认定分类", "Immediate collection or legal action, freeze limits, reclassify"),
        "orange": ("加强催收，追加抵押或保证人", "Intensive collection, add collateral or a guarantor"),
        "yellow": ("电话/短信联系借款人，复核额度", "Contact the borrower, review the limit"),
        "blue": ("持续监测", "Monitor"),
    },
    "notice_stage": {"pre_due": ("到期前提醒", "Pre-due reminder"), "m1": ("M1逾期提醒", "M1 overdue reminder"),
                     "m2": ("M2逾期警示", "M2 overdue warning"), "pre_legal": ("诉前通知", "Pre-legal notice")},
}


def label(kind: str, code: object, lang: str) -> str:
    """The label of ``code`` in ``lang`` ("zh" or "en"); unknown codes pass through as text."""
    pair = CATALOGUE.get(kind, {}).get(str(code))
    if pair is None:
        return str(code)
    return pair[0] if lang == "zh" else pair[1]


def label_map(kind: str, lang: str) -> dict[str, str]:
    return {code: label(kind, code, lang) for code in CATALOGUE[kind]}


def bucket_labels(scheme: str, lang: str) -> list[str]:
    """Labels of buckets 0..7 of scheme ``m`` (M-buckets with their DPD range) or ``reg``."""
    kind = "bucket_m" if scheme == "m" else "bucket_reg"
    return [label(kind, i, lang) for i in range(len(M_BUCKET_LABELS))]


def with_code_labels(df: pl.DataFrame, lang: str, columns: dict[str, str] | None = None) -> pl.DataFrame:
    """Replace code columns by their labels: columns named like a catalogue kind (product, status,
    overdue_cause, booked_class ...) and those given in ``columns`` as {column: kind}."""
    kinds = {kind: kind for kind in schema.LABELS if kind in df.columns} | (columns or {})
    return df.with_columns(
        pl.col(col).cast(pl.String).replace_strict(label_map(kind, lang), default=pl.col(col).cast(pl.String))
        for col, kind in kinds.items() if col in df.columns
    )


def with_label_column(df: pl.DataFrame, column: str, labels: dict[str, str], name: str = "label") -> pl.DataFrame:
    """Add ``name`` with the display label of ``column`` (unknown codes pass through), as the first column."""
    return df.with_columns(pl.col(column).replace(labels).alias(name)).select(name, pl.exclude(name))


def aging_report_view(report: pl.DataFrame, scheme: str, lang: str) -> pl.DataFrame:
    """The aging report for the screen: ``bucket_label`` first (8 = overdue subtotal, 9 = total) and the top
    causes as "label share%" text."""
    names = dict(enumerate(bucket_labels(scheme, lang))) | {8: label("report_row", 8, lang),
                                                            9: label("report_row", 9, lang)}
    causes = label_map("overdue_cause", lang)
    top = pl.col("top_causes").list.eval(pl.format(
        "{} {}%", pl.element().struct.field("cause").replace(causes),
        (pl.element().struct.field("share") * 100).round(1))).list.join(", ")
    return report.with_columns(pl.col("bucket").replace_strict(names, return_dtype=pl.String).alias("bucket_label"),
                               top.alias("top_causes")).select("bucket_label", pl.exclude("bucket", "bucket_label"))
