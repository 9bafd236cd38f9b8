"""五级分类与迁徙 / Classification & migration: ratios with provisioning, floor check, supervisory migration."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

import app_data
import ui
from analytics.core import measures
from analytics.core.schema import CLASSES, EXIT_STATUSES
from analytics.metrics import classification as cl
from analytics.metrics import portfolio
from analytics.metrics import provisioning as prov
from analytics.metrics.drilldown import DrillSpec

ui.require_data()
f = ui.filters()
dims = app_data.run(portfolio.dimensions)

st.title(ui.tr("五级分类与迁徙", "Classification & migration"))
st.caption(ui.tr(f"数据月份 {ui.month_label(f.month)} 月末", f"Month-end {ui.month_label(f.month)}"))


def class_name(c: int) -> str:
    return ui.label("class", c)


def state_name(state: str) -> str:
    if state == cl.MISSING:
        return ui.tr("无记录", "No record")
    return class_name(int(state)) if state.isdigit() else ui.tr("退出：", "Exit: ") + ui.label("status", state)


# --- provisioning rates: the app-wide scheme (saved on the scenario page), so coverage agrees everywhere ---
PRESET_TEXT = {"pboc2002": ("2002 人民银行参考比例 (1/2/25/50/100%)", "2002 PBOC reference (1/2/25/50/100%)"),
               "mof2012": ("2012 财政部风险系数 (1.5/3/30/60/100%)", "2012 MoF coefficients (1.5/3/30/60/100%)"),
               "custom": ("自定义", "Custom")}
c1, c2 = st.columns([2, 1])
scheme_version, rates = app_data.provision_rates()
scheme = prov.scheme_of(rates)
rate_text = " / ".join(f"{v * 100:g}%" for v in rates.by_class().values())
c1.markdown(ui.tr(f"**拨备计提比例**：{ui.tr(*PRESET_TEXT[scheme['preset']])}（{rate_text}，版本 {scheme_version}）",
                  f"**Provision rates**: {ui.tr(*PRESET_TEXT[scheme['preset']])} ({rate_text}, version {scheme_version})"))
c1.page_link("pages/scenarios.py", label=ui.tr("在“情景分析”页试算或更改（保存后全站生效）",
                                               "Try or change them on the Scenarios page (saved = every page)"))
basis_names = {"balance": ui.tr("余额", "Balance"), "count": ui.tr("笔数", "Count")}
basis = c2.radio(ui.tr("比率口径", "Ratio basis"), list(basis_names), key="cl_basis", horizontal=True,
                 format_func=ui.options(basis_names))

views = app_data.run(cl.quality_views, month=f.month, branches=f.branches, products=f.products, rates=rates)
if views["current"].is_empty():
    ui.empty_notice()
    st.stop()
now = views["current"].row(0, named=True)
sfx = "_" + basis

# --- ratio tiles --------------------------------------------------------------------------------
TILES = (
    ("npl_ratio", "不良贷款率", "NPL ratio"),
    ("special_mention_ratio", "关注类贷款占比", "Special-mention ratio"),
    ("overdue_ratio", "逾期贷款率", "Overdue ratio"),
    ("dpd90_ratio", "逾期90天以上占比", "90+ DPD ratio"),
    ("deviation", "偏离度(逾期90天+/不良)", "90+ DPD / NPL (偏离度)"),
    ("coverage", "拨备覆盖率(简化)", "Provision coverage (simplified)"),
    ("provision_ratio", "贷款拨备率(简化)", "Loan provision ratio (simplified)"),
)
cols = st.columns(4)
ui.kpi(cols[0], ui.tr("贷款余额", "Total loans"), now["total_balance"], kind="money",
       help=ui.tr(f"{now['total_count']:,} 笔", f"{now['total_count']:,} loans"))
for i, (key, zh, en) in enumerate(TILES, start=1):
    balance_only = key in ("coverage", "provision_ratio")  # money set aside has no count variant
    value = now[key] if balance_only else now[key + sfx]
    on_balance = now[key] if balance_only else now[key + "_balance"]
    cols[i % 4].metric(ui.tr(zh, en), ui.fmt_pct(value), border=True,
                       help=ui.tr(f"余额口径 {ui.fmt_pct(on_balance)}", f"balance basis {ui.fmt_pct(on_balance)}")
                       + (f" · {ui.tr('笔数口径', 'count basis')} {ui.fmt_pct(now[key + '_count'])}"
                          if key + "_count" in now else ""))
if now["deviation_balance"] is not None and now["deviation_balance"] > 1:
    st.warning(ui.tr("偏离度超过 100%：存在逾期90天以上却未划入不良的贷款，见“低于监管底线”视图。",
                     "90+ DPD / NPL exceeds 100%: some 90+ DPD loans are not NPL; see the 'Below the floor' view."))

KPI_DRILL = {m: ui.label("measure", m) for m in ("npl", "class2", "overdue", "dpd90")}
d1, d2 = st.columns([3, 1])
kpi = d1.selectbox(ui.tr("查看指标背后的借据", "Loans behind a number"), list(KPI_DRILL), key="cl_drill_kpi",
                   format_func=ui.options(KPI_DRILL))
with d2:
    ui.drill_button(DrillSpec(month=f.month, branches=f.branches, products=f.products, title=KPI_DRILL[kpi],
                              **measures.drill_criteria(kpi)), "cl_drill_kpi_go")

shown = ui.view("cl_view", {"structure": ui.tr("按机构 / 产品", "By branch / product"),
                            "trend": ui.tr("趋势", "Trend"), "floor": ui.tr("低于监管底线", "Below the floor"),
                            "migration": ui.tr("迁徙率与迁徙矩阵", "Migration")})

# --- by branch / product ------------------------------------------------------------------------
RATIO_HEADERS = {
    "npl_ratio": ("不良率", "NPL ratio"), "special_mention_ratio": ("关注类占比", "Special mention"),
    "overdue_ratio": ("逾期率", "Overdue ratio"), "dpd90_ratio": ("90天+占比", "90+ ratio"),
    "deviation": ("偏离度", "90+/NPL"),
}
ratio_cols = [k + sfx for k in RATIO_HEADERS]
headers = {k + sfx: ui.tr(*v) for k, v in RATIO_HEADERS.items()} | {
    "branch_id": ui.tr("机构号", "Branch id"), "branch_name": ui.tr("机构", "Branch"),
    "product": ui.tr("产品", "Product"), "total_count": ui.tr("笔数", "Loans"),
    "total_balance": ui.tr("贷款余额(元)", "Total (CNY)"),
    "class2_balance": ui.tr("关注类余额(元)", "Special mention (CNY)"),
    "npl_balance": ui.tr("不良余额(元)", "NPL (CNY)"), "dpd90_balance": ui.tr("90天+余额(元)", "90+ DPD (CNY)"),
    "provision": ui.tr("拨备(简化,元)", "Provision (simplified, CNY)"), "coverage": ui.tr("拨备覆盖率", "Coverage"),
    "provision_ratio": ui.tr("贷款拨备率", "Provision ratio"),
}
value_cols = ["total_count", "total_balance", "class2_balance", "npl_balance", "dpd90_balance", *ratio_cols,
              "provision", "coverage", "provision_ratio"]
money_cols = ("total_balance", "class2_balance", "npl_balance", "dpd90_balance", "provision")
pct_cols = (*ratio_cols, "coverage", "provision_ratio")
if shown == "structure":
    tab_branch, tab_product = st.tabs([ui.tr("按机构", "By branch"), ui.tr("按产品", "By product")])
    with tab_branch:
        ui.show_table(views["branch"].select("branch_id", "branch_name", *value_cols), "cl_by_branch",
                      name="classification_by_branch", money=money_cols, pct=pct_cols, headers=headers)
    with tab_product:
        # the product column is shown as its label (labels.COLUMN_CODES); no second column of raw codes
        ui.show_table(views["product"].select("product", *value_cols), "cl_by_product",
                      name="classification_by_product", money=money_cols, pct=pct_cols,
                      headers=headers | {"product": ui.tr("产品", "Product")})


# --- trend --------------------------------------------------------------------------------------
if shown == "trend":
    st.subheader(ui.tr("不良率、偏离度与拨备覆盖率趋势", "NPL ratio, 偏离度 and coverage over time"))
    trend = views["trend"]
    months = trend["month"].to_list()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for col, zh, en, right in (("npl_ratio", "不良率", "NPL ratio", False),
                               ("special_mention_ratio", "关注类占比", "Special-mention ratio", False),
                               ("deviation", "偏离度", "90+ DPD / NPL", True),
                               ("coverage", "拨备覆盖率", "Provision coverage", True)):
        series = trend[col if col in ("coverage",) else col + sfx]
        name = ui.right_axis(ui.tr(zh, en)) if right else ui.tr(zh, en)
        fig.add_trace(go.Scatter(x=months, y=[None if v is None else v * 100 for v in series], name=name,
                                 mode="lines+markers", line={"dash": "dot"} if right else {}), secondary_y=right)
    fig.update_xaxes(title_text=ui.tr("月份", "Month"))
    fig.update_yaxes(title_text=ui.tr("不良率 / 关注类占比（%）", "NPL / special-mention ratio (%)"), secondary_y=False)
    fig.update_yaxes(title_text=ui.tr("偏离度 / 拨备覆盖率（%，右轴，虚线）", "偏离度 / coverage (%, right axis, dotted)"),
                     secondary_y=True, showgrid=False)
    ui.chart(fig, "cl_trend")

# --- below the regulatory floor -------------------------------------------------------------------
if shown == "floor":
    st.subheader(ui.tr("低于监管底线的贷款（按逾期天数）", "Loans booked better than the regulatory floor (by DPD)"))
    floor = app_data.run(cl.below_floor_by_branch, month=f.month, branches=f.branches, products=f.products)
    below_n, below_bal = int(floor["below_count"].sum()), floor["below_balance"].sum()
    m1, m2, m3 = st.columns(3)
    m1.metric(ui.tr("低于底线笔数", "Loans below the floor"), f"{below_n:,}", border=True)
    ui.kpi(m2, ui.tr("低于底线余额", "Balance below the floor"), below_bal, kind="money")
    m3.metric(ui.tr("技术性短期逾期豁免笔数", "Technical ≤7-day exemptions"), f"{int(floor['tech_exempt_count'].sum()):,}",
              border=True, help=ui.tr("逾期 1–7 天且标记为技术性原因，底线仍为正常类。",
                                      "1–7 DPD flagged technical: the floor stays at Pass."))
    ui.show_table(floor, "cl_floor_table", name="below_floor_by_branch",
                  money=("total_balance", "below_balance", "tech_exempt_balance"),
                  pct=("below_share_balance", "below_share_count"),
                  headers={"branch_id": ui.tr("机构号", "Branch id"), "branch_name": ui.tr("机构", "Branch"),
                           "total_count": ui.tr("在账笔数", "Loans"), "total_balance": ui.tr("贷款余额(元)", "Total (CNY)"),
                           "below_count": ui.tr("低于底线笔数", "Below floor (loans)"),
                           "below_balance": ui.tr("低于底线余额(元)", "Below floor (CNY)"),
                           "tech_exempt_count": ui.tr("技术性豁免笔数", "Tech. exempt (loans)"),
                           "tech_exempt_balance": ui.tr("技术性豁免余额(元)", "Tech. exempt (CNY)"),
                           "below_share_balance": ui.tr("余额占比", "Share of balance"),
                           "below_share_count": ui.tr("笔数占比", "Share of loans")})
    branch_names = dict(dims["branches"])
    floor_branches = ["*", *floor["branch_id"].to_list()]
    b1, b2 = st.columns([3, 1])
    floor_branch = b1.selectbox(ui.tr("机构", "Branch"), floor_branches, key="cl_floor_branch",
                                format_func=ui.options({"*": ui.tr("全部（当前筛选）", "All (current filter)")}
                                                       | {b: f"{b} {branch_names.get(b, '')}" for b in floor_branches}))
    with b2:
        ui.drill_button(DrillSpec(month=f.month, branches=f.branches if floor_branch == "*" else (floor_branch,),
                                  products=f.products, below_floor=True,
                                  title=ui.tr("低于监管底线的贷款", "Loans below the regulatory floor")),
                        "cl_floor_drill")

# --- supervisory migration ------------------------------------------------------------------------
if shown == "migration":
    st.subheader(ui.tr("五级分类迁徙率（监管口径）", "Supervisory migration rates"))
    PERIOD_TEXT = {"month": ("本月", "Month"), "quarter": ("本季度", "Quarter to date"), "ytd": ("本年", "Year to date"),
                   "custom": ("自选期初月份", "Custom start month")}
    p1, p2 = st.columns(2)
    period = p1.radio(ui.tr("期间", "Period"), list(PERIOD_TEXT), key="cl_period", horizontal=True,
                      format_func=ui.options({k: ui.tr(*v) for k, v in PERIOD_TEXT.items()}))
    earlier = [m for m in dims["months"] if m < f.month]
    if period == "custom":
        if not earlier:
            st.info(ui.tr("没有更早的月份可作期初。", "There is no earlier month to start from."))
            st.stop()
        start = p2.selectbox(ui.tr("期初月份（月末快照）", "Start snapshot (month end)"), earlier[::-1],
                             key="cl_start_month", format_func=ui.month_label)
    else:
        start = cl.period_start(f.month, period)
    st.caption(ui.tr(f"期初 = {ui.month_label(start)} 月末，期末 = {ui.month_label(f.month)} 月末",
                     f"Start = {ui.month_label(start)} month end, end = {ui.month_label(f.month)} month end"))
    base = app_data.run(cl.transition_base, start_month=start, end_month=f.month, branches=f.branches,
                        products=f.products)
    if base.is_empty():
        st.info(ui.tr(f"{ui.month_label(start)} 没有期初数据（快照不存在或筛选后为空），无法计算迁徙。",
                      f"No start-of-period data at {ui.month_label(start)} (no snapshot or nothing matches the filters)."))
    else:
        rates_df = ui.with_label_column(cl.migration_rates(base), "rate", ui.label_map("migration"), "rate_name")
        rate_cols = st.columns(5)
        for i, row in enumerate(rates_df.iter_rows(named=True)):
            rate_cols[i].metric(row["rate_name"], ui.fmt_pct(row["migration_rate_" + basis]),
                                border=True, delta=f"n={row['denominator_count']:,}", delta_arrow="off", delta_color="gray",
                                help=ui.tr(f"笔数口径 {ui.fmt_pct(row['migration_rate_count'])}；n = 分母笔数（期初笔数 − 退出笔数）",
                                           f"count basis {ui.fmt_pct(row['migration_rate_count'])}; n = denominator loans "
                                           "(start loans − exits)"))
        ui.show_table(
            rates_df.drop("rate"), "cl_rates_table", name="migration_rates",
            money=("start_balance", "reduction_balance", "denominator_balance", "migrated_balance"),
            pct=("migration_rate_balance", "migration_rate_count"),
            headers={"rate": ui.tr("代码", "Code"), "rate_name": ui.tr("指标", "Rate"),
                     "start_balance": ui.tr("期初余额(元)", "Start balance (CNY)"),
                     "reduction_balance": ui.tr("期间减少(元)", "Period reduction (CNY)"),
                     "denominator_balance": ui.tr("分母(元)", "Denominator (CNY)"),
                     "migrated_balance": ui.tr("向下迁徙(期末余额,元)", "Migrated (end balance, CNY)"),
                     "migration_rate_balance": ui.tr("迁徙率(余额)", "Rate (balance)"),
                     "start_count": ui.tr("期初笔数", "Start loans"),
                     "exit_count": ui.tr("退出笔数", "Exited loans"),
                     "denominator_count": ui.tr("分母笔数", "Denominator loans"),
                     "migrated_count": ui.tr("向下迁徙笔数", "Migrated loans"),
                     "migration_rate_count": ui.tr("迁徙率(笔数)", "Rate (count)")})
        r1, r2 = st.columns([3, 1])
        rate_names = ui.label_map("migration")
        rate_code = r1.selectbox(ui.tr("查看迁徙借据", "Loans that migrated"), list(cl.RATES), key="cl_rate_drill",
                                 format_func=ui.options(rate_names))
        with r2:
            starts, worse = cl.RATES[rate_code]
            ui.drill_button(DrillSpec(month=f.month, branches=f.branches, products=f.products, prev_month=start,
                                      prev_classes=starts, classes=worse, title=rate_names[rate_code]),
                            "cl_rate_drill_go")

        # --- transition matrix ------------------------------------------------------------------------
        st.subheader(ui.tr("五级分类迁徙矩阵", "Five-tier transition matrix"))
        t1, t2 = st.columns(2)
        measure_names = {"balance": ui.tr("期初余额", "Start balance"), "count": ui.tr("笔数", "Count")}
        measure = t1.radio(ui.tr("度量", "Measure"), list(measure_names), key="cl_matrix_measure", horizontal=True,
                           format_func=ui.options(measure_names))
        as_share = t2.toggle(ui.tr("按行占比显示", "Show as row share"), key="cl_matrix_share")
        matrix = cl.migration_matrix(base, basis=measure, share=as_share)
        states = [c for c in matrix.columns if c not in ("start_class", "total")]
        z = [[row[s] for s in states] for row in matrix.iter_rows(named=True)]
        scale = 100 if as_share else (1e4 if measure == "balance" else 1)
        unit = "%" if as_share else (ui.tr("万元", "CNY 10k") if measure == "balance" else ui.tr("笔", "loans"))
        heat = go.Figure(go.Heatmap(
            z=[[v * 100 if as_share else v / scale for v in r] for r in z], x=[state_name(s) for s in states],
            y=[class_name(c) for c in matrix["start_class"]], colorscale="Reds", colorbar={"title": {"text": unit}},
            text=[[f"{v * 100:.2f}%" if as_share else f"{v / scale:,.0f}" for v in r] for r in z],
            texttemplate="%{text}", hovertemplate="%{y} → %{x}: %{text}<extra></extra>"))
        heat.update_layout(xaxis_title=ui.tr(f"期末状态（{ui.month_label(f.month)}）", f"End state ({ui.month_label(f.month)})"),
                           yaxis_title=ui.tr(f"期初分类（{ui.month_label(start)}）", f"Start class ({ui.month_label(start)})"),
                           yaxis_autorange="reversed", title=ui.tr(f"单位：{unit}", f"Unit: {unit}"))
        ui.chart(heat, "cl_matrix_chart")
        st.caption(ui.tr("点击下表的单元格查看借据。", "Click a cell of the table below to list the loans."))
        cells = ui.show_table(matrix, "cl_matrix_table", name="transition_matrix",
                              money=() if as_share or measure == "count" else (*states, "total"),
                              pct=(*states, "total") if as_share else (), selectable="cell",
                              headers={"start_class": ui.tr("期初分类", "Start class"), "total": ui.tr("合计", "Total")}
                              | {s: state_name(s) for s in states})

        def matrix_cell(start_class: int, end_state: str) -> DrillSpec | None:
            if end_state == cl.MISSING or end_state not in states:
                return None
            return DrillSpec(month=f.month, branches=f.branches, products=f.products, prev_month=start,
                             rows="first_exit" if end_state in EXIT_STATUSES else "at_month",
                             title=f"{class_name(start_class)} → {state_name(end_state)}",
                             **cl.matrix_cell_spec_args(start_class, end_state))

        start_classes = matrix["start_class"].to_list()
        ui.drill_on_select("cl_matrix_table", cells, lambda rc: matrix_cell(int(start_classes[rc[0]]), rc[1]))

        x1, x2, x3 = st.columns([2, 2, 1])
        cell_from = x1.selectbox(ui.tr("期初分类", "Start class"), list(CLASSES), key="cl_cell_from",
                                 format_func=ui.options({c: class_name(c) for c in CLASSES}))
        end_states = [s for s in states if s != cl.MISSING]
        cell_to = x2.selectbox(ui.tr("期末状态", "End state"), end_states, key="cl_cell_to",
                               format_func=ui.options({s: state_name(s) for s in end_states}))
        with x3:
            ui.drill_button(DrillSpec(month=f.month, branches=f.branches, products=f.products, prev_month=start,
                                      rows="first_exit" if cell_to in EXIT_STATUSES else "at_month",
                                      title=f"{class_name(cell_from)} → {state_name(cell_to)}",
                                      **cl.matrix_cell_spec_args(cell_from, cell_to)), "cl_cell_drill")

ui.definition(
    "- **范围**：月末在账（正常存续）贷款，余额 = 本金余额；比率先汇总分子、分母再相除，可切换余额/笔数口径。\n"
    "- **不良贷款率** = (次级+可疑+损失) ÷ 贷款余额；**关注类占比** = 关注类 ÷ 贷款余额；**逾期贷款率** = 逾期天数 ≥ 1 的"
    "整笔本金 ÷ 贷款余额；**逾期90天以上占比** = 逾期天数 > 90 ÷ 贷款余额；**偏离度** = 逾期90天以上余额 ÷ 不良余额（期望 ≤ 100%）。\n"
    "- **拨备（简化）** = Σ 各类余额 × 计提比例（默认 2002 年人民银行参考比例：正常 1%（一般准备）、关注 2%、次级 25%、可疑 50%、"
    "损失 100%；可选 2012 年财政部标准风险系数 1.5/3/30/60/100%，或自定义；在“情景分析”页保存为全站方案后，本页、总览与管理层页面使用同一比例）。这是监管式简化估算，银行实际贷款损失准备按预期信用损失(ECL)"
    "计提。**拨备覆盖率** = 拨备 ÷ 不良余额；**贷款拨备率** = 拨备 ÷ 贷款余额。\n"
    "- **监管底线**（2023 年《商业银行金融资产风险分类办法》）：逾期 ≥ 1 天至少关注类（逾期 ≤ 7 天且属技术性原因除外）；"
    "逾期 > 90 天至少次级；> 270 天至少可疑；> 360 天损失。账面分类优于底线即“低于监管底线”。\n"
    "- **迁徙率**（非现场监管指标 / G12）：期初 = 上一期期末快照（本月：上月末；本季度：上季末；本年：上年末），期末 = 数据月份。"
    "分子 = 期初为 K 类、期末分类劣于 K 的贷款的**期末余额**；分母 = 期初 K 类余额 − 期间减少。**期间减少**逐笔计算：期末仍在账的贷款"
    "取 max(期初余额 − 期末余额, 0)，期间结清、核销、转让、以物抵债（或期末无记录）的贷款取全部期初余额。正常贷款迁徙率 = (期初正常、关注"
    "中期末为不良的余额) ÷ 两类分母之和。笔数口径：迁徙笔数 ÷ (期初笔数 − 退出笔数)。期间新发放贷款不属于任何期初组。\n"
    "- **迁徙矩阵**：期初分类 × 期末状态（五级分类或退出方式），余额为**期初余额**（每行合计 = 期初该类余额）；占比按行计算。",
    "- **Scope**: on-book (active) loans at month end, balance = outstanding principal; ratios sum numerators and "
    "denominators first; switch between balance and count basis.\n"
    "- **NPL ratio** = (substandard + doubtful + loss) / total; **special-mention ratio** = special mention / total; "
    "**overdue ratio** = whole principal of loans with DPD ≥ 1 / total; **90+ ratio** = DPD > 90 / total; "
    "**偏离度** = 90+ DPD balance / NPL balance (expected ≤ 100%).\n"
    "- **Provision (simplified)** = Σ class balance × rate (default: 2002 PBOC reference 1% general on Pass, 2%, 25%, "
    "50%, 100%; alternative: 2012 MoF standard coefficients 1.5/3/30/60/100%, or custom; the scheme saved app-wide on the "
    "Scenarios page applies here, on the overview and on the executive page). A regulatory-style estimate: "
    "the bank's real allowance is ECL-based. **Coverage** = provision / NPL; **provision ratio** = provision / total.\n"
    "- **Regulatory floor** (2023 rule): any overdue ≥ Special mention (except ≤ 7 days for technical reasons); "
    "> 90 DPD ≥ Substandard; > 270 ≥ Doubtful; > 360 Loss. Booked better than the floor = below the floor.\n"
    "- **Migration rates** (supervisory / G12): start = the previous period's closing snapshot (month: previous month "
    "end; quarter: previous quarter end; year: previous year end), end = the as-of month. Numerator = END balance of "
    "loans of class K at the start that are in a worse class at the end; denominator = start K balance − period "
    "reduction. **Period reduction** per loan: max(start − end balance, 0) if still on book, the whole start balance "
    "if paid off, written off, transferred, foreclosed (or missing) during the period. Performing-loan rate = start "
    "Pass + Special mention now NPL / the sum of both denominators. Count basis: migrated loans / (start loans − exited "
    "loans). Loans originated during the period are in no start cohort.\n"
    "- **Transition matrix**: start class × end state (class or exit kind), valued at the START balance (each row adds "
    "up to the class's start balance); shares are row shares.",
)
