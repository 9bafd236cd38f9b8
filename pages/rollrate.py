"""滚动率 / Roll rates: the month-over-month M-bucket transition matrix with exits, roll and cure rates over
time, flow-through to write-off, and the loans behind a matrix cell."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

import app_data
import ui
from analytics.metrics import rollrate

ui.require_data()
f = ui.filters()

st.title(ui.tr("滚动率", "Roll rates"))

rates = app_data.run(rollrate.roll_rates, branches=f.branches, products=f.products)
if rates.is_empty():
    ui.empty_notice()
    st.stop()
months = rates["month"].unique().sort().to_list()
if st.session_state.get("rr_month") not in months:
    st.session_state["rr_month"] = f.month if f.month in months else months[-1]

c1, c2 = st.columns([1, 1])
month = c1.selectbox(ui.tr("月份（本月 vs 上月）", "Month (vs the month before)"), months, key="rr_month",
                     format_func=ui.month_label)
basis = c2.radio(ui.tr("口径", "Basis"), ["balance", "count"], key="rr_basis", horizontal=True,
                 format_func=ui.options({"balance": ui.tr("金额", "Balance"), "count": ui.tr("笔数", "Count")}))
rate_col = f"rate_{basis}"


def state_label(state: str) -> str:
    return state if state.startswith("M") else ui.label("status", state)


# --- matrix -----------------------------------------------------------------------------------------
st.subheader(ui.tr(f"迁移矩阵 {ui.month_label(month)}", f"Transition matrix {ui.month_label(month)}"))
matrix = app_data.run(rollrate.roll_matrix, month=month, branches=f.branches, products=f.products)
if matrix.is_empty():
    ui.empty_notice()
else:
    wide = rollrate.matrix_wide(matrix, f"share_{basis}")
    to_states = wide.columns[1:]
    heat = go.Figure(go.Heatmap(
        z=[[None if v is None else v * 100 for v in row[1:]] for row in wide.iter_rows()],
        x=[state_label(s) for s in to_states], y=wide["from_state"].to_list(), colorscale="Blues",
        texttemplate="%{z:.1f}", colorbar={"title": {"text": "%"}},
        hovertemplate=ui.tr("上月 %{y} → 本月 %{x}<br>%{z:.2f}%", "%{y} last month → %{x}<br>%{z:.2f}%")
        + "<extra></extra>",
    ))
    heat.update_xaxes(title_text=ui.tr("本月状态（逾期档位或退出）", "State this month (bucket or exit)"), side="top")
    heat.update_yaxes(title_text=ui.tr("上月逾期档位", "Bucket last month"), autorange="reversed")
    heat.update_layout(height=430)
    ui.chart(heat, "rr_matrix")
    st.caption(ui.tr("每行合计 100%（含退出）；单位：行内占比 %。", "Each row sums to 100% including exits; unit: % of the row."))
    table = matrix.select("from_state", "to_state", "total_count", "prev_balance", "balance", "share_count",
                          "share_balance").filter(matrix["total_count"] > 0)
    ui.show_table(ui.with_code_labels(table, {"to_state": "status"}), "rr_matrix_table",
                  name=f"transition_matrix_{ui.month_label(month)}",
                  money=("prev_balance", "balance"), pct=("share_count", "share_balance"),
                  headers={"from_state": ui.tr("上月档位", "From (last month)"),
                           "to_state": ui.tr("本月状态", "To (this month)"), "total_count": ui.tr("笔数", "Loans"),
                           "prev_balance": ui.tr("上月余额(元)", "Balance last month (CNY)"),
                           "balance": ui.tr("本月余额(元)", "Balance this month (CNY)"),
                           "share_count": ui.tr("笔数占比", "Share (count)"),
                           "share_balance": ui.tr("金额占比", "Share (balance)")})

    d1, d2 = st.columns(2)
    drill_from = d1.selectbox(ui.tr("上月档位", "From bucket"), list(rollrate.M_BUCKET_LABELS), key="rr_drill_from")
    drill_to = d2.selectbox(ui.tr("本月状态", "To state"), list(rollrate.STATES), index=1, key="rr_drill_to",
                            format_func=ui.options({s: state_label(s) for s in rollrate.STATES}))
    ui.drill_button(rollrate.cell_spec(month, drill_from, drill_to, f.branches, f.products,
                                        title=f"{ui.month_label(month)} {drill_from} → {state_label(drill_to)}"),
                    "rr_drill")

# --- roll rates over time ------------------------------------------------------------------------------
st.subheader(ui.tr("向前滚动率趋势", "Forward roll rates over time"))
roll = rates.filter(rates["kind"] == "roll")
pairs = [f"{a}→{b}" for a, b in zip(rollrate.M_BUCKET_LABELS[:-1], rollrate.M_BUCKET_LABELS[1:], strict=True)]
chosen = st.multiselect(ui.tr("滚动环节", "Roll steps"), pairs, default=pairs[:4], key="rr_rolls")


def line_chart(frame, names: list[str], key: str, title_zh: str, title_en: str) -> None:
    fig = go.Figure()
    for (frm,), part in frame.partition_by("from_state", as_dict=True, maintain_order=True).items():
        name = f"{frm}→{part['to_state'][0]}"
        if name in names:
            fig.add_scatter(x=part["month"].to_list(), y=[None if v is None else v * 100 for v in part[rate_col]],
                            mode="lines+markers", name=state_label(frm) + "→" + state_label(part["to_state"][0]))
    fig.update_layout(title=ui.tr(title_zh, title_en))
    fig.update_xaxes(title_text=ui.tr("月份", "Month"))
    fig.update_yaxes(title_text=ui.tr("比率（%）", "Rate (%)"))
    ui.chart(fig, key)


line_chart(roll, chosen, "rr_trend", "向前滚动率（本月滚入下一档 ÷ 上月该档）", "Forward roll rate (rolled ÷ last month's bucket)")

st.subheader(ui.tr("回滚（治愈）率", "Cure rates (back to M0)"))
cure = rates.filter(rates["kind"] == "cure")
line_chart(cure, [f"{m}→M0" for m in rollrate.M_BUCKET_LABELS[1:4]] + ["M4→M0"], "rr_cures",
           "回滚至 M0 的比率", "Share cured to M0")

# --- flow-through ----------------------------------------------------------------------------------------
st.subheader(ui.tr("流转至核销（Flow-through）", "Flow-through to write-off"))
flow = rollrate.flow_through(rates)
flow_col = f"flow_{basis}"
at_month = flow.filter(flow["month"] == month)
f1, f2 = st.columns(2)
bars = go.Figure(go.Bar(x=[state_label(s) for s in at_month["to_state"]],
                        y=[None if v is None else v * 100 for v in at_month[flow_col]]))
bars.update_layout(title=ui.tr(f"{ui.month_label(month)} 从 M0 累计流转至各档", f"{ui.month_label(month)}: cumulative flow from M0"))
bars.update_xaxes(title_text=ui.tr("到达档位", "Reached"))
bars.update_yaxes(title_text=ui.tr("累计流转率（%）", "Cumulative flow (%)"), type="log")
with f1:
    ui.chart(bars, "rr_flow")
to_wo = flow.filter(flow["to_state"] == "written_off")
trend = go.Figure(go.Scatter(x=to_wo["month"].to_list(), y=[None if v is None else v * 100 for v in to_wo[flow_col]],
                             mode="lines+markers", name=ui.tr("流转至核销", "Flow to write-off")))
trend.update_layout(title=ui.tr("流转至核销率趋势", "Flow-through to write-off over time"))
trend.update_xaxes(title_text=ui.tr("月份", "Month"))
trend.update_yaxes(title_text=ui.tr("流转率（%）", "Flow-through (%)"))
with f2:
    ui.chart(trend, "rr_flow_trend")

ui.show_table(rates.sort("month", descending=True), "rr_rates_table", name="roll_rates",
              money=("num_balance", "den_balance"), pct=("rate_count", "rate_balance"),
              headers={"month": ui.tr("月份", "Month"), "kind": ui.tr("类型", "Kind"),
                       "from_state": ui.tr("上月档位", "From"), "to_state": ui.tr("本月状态", "To"),
                       "num_count": ui.tr("分子笔数", "Numerator loans"),
                       "num_balance": ui.tr("分子金额(元)", "Numerator (CNY)"),
                       "den_count": ui.tr("分母笔数", "Denominator loans"),
                       "den_balance": ui.tr("分母金额(元)", "Denominator (CNY)"),
                       "rate_count": ui.tr("笔数口径", "Rate (count)"), "rate_balance": ui.tr("金额口径", "Rate (balance)")})

ui.definition(
    "- **逾期档位（催收口径）**：M0 = 未逾期，M1 = 逾期 1-30 天，M2 = 31-60，…，M6 = 151-180，M7+ = 180 天以上；"
    "退出状态：结清、核销、转让、以物抵债（当月退出）。只跟踪上月在账的贷款；本月新放款不计入。\n"
    "- **迁移矩阵**：行 = 上月档位，列 = 本月档位或退出；行内占比按笔数或**上月本金余额**计，每行合计 100%。\n"
    "- **向前滚动率 Mk→Mk+1**：金额口径 = 本月滚入 Mk+1 的贷款的**本月**余额 ÷ 上月 Mk 全部贷款的**上月**余额；笔数口径同理。\n"
    "- **回滚（治愈）率 Mk→M0**：回到 M0 的贷款的**上月**余额 ÷ 上月 Mk 余额。\n"
    "- **核销环节**：上月 M7+ 的贷款本月核销的本金 ÷ 上月 M7+ 余额。"
    "**流转至核销** = M0→M1 × M1→M2 × … × M6→M7+ × 核销环节（同一月份各环节比率的乘积，稳态读法）。\n"
    "- 余额 = 本金余额；核销/转让/抵债当月取处置本金。\n"
    "- 本页为催收口径的逐月滚动率，**不同于**“五级分类与迁徙”页面的监管五级分类迁徙率（期初-期末、按分类、分母扣除期间减少），两者不可混用。",
    "- **Buckets (collections view)**: M0 = current, M1 = 1-30 DPD, M2 = 31-60, …, M6 = 151-180, M7+ = over 180; "
    "exits: paid off, written off, transferred, foreclosed (in the month). Only loans on book last month are "
    "tracked; new loans are not.\n"
    "- **Transition matrix**: rows = bucket last month, columns = bucket or exit this month; shares of the row by "
    "count or by **last month's** principal, each row summing to 100%.\n"
    "- **Forward roll Mk→Mk+1**: balance = **this month's** balance of loans that rolled into Mk+1 ÷ **last month's** "
    "balance of all loans in Mk; count likewise.\n"
    "- **Cure Mk→M0**: **last month's** balance of loans back in M0 ÷ last month's Mk balance.\n"
    "- **Write-off step**: principal written off this month from last month's M7+ ÷ last month's M7+ balance. "
    "**Flow-through to write-off** = M0→M1 × M1→M2 × … × M6→M7+ × write-off step (rates of the same month, a "
    "steady-state reading).\n"
    "- Balance = outstanding principal; in a write-off, transfer or foreclosure month, the principal disposed of.\n"
    "- These collections roll rates are **not** the supervisory five-tier migration rates on the Classification & "
    "migration page (start vs end of period, by class, net of period reductions); do not mix them.",
)
