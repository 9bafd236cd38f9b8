"""逾期原因 / Overdue causes: Pareto, mix over time, by branch / product, change vs last quarter end."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

import app_data
import ui
from analytics.core import measures
from analytics.core.months import previous_quarter_end, window_start
from analytics.metrics import causes, portfolio
from analytics.metrics.drilldown import DrillSpec

ui.require_data()
f = ui.filters()

st.title(ui.tr("逾期原因", "Overdue causes"))
st.caption(ui.tr(f"数据月份 {ui.month_label(f.month)} 月末；逾期贷款（逾期天数 ≥ 1）按逾期原因",
                 f"Month-end {ui.month_label(f.month)}; overdue loans (DPD ≥ 1) by overdue cause"))

# Option labels are resolved now (not inside format_func) so they follow the language of this run.
basis_names = {"balance": ui.tr("余额", "Balance"), "count": ui.tr("笔数", "Count")}
c1, c2 = st.columns(2)
basis = c1.radio(ui.tr("口径", "Basis"), list(basis_names), key="ca_basis", horizontal=True,
                 format_func=ui.options(basis_names))
dimension_names = {"branch": ui.tr("机构", "Branch"), "product": ui.tr("产品", "Product")}
dimension = c2.radio(ui.tr("按机构 / 产品的维度", "Branch / product tables by"), list(dimension_names), key="ca_dim",
                     horizontal=True, format_func=ui.options(dimension_names))
value_col = causes.BASIS_COLUMN[basis]
cause_names = ui.label_map("overdue_cause")


def _values(series) -> list:
    """Balances in 万元 (CNY 10k), counts as they are."""
    return [float(v) / 1e4 for v in series] if basis == "balance" else series.to_list()


value_title = ui.tr("逾期余额（万元）", "Overdue balance (CNY 10k)") if basis == "balance" \
    else ui.tr("逾期笔数（笔）", "Overdue loans (count)")

pareto = app_data.run(causes.pareto, month=f.month, basis=basis, branches=f.branches, products=f.products)
if pareto.is_empty():
    ui.empty_notice()
    st.stop()

pareto = ui.with_label_column(pareto, "cause", cause_names)
shown = ui.view("ca_view", {"pareto": ui.tr("帕累托", "Pareto"), "mix": ui.tr("结构变化", "Mix over time"),
                            "cross": ui.tr("按机构 / 产品与季度变动", "By branch / product, quarter change")})


def cause_spec(code: str) -> DrillSpec:
    by = {"cause_not_reported": True} if code == causes.NOT_REPORTED else {"causes": (code,)}
    return DrillSpec(month=f.month, branches=f.branches, products=f.products, **measures.drill_criteria("overdue"),
                     title=ui.tr(f"逾期原因：{cause_names.get(code, code)}", f"Overdue cause: {cause_names.get(code, code)}"),
                     **by)


dims = app_data.run(portfolio.dimensions)
if dimension == "branch":
    member_names = {b: f"{b} {n}" for b, n in dims["branches"]}
else:
    member_names = {p: ui.label("product", p) for p in dims["products"]}
key_col = causes.DIMENSION_COLUMN[dimension]
cross = app_data.run(causes.cross_table, month=f.month, dimension=dimension, basis=basis, branches=f.branches,
                     products=f.products)
cross = ui.with_label_column(cross, key_col, member_names)
cause_cols = tuple(c for c in cross.columns if c in cause_names)

if shown == "pareto":
    st.subheader(ui.tr("帕累托：主要逾期原因", "Pareto of overdue causes"))
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=pareto["label"].to_list(), y=_values(pareto[value_col]), name=value_title, marker_color="#4c78a8")
    fig.add_trace(go.Scatter(x=pareto["label"].to_list(), y=[v * 100 for v in pareto["cum_share"]],
                             name=ui.right_axis(ui.tr("累计占比（%）", "Cumulative share (%)")), mode="lines+markers",
                             marker_color="#e45756"), secondary_y=True)
    fig.update_yaxes(title_text=value_title, secondary_y=False)
    fig.update_yaxes(title_text=ui.tr("累计占比（%）", "Cumulative share (%)"), range=[0, 105], dtick=20,
                     secondary_y=True, showgrid=False, title_font_color="#e45756", tickfont_color="#e45756")
    fig.update_xaxes(title_text=ui.tr("逾期原因", "Overdue cause"))
    bars = ui.chart(fig, "ca_pareto", select=True)
    st.caption(ui.tr("点击柱或表格行查看该原因的借据。", "Click a bar or a table row to list the loans of that cause."))


    code_of = dict(zip(pareto["label"], pareto["cause"], strict=True))
    ui.drill_on_select("ca_pareto", [p.get("x") for p in bars or [] if p.get("curve_number", 0) == 0],
                       lambda label: cause_spec(code_of[label]) if label in code_of else None)
    pareto_rows = ui.show_table(pareto.drop("cause"), "ca_pareto_table", selectable=True, name="overdue_causes_pareto", money=("total_balance",),
                  pct=("share_count", "share_balance", "share", "cum_share"),
                  headers={"label": ui.tr("逾期原因", "Cause"), "cause": ui.tr("代码", "Code"),
                           "total_count": ui.tr("笔数", "Loans"), "total_balance": ui.tr("余额(元)", "Balance (CNY)"),
                           "share_count": ui.tr("笔数占比", "Share of loans"),
                           "share_balance": ui.tr("余额占比", "Share of balance"),
                           "share": ui.tr("占比(当前口径)", "Share (basis)"), "cum_share": ui.tr("累计占比", "Cumulative")})
    ui.drill_on_select("ca_pareto_table", pareto_rows, lambda i: cause_spec(pareto["cause"][i]))

if shown == "mix":
    st.subheader(ui.tr("逾期原因结构变化", "Cause mix over time"))
    mix = app_data.run(causes.mix_over_time, month_from=window_start(f.month), month_to=f.month, branches=f.branches,
                       products=f.products)
    share_col = "share_" + basis
    fig = go.Figure()
    for code in causes.CAUSE_ORDER:
        part = mix.filter(cause=code)
        if part.height:
            fig.add_bar(x=part["month"].to_list(), y=[v * 100 for v in part[share_col]], name=cause_names[code])
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text=ui.tr("占逾期比例（%）", "Share of overdue (%)"), range=[0, 100])
    fig.update_xaxes(title_text=ui.tr("月份", "Month"))
    ui.chart(fig, "ca_mix")

if shown == "cross":
    st.subheader(ui.tr("按机构 / 产品", "By branch / product"))
    ui.show_table(cross, "ca_cross", name=f"overdue_causes_by_{dimension}",
                  money=(*cause_cols, "total") if basis == "balance" else (),
                  headers={"label": ui.tr("机构", "Branch") if dimension == "branch" else ui.tr("产品", "Product"),
                           key_col: ui.tr("代码", "Code"), "total": ui.tr("合计", "Total")}
                  | {c: cause_names[c] for c in cause_cols})

    st.subheader(ui.tr("较上季末变动", "Change vs previous quarter end"))
    pq = previous_quarter_end(f.month)
    st.caption(ui.tr(f"{ui.month_label(f.month)} 对比上季末 {ui.month_label(pq)}",
                     f"{ui.month_label(f.month)} vs previous quarter end {ui.month_label(pq)}"))
    qoq = ui.with_label_column(app_data.run(causes.cause_qoq, month=f.month, branches=f.branches, products=f.products),
                               "cause", cause_names)
    ui.show_table(qoq.drop("cause"), "ca_qoq", name="overdue_causes_qoq",
                  money=("total_balance", "total_balance_prev_q", "total_balance_chg"),
                  pct=("total_balance_chg_pct", "total_count_chg_pct"),
                  headers={"label": ui.tr("逾期原因", "Cause"), "cause": ui.tr("代码", "Code"),
                           "total_balance": ui.tr("余额(元)", "Balance (CNY)"),
                           "total_balance_prev_q": ui.tr("上季末余额", "Prev. Q-end"),
                           "total_balance_chg": ui.tr("余额变动", "Balance chg"),
                           "total_balance_chg_pct": ui.tr("余额变动%", "Balance chg %"),
                           "total_count": ui.tr("笔数", "Loans"), "total_count_prev_q": ui.tr("上季末笔数", "Prev. Q-end loans"),
                           "total_count_chg": ui.tr("笔数变动", "Loans chg"),
                           "total_count_chg_pct": ui.tr("笔数变动%", "Loans chg %")})

st.subheader(ui.tr("查看明细", "Loans behind a cause"))
d1, d2 = st.columns(2)
cause = d1.selectbox(ui.tr("逾期原因", "Cause"), pareto["cause"].to_list(), key="ca_drill_cause",
                     format_func=ui.options(cause_names))
ALL = "__all__"
member_options = {ALL: ui.tr("全部（按侧栏筛选）", "All (sidebar filters)")} | {
    m: member_names.get(m, m) for m in cross[key_col].to_list()}
member = d2.selectbox(ui.tr("机构/产品", "Branch / product"), list(member_options),
                      key=f"ca_drill_member_{dimension}", format_func=ui.options(member_options))
branches, products = f.branches, f.products
if member not in (None, ALL):
    if dimension == "branch":
        branches = (member,)
    else:
        products = (member,)
by_cause = {"cause_not_reported": True} if cause == causes.NOT_REPORTED else {"causes": (cause,)}
ui.drill_button(DrillSpec(month=f.month, branches=branches, products=products, **measures.drill_criteria("overdue"),
                          title=ui.tr(f"逾期原因：{cause_names.get(cause, cause)}",
                                      f"Overdue cause: {cause_names.get(cause, cause)}"), **by_cause), "ca_drill")

ui.definition(
    "- **范围**：月末在账（正常存续）且逾期天数 ≥ 1 的贷款，按整笔本金余额计；逾期原因取该月快照的逾期原因字段。\n"
    "- 逾期原因为空的逾期贷款列为 **未填报**，各原因之和等于逾期贷款合计；未逾期贷款即使填有原因也不计入。\n"
    "- **帕累托**：按当前口径（余额或笔数）从大到小排列，折线为累计占比。**结构变化**：各月各原因占当月逾期的比例（合计 100%）。\n"
    "- **较上季末变动**：本期月末对比上季度最后一个月，余额与笔数均给出绝对变动与变动率（上季末为 0 时变动率为空）。",
    "- **Scope**: on-book (active) loans with DPD ≥ 1 at month end, at their whole outstanding principal; the cause "
    "is the snapshot's overdue-cause field of that month.\n"
    "- Overdue loans with no cause are shown as **Not reported**, so the causes add up to the overdue total; "
    "loans that are not overdue are left out even if a cause is filled in.\n"
    "- **Pareto**: causes sorted by the chosen basis (balance or count), line = cumulative share. **Mix over time**: "
    "each cause's share of the month's overdue (adds up to 100%).\n"
    "- **Change vs previous quarter end**: the as-of month vs the last month of the previous quarter, absolute and "
    "relative (blank when the previous value is 0).",
)
