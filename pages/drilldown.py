"""借据明细 / Loan drill-down: the loans behind the number a user clicked, and one loan's history."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import streamlit as st

import app_data
import ui
from analytics.metrics import drilldown
from analytics.metrics.drilldown import DrillSpec

ui.require_data()
f = ui.filters()

st.title(ui.tr("借据明细", "Loan drill-down"))
spec: DrillSpec | None = st.session_state.get("drill_spec")
if spec is None:
    st.info(ui.tr("从任一页面的“查看明细借据”进入，或在此按逾期天数筛选当前组合。",
                  "Open this page from “Show the loans” on any page, or filter the current portfolio by DPD here."))
    spec = DrillSpec(month=f.month, branches=f.branches, products=f.products, dpd_min=1)
else:
    st.caption(spec.title or ui.tr("来自上一页面所选指标", "From the number selected on the previous page"))
    if st.button(ui.tr("清除并按侧栏筛选", "Clear and use the sidebar filters"), key="dd_clear"):
        del st.session_state["drill_spec"]
        st.rerun()

# The criteria of drilldown.describe in words: key -> (中文, English) templates over the formatted values.
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
LABEL_KIND = {"products": "product", "statuses": "status", "causes": "overdue_cause", "classes": "booked_class"}


def criterion_text(key: str, values: dict) -> str:
    shown = {}
    for name, value in values.items():
        if isinstance(value, dt.date):
            value = ui.month_label(value)
        elif isinstance(value, tuple):
            value = ui.tr("、", ", ").join(ui.label(LABEL_KIND[name], v) if name in LABEL_KIND else str(v) for v in value)
        shown[name] = value
    return ui.tr(*CRITERIA_TEXT[key]).format(**shown)


with st.expander(ui.tr("筛选条件", "Criteria"), expanded=False):
    st.markdown("\n".join(f"- {criterion_text(key, values)}" for key, values in drilldown.describe(spec)))

loans = app_data.run(drilldown.loans_behind, spec)
c1, c2, c3 = st.columns(3)
c1.metric(ui.tr("借据笔数", "Loans"), f"{loans.height:,}")
ui.kpi(c2, ui.tr("本金余额", "Outstanding principal"), loans["outstanding_principal"].sum(), kind="money")
ui.kpi(c3, ui.tr("处置本金", "Disposed principal"), loans["disposed_principal"].sum(), kind="money")

search = st.text_input(ui.tr("按借据号或客户号查找", "Find by loan or customer id"), key="dd_search").strip()
shown = drilldown.find(loans, search) if search else loans
shown = ui.with_code_labels(shown)
ui.show_table(
    shown, "dd_table", name="loans_behind",
    money=("principal", "outstanding_principal", "overdue_principal", "disposed_principal", "prev_outstanding"),
    headers={"loan_id": ui.tr("借据号", "Loan id"), "customer_id": ui.tr("客户号", "Customer id"),
             "branch_name": ui.tr("机构", "Branch"), "product": ui.tr("产品", "Product"),
             "outstanding_principal": ui.tr("本金余额", "Outstanding"), "dpd": ui.tr("逾期天数", "DPD"),
             "booked_class": ui.tr("五级分类", "Class"), "floor_class": ui.tr("监管底线分类", "Floor class"),
             "status": ui.tr("状态", "Status"), "overdue_cause": ui.tr("逾期原因", "Cause")},
)

if not shown.is_empty():
    st.subheader(ui.tr("单笔借据历史", "One loan's history"))
    loan_id = st.selectbox(ui.tr("借据号", "Loan id"), shown["loan_id"].head(500).to_list(), key="dd_loan")
    history = app_data.run(drilldown.loan_history, loan_id=loan_id)
    fig = go.Figure()
    fig.add_bar(x=history["month"].to_list(), y=[float(v) for v in history["outstanding_principal"]],
                name=ui.tr("本金余额(元)", "Outstanding (CNY)"))
    fig.add_scatter(x=history["month"].to_list(), y=history["dpd"].to_list(), name=ui.tr("逾期天数", "DPD"),
                    yaxis="y2", mode="lines+markers")
    fig.update_layout(yaxis={"title": ui.tr("本金余额（元）", "Outstanding (CNY)")},
                      yaxis2={"title": ui.tr("逾期天数（天）", "DPD (days)"), "overlaying": "y", "side": "right"},
                      xaxis={"title": ui.tr("月份", "Month")})
    ui.chart(fig, "dd_history_chart")
    ui.show_table(ui.with_code_labels(history), "dd_history", name=f"loan_{loan_id}",
                  money=("outstanding_principal", "overdue_principal", "overdue_interest", "amount_due",
                         "amount_paid", "disposed_principal"))
