"""The data contract: every table the dashboard reads, declared once.

Column names, Polars dtypes, units, allowed values, keys and references live here;
the generator, the importer, the validator and the query layer all read them from
this module. Codes are stable English identifiers; their Chinese and English labels
are in ``LABELS`` so a bank's own wording is mapped on import, not stored (the UI's label catalogue,
``labels.py``, builds on them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

MONEY = pl.Decimal(18, 2)
"""Money in yuan (元), two decimals. Sums come back from DuckDB as DECIMAL(38,2)."""

# --- code lists -------------------------------------------------------------

PRODUCTS = ("mortgage", "consumer", "personal_business", "micro_sme", "housing_fund", "credit_card")
REPAYMENT_METHODS = ("annuity", "equal_principal", "interest_only", "revolving")
GUARANTEE_TYPES = ("credit", "guarantee", "mortgage", "pledge")
RATINGS = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")
CLASSES = (1, 2, 3, 4, 5)  # 正常, 关注, 次级, 可疑, 损失
NPL_CLASSES = (3, 4, 5)
STATUSES = ("active", "paid_off", "written_off", "transferred", "foreclosed")
EXIT_STATUSES = ("paid_off", "written_off", "transferred", "foreclosed")
DISPOSAL_STATUSES = ("written_off", "transferred", "foreclosed")
CAUSES = (
    "business_difficulty",
    "income_drop",
    "illness",
    "over_indebted",
    "willingness",
    "fraud",
    "dispute",
    "technical",
    "other",
)
CHANNELS = ("phone", "sms", "visit", "letter", "litigation", "outsourced")
OUTCOMES = ("no_answer", "rpc", "ptp", "partial_payment", "full_payment", "refused", "lost_contact")
VISIT_CHANNELS = ("phone", "sms", "visit", "online")
VISIT_OUTCOMES = ("reached", "no_answer", "refused")

LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "product": {
        "mortgage": ("个人住房贷款", "Residential mortgage"),
        "consumer": ("个人消费贷款", "Consumer loan"),
        "personal_business": ("个人经营贷款", "Personal business loan"),
        "micro_sme": ("小微企业贷款", "Micro & small enterprise loan"),
        "housing_fund": ("公积金贷款", "Housing provident fund loan"),
        "credit_card": ("信用卡", "Credit card"),
    },
    "repayment_method": {
        "annuity": ("等额本息", "Equal instalments (annuity)"),
        "equal_principal": ("等额本金", "Equal principal"),
        "interest_only": ("按期付息到期还本", "Interest only, bullet principal"),
        "revolving": ("循环额度", "Revolving"),
    },
    "guarantee_type": {
        "credit": ("信用", "Unsecured"),
        "guarantee": ("保证", "Guaranteed"),
        "mortgage": ("抵押", "Mortgage (real estate)"),
        "pledge": ("质押", "Pledge"),
    },
    "booked_class": {
        "1": ("正常", "Pass"),
        "2": ("关注", "Special mention"),
        "3": ("次级", "Substandard"),
        "4": ("可疑", "Doubtful"),
        "5": ("损失", "Loss"),
    },
    "status": {
        "active": ("正常存续", "Active"),
        "paid_off": ("结清", "Paid off"),
        "written_off": ("核销", "Written off"),
        "transferred": ("转让", "Transferred / sold"),
        "foreclosed": ("以物抵债", "Foreclosed"),
    },
    "overdue_cause": {
        "business_difficulty": ("经营困难", "Business difficulty"),
        "income_drop": ("收入下降/失业", "Income drop / unemployment"),
        "illness": ("疾病/意外", "Illness / accident"),
        "over_indebted": ("多头借贷/过度负债", "Over-indebtedness"),
        "willingness": ("还款意愿差", "Unwilling to pay"),
        "fraud": ("欺诈", "Fraud"),
        "dispute": ("纠纷/争议", "Dispute"),
        "technical": ("技术性原因(扣款失败等)", "Technical (failed debit etc.)"),
        "other": ("其他", "Other"),
    },
    "channel": {
        "phone": ("电话", "Phone"),
        "sms": ("短信", "SMS"),
        "visit": ("上门", "Field visit"),
        "letter": ("信函", "Letter"),
        "litigation": ("诉讼", "Litigation"),
        "outsourced": ("委外", "Outsourced agency"),
    },
    "outcome": {
        "no_answer": ("未接通", "No answer"),
        "rpc": ("有效联络", "Right-party contact"),
        "ptp": ("承诺还款", "Promise to pay"),
        "partial_payment": ("部分还款", "Partial payment"),
        "full_payment": ("全额还款", "Full payment"),
        "refused": ("拒绝还款", "Refused"),
        "lost_contact": ("失联", "Lost contact"),
    },
    "visit_channel": {
        "phone": ("电话回访", "Phone"),
        "sms": ("短信问卷", "SMS survey"),
        "visit": ("上门回访", "Field visit"),
        "online": ("线上问卷", "Online survey"),
    },
    "visit_outcome": {
        "reached": ("回访成功", "Reached"),
        "no_answer": ("未接通", "No answer"),
        "refused": ("拒绝回访", "Refused"),
    },
}


def label(kind: str, code: object, lang: str = "zh") -> str:
    """The display label of a code (``lang`` is ``"zh"`` or ``"en"``); unknown codes pass through."""
    pair = LABELS.get(kind, {}).get(str(code))
    if pair is None:
        return str(code)
    return pair[0] if lang == "zh" else pair[1]


def label_map(kind: str, lang: str = "zh") -> dict[str, str]:
    return {code: label(kind, code, lang) for code in LABELS[kind]}


# --- contract ----------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    zh: str
    en: str
    unit: str = ""
    required: bool = True  # the column must be present
    nullable: bool = False  # may hold nulls
    allowed: tuple | None = None  # allowed codes
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Table:
    name: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: dict[str, str] = field(default_factory=dict)  # column -> "table.column"
    partition: str | None = None  # hive partition column (month, first day of month)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _money(name: str, zh: str, en: str, **kw) -> Column:
    return Column(name, MONEY, zh, en, unit="元", min=0, **kw)


BRANCHES = Table(
    "branches",
    "机构",
    "Branches",
    (
        Column("branch_id", pl.String, "机构号", "Branch id"),
        Column("branch_name", pl.String, "机构名称", "Branch name"),
        Column("region", pl.String, "区域", "Region"),
    ),
    key=("branch_id",),
)

LOANS = Table(
    "loans",
    "借据",
    "Loans",
    (
        Column("loan_id", pl.String, "借据号", "Loan id"),
        Column("customer_id", pl.String, "客户号", "Customer id", required=False, nullable=True),
        Column("branch_id", pl.String, "放款机构", "Origination branch"),
        Column("product", pl.String, "产品", "Product", allowed=PRODUCTS, required=False, nullable=True),
        Column("origination_date", pl.Date, "放款日期", "Origination date (a month YYYY-MM is read as its first day)"),
        Column("maturity_date", pl.Date, "到期日期", "Maturity date", required=False, nullable=True),
        _money("principal", "放款金额", "Principal disbursed (credit limit for cards)"),
        Column("annual_rate", pl.Float64, "年利率", "Annual interest rate", unit="decimal, 0.045 = 4.5%", min=0, max=0.36,
               required=False, nullable=True),
        Column("term_months", pl.Int32, "期限(月)", "Term", unit="months", min=1, max=480, required=False,
               nullable=True),
        Column("repayment_method", pl.String, "还款方式", "Repayment method", allowed=REPAYMENT_METHODS, required=False,
               nullable=True),
        Column("guarantee_type", pl.String, "担保方式", "Guarantee type", allowed=GUARANTEE_TYPES, required=False,
               nullable=True),
        _money("collateral_value", "押品价值(放款时)", "Collateral value at origination", required=False, nullable=True),
        Column("borrower_age", pl.Int32, "借款人年龄", "Borrower age at origination", unit="years", min=18, max=100,
               required=False, nullable=True),
        _money("annual_income", "年收入", "Annual income (borrower or firm revenue)", required=False, nullable=True),
        Column("industry", pl.String, "职业/行业", "Occupation / industry", required=False, nullable=True),
        Column("internal_rating", pl.String, "内部评级(放款时)", "Internal rating at origination", allowed=RATINGS,
               required=False, nullable=True),
    ),
    key=("loan_id",),
    references={"branch_id": "branches.branch_id"},
)

SNAPSHOTS = Table(
    "snapshots",
    "月末快照",
    "Month-end snapshots",
    (
        Column("month", pl.Date, "数据月份", "Month (first day of the month; the row is that month's end)"),
        Column("loan_id", pl.String, "借据号", "Loan id"),
        Column("branch_id", pl.String, "管理机构", "Managing branch at the month end"),
        _money("outstanding_principal", "本金余额", "Outstanding principal at month end"),
        _money("overdue_principal", "逾期本金", "Overdue principal (unpaid past-due instalments); empty = not provided",
               required=False, nullable=True),
        _money("overdue_interest", "逾期利息", "Overdue interest; empty = not provided", required=False, nullable=True),
        Column("dpd", pl.Int32, "逾期天数", "Days past due (oldest unpaid instalment)", unit="days", min=0, max=20000),
        Column("booked_class", pl.Int8, "五级分类", "Booked five-tier class (1 正常 … 5 损失)", allowed=CLASSES),
        Column("status", pl.String, "状态", "Status", allowed=STATUSES),
        Column("tech_overdue", pl.Boolean, "技术性短期逾期", "Short (≤7 days) overdue for technical reasons; empty = "
               "not provided (no exemption)", required=False, nullable=True),
        Column("overdue_cause", pl.String, "逾期原因", "Overdue cause", allowed=CAUSES, required=False, nullable=True),
        Column("collector_id", pl.String, "催收员", "Assigned collector", required=False, nullable=True),
        Column("restructured", pl.Boolean, "重组标识", "Restructured; empty = not provided", required=False,
               nullable=True),
        _money("collateral_value", "押品现值", "Current collateral value", required=False, nullable=True),
        _money("amount_due", "本月应还", "Amount due in the month (principal + interest); empty = not provided",
               required=False, nullable=True),
        _money("amount_paid", "本月实还", "Amount paid in the month (principal + interest); empty = not provided",
               required=False, nullable=True),
        _money("disposed_principal", "处置本金", "Principal removed by write-off, transfer or foreclosure this month "
               "(when the file has no such column: 0 on other rows, the previous month's outstanding principal on a "
               "disposal row)", required=False, nullable=True),
    ),
    key=("month", "loan_id"),
    references={"loan_id": "loans.loan_id", "branch_id": "branches.branch_id",
                "collector_id": "collectors.collector_id"},
    partition="month",
)

COLLECTORS = Table(
    "collectors",
    "催收员",
    "Collectors",
    (
        Column("collector_id", pl.String, "催收员编号", "Collector id"),
        Column("collector_name", pl.String, "催收员姓名", "Collector name"),
        Column("team", pl.String, "团队", "Team"),
        Column("branch_id", pl.String, "机构号", "Branch id"),
    ),
    key=("collector_id",),
    references={"branch_id": "branches.branch_id"},
)

COLLECTION_ACTIONS = Table(
    "collection_actions",
    "催收记录",
    "Collection actions",
    (
        Column("month", pl.Date, "数据月份", "Month of the action (first day of the month)"),
        Column("action_id", pl.String, "记录号", "Action id"),
        Column("loan_id", pl.String, "借据号", "Loan id"),
        Column("collector_id", pl.String, "催收员", "Collector id"),
        Column("action_date", pl.Date, "催收日期", "Action date"),
        Column("channel", pl.String, "催收方式", "Channel", allowed=CHANNELS),
        Column("outcome", pl.String, "催收结果", "Outcome", allowed=OUTCOMES),
        _money("promised_amount", "承诺金额", "Promised amount", nullable=True),
        Column("promised_date", pl.Date, "承诺日期", "Promised date", nullable=True),
        _money("amount_collected", "回收金额", "Amount collected"),
        _money("cost", "催收成本", "Cost of the action"),
    ),
    key=("action_id",),
    references={"loan_id": "loans.loan_id", "collector_id": "collectors.collector_id"},
    partition="month",
)

TARGETS = Table(
    "targets",
    "压降目标",
    "Branch targets",
    (
        Column("branch_id", pl.String, "机构号", "Branch id"),
        Column("quarter", pl.Date, "季度", "Quarter (first day of the quarter)"),
        _money("overdue_balance_target", "逾期余额目标(上限)", "Closing overdue balance target (ceiling)"),
        _money("npl_balance_target", "不良余额目标(上限)", "Closing NPL balance target (ceiling)"),
        Column("npl_ratio_ceiling", pl.Float64, "不良率上限", "NPL ratio ceiling", unit="decimal", min=0, max=1),
        _money("cash_recovery_target", "现金清收目标", "Cash recovery target"),
        _money("new_npl_ceiling", "新发生不良上限", "New NPL ceiling"),
        _money("writeoff_quota", "核销额度", "Write-off quota"),
    ),
    key=("branch_id", "quarter"),
    references={"branch_id": "branches.branch_id"},
)

RETURN_VISITS = Table(
    "return_visits",
    "回访与满意度",
    "Return visits & surveys",
    (
        Column("month", pl.Date, "数据月份", "Month of the visit (first day of the month)"),
        Column("visit_id", pl.String, "回访记录号", "Visit id"),
        Column("customer_id", pl.String, "客户号", "Customer id"),
        Column("loan_id", pl.String, "借据号", "Loan id; empty = the customer as a whole", required=False,
               nullable=True),
        Column("branch_id", pl.String, "机构号", "Branch id (the branch that made the visit)"),
        Column("visit_date", pl.Date, "回访日期", "Visit date"),
        Column("visit_channel", pl.String, "回访方式", "Channel", allowed=VISIT_CHANNELS),
        Column("visit_outcome", pl.String, "回访结果", "Outcome", allowed=VISIT_OUTCOMES),
        Column("satisfaction_score", pl.Int32, "满意度评分", "Satisfaction score (1 = very dissatisfied … 5 = very "
               "satisfied); empty = not surveyed", unit="1-5", min=1, max=5, required=False, nullable=True),
        Column("complaint", pl.Boolean, "是否投诉", "The customer complained; empty = no", required=False,
               nullable=True),
    ),
    key=("visit_id",),
    references={"loan_id": "loans.loan_id", "branch_id": "branches.branch_id"},
    partition="month",
)

TABLES: dict[str, Table] = {t.name: t for t in (BRANCHES, LOANS, SNAPSHOTS, COLLECTORS, COLLECTION_ACTIONS, TARGETS,
                                                RETURN_VISITS)}


def conform(df: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Select the contract's columns in order and cast to the declared dtypes (strict)."""
    return df.select([pl.col(c.name).cast(c.dtype, strict=True) for c in table.columns])
