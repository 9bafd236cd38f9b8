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
        "satisfaction": ("客户满意度(回访)", "Customer satisfaction (surveys)"),
    },
    "target_status": {"met": ("已达成", "Met"), "at_risk": ("有风险", "At risk"), "missed": ("未达成", "Missed"),
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


def _model_features() -> dict[str, Pair]:
    from analytics.model.features import LABELS as FEATURE_LABELS

    return {code: tuple(pair) for code, pair in FEATURE_LABELS.items()}


CATALOGUE["model_feature"] = _model_features()


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
    share = (pl.element().struct.field("share") * 100).round(2).cast(pl.String)
    padded = (pl.when(~share.str.contains(r"\.")).then(share + ".00")
              .when(share.str.contains(r"\.\d$")).then(share + "0").otherwise(share))  # one precision: 2 decimals
    top = pl.col("top_causes").list.eval(pl.format(
        "{} {}%", pl.element().struct.field("cause").replace(causes), padded)).list.join(", ")
    return report.with_columns(pl.col("bucket").replace_strict(names, return_dtype=pl.String).alias("bucket_label"),
                               top.alias("top_causes")).select("bucket_label", pl.exclude("bucket", "bucket_label"))


# --- columns: every field a user can see in a table or a download -------------------------------------------

# Codes of the screens that are not in the contract: roll-rate kinds, states of the roll-rate matrix.
CATALOGUE |= {
    "roll_kind": {"roll": ("向前滚动(至任一更差档)", "Forward roll (to any worse bucket)"),
                  "roll_next": ("滚入下一档", "Roll to the next bucket"),
                  "cure": ("回滚至M0", "Cure to M0"), "writeoff": ("核销", "Write-off")},
    "yes_no": {"true": ("是", "Yes"), "false": ("否", "No")},
    "log_kind": {"load": ("导入", "Load"), "restore": ("恢复", "Restore")},
    "log_status": {"loaded": ("已导入", "Loaded"), "restored": ("已恢复", "Restored"), "rejected": ("已拒绝", "Rejected"),
                   "failed": ("失败", "Failed"), "rolled_back": ("已回滚", "Rolled back")},
    "table": {name: (t.zh, t.en) for name, t in schema.TABLES.items()},
}

# field name -> (中文, English). Short screen names; amounts get their unit from ui.show_table.
COLUMNS: dict[str, Pair] = {
    # identifiers and dimensions
    "month": ("月份", "Month"), "quarter": ("季度", "Quarter"), "loan_id": ("借据号", "Loan id"),
    "customer_id": ("客户号", "Customer id"), "branch_id": ("机构号", "Branch id"), "branch_name": ("机构", "Branch"),
    "product": ("产品", "Product"), "product_name": ("产品", "Product"), "member": ("代码", "Code"),
    "label": ("名称", "Name"), "name": ("名称", "Name"), "code": ("代码", "Code"),
    "cohort": ("放款批次", "Cohort"), "mob": ("账龄MOB", "MOB"), "bucket": ("账龄段", "Bucket"),
    "bucket_label": ("账龄段", "Bucket"), "cause": ("逾期原因", "Cause"),
    "collector_id": ("催收员", "Collector"), "origination_date": ("放款日期", "Origination date"),
    # loan fields
    "principal": ("放款金额", "Disbursed"), "outstanding_principal": ("本金余额", "Outstanding"),
    "overdue_principal": ("逾期本金", "Overdue principal"), "overdue_interest": ("逾期利息", "Overdue interest"),
    "amount_due": ("应还金额", "Amount due"), "amount_paid": ("实还金额", "Amount paid"),
    "disposed_principal": ("处置本金", "Disposed principal"), "dpd": ("逾期天数", "DPD"),
    "booked_class": ("五级分类", "Class"), "floor_class": ("监管底线分类", "Floor class"),
    "status": ("状态", "Status"), "overdue_cause": ("逾期原因", "Cause"), "restructured": ("重组", "Restructured"),
    "tech_overdue": ("技术性逾期", "Technical overdue"),
    "prev_dpd": ("上月逾期天数", "DPD last month"), "prev_class": ("上月五级分类", "Class last month"),
    "prev_outstanding": ("上月本金余额", "Outstanding last month"),
    # measures
    "total_count": ("笔数", "Loans"), "total_balance": ("余额", "Balance"),
    "overdue_count": ("逾期笔数", "Overdue loans"), "overdue_balance": ("逾期余额", "Overdue"),
    "npl_count": ("不良笔数", "NPL loans"), "npl_balance": ("不良余额", "NPL"),
    "dpd90_count": ("90天+笔数", "90+ DPD loans"), "dpd90_balance": ("90天+余额", "90+ DPD"),
    "share_count": ("笔数占比", "Share (count)"), "share_balance": ("余额占比", "Share (balance)"),
    "share": ("占比", "Share"), "cum_share": ("累计占比", "Cumulative share"),
    "overdue_ratio": ("逾期率", "Overdue ratio"), "total": ("合计", "Total"),
    # roll rates
    "from_state": ("上月档位", "From (last month)"), "to_state": ("本月状态", "To (this month)"),
    "kind": ("类型", "Kind"), "prev_balance": ("上月余额", "Balance last month"), "balance": ("本月余额", "Balance"),
    "num_count": ("分子笔数", "Numerator loans"), "num_balance": ("分子金额", "Numerator"),
    "den_count": ("分母笔数(n)", "Denominator loans (n)"), "den_balance": ("分母金额", "Denominator"),
    "rate_count": ("比率(笔数)", "Rate (count)"), "rate_balance": ("比率(金额)", "Rate (balance)"),
    "low_n": ("样本不足", "Small sample"), "months": ("月份数", "Months"),
    "cohort_count": ("批次笔数(n)", "Cohort loans (n)"), "cohort_balance": ("批次放款金额", "Cohort disbursed"),
    # audit log details (users & audit page)
    "rows": ("行数", "Rows"), "format": ("格式", "Format"), "config": ("配置", "Configuration"),
    "version": ("版本", "Version"), "command": ("操作", "Action"), "username": ("用户", "User"),
    "role": ("角色", "Role"), "branches": ("机构", "Branches"), "restored": ("恢复的变更", "Restored change"),
    "via": ("登录方式", "Via"), "reason": ("原因", "Reason"), "at": ("时间", "When"), "who": ("用户", "Who"),
    "event": ("事件", "Event"), "what": ("内容", "What"),
    # import page
    "file": ("文件", "File"), "table": ("数据表", "Table"), "row": ("行号", "Row"), "column": ("字段", "Field"),
    "value": ("值", "Value"), "rule": ("规则", "Rule"), "message": ("说明", "Message"),
    "message_zh": ("说明", "Message"), "message_en": ("说明", "Message"), "count": ("行数", "Rows"),
    "change_id": ("变更编号", "Change id"), "time": ("时间", "Time"), "source": ("源文件", "Source file"),
    "sha256": ("文件校验值(SHA-256)", "File checksum (SHA-256)"), "rows_accepted": ("导入行数", "Rows loaded"),
    "rows_rejected": ("隔离行数", "Rows quarantined"), "profile": ("映射方案", "Mapping profile"),
    "replaced": ("替换已有", "Replaced"), "restored_from": ("恢复自", "Restored from"),
    "quarantine": ("隔离文件", "Quarantine file"), "vanished_loans": ("消失借据数", "Vanished loans"),
    "after_exit_rows": ("退出后仍有记录", "Rows after exit"), "source_column": ("源列", "Source column"),
    "restorable": ("可撤销", "Can be undone"), "kind_code": ("类型", "Kind"),
}

# --- what-if scenarios (pages/scenarios.py): the value columns come as <value>_baseline / _scenario / _diff ---
SCENARIO_VALUES: dict[str, Pair] = {
    "total_balance": ("贷款余额", "Loan balance"), "npl_balance": ("不良余额", "NPL balance"),
    "npl_count": ("不良笔数", "NPL loans"), "npl_ratio_balance": ("不良率", "NPL ratio"),
    "npl_ratio_count": ("不良率(笔数)", "NPL ratio (count)"), "deviation_balance": ("偏离度", "90+/NPL"),
    "provision": ("拨备", "Provision"), "coverage": ("拨备覆盖率", "Coverage"),
    "provision_ratio": ("拨贷比", "Provision ratio"), "coverage_band": ("覆盖率监管区间", "Coverage vs band"),
    "provision_ratio_band": ("拨贷比监管区间", "Provision ratio vs band"),
    "overdue_balance": ("逾期余额", "Overdue balance"), "dpd90_balance": ("逾期90天+余额", "90+ DPD balance"),
    "overdue_ratio_balance": ("逾期率", "Overdue ratio"), "collectors": ("催收员人数", "Collectors"),
    "worked": ("已催收案件", "Worked cases"), "cured_balance": ("预期回滚余额", "Expected cured balance"),
    "recovered_balance": ("预期回收金额", "Expected recovered"),
    "pv": ("回收现值", "Recovery (present value)"), "recovery_rate": ("回收率", "Recovery rate"),
}
SCENARIO_SIDES: dict[str, Pair] = {"baseline": ("基准", "baseline"), "scenario": ("情景", "scenario"),
                                   "diff": ("差异", "difference")}
COLUMNS |= {f"{v}_{side}": (f"{zh}·{szh}", f"{en} ({sen})") for v, (zh, en) in SCENARIO_VALUES.items()
            for side, (szh, sen) in SCENARIO_SIDES.items()}
COLUMNS |= {v: pair for v, pair in SCENARIO_VALUES.items() if v not in COLUMNS}  # the same values unsuffixed
COLUMNS |= {
    "baseline": ("基准", "Baseline"), "scenario": ("情景", "Scenario"), "diff": ("差异", "Difference"),
    "branch": ("机构", "Branch"), "metric": ("指标", "Measure"), "level": ("预警级别", "Level"),
    "start_month": ("预测起点", "Start month"), "stage": ("阶段", "Stage"),
    "overdue_ratio_projected": ("逾期率·预测", "Overdue ratio (projected)"),
    "overdue_ratio_actual": ("逾期率·实际", "Overdue ratio (actual)"),
    "overdue_ratio_error": ("逾期率误差", "Overdue ratio error"),
    "npl_ratio_projected": ("不良率·预测", "NPL ratio (projected)"), "npl_ratio_actual": ("不良率·实际", "NPL ratio (actual)"),
    "npl_ratio_error": ("不良率误差", "NPL ratio error"), "bucket_error": ("分档余额误差", "Bucket balance error"),
    "overdue_balance_target": ("逾期余额目标", "Overdue target"), "npl_balance_target": ("不良余额目标", "NPL target"),
    "overdue_gap": ("逾期超目标", "Overdue above target"), "npl_gap": ("不良超目标", "NPL above target"),
    "npl_ratio_gap": ("不良率超上限", "NPL ratio above the ceiling"),
    "branches_with_target": ("有目标机构数", "Branches with a target"), "cases": ("案件数(月均)", "Cases per month"),
    "mean_balance": ("平均余额", "Mean balance"), "cure_worked": ("回滚率·已催收", "Cure rate (worked)"),
    "cure_unworked": ("回滚率·未催收", "Cure rate (not worked)"),
    "recovery_worked": ("回收率·已催收", "Recovery rate (worked)"),
    "recovery_unworked": ("回收率·未催收", "Recovery rate (not worked)"),
    "per_collector": ("人均案件(月)", "Cases per collector (month)"),
    "flagged": ("预警笔数(月均)", "Flagged per month"), "precision": ("精确率", "Precision"), "recall": ("召回率", "Recall"),
    "lead_median_months": ("提前期中位数(月)", "Median lead (months)"),
    "workload": ("人均日案件", "Cases per collector per day"), "side": ("方案", "Side"),
    "entry_bucket": ("入催账龄段", "Entry bucket"),
    "route": ("处置方式", "Route"), "best_route": ("最优处置方式", "Best route"), "claim": ("债权本金", "Claim"),
    "auction_proceeds": ("拍卖净回收", "Auction net proceeds"), "pv_transfer": ("转让现值", "Transfer (PV)"),
    "pv_auction": ("拍卖现值", "Auction (PV)"), "pv_restructure": ("重组现值", "Restructuring (PV)"),
    "pv_best": ("最优现值", "Best route (PV)"), "restructured_count": ("重组不良笔数", "Restructured NPLs"),
    "cured_count": ("12个月内回正笔数", "Cured within 12 months"), "cure_probability": ("重组成功概率", "Cure probability"),
}
CATALOGUE |= {
    "scenario_band": {"below": ("低于区间", "below the band"), "within": ("区间内", "within the band"),
                      "above": ("高于区间", "above the band")},
    "scenario_metric": {"flagged": ("预警笔数(月均)", "Flagged per month"), "precision": ("精确率", "Precision"),
                        "recall": ("召回率", "Recall"), "lead_median_months": ("提前期中位数(月)", "Median lead (months)"),
                        "workload": ("人均日案件", "Cases per collector per day")},
    "scenario_side": {side: pair for side, pair in SCENARIO_SIDES.items()},
    "scenario_branch": {"total": ("合计", "Total")},
    "scenario_route": {"transfer": ("批量转让", "Transfer"), "auction": ("司法拍卖", "Auction"),
                       "restructure": ("重组", "Restructuring"), "best": ("逐笔最优", "Best per loan")},
}

# Columns whose cells are codes of a catalogue kind (shown as labels).
COLUMN_CODES: dict[str, str] = {
    "product": "product", "status": "status", "overdue_cause": "overdue_cause", "booked_class": "class",
    "floor_class": "class", "prev_class": "class", "start_class": "class", "kind": "roll_kind",
    "restructured": "yes_no", "tech_overdue": "yes_no", "replaced": "yes_no", "table": "table",
    "repayment_method": "repayment_method", "guarantee_type": "guarantee_type", "channel": "channel",
    "outcome": "outcome", "low_n": "yes_no", "restorable": "yes_no",
}


def column(name: str, lang: str) -> str:
    """The screen name of a field: the catalogue, else the contract's own name, else the field itself."""
    pair = COLUMNS.get(name)
    if pair is None:
        for table in schema.TABLES.values():
            if name in table.names:
                col = table.column(name)
                pair = (col.zh, col.en.split(" (")[0])
                break
    if pair is None:
        return name
    return pair[0] if lang == "zh" else pair[1]


def with_column_codes(df: pl.DataFrame, lang: str, columns: dict[str, str] | None = None) -> pl.DataFrame:
    """Every code column of ``COLUMN_CODES`` (and ``columns``: {column: kind}) shown as labels; booleans as 是/否."""
    kinds = {c: k for c, k in COLUMN_CODES.items() if c in df.columns} | (columns or {})
    exprs = []
    for col, kind in kinds.items():
        if col not in df.columns:
            continue
        text = pl.col(col).cast(pl.String).str.to_lowercase() if df.schema[col] == pl.Boolean \
            else pl.col(col).cast(pl.String)
        exprs.append(text.replace_strict(label_map(kind, lang), default=text).alias(col))
    return df.with_columns(exprs)


# --- the drill page's criteria (analytics.metrics.drilldown.describe) in words -------------------------------------

# key -> (中文, English) templates over the formatted values.
CRITERIA_TEXT = {
    "rows_at_month": ("{month} 月末快照", "Month-end snapshot of {month}"),
    "rows_first_exit": ("{start}（不含）至 {end} 期间首次退出（结清、核销、转让等）时的记录",
                        "Each loan's first exit row (paid off, written off, sold, …) after {start} up to {end}"),
    "rows_latest": ("截至 {month} 各借据最近一期记录（已退出的按退出时）",
                    "Each loan's latest row up to {month} (loans that left: their exit row)"),
    "rows_first_hit": ("截至 {month} 各借据首次逾期 ≥ {min} 天时的记录（冻结余额）",
                       "Each loan's first row up to {month} with DPD ≥ {min} (the frozen balance)"),
    "branches": ("机构：{branches}", "Branches: {branches}"),
    "products": ("产品：{products}", "Products: {products}"),
    "cohort_between": ("放款月份 {start} 至 {end}", "Originated {start} to {end}"),
    "cohort_from": ("放款月份不早于 {start}", "Originated in {start} or later"),
    "cohort_to": ("放款月份不晚于 {end}", "Originated in {end} or earlier"),
    "statuses": ("状态：{statuses}", "Status: {statuses}"),
    "dpd_between": ("逾期 {min}–{max} 天", "DPD {min}–{max}"),
    "dpd_at_least": ("逾期 ≥ {min} 天", "DPD ≥ {min}"),
    "dpd_at_most": ("逾期 ≤ {max} 天", "DPD ≤ {max}"),
    "classes": ("五级分类：{classes}", "Class: {classes}"),
    "causes": ("逾期原因：{causes}", "Overdue cause: {causes}"),
    "cause_not_reported": ("逾期原因未填报", "Overdue cause not reported"),
    "new_overdue": ("本月新增逾期（{prev_month} 末未逾期或无记录）",
                    "Newly overdue (not overdue or absent at {prev_month})"),
    "prev_on_book": ("{prev_month} 末有快照记录", "Has a snapshot at {prev_month}"),
    "prev_dpd_between": ("{prev_month} 末逾期 {min}–{max} 天", "DPD {min}–{max} at {prev_month}"),
    "prev_dpd_at_least": ("{prev_month} 末逾期 ≥ {min} 天", "DPD ≥ {min} at {prev_month}"),
    "prev_dpd_at_most": ("{prev_month} 末逾期 ≤ {max} 天", "DPD ≤ {max} at {prev_month}"),
    "prev_classes": ("{prev_month} 末五级分类：{classes}", "Class at {prev_month}: {classes}"),
    "ever_dpd": ("截至 {month} 曾逾期 ≥ {min} 天", "Ever DPD ≥ {min} up to {month}"),
    "ever_dpd_by_mob": ("在本笔账龄 MOB{mob} 之前曾逾期 ≥ {min} 天", "Ever DPD ≥ {min} by its own MOB{mob}"),
    "below_floor": ("账面分类优于监管底线分类", "Booked class better than the regulatory floor"),
}


# --- the borrower's side (analytics.customer, issue 18): codes and columns -----------------------------------------

CATALOGUE["warning_signal"] = CATALOGUE["warning_signal"] | {
    "blacklisted": ("黑名单客户", "Blacklisted customer"), "grade_c": ("C类客户(还款意愿差)", "Grade C (unwilling)"),
    "grade_d": ("D类客户(欺诈/失联)", "Grade D (fraud / lost contact)"),
}
CATALOGUE |= {
    "customer_grade": {"A": ("A类：逾期但能还款", "A: pays late but pays"),
                       "B": ("B类：暂时困难", "B: temporary hardship"),
                       "C": ("C类：还款意愿差", "C: unwilling to pay"),
                       "D": ("D类：欺诈/失联", "D: fraud / lost contact"),
                       "current": ("未逾期客户", "Never overdue (not graded)")},
    "grade_action": {"remind": ("提醒为主：短信/电话提醒，宽限期内不催收", "Remind: SMS / phone, no collection in grace"),
                     "negotiate": ("协商还款：还款计划、展期或重组评估", "Negotiate: repayment plan, extension or restructuring"),
                     "escalate": ("加强催收：上门、律师函、委外或诉讼", "Escalate: field visit, lawyer's letter, agency or suit"),
                     "legal": ("法律处置：核实欺诈、报案/诉讼，列入黑名单", "Legal: verify fraud, report / sue, blacklist"),
                     "none": ("无需催收", "No collection")},
    "blacklist_source": {"rule": ("规则认定", "Rule"), "manual": ("人工列入", "Added by a data steward")},
    "blacklist_reason": {"fraud": ("欺诈", "Fraud"), "wilful": ("恶意逃废债", "Wilful default"),
                         "grade_d": ("D类客户", "Grade D"), "manual": ("人工列入", "Added manually")},
    "blacklist_action": {"add": ("列入", "Added"), "remove": ("移出", "Removed")},
    "report_event": {"overdue_new": ("新增逾期", "Newly overdue"), "overdue_continuing": ("持续逾期", "Still overdue"),
                     "cured": ("逾期已还清", "Cured"), "closed": ("逾期后结清", "Closed after overdue"),
                     "settled": ("以其他方式了结", "Settled by other means")},
    "credit_status": {"N": ("N 正常", "N normal"), "*": ("* 未到期/无应还", "* nothing due"), "C": ("C 结清", "C closed"),
                      "G": ("G 其他方式了结", "G settled otherwise"), "D": ("D 担保人代还", "D guarantor paid"),
                      "/": ("/ 无记录", "/ no record"),
                      **{str(i): (f"{i} 逾期{i}期", f"{i} overdue {i} period{'s' if i > 1 else ''}") for i in range(1, 8)}},
}
COLUMNS |= {
    "customers_count": ("客户数", "Customers"), "loans_count": ("笔数", "Loans"), "grade": ("客户分级", "Grade"),
    "action": ("建议措施", "Recommended action"), "worst_dpd": ("最长逾期天数(回看期)", "Worst DPD (lookback)"),
    "overdue_months": ("逾期月数", "Overdue months"), "pay_ratio": ("还款比例(实还÷应还)", "Paid ÷ due"),
    "cause": ("逾期原因", "Cause"), "contacts": ("催收次数", "Contacts"), "reached": ("有效联络", "Reached"),
    "ptp": ("承诺还款", "Promises"), "payments": ("还款结果", "Payment outcomes"), "refused": ("拒绝还款", "Refused"),
    "lost_contact": ("失联次数", "Lost contact"), "overdue_amount": ("逾期金额", "Overdue amount"),
    "list_source": ("来源", "Source"), "reasons": ("原因", "Reasons"), "note": ("说明", "Note"),
    "listed_by": ("列入人", "Listed by"), "listed_at": ("列入时间", "Listed at"),
    "action_code": ("操作", "Action"), "history": ("24个月还款状态", "24-month status"),
    "latest": ("本月状态", "This month"), "worst": ("最差状态", "Worst"),
    "report_month": ("报送月份", "Report month"), "report_event": ("报送事件", "Event"), "status_code": ("状态码", "Status"),
    "overdue_periods": ("逾期期数", "Overdue periods"), "first_overdue_date": ("首次逾期日", "First overdue date"),
    "account_status": ("账户状态", "Account status"), "maturity_date": ("到期日期", "Maturity date"),
    "days": ("计息天数", "Days"), "penalty": ("罚息", "Penalty interest"), "compound": ("复利", "Compound interest"),
    "pending": ("宽限期内暂计", "Pending in grace"), "in_grace": ("宽限期内", "In grace"),
    "in_grace_count": ("宽限期内笔数", "Loans in grace"), "spell_penalty": ("本次逾期累计罚息", "Penalty this spell"),
    "penalty_owed": ("应收罚息复利", "Penalty & compound owed"), "owed_total": ("当前应还合计", "Owed today"),
    "quote_date": ("通知还款日", "Notice pay-by date"), "quote_total": ("通知应还金额", "Notice amount"),
    "grace_days": ("宽限期(天)", "Grace days"), "surcharge": ("罚息上浮比例", "Penalty surcharge"),
    "compound_rule": ("计收复利", "Compound interest"), "annual_rate": ("年利率", "Annual rate"),
    "branch_count": ("机构数", "Branches"), "pd": ("违约概率PD", "PD"),
    "last_month": ("最近月份", "Latest month"), "action_date": ("催收日期", "Action date"),
    "promised_amount": ("承诺金额", "Promised"), "promised_date": ("承诺日期", "Promised date"),
    "amount_collected": ("回收金额", "Collected"), "cost": ("催收成本", "Cost"), "channel": ("催收方式", "Channel"),
    "outcome": ("催收结果", "Outcome"), "visit_date": ("回访日期", "Visit date"), "visit_channel": ("回访方式", "Channel"),
    "visit_outcome": ("回访结果", "Outcome"), "satisfaction_score": ("满意度评分", "Score"),
    "complaint": ("投诉", "Complaint"), "stage": ("通知阶段", "Stage"), "text_zh": ("通知内容(中文)", "Text (Chinese)"),
    "text_en": ("通知内容(英文)", "Text (English)"), "level": ("预警等级", "Level"), "blacklisted": ("黑名单", "Blacklisted"),
    "overdue_customers_count": ("逾期客户数", "Overdue customers"),
    "visited_customers_count": ("已回访逾期客户", "Overdue customers visited"), "visits_count": ("回访次数", "Visits"),
    "reached_count": ("回访成功", "Reached"), "surveyed_count": ("满意度样本(n)", "Surveys (n)"),
    "satisfied_count": ("满意数", "Satisfied"), "complaints_count": ("投诉数", "Complaints"),
    "revisit_rate": ("回访率", "Revisit rate"), "satisfaction_rate": ("满意度", "Satisfaction"),
    "complaint_rate": ("投诉率", "Complaint rate"), "satisfaction_target": ("满意度目标", "Target"),
    "satisfaction_status": ("达标情况", "Status"), "guarantee_type": ("担保方式", "Guarantee"),
}
COLUMN_CODES |= {
    "grade": "customer_grade", "action": "grade_action", "list_source": "blacklist_source", "cause": "overdue_cause",
    "report_event": "report_event", "account_status": "status", "latest": "credit_status", "worst": "credit_status",
    "status_code": "credit_status", "in_grace": "yes_no", "compound_rule": "yes_no", "visit_channel": "visit_channel",
    "visit_outcome": "visit_outcome", "complaint": "yes_no", "stage": "notice_stage", "level": "warning_level",
    "blacklisted": "yes_no", "satisfaction_status": "target_status", "action_code": "blacklist_action",
}
