"""Vintage 分析 / Vintage: cohort curves by months on book, the cohort x MOB triangle, loans behind a point."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

import app_data
import ui
from analytics.metrics import vintage

ui.require_data()
f = ui.filters()

st.title(ui.tr("Vintage 分析", "Vintage"))

METRICS = {
    "ever30": ("ever", 30, "曾逾期30天以上 (ever 30+)", "Ever 30+ DPD"),
    "ever60": ("ever", 60, "曾逾期60天以上 (ever 60+)", "Ever 60+ DPD"),
    "ever90": ("ever", 90, "曾逾期90天以上 (ever 90+)", "Ever 90+ DPD"),
    "pit30": ("pit", 30, "时点逾期30天以上", "Point-in-time 30+ DPD"),
    "pit60": ("pit", 60, "时点逾期60天以上", "Point-in-time 60+ DPD"),
    "pit90": ("pit", 90, "时点逾期90天以上", "Point-in-time 90+ DPD"),
}

c1, c2, c3, c4, c5 = st.columns([1, 1.6, 1, 1, 1.8])
grain = c1.radio(ui.tr("放款批次", "Cohort"), vintage.GRAINS, key="vt_grain", horizontal=True,
                 format_func=ui.options({"month": ui.tr("按月", "Month"), "quarter": ui.tr("按季", "Quarter")}))
metric = c2.selectbox(ui.tr("指标", "Metric"), list(METRICS), key="vt_metric",
                      format_func=ui.options({m: ui.tr(v[2], v[3]) for m, v in METRICS.items()}))
basis = c3.radio(ui.tr("口径", "Basis"), ["count", "balance"], key="vt_basis", horizontal=True,
                 format_func=ui.options({"count": ui.tr("笔数", "Count"), "balance": ui.tr("金额", "Balance")}))
st.session_state.setdefault("vt_min_n", vintage.MIN_N)
min_n = int(c4.number_input(ui.tr("最少笔数 n", "Minimum n"), min_value=1, max_value=10_000, step=10, key="vt_min_n",
                            help=ui.tr("放款笔数少于 n 的批次置灰、不参与“最差批次”。",
                                       "Cohorts with fewer loans are greyed and not ranked as the worst.")))
censored = c5.checkbox(ui.tr("含观察期前放款批次", "Include pre-window cohorts"), key="vt_censored",
                       help=ui.tr("首个快照月之前放款的批次缺少早期账龄（左删失），只显示可观察的账龄。",
                                  "Cohorts originated before the first snapshot miss their early months "
                                  "(left-censored); only observed MOBs are shown."))
measure, threshold = METRICS[metric][0], METRICS[metric][1]
metric_name = ui.tr(METRICS[metric][2], METRICS[metric][3])

curves = app_data.run(vintage.vintage_curves, grain=grain, measure=measure, threshold=threshold, branches=f.branches,
                      products=f.products, include_left_censored=censored, min_n=min_n)
if curves.is_empty():
    ui.empty_notice()
    st.stop()

rate_col = f"rate_{basis}"
sizes = vintage.cohort_sizes(curves)
n_of = dict(zip(sizes["cohort"], sizes["cohort_count"], strict=True))
worst = vintage.worst_cohort(curves, basis=basis, min_n=min_n)
shown = ui.view("vt_view", {"curves": ui.tr("Vintage 曲线", "Vintage curves"),
                            "triangle": ui.tr("批次 × 账龄矩阵", "Cohort x MOB triangle")})
labels = {vintage.cohort_label(c, grain): c for c in curves["cohort"].unique(maintain_order=True).to_list()}
last_month = curves["obs_month"].max()


def point(cohort_text: str, mob: int):
    cohort = labels.get(cohort_text)
    if cohort is None:
        return None
    return vintage.point_spec(cohort, grain, mob, measure, threshold, f.branches, f.products,
                              last_month=last_month, title=f"{metric_name} · {cohort_text} · MOB {mob}")


if shown == "curves":
    st.subheader(ui.tr("Vintage 曲线", "Vintage curves"))
    if worst is not None:
        wl = vintage.cohort_label(worst["cohort"], grain)
        st.markdown(ui.tr(
            f"**最差批次：{wl}**（n = {worst['cohort_count']:,} 笔）在 MOB {worst['mob']} 为 "
            f"{ui.fmt_pct(worst['rate'])}，同账龄中位数 {ui.fmt_pct(worst['median'])}（只比较 n ≥ {min_n} 的批次）。",
            f"**Worst cohort: {wl}** (n = {worst['cohort_count']:,} loans) at {ui.fmt_pct(worst['rate'])} at MOB "
            f"{worst['mob']}, median {ui.fmt_pct(worst['median'])} (cohorts with n ≥ {min_n} only)."))
    # Sequential colours: older cohorts light, recent ones dark; the worst cohort red and thick; small ones grey.
    cohorts = sizes["cohort"].to_list()
    shades = px.colors.sample_colorscale("Blues", [0.3 + 0.7 * i / max(len(cohorts) - 1, 1) for i in range(len(cohorts))])
    fig = go.Figure()
    for (cohort,), part in curves.partition_by("cohort", as_dict=True, maintain_order=True).items():
        n = n_of[cohort]
        is_worst = worst is not None and cohort == worst["cohort"]
        line = ({"color": "#d62728", "width": 4} if is_worst else
                {"color": "#bdbdbd", "width": 1, "dash": "dot"} if n < min_n else
                {"color": shades[cohorts.index(cohort)], "width": 1.5})
        fig.add_scatter(x=part["mob"].to_list(), y=[None if v is None else v * 100 for v in part[rate_col]],
                        mode="lines", line=line, name=f"{vintage.cohort_label(cohort, grain)} (n={n:,})",
                        hovertemplate="MOB %{x}: %{y:.2f}%<extra>%{fullData.name}</extra>")
    fig.update_layout(title=metric_name)
    fig.update_xaxes(title_text=ui.tr("账龄 MOB（月，放款当月 = 0）", "Months on book (MOB; origination month = 0)"))
    fig.update_yaxes(title_text=ui.tr("比率（%）", "Rate (%)"))
    ui.chart(fig, "vt_curves")
    st.caption(ui.tr(f"颜色由浅到深 = 由早到近的批次；红色粗线 = 最差批次；灰色虚线 = 笔数少于 {min_n} 的批次。",
                     f"Light to dark = older to recent cohorts; thick red = the worst cohort; grey dotted = cohorts "
                     f"with fewer than {min_n} loans."))

if shown == "triangle":
    st.subheader(ui.tr("批次 × 账龄矩阵", "Cohort x MOB triangle"))
    rates, flags = vintage.triangle(curves, basis, grain)
    mobs = rates.columns[1:]
    low = [n < min_n for n in sizes["cohort_count"]]
    y_labels = [f"{c} (n={n:,})" for c, n in zip(rates["cohort"], sizes["cohort_count"], strict=True)]
    heat = go.Figure(go.Heatmap(
        z=[[None if (v is None or small) else v * 100 for v in row[1:]] for row, small in zip(rates.iter_rows(), low,
                                                                                             strict=True)],
        x=mobs, y=y_labels, colorscale="Reds", colorbar={"title": {"text": "%"}},
        hovertemplate=ui.tr("批次 %{y}<br>MOB %{x}<br>%{z:.2f}%", "Cohort %{y}<br>MOB %{x}<br>%{z:.2f}%") + "<extra></extra>",
    ))
    heat.update_layout(title=metric_name)
    heat.update_xaxes(title_text=ui.tr("账龄 MOB（月）", "MOB (months)"), type="category")
    heat.update_yaxes(title_text=ui.tr("放款批次", "Cohort"), type="category", autorange="reversed")
    ui.chart(heat, "vt_heatmap")  # Plotly heatmaps have no click selection: the table below is the click route

    st.caption(ui.tr(f"表中标红：该批次在同一账龄上高于所有批次的中位数；灰色行：批次笔数少于 {min_n}（图中不显示）。点击表格单元格查看借据。",
                     f"Shaded: the cohort is above the median of all cohorts at the same MOB; grey rows: fewer than "
                     f"{min_n} loans (not drawn in the chart). Click a table cell to list the loans."))
    with_n = rates.insert_column(1, sizes["cohort_count"].alias("cohort_count"))
    cells = ui.show_highlighted(with_n, flags.insert_column(1, sizes["cohort_count"].alias("cohort_count")), "vt_table",
                                name=f"vintage_{metric}_{basis}_{grain}", label_columns=2, grey_rows=low, selectable=True)
    ui.drill_on_select("vt_table", [c for c in cells or [] if c[1] in mobs],
                       lambda rc: point(rates["cohort"][rc[0]], int(rc[1])))

st.subheader(ui.tr("查看明细", "Loans behind a point"))
d1, d2, d3 = st.columns(3)
cohort_label = d1.selectbox(ui.tr("放款批次", "Cohort"), list(labels), key="vt_drill_cohort")
cohort_mobs = curves.filter(curves["cohort"] == labels[cohort_label])["mob"].to_list()
mob = d2.selectbox(ui.tr("账龄 MOB", "MOB"), cohort_mobs, index=len(cohort_mobs) - 1, key="vt_drill_mob")
part = "on_book"
if measure == "pit":
    part = d3.radio(ui.tr("组成", "Part"), ["on_book", "kept"], key="vt_drill_part",
                    format_func=ui.options({"on_book": ui.tr("在账逾期贷款", "On-book loans"),
                                            "kept": ui.tr("已核销/转让/抵债（保留在分子）", "Disposed, kept in the numerator")}))
spec = vintage.point_spec(labels[cohort_label], grain, mob, measure, threshold, f.branches, f.products, part=part,
                          last_month=curves["obs_month"].max(), title=f"{metric_name} · {cohort_label} · MOB {mob}")
if spec is None:
    st.info(ui.tr("时点口径的按季批次无法对应到单一月份，请选择按月批次查看明细。",
                  "Point-in-time quarter cohorts span several months: choose monthly cohorts to list the loans."))
else:
    if measure == "ever":
        st.caption(ui.tr("明细按每笔贷款首次达到该逾期程度的月份列示（本金余额或处置本金合计 = 分子金额）。",
                         "Each loan is listed at the month it first reached that DPD (outstanding plus disposed "
                         "principal adds up to the numerator)."))
    ui.drill_button(spec, "vt_drill")

ui.definition(
    "- **放款批次（Vintage）**：按放款月份或季度分组；**账龄 MOB** = 观察月 − 贷款自身放款月，放款当月为 MOB 0。"
    "按季批次仅显示该季全部贷款都已达到的账龄。\n"
    "- **30+ / 60+ / 90+**：逾期天数 > 30 / 60 / 90 天。\n"
    "- **曾逾期（ever）**：截至该账龄曾在任一月末达到该逾期程度的贷款；笔数口径 = 笔数 ÷ 批次放款笔数；"
    "金额口径 = 首次达到时的本金余额（冻结） ÷ 批次放款金额。曲线单调不降。\n"
    "- **时点（point-in-time）**：该账龄月末处于该逾期程度的在账贷款（当月本金余额）；已核销、转让、以物抵债且此前已达到该程度的贷款，"
    "自退出当月起按退出时本金**保留在分子**中；结清贷款退出。\n"
    "- **分母**：批次放款笔数或放款金额（借据放款金额），不随还款减少。\n"
    "- **机构**：按**放款机构**（借据的放款机构）归属与筛选，贷款后来移交其他机构（如特殊资产经营部）管理也不改变；其他页面按快照的管理机构。\n"
    "- **左删失**：首个快照月之前放款的批次缺少早期账龄，默认不显示；勾选后只显示可观察到的账龄，其 ever 比率只统计首个快照月之后的逾期。\n"
    "- **高于中位数**：同一账龄下所有批次比率的中位数；比率高于中位数的单元格标红。\n"
    "- **样本量 n**：每个批次旁给出放款笔数 n；n 少于所设最少笔数（默认 30 笔）的批次置灰，矩阵图中不显示其比率，也不参与最差批次。\n"
    "- **最差批次**：在 n ≥ 最少笔数、且已达到参照账龄的批次中，参照账龄上比率最高者；参照账龄 = 至少一半这些批次已达到的最大账龄。",
    "- **Cohort (vintage)**: loans grouped by origination month or quarter; **MOB** = observation month − the loan's "
    "own origination month, the origination month being MOB 0. Quarter cohorts show a MOB only once all their loans "
    "reached it.\n"
    "- **Branch**: the **origination branch** (the loan's branch) groups and filters cohorts, even after the loan "
    "moved to another branch (e.g. the special assets department); the other pages use the snapshot's managing "
    "branch.\n"
    "- **30+ / 60+ / 90+**: DPD > 30 / 60 / 90 days.\n"
    "- **Ever**: loans that reached that DPD at any month end up to the MOB. Count = loans ÷ loans disbursed; "
    "balance = principal outstanding when first reaching it (frozen) ÷ amount disbursed. Never decreases.\n"
    "- **Point-in-time**: on-book loans at that DPD at the MOB's month end (their principal then). Loans written off, "
    "transferred or foreclosed after reaching it **stay in the numerator** from their exit on, at the principal they "
    "left with; paid-off loans leave.\n"
    "- **Denominator**: the cohort's number of loans or disbursed principal; repayments do not reduce it.\n"
    "- **Left-censoring**: cohorts originated before the first snapshot miss their early months and are hidden by "
    "default; when included, only observed MOBs show and their ever rates count events from the first snapshot on.\n"
    "- **Above median**: the median of all cohorts' rates at the same MOB; shaded cells are above it.\n"
    "- **Sample size n**: every cohort shows its number of loans; cohorts below the minimum (default 30) are greyed, "
    "not drawn in the heatmap and not ranked.\n"
    "- **Worst cohort**: among cohorts with n ≥ the minimum that reached the reference MOB, the highest rate there; "
    "reference MOB = the largest MOB reached by at least half of those cohorts.",
)
