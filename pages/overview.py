"""资产质量总览 / Portfolio overview: KPI tiles for the as-of month and a 36-month trend."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

import app_data
import ui
from analytics.core import measures
from analytics.core.months import window_start
from analytics.metrics import portfolio
from analytics.metrics.drilldown import DrillSpec
from analytics.model import artifact

ui.require_data()
f = ui.filters()


st.title(ui.tr("资产质量总览", "Portfolio overview"))
st.caption(ui.tr(f"数据月份 {ui.month_label(f.month)} 月末", f"Month-end {ui.month_label(f.month)}"))

scheme_version, rates = app_data.provision_rates()  # the app-wide scheme (saved on the scenario page)
tiles = app_data.run(portfolio.kpi_tiles, month=f.month, branches=f.branches, products=f.products, rates=rates)
values = {row["kpi"]: row for row in tiles.iter_rows(named=True)}
if values["total_balance"]["value"] in (None, 0.0):
    ui.empty_notice()
    st.stop()

KPI_TEXT = {
    "total_balance": ("贷款余额", "Total loans", "money"),
    "overdue_balance": ("逾期贷款余额", "Overdue balance", "money"),
    "overdue_ratio_balance": ("逾期率", "Overdue ratio", "pct"),
    "npl_balance": ("不良贷款余额", "NPL balance", "money"),
    "npl_ratio_balance": ("不良率", "NPL ratio", "pct"),
    "dpd90_balance": ("逾期90天以上余额", "90+ DPD balance", "money"),
    "deviation_balance": ("偏离度(逾期90天+/不良)", "90+ DPD / NPL (偏离度)", "pct"),
    "special_mention_ratio_balance": ("关注类占比", "Special-mention ratio", "pct"),
    "coverage": ("拨备覆盖率(简化)", "Provision coverage (simplified)", "pct"),
    "provision_ratio": ("贷款拨备率(简化)", "Loan provision ratio (simplified)", "pct"),
}
# Rising overdue or NPL is bad: show those deltas in red ("inverse").
INVERSE = {"overdue_balance", "overdue_ratio_balance", "npl_balance", "npl_ratio_balance", "dpd90_balance",
           "deviation_balance", "special_mention_ratio_balance"}


compare_labels = {"mom": ui.tr("上月末", "previous month"), "qoq": ui.tr("上季末", "previous quarter end")}
compare = st.radio(ui.tr("对比", "Compare with"), list(compare_labels), key="ov_compare", horizontal=True,
                   format_func=ui.options(compare_labels))
change_col = "change_mom" if compare == "mom" else "change_qoq"
cols = st.columns(5)
for i, kpi in enumerate(KPI_TEXT):
    zh, en, kind = KPI_TEXT[kpi]
    row = values[kpi]
    ui.kpi(cols[i % 5], ui.tr(zh, en), row["value"], kind=kind, change=row[change_col],
           up_is="bad" if kpi in INVERSE else "good")
dev = values["deviation_balance"]["value"]
if dev is not None and dev > 1:
    st.warning(ui.tr(f"偏离度 {ui.fmt_pct(dev)} 超过 100%：存在逾期90天以上却未划入不良的贷款（分类偏离）。",
                     f"90+ DPD / NPL is {ui.fmt_pct(dev)} (> 100%): some loans over 90 DPD are not classified NPL."))

st.subheader(ui.tr("近 36 个月趋势", "36-month trend"))
trend = app_data.run(portfolio.quality_by, branches=f.branches, products=f.products,
                     month_from=window_start(f.month), month_to=f.month)
fig = make_subplots(specs=[[{"secondary_y": True}]])
fig.add_bar(x=trend["month"].to_list(), y=[float(v) / 1e8 for v in trend["total_balance"]],
            name=ui.tr("贷款余额(亿元)", "Total loans (CNY 100m)"), marker_color="#c9d6e8")
for col, zh, en in (("overdue_ratio_balance", "逾期率", "Overdue ratio"), ("npl_ratio_balance", "不良率", "NPL ratio"),
                    ("dpd90_ratio_balance", "逾期90天以上占比", "90+ DPD ratio")):
    fig.add_trace(go.Scatter(x=trend["month"].to_list(), y=[None if v is None else v * 100 for v in trend[col]],
                             name=ui.right_axis(ui.tr(zh, en)), mode="lines+markers"), secondary_y=True)
fig.update_yaxes(title_text=ui.tr("余额（亿元）", "Balance (CNY 100m)"), secondary_y=False)
fig.update_yaxes(title_text=ui.tr("比率（%，右轴）", "Ratio (%, right axis)"), secondary_y=True, showgrid=False)
fig.update_xaxes(title_text=ui.tr("月份", "Month"))
ui.chart(fig, "ov_trend")

table = trend.select("month", "total_balance", "overdue_balance", "overdue_ratio_balance", "npl_balance",
                     "npl_ratio_balance", "dpd90_balance", "deviation_balance", "total_count", "overdue_count",
                     "npl_count", "overdue_ratio_count", "npl_ratio_count")
ui.show_table(
    table.sort("month", descending=True), "ov_table", name="overview_trend",
    money=("total_balance", "overdue_balance", "npl_balance", "dpd90_balance"),
    pct=("overdue_ratio_balance", "npl_ratio_balance", "deviation_balance", "overdue_ratio_count", "npl_ratio_count"),
    headers={"month": ui.tr("月份", "Month"), "total_balance": ui.tr("贷款余额(元)", "Total (CNY)"),
             "overdue_balance": ui.tr("逾期余额(元)", "Overdue (CNY)"),
             "overdue_ratio_balance": ui.tr("逾期率", "Overdue ratio"),
             "npl_balance": ui.tr("不良余额(元)", "NPL (CNY)"), "npl_ratio_balance": ui.tr("不良率", "NPL ratio"),
             "dpd90_balance": ui.tr("逾期90天+(元)", "90+ DPD (CNY)"), "deviation_balance": ui.tr("偏离度", "90+/NPL"),
             "total_count": ui.tr("笔数", "Loans"), "overdue_count": ui.tr("逾期笔数", "Overdue loans"),
             "npl_count": ui.tr("不良笔数", "NPL loans"),
             "overdue_ratio_count": ui.tr("逾期率(笔数)", "Overdue ratio (count)"),
             "npl_ratio_count": ui.tr("不良率(笔数)", "NPL ratio (count)")},
)

st.subheader(ui.tr("未来 12 个月预期违约（违约风险模型）", "Expected defaults over the next 12 months (default-risk model)"))
try:
    if artifact.latest(artifact.models_dir()) is None:  # no model: scikit-learn is never imported for this page
        raise artifact.ArtifactError("missing", "no model has been trained on this store yet")
    from analytics.model import scoring

    expected = app_data.run_book(scoring.expected_defaults, month=f.month, branches=f.branches,
                                 products=f.products)
except artifact.ArtifactError:
    st.info(ui.tr("尚未训练违约风险模型，请在“违约风险模型”页训练后查看。",
                  "No default-risk model yet: train one on the Default-risk model page."))
else:
    names = dict(app_data.run(portfolio.dimensions)["branches"])
    ed = go.Figure()
    ed.add_bar(x=[names.get(b, b) for b in expected["branch_id"]],
               y=[None if v is None else v * 100 for v in expected["expected_default_share_balance"]],
               name=ui.tr("预期违约占比（余额，%）", "Expected default share (balance, %)"))
    ed.add_bar(x=[names.get(b, b) for b in expected["branch_id"]],
               y=[None if v is None else v * 100 for v in expected["expected_default_share_count"]],
               name=ui.tr("预期违约占比（笔数，%）", "Expected default share (count, %)"))
    ed.update_layout(barmode="group", yaxis_title="%", yaxis_tickformat=".1f")
    ui.chart(ed, "ov_expected_defaults")
    st.caption(ui.tr("按在账且未违约贷款的 PD 汇总：余额口径 = Σ PD × 余额 ÷ 余额，笔数口径 = Σ PD ÷ 笔数；已逾期 90 天以上的贷款另计。",
                     "Σ PD of on-book loans not in default: balance = Σ PD × balance ÷ balance, count = Σ PD ÷ loans; "
                     "loans already over 90 DPD are counted apart."))

st.subheader(ui.tr("查看明细", "Loans behind the numbers"))
drill_labels = {m: ui.label("measure", m) for m in ("overdue", "npl", "dpd90")}
choice = st.selectbox(ui.tr("指标", "Number"), list(drill_labels), key="ov_drill_choice",
                      format_func=ui.options(drill_labels))
ui.drill_button(DrillSpec(month=f.month, branches=f.branches, products=f.products, title=drill_labels[choice],
                          **measures.drill_criteria(choice)), "ov_drill")

ui.definition(
    "- **贷款余额**：月末在账（状态为正常存续）贷款的本金余额。\n"
    "- **逾期贷款**：逾期天数 ≥ 1 的贷款，按**整笔本金余额**计入（非仅逾期部分）；逾期率 = 逾期贷款余额 ÷ 贷款余额。\n"
    "- **不良贷款**：账面五级分类为次级、可疑、损失；不良率 = 不良贷款余额 ÷ 贷款余额。\n"
    "- **逾期90天以上**：逾期天数 > 90。**偏离度** = 逾期90天以上贷款余额 ÷ 不良贷款余额，监管期望 ≤ 100%。\n"
    "- **关注类占比** = 关注类余额 ÷ 贷款余额。**拨备覆盖率 / 贷款拨备率（简化）**：按五级分类余额 × 计提比例"
    "（默认 2002 年人民银行参考比例：正常 1%、关注 2%、次级 25%、可疑 50%、损失 100%）估算的准备金，"
    "分别除以不良余额与贷款余额；银行实际减值准备按预期信用损失（ECL）计提；比例在“情景分析”页保存后全站生效。\n"
    "- 变动：与上月末或上季末（本季度之前一个季度的最后一个月）相比；比率变动单位为百分点(pp)。\n"
    "- 所有比率均先汇总分子、分母再相除；下表另列笔数及笔数口径的逾期率、不良率。",
    "- **Total loans**: outstanding principal of on-book (active) loans at month end.\n"
    "- **Overdue**: DPD ≥ 1, counting the **whole outstanding principal**; overdue ratio = overdue / total.\n"
    "- **NPL**: booked class substandard, doubtful or loss; NPL ratio = NPL / total.\n"
    "- **90+ DPD**: DPD > 90. **偏离度** = 90+ DPD balance / NPL balance; supervisors expect ≤ 100%.\n"
    "- **Special-mention ratio** = special mention / total. **Coverage / provision ratio (simplified)**: class "
    "balance × rate (default: the 2002 PBOC reference 1% / 2% / 25% / 50% / 100%) divided by NPL and by total loans; "
    "a bank's real allowance is ECL-based; rates saved on the Scenarios page apply on every page.\n"
    "- Changes: vs the previous month end or the previous quarter end; ratio changes in percentage points (pp).\n"
    "- Ratios sum numerators and denominators before dividing; the table also gives counts and the count-based "
    "overdue and NPL ratios.",
)
