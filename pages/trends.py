"""逾期趋势 / Overdue trends: overdue ratio, NPL ratio and new overdue over time, by branch or product, with QoQ."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

import app_data
import ui
from analytics.core import measures
from analytics.core.months import previous_quarter_end, window_start
from analytics.metrics import portfolio, trends
from analytics.metrics.drilldown import DrillSpec

ui.require_data()
f = ui.filters()

st.title(ui.tr("逾期趋势", "Overdue trends"))
st.caption(ui.tr(f"截至 {ui.month_label(f.month)} 月末，近 36 个月", f"36 months to month-end {ui.month_label(f.month)}"))

METRICS = {
    "overdue_ratio": ("逾期率", "Overdue ratio"),
    "npl_ratio": ("不良率", "NPL ratio"),
    "new_overdue": ("新增逾期", "New overdue"),
}
# (metric, basis) -> column of trends.trend_series
SERIES_COLUMN = {(m, b): f"{m}_{b}" for m in METRICS for b in ("balance", "count")}
DIMENSIONS = {"total": ("全行", "Total"), "branch": ("按机构", "By branch"), "product": ("按产品", "By product")}

# Option labels are resolved now (not inside format_func) so they follow the language of this run.
metric_names = {k: ui.tr(*v) for k, v in METRICS.items()}
basis_names = {"balance": ui.tr("余额", "Balance"), "count": ui.tr("笔数", "Count")}
dimension_names = {k: ui.tr(*v) for k, v in DIMENSIONS.items()}
freq_names = {"month": ui.tr("月度", "Monthly"), "quarter": ui.tr("季度", "Quarterly")}

c1, c2, c3, c4 = st.columns(4)
metric = c1.selectbox(ui.tr("指标", "Metric"), list(METRICS), key="tr_metric", format_func=ui.options(metric_names))
basis = c2.radio(ui.tr("口径", "Basis"), list(basis_names), key="tr_basis", horizontal=True,
                 format_func=ui.options(basis_names))
dimension = c3.radio(ui.tr("维度", "Dimension"), list(DIMENSIONS), key="tr_dim", horizontal=True,
                     format_func=ui.options(dimension_names))
freq = c4.radio(ui.tr("频率", "Frequency"), list(freq_names), key="tr_freq", horizontal=True,
                format_func=ui.options(freq_names))

# One query per (dimension, filters, month); frequency, basis and the QoQ table reshape it in memory.
monthly = app_data.run(trends.trend_series, dimension=dimension, branches=f.branches, products=f.products,
                       month_from=window_start(f.month), month_to=f.month)
series = trends.to_quarters(monthly) if freq == "quarter" else monthly
if series.is_empty():
    ui.empty_notice()
    st.stop()

dims = app_data.run(portfolio.dimensions)
branch_names = dict(dims["branches"])
if dimension == "branch":
    labels = {b: f"{b} {n}" for b, n in branch_names.items()}
elif dimension == "product":
    labels = {p: ui.label("product", p) for p in dims["products"]}
else:
    labels = {trends.TOTAL: ui.tr("全行", "Total")}

qoq = ui.with_label_column(trends.qoq_change(monthly, f.month, basis), "member", labels)
qoq = qoq.sort(metric, descending=True, nulls_last=True)

column = SERIES_COLUMN[(metric, basis)]
is_ratio = metric != "new_overdue"
members = qoq["member"].to_list() or series["member"].unique().sort().to_list()
if dimension != "total":
    members = st.multiselect(ui.tr("显示的机构/产品（按当前值排序）", "Shown branches / products (ranked by current value)"),
                             members, default=members[:8], key=f"tr_members_{dimension}",
                             format_func=ui.options(labels))


def _y(values: list) -> list:
    if is_ratio:
        return [None if v is None else v * 100 for v in values]
    if basis == "balance":
        return [None if v is None else float(v) / 1e4 for v in values]
    return values


fig = go.Figure()
for member in members:
    part = series.filter(member=member)
    x = part["month"].to_list() if freq == "month" else [f"{q.year}Q{(q.month - 1) // 3 + 1}" for q in part["quarter"]]
    fig.add_trace(go.Scatter(x=x, y=_y(part[column].to_list()), name=labels.get(member, member),
                             mode="lines+markers"))
if is_ratio:
    y_title = ui.tr(f"{METRICS[metric][0]}（%）", f"{METRICS[metric][1]} (%)")
elif basis == "balance":
    y_title = ui.tr("新增逾期余额（万元）", "New overdue balance (CNY 10k)")
else:
    y_title = ui.tr("新增逾期笔数（笔）", "New overdue loans (count)")
fig.update_yaxes(title_text=y_title)
fig.update_xaxes(title_text=ui.tr("月份", "Month") if freq == "month" else ui.tr("季度", "Quarter"))
fig.update_layout(title=ui.tr(*METRICS[metric]) + " · " + (ui.tr("余额口径", "balance") if basis == "balance"
                                                            else ui.tr("笔数口径", "count")))
ui.chart(fig, "tr_chart")

st.subheader(ui.tr("较上季末变动", "Change vs previous quarter end"))
pq = previous_quarter_end(f.month)
st.caption(ui.tr(f"本期 {ui.month_label(f.month)} 对比上季末 {ui.month_label(pq)}；比率变动单位为百分点（pp）。",
                 f"{ui.month_label(f.month)} vs previous quarter end {ui.month_label(pq)}; ratio changes are "
                 "percentage points (pp)."))
amount_unit = ui.tr("(元)", "(CNY)") if basis == "balance" else ui.tr("(笔)", "(loans)")
HEADERS = {
    "label": ui.tr("机构/产品", "Branch / product"), "member": ui.tr("代码", "Code"),
    "overdue_ratio": ui.tr("逾期率", "Overdue ratio"), "overdue_ratio_prev_q": ui.tr("上季末逾期率", "Prev. Q-end"),
    "overdue_ratio_chg": ui.tr("逾期率变动(pp)", "Overdue ratio chg (pp)"),
    "npl_ratio": ui.tr("不良率", "NPL ratio"), "npl_ratio_prev_q": ui.tr("上季末不良率", "Prev. Q-end NPL ratio"),
    "npl_ratio_chg": ui.tr("不良率变动(pp)", "NPL ratio chg (pp)"),
    "overdue": ui.tr("逾期", "Overdue") + amount_unit, "overdue_prev_q": ui.tr("上季末逾期", "Prev. Q-end overdue"),
    "overdue_chg": ui.tr("逾期变动", "Overdue chg"), "overdue_chg_pct": ui.tr("逾期变动%", "Overdue chg %"),
    "npl": ui.tr("不良", "NPL") + amount_unit, "npl_prev_q": ui.tr("上季末不良", "Prev. Q-end NPL"),
    "npl_chg": ui.tr("不良变动", "NPL chg"), "npl_chg_pct": ui.tr("不良变动%", "NPL chg %"),
    "new_overdue": ui.tr("本月新增逾期", "New overdue (month)") + amount_unit,
    "new_overdue_prev_q": ui.tr("上季末月新增逾期", "New overdue in prev. Q-end month"),
    "new_overdue_chg": ui.tr("月新增变动", "Monthly new chg"), "new_overdue_chg_pct": ui.tr("月新增变动%", "Monthly new chg %"),
    "new_overdue_qtd": ui.tr("本季累计新增逾期", "New overdue QTD") + amount_unit,
    "new_overdue_qtd_prev_q": ui.tr("上季新增逾期", "New overdue prev. quarter"),
    "new_overdue_qtd_chg": ui.tr("季度新增变动", "Quarterly new chg"),
    "new_overdue_qtd_chg_pct": ui.tr("季度新增变动%", "Quarterly new chg %"),
}
amount_cols = tuple(c for c in qoq.columns if c.startswith(("overdue", "npl", "new_overdue"))
                    and "ratio" not in c and not c.endswith("_pct"))
# product codes are not shown beside their labels (branch ids are: banks use them)
ui.show_table(qoq if dimension == "branch" else qoq.drop("member"), "tr_qoq", name="overdue_trends_qoq", headers=HEADERS,
              money=amount_cols if basis == "balance" else (),
              pct=tuple(c for c in qoq.columns if ("ratio" in c and not c.endswith("_chg")) or c.endswith("_pct")),
              pp=tuple(c for c in qoq.columns if "ratio" in c and c.endswith("_chg")))

st.subheader(ui.tr("查看明细", "Loans behind a point"))
months = [m for m in dims["months"] if m <= f.month]
d1, d2 = st.columns(2)
drill_month = d1.selectbox(ui.tr("月份", "Month"), months[::-1], key="tr_drill_month", format_func=ui.month_label)
branches, products = f.branches, f.products
if dimension != "total":
    options = qoq["member"].to_list()
    member = d2.selectbox(ui.tr("机构/产品", "Branch / product"), options, key=f"tr_drill_member_{dimension}",
                          format_func=ui.options(labels))
    if member is not None and dimension == "branch":
        branches = (member,)
    elif member is not None:
        products = (member,)
criteria = {"overdue_ratio": measures.drill_criteria("overdue"), "npl_ratio": measures.drill_criteria("npl"),
            "new_overdue": {"new_overdue": True}}[metric]
title = ui.tr(f"{METRICS[metric][0]} · {ui.month_label(drill_month)}", f"{METRICS[metric][1]} · {drill_month:%Y-%m}")
ui.drill_button(DrillSpec(month=drill_month, branches=branches, products=products, title=title, **criteria),
                "tr_drill")

ui.definition(
    "- **逾期率** = 逾期贷款余额 ÷ 贷款余额（在账贷款；逾期 = 逾期天数 ≥ 1，按整笔本金余额计入）；**不良率** = "
    "次级+可疑+损失余额 ÷ 贷款余额。笔数口径以笔数替代余额。按机构/产品先汇总分子、分母再相除，不对比率取平均。\n"
    "- **新增逾期**（第 t 月）：t 月末逾期（逾期天数 ≥ 1）且 t−1 月末未逾期（逾期天数为 0 或不在账，"
    "含当月新入账即逾期的贷款）的贷款，按 t 月末本金余额计；治愈后再次逾期的贷款再次计入。数据首月无上月快照，新增逾期不计（空）。\n"
    "- **季度**：比率取季末（或最近已有月份）时点值；新增逾期为季内各月之和（当季为季初至今累计）。\n"
    "- **较上季末变动**：本期月末值对比上季度最后一个月；比率变动单位为百分点，余额给出绝对变动和变动率。"
    "“本季累计新增逾期”对比上一季度三个月之和。",
    "- **Overdue ratio** = overdue balance ÷ total on-book balance (overdue = DPD ≥ 1, whole outstanding principal); "
    "**NPL ratio** = substandard + doubtful + loss ÷ total. The count basis uses loan counts. Branch and product "
    "ratios sum numerators and denominators; ratios are never averaged.\n"
    "- **New overdue** (month t): loans overdue (DPD ≥ 1) at t that were not overdue at t−1 (DPD 0 or not on "
    "the book, so loans new to the book that are already overdue count), at their balance at t; a loan that "
    "cured and defaulted again counts again. The first month of data has no previous snapshot: unknown (blank).\n"
    "- **Quarterly**: ratios at the quarter's last (or latest available) month; new overdue is the sum of the "
    "quarter's months (quarter-to-date for the current quarter).\n"
    "- **Change vs previous quarter end**: the as-of month vs the last month of the previous quarter; ratio "
    "changes in percentage points, amounts as absolute and relative change. \"New overdue QTD\" compares with "
    "the whole previous quarter.",
)
