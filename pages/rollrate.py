"""滚动率 / Roll rates: the month-over-month M-bucket transition matrix with exits, roll and cure rates over
time, flow-through to write-off, and the loans behind a matrix cell."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

import app_data
import ui
from analytics.core.months import add_months
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

c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
month = c1.selectbox(ui.tr("月份（本月 vs 上月）", "Month (vs the month before)"), months, key="rr_month",
                     format_func=ui.month_label)
basis = c2.radio(ui.tr("口径", "Basis"), ["balance", "count"], key="rr_basis", horizontal=True,
                 format_func=ui.options({"balance": ui.tr("金额", "Balance"), "count": ui.tr("笔数", "Count")}))
windows = {1: ui.tr("单月", "One month"), 3: ui.tr("近 3 个月合并", "3 months pooled"),
           6: ui.tr("近 6 个月合并", "6 months pooled"), 12: ui.tr("近 12 个月合并", "12 months pooled")}
window = c3.selectbox(ui.tr("矩阵期间", "Matrix window"), list(windows), key="rr_window",
                      format_func=ui.options(windows))
st.session_state.setdefault("rr_min_n", rollrate.MIN_N)
min_n = int(c4.number_input(ui.tr("最少笔数 n（低于则置灰）", "Minimum n (greyed below)"), min_value=1, max_value=10_000,
                            step=10, key="rr_min_n"))
rate_col = f"rate_{basis}"
shown = ui.view("rr_view", {"matrix": ui.tr("迁移矩阵", "Transition matrix"),
                            "rolls": ui.tr("滚动率与回滚率", "Roll and cure rates"),
                            "flow": ui.tr("流转至核销", "Flow-through to write-off")})


def state_label(state: str) -> str:
    return state if state.startswith("M") else ui.label("status", state)


# --- matrix -----------------------------------------------------------------------------------------
period = ui.month_label(month) if window == 1 else ui.tr(
    f"{ui.month_label(add_months(month, 1 - window))} 至 {ui.month_label(month)} 合并",
    f"{ui.month_label(add_months(month, 1 - window))} to {ui.month_label(month)} pooled")
if shown == "matrix":
    st.subheader(ui.tr(f"迁移矩阵 {period}", f"Transition matrix {period}"))
    matrix = app_data.run(rollrate.roll_matrix, month=month, branches=f.branches, products=f.products, window=window,
                          min_n=min_n)
    if matrix.is_empty():
        ui.empty_notice()
    else:
        wide = rollrate.matrix_wide(matrix, f"share_{basis}")
        to_states = wide.columns[1:]
        row_n = dict(zip(matrix["from_state"], matrix["row_count"], strict=True))  # one n per row
        low = {s for s, n in row_n.items() if n < min_n}
        y_labels = [f"{s} (n={row_n.get(s, 0):,})" for s in wide["from_state"]]
        # rows below the minimum n are hidden (grey, "n<30") rather than read as 0% or 100%
        z = [[None if (v is None or frm in low) else v * 100 for v in row[1:]] for frm, row in
             zip(wide["from_state"], wide.iter_rows(), strict=True)]
        text = [[(f"n<{min_n}" if frm in low else ("" if v is None else f"{v * 100:.2f}")) for v in row[1:]]
                for frm, row in zip(wide["from_state"], wide.iter_rows(), strict=True)]
        heat = go.Figure(go.Heatmap(
            z=z, x=[state_label(s) for s in to_states], y=y_labels, colorscale="Blues", text=text,
            texttemplate="%{text}", colorbar={"title": {"text": "%"}},
            hovertemplate=ui.tr("上月 %{y} → 本月 %{x}<br>%{z:.2f}%", "%{y} last month → %{x}<br>%{z:.2f}%")
            + "<extra></extra>",
        ))
        heat.update_xaxes(title_text=ui.tr("本月状态（逾期档位或退出）", "State this month (bucket or exit)"), side="top")
        heat.update_yaxes(title_text=ui.tr("上月逾期档位", "Bucket last month"), autorange="reversed")
        heat.update_layout(height=430)
        ui.chart(heat, "rr_matrix")  # Plotly heatmaps have no click selection: the table below is the click route
        st.caption(ui.tr(f"每行合计 100%（含退出）；单位：行内占比 %；n = 该行上月贷款笔数，少于 {min_n} 笔的行不显示比率。"
                         "点击下表的行查看借据。",
                         f"Each row sums to 100% including exits; unit: % of the row; n = loans in the row last month, "
                         f"rows with fewer than {min_n} loans show no rate. Click a row of the table below to list the loans."))
        table = matrix.select("from_state", "to_state", "total_count", "prev_balance", "balance", "share_count",
                              "share_balance", "low_n").filter(matrix["total_count"] > 0)

        def cell(frm: str, to: str):
            return rollrate.cell_spec(month, frm, to, f.branches, f.products,
                                      title=f"{ui.month_label(month)} {frm} → {state_label(to)}")

        rows = ui.show_table(table, "rr_matrix_table",
                             name=f"transition_matrix_{ui.month_label(month)}", money=("prev_balance", "balance"),
                             pct=("share_count", "share_balance"), selectable=True, codes={"to_state": "status"},
                             headers={"from_state": ui.tr("上月档位", "From (last month)"),
                                      "to_state": ui.tr("本月状态", "To (this month)"), "total_count": ui.tr("笔数", "Loans"),
                                      "prev_balance": ui.tr("上月余额(元)", "Balance last month (CNY)"),
                                      "balance": ui.tr("本月余额(元)", "Balance this month (CNY)"),
                                      "share_count": ui.tr("笔数占比", "Share (count)"),
                                      "share_balance": ui.tr("金额占比", "Share (balance)")})
        if window > 1:
            st.caption(ui.tr("合并矩阵的明细按所选月份（本月 vs 上月）列示。",
                             "The loans behind a pooled cell are listed for the selected month (vs the month before)."))
        ui.drill_on_select("rr_matrix_table", rows, lambda i: cell(table["from_state"][i], table["to_state"][i]))

        # Default cell of the drill: the largest worse move of the month (never an empty cell).
        moves = matrix.filter(matrix["total_count"] > 0).sort("total_count", descending=True)
        worse = [(r["from_state"], r["to_state"]) for r in moves.iter_rows(named=True)
                 if r["to_state"] in rollrate.M_BUCKET_LABELS
                 and rollrate.M_BUCKET_LABELS.index(r["to_state"]) > rollrate.M_BUCKET_LABELS.index(r["from_state"])]
        if worse and st.session_state.get("rr_drill_from") is None:
            st.session_state["rr_drill_from"], st.session_state["rr_drill_to"] = worse[0]
        d1, d2 = st.columns(2)
        drill_from = d1.selectbox(ui.tr("上月档位", "From bucket"), list(rollrate.M_BUCKET_LABELS), key="rr_drill_from")
        drill_to = d2.selectbox(ui.tr("本月状态", "To state"), list(rollrate.STATES), key="rr_drill_to",
                                format_func=ui.options({s: state_label(s) for s in rollrate.STATES}))
        n_cell = matrix.filter((matrix["from_state"] == drill_from) & (matrix["to_state"] == drill_to))["total_count"]
        if window == 1 and (n_cell.is_empty() or n_cell[0] == 0):
            st.caption(ui.tr(f"{ui.month_label(month)} 没有从 {drill_from} 到 {state_label(drill_to)} 的贷款。",
                             f"No loan moved from {drill_from} to {state_label(drill_to)} in {ui.month_label(month)}."))
        ui.drill_button(cell(drill_from, drill_to), "rr_drill")


palette = px.colors.qualitative.Plotly


def line_chart(frame, froms: list[str], key: str, title_zh: str, title_en: str) -> None:
    """One line per from-bucket; a rate on fewer than min_n loans is not drawn (a gap), n in the hover."""
    fig = go.Figure()
    for i, ((frm,), part) in enumerate(frame.partition_by("from_state", as_dict=True, maintain_order=True).items()):
        if frm not in froms:
            continue
        y = [None if (v is None or n < min_n) else v * 100 for v, n in zip(part[rate_col], part["den_count"],
                                                                         strict=True)]
        fig.add_scatter(x=part["month"].to_list(), y=y, mode="lines+markers", customdata=part["den_count"].to_list(),
                        name=state_label(frm) + "→" + state_label(part["to_state"][0]),
                        line={"color": palette[i % len(palette)]},
                        hovertemplate="%{y:.2f}% (n=%{customdata:,})<extra>%{fullData.name}</extra>")
    fig.update_layout(title=ui.tr(title_zh, title_en))
    fig.update_xaxes(title_text=ui.tr("月份", "Month"))
    fig.update_yaxes(title_text=ui.tr("比率（%）", "Rate (%)"))
    ui.chart(fig, key)


# --- roll and cure rates over time, the rates by step ---------------------------------------------------
if shown == "rolls":
    st.subheader(ui.tr("向前滚动率趋势（滚入任一更差档）", "Forward roll rates over time (to any worse bucket)"))
    roll = rates.filter(rates["kind"] == "roll")
    steps = {f"{a}→{b}": f"{a}→{b.rstrip('+')}+" for a, b in
             zip(rollrate.M_BUCKET_LABELS[:-1], rollrate.M_BUCKET_LABELS[1:], strict=True)}
    pairs = list(steps)
    chosen = st.multiselect(ui.tr("滚动环节", "Roll steps"), pairs, default=pairs[:4], key="rr_rolls",
                            format_func=ui.options(steps))
    line_chart(roll, [p.split("→")[0] for p in chosen], "rr_trend",
               f"向前滚动率（滚入任一更差档 ÷ 上月该档；n < {min_n} 不画）",
               f"Forward roll rate (to any worse bucket ÷ last month's bucket; n < {min_n} not drawn)")

    st.subheader(ui.tr("回滚（治愈）率", "Cure rates (back to M0)"))
    cure = rates.filter(rates["kind"] == "cure")
    line_chart(cure, list(rollrate.M_BUCKET_LABELS[1:5]), "rr_cures", "回滚至 M0 的比率", "Share cured to M0")

    st.subheader(ui.tr("各环节比率" + ("（合并）" if window > 1 else ""), "Rates by step" + (" (pooled)" if window > 1 else "")))
    shown_rates = rollrate.pooled_rates(rates, month=month, window=window, min_n=min_n)
    ui.show_table(shown_rates, "rr_rates_table", name=f"roll_rates_{ui.month_label(month)}_{window}m",
                  money=("num_balance", "den_balance"), pct=("rate_count", "rate_balance"),
                  headers={"kind": ui.tr("类型", "Kind"),
                           "from_state": ui.tr("上月档位", "From"), "to_state": ui.tr("本月状态", "To"),
                           "num_count": ui.tr("分子笔数", "Numerator loans"),
                           "num_balance": ui.tr("分子金额(元)", "Numerator (CNY)"),
                           "den_count": ui.tr("分母笔数(n)", "Denominator loans (n)"),
                           "den_balance": ui.tr("分母金额(元)", "Denominator (CNY)"),
                           "rate_count": ui.tr("笔数口径", "Rate (count)"), "rate_balance": ui.tr("金额口径", "Rate (balance)"),
                           "months": ui.tr("合并月数", "Months pooled"),
                           "low_n": ui.tr(f"样本不足(n<{min_n})", f"Small sample (n<{min_n})")})


# --- flow-through ----------------------------------------------------------------------------------------
if shown == "flow":
    st.subheader(ui.tr("流转至核销（Flow-through）", "Flow-through to write-off"))
    flow = rollrate.flow_through(rates)
    flow_col = f"flow_{basis}"
    at_month = flow.filter((flow["month"] == month) & flow[flow_col].is_not_null() & (flow[flow_col] > 0))
    f1, f2 = st.columns(2)
    bars = go.Figure(go.Bar(x=[state_label(s) for s in at_month["to_state"]],
                            y=[v * 100 for v in at_month[flow_col]],
                            text=[f"{v * 100:.2f}%" for v in at_month[flow_col]], textposition="outside"))
    bars.update_layout(title=ui.tr(f"{ui.month_label(month)} 从 M0 累计流转至各档", f"{ui.month_label(month)}: cumulative flow from M0"))
    bars.update_xaxes(title_text=ui.tr("到达档位", "Reached"))
    bars.update_yaxes(title_text=ui.tr("累计流转率（%，对数轴）", "Cumulative flow (%, log axis)"), type="log")
    with f1:
        if at_month.is_empty():  # a message instead of an empty chart with axes -1…4
            st.info(ui.tr(f"{ui.month_label(month)} 的滚动链条中有空档（某档上月没有贷款），无法计算累计流转率。",
                          f"In {ui.month_label(month)} a link of the chain is empty (no loans in a bucket last month): "
                          "no flow-through."))
        else:
            ui.chart(bars, "rr_flow")
    to_wo = flow.filter(flow["to_state"] == "written_off")
    trend = go.Figure(go.Scatter(x=to_wo["month"].to_list(), y=[None if v is None else v * 100 for v in to_wo[flow_col]],
                                 mode="lines+markers", name=ui.tr("流转至核销", "Flow to write-off")))
    trend.update_layout(title=ui.tr("流转至核销率趋势", "Flow-through to write-off over time"))
    trend.update_xaxes(title_text=ui.tr("月份", "Month"))
    trend.update_yaxes(title_text=ui.tr("流转率（%）", "Flow-through (%)"))
    with f2:
        ui.chart(trend, "rr_flow_trend")


ui.definition(
    "- **逾期档位（催收口径）**：M0 = 未逾期，M1 = 逾期 1-30 天，M2 = 31-60，…，M6 = 151-180，M7+ = 180 天以上；"
    "退出状态：结清、核销、转让、以物抵债（当月退出）。只跟踪上月在账的贷款；本月新放款不计入。\n"
    "- **迁移矩阵**：行 = 上月档位，列 = 本月档位或退出；行内占比按笔数或**上月本金余额**计，每行合计 100%。\n"
    "- **向前滚动率 Mk→Mk+1+**：本月滚入**任一更差档**（Mk+1 或更差，含跳档，如 31 天的月份 DPD 90 → 121 即 M3 → M5）的贷款；"
    "金额口径 = 这些贷款的**本月**余额 ÷ 上月 Mk 全部贷款的**上月**余额；笔数口径同理。仅滚入下一档的比率在表中列为“滚入下一档”。\n"
    "- **合并矩阵**：所选月份及之前共 N 个月的迁移笔数、余额相加后再算行内占比（分子、分母分别汇总）。\n"
    "- **样本量**：每个比率旁给出分母笔数 n；n 少于所设最少笔数（默认 30 笔）的比率置灰或不画，避免 0%/100% 跳动。\n"
    "- **回滚（治愈）率 Mk→M0**：回到 M0 的贷款的**上月**余额 ÷ 上月 Mk 余额。\n"
    "- **核销环节**：上月 M7+ 的贷款本月核销的本金 ÷ 上月 M7+ 余额。"
    "**流转至核销** = M0→M1+ × M1→M2+ × … × M6→M7+ × 核销环节（同一月份各环节比率的乘积，稳态读法）。\n"
    "- 余额 = 本金余额；核销/转让/抵债当月取处置本金。\n"
    "- 本页为催收口径的逐月滚动率，**不同于**“五级分类与迁徙”页面的监管五级分类迁徙率（期初-期末、按分类、分母扣除期间减少），两者不可混用。",
    "- **Buckets (collections view)**: M0 = current, M1 = 1-30 DPD, M2 = 31-60, …, M6 = 151-180, M7+ = over 180; "
    "exits: paid off, written off, transferred, foreclosed (in the month). Only loans on book last month are "
    "tracked; new loans are not.\n"
    "- **Transition matrix**: rows = bucket last month, columns = bucket or exit this month; shares of the row by "
    "count or by **last month's** principal, each row summing to 100%.\n"
    "- **Forward roll Mk→Mk+1+**: loans that moved to **any worse bucket** (Mk+1 or worse, skips included: DPD 90 "
    "→ 121 in a 31-day month is M3 → M5); balance = their **this month's** balance ÷ **last month's** balance of all "
    "loans in Mk; count likewise. The next-bucket-only rate is listed as \"Roll to the next bucket\".\n"
    "- **Pooled matrix**: the moves of the chosen month and the months before it (N in all) added up, numerators and "
    "denominators separately, before the row shares.\n"
    "- **Sample size**: every rate shows its denominator n; rates on fewer loans than the minimum (default 30) are "
    "greyed or not drawn, so they do not jump between 0% and 100%.\n"
    "- **Cure Mk→M0**: **last month's** balance of loans back in M0 ÷ last month's Mk balance.\n"
    "- **Write-off step**: principal written off this month from last month's M7+ ÷ last month's M7+ balance. "
    "**Flow-through to write-off** = M0→M1+ × M1→M2+ × … × M6→M7+ × write-off step (rates of the same month, a "
    "steady-state reading).\n"
    "- Balance = outstanding principal; in a write-off, transfer or foreclosure month, the principal disposed of.\n"
    "- These collections roll rates are **not** the supervisory five-tier migration rates on the Classification & "
    "migration page (start vs end of period, by class, net of period reductions); do not mix them.",
)
