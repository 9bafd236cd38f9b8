"""借据明细 / Loan drill-down: the loans behind the number a user clicked, and one loan's history."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import streamlit as st

import app_data
import labels
import ui
from analytics.metrics import drilldown
from analytics.metrics.drilldown import DrillSpec
from analytics.model import artifact

ui.require_data()
f = ui.filters()

st.title(ui.tr("借据明细", "Loan drill-down"))
spec: DrillSpec | None = st.session_state.get("drill_spec")
if spec is None:
    st.info(ui.tr("从任一页面的“查看明细借据”或点击图表、表格进入，或在此按逾期天数筛选当前组合（侧栏月份、机构、产品）。",
                  "Open this page from “Show the loans” or a click on a chart or table on any page, or filter the "
                  "current portfolio (sidebar month, branches, products) by DPD here."))
    q1, q2, _ = st.columns([1, 1, 2])
    dpd_min = int(q1.number_input(ui.tr("逾期天数不少于", "DPD at least"), 0, 20_000, 1, 1, key="dd_dpd_min"))
    dpd_max = int(q2.number_input(ui.tr("逾期天数不超过（0 = 不限）", "DPD at most (0 = no limit)"), 0, 20_000, 0, 30,
                                  key="dd_dpd_max"))
    spec = DrillSpec(month=f.month, branches=f.branches, products=f.products, dpd_min=dpd_min,
                     dpd_max=dpd_max if dpd_max > 0 else None)
else:
    st.caption(spec.title or ui.tr("来自上一页面所选指标", "From the number selected on the previous page"))
    if st.button(ui.tr("清除并按侧栏筛选", "Clear and use the sidebar filters"), key="dd_clear"):
        del st.session_state["drill_spec"]
        st.rerun()

LABEL_KIND = {"products": "product", "statuses": "status", "causes": "overdue_cause", "classes": "booked_class"}


def criterion_text(key: str, values: dict) -> str:
    shown = {}
    for name, value in values.items():
        if isinstance(value, dt.date):
            value = ui.month_label(value)
        elif isinstance(value, tuple):
            value = ui.tr("、", ", ").join(ui.label(LABEL_KIND[name], v) if name in LABEL_KIND else str(v) for v in value)
        shown[name] = value
    return ui.tr(*labels.CRITERIA_TEXT[key]).format(**shown)


def scorer():
    """The scoring module, imported only when a model exists (it loads scikit-learn: seconds on a fresh server)."""
    if artifact.latest(artifact.models_dir()) is None:
        raise artifact.ArtifactError("missing", "no model has been trained on this store yet")
    from analytics.model import scoring

    return scoring


criteria = [criterion_text(key, values) for key, values in drilldown.describe(spec)]
loans = app_data.run(drilldown.loans_behind, spec)
try:  # the default-risk model's PD and top reasons next to each loan, when a model has been trained
    scoring = scorer()
    scores = app_data.run_model(scoring.pd_for_loans, month=spec.month, loan_ids=tuple(loans["loan_id"].to_list()),
                                reason_min_pd=0.2)
    loans = scoring.attach(loans, scores)
    loans = ui.with_code_labels(loans, {f"reason_{i}": "model_feature" for i in range(1, scoring.TOP_REASONS + 1)})
except artifact.ArtifactError:
    st.caption(ui.tr("尚未训练违约风险模型：训练后此处显示每笔借据的违约概率(PD)及主要原因（见“违约风险模型”页）。",
                     "No default-risk model yet: once trained, each loan shows its PD and top reasons here "
                     "(see the Default-risk model page)."))
with st.expander(ui.tr("筛选条件", "Criteria"), expanded=loans.is_empty()):
    st.markdown("\n".join(f"- {text}" for text in criteria))
if loans.is_empty():  # say which criteria found nothing, not a generic "no data"
    st.info(ui.tr("没有借据同时满足：", "No loan meets all of: ") + ui.tr("；", "; ").join(criteria))
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
    pct=("pd",),
    headers={"pd": ui.tr("违约概率(PD)", "PD"), "score": ui.tr("评分", "Score"),
             **{c: ui.tr(f"原因{c[len('reason_'):]}", f"Reason {c[len('reason_'):]}") for c in shown.columns
                if c.startswith("reason_")},
             "loan_id": ui.tr("借据号", "Loan id"), "customer_id": ui.tr("客户号", "Customer id"),
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
    fig.add_scatter(x=history["month"].to_list(), y=history["dpd"].to_list(), name=ui.right_axis(ui.tr("逾期天数", "DPD")),
                    yaxis="y2", mode="lines+markers")
    fig.update_layout(yaxis={"title": ui.tr("本金余额（元）", "Outstanding (CNY)")},
                      yaxis2={"title": ui.tr("逾期天数（天，右轴）", "DPD (days, right axis)"), "overlaying": "y", "side": "right",
                              "showgrid": False},
                      xaxis={"title": ui.tr("月份", "Month")})
    try:
        scoring = scorer()
        pd_path = app_data.run_model(scoring.pd_history, loan_id=loan_id)
    except artifact.ArtifactError:
        pd_path = None
    if pd_path is not None and pd_path.height:
        fig.add_scatter(x=pd_path["month"].to_list(), y=[v * 100 for v in pd_path["pd"]], yaxis="y3",
                        name=ui.tr("违约概率 PD（%，右二轴）", "PD (%, second right axis)"), mode="lines")
        fig.update_layout(yaxis3={"title": "PD (%)", "overlaying": "y", "side": "right", "position": 0.95,
                                  "anchor": "free", "showgrid": False}, xaxis={"domain": [0, 0.9]})
        latest = pd_path.row(-1, named=True)
        reasons = [ui.label("model_feature", latest[c]) for c in pd_path.columns if c.startswith("reason_") and latest[c]]
        st.caption(ui.tr(f"最近 PD {ui.fmt_pct(latest['pd'])}（{ui.month_label(latest['month'])}），主要原因：{'、'.join(reasons)}",
                         f"Latest PD {ui.fmt_pct(latest['pd'])} ({ui.month_label(latest['month'])}); top reasons: "
                         f"{', '.join(reasons)}"))
    ui.chart(fig, "dd_history_chart")
    ui.show_table(ui.with_first_column(history, "loan_id", loan_id), "dd_history", name=f"loan_{loan_id}",
                  money=("outstanding_principal", "overdue_principal", "overdue_interest", "amount_due",
                         "amount_paid", "disposed_principal"))
