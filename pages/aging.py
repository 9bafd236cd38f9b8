"""账龄分析 / Aging: DPD buckets (M-buckets or regulatory bands) by branch/product, over time, and the report."""

from __future__ import annotations

import datetime as dt

import plotly.express as px
import streamlit as st

import app_data
import ui
from analytics.core.months import previous_quarter_end, window_start
from analytics.metrics import aging, portfolio
from analytics.metrics.drilldown import DrillSpec

ui.require_data()
f = ui.filters()
dims = app_data.run(portfolio.dimensions)

st.title(ui.tr("账龄分析", "Aging (DPD buckets)"))
st.caption(ui.tr(f"数据月份 {ui.month_label(f.month)} 月末 · 此处“账龄”指逾期账龄（逾期天数），非放款后月数",
                 f"Month-end {ui.month_label(f.month)} · aging = days past due, not months on book"))

c1, c2, c3 = st.columns(3)
scheme = c1.radio(ui.tr("分段方式", "Buckets"), list(aging.SCHEMES), key="ag_scheme", horizontal=True,
                  format_func=ui.options({"m": ui.tr("催收 M 段", "Collection M-buckets"),
                                          "reg": ui.tr("监管账龄段", "Regulatory bands")}))
measure = c2.radio(ui.tr("度量", "Measure"), ["balance", "count"], key="ag_measure", horizontal=True,
                   format_func=ui.options({"balance": ui.tr("余额", "Balance"), "count": ui.tr("笔数", "Count")}))
by = c3.radio(ui.tr("维度", "Rows"), ["branch_id", "product"], key="ag_by", horizontal=True,
              format_func=ui.options({"branch_id": ui.tr("机构", "Branch"), "product": ui.tr("产品", "Product")}))
labels = ui.bucket_labels(scheme)

base = app_data.run(aging.aging_base, branches=f.branches, products=f.products, month_from=f.month, month_to=f.month)
if base.is_empty():
    ui.empty_notice()
    st.stop()

# --- by branch / product at the as-of month --------------------------------------------------------------
st.subheader(ui.tr("账龄分布", "Aging distribution"))
names = dict(dims["branches"]) if by == "branch_id" else {p: ui.label("product", p) for p in dims["products"]}
table = ui.with_label_column(aging.aging_table(base, month=f.month, scheme=scheme, by=by, basis=measure), by, names,
                             "name").select(by, "name", *[f"b{i}" for i in range(aging.N_BUCKETS)], "total",
                                            "overdue_ratio")
buckets = [f"b{i}" for i in range(aging.N_BUCKETS)]
unit = ui.tr("元", "CNY") if measure == "balance" else ui.tr("笔", "loans")


def bucket_spec(bucket: int, month=None, member: str | None = None) -> DrillSpec:
    dpd_min, dpd_max = aging.bucket_dpd_range(scheme, bucket)
    scope = {"branches": f.branches, "products": f.products}
    if member is not None:
        scope[{"branch_id": "branches", "product": "products"}[by]] = (member,)
    where = f" · {names.get(member, member)}" if member is not None else ""
    return DrillSpec(month=month or f.month, dpd_min=dpd_min, dpd_max=dpd_max,
                     title=ui.tr(f"账龄段 {labels[bucket]}{where}", f"Bucket {labels[bucket]}{where}"), **scope)


st.caption(ui.tr("点击表格中的单元格、账龄分析表的行或趋势图的柱查看借据。",
                 "Click a table cell, a row of the aging report or a bar of the trend to list the loans."))
cells = ui.show_table(table if by == "branch_id" else table.drop(by), "ag_table", name=f"aging_{by}", money=(*buckets, "total") if measure == "balance" else (),
              pct=("overdue_ratio",), selectable="cell",
              headers={by: ui.tr("代码", "Code"), "name": ui.tr("机构", "Branch") if by == "branch_id"
                       else ui.tr("产品", "Product"), "total": ui.tr(f"合计({unit})", f"Total ({unit})"),
                       "overdue_ratio": ui.tr("逾期占比", "Overdue share")}
              | {b: f"{lbl} ({unit})" for b, lbl in zip(buckets, labels, strict=True)})
members = table[by].to_list()
ui.drill_on_select("ag_table", [c for c in cells or [] if c[1] in buckets],
                   lambda rc: bucket_spec(buckets.index(rc[1]), member=members[rc[0]]))

# --- trend -------------------------------------------------------------------------------------------
st.subheader(ui.tr("账龄结构趋势", "Aging over time"))
as_share = st.toggle(ui.tr("显示占比（占在账贷款）", "Show shares of on-book loans"), key="ag_share")
trend_base = app_data.run(aging.aging_trend_base, branches=f.branches, products=f.products,
                          month_from=window_start(f.month), month_to=f.month)
trend = aging.aging_trend(trend_base, scheme=scheme)
overdue_only = st.toggle(ui.tr("仅显示逾期段", "Overdue buckets only"), key="ag_overdue_only", value=True)
rows = [r for r in trend.iter_rows(named=True) if not (overdue_only and r["bucket"] == 0)]
if as_share:
    y = [r["share_" + measure] or 0.0 for r in rows]
    y = [v * 100 for v in y]
    y_title = ui.tr("占在账贷款比例（%）", "Share of on-book loans (%)")
else:
    y = [float(r["total_balance"]) / 1e4 if measure == "balance" else r["total_count"] for r in rows]
    y_title = ui.tr("余额（万元）", "Balance (CNY 10k)") if measure == "balance" else ui.tr("笔数（笔）", "Loans (count)")
fig = px.bar(x=[r["month"] for r in rows], y=y, color=[labels[r["bucket"]] for r in rows],
             category_orders={"color": labels}, color_discrete_sequence=px.colors.sequential.OrRd[1:] * 2)
fig.update_layout(barmode="stack", xaxis_title=ui.tr("月份", "Month"), yaxis_title=y_title)
bars = ui.chart(fig, "ag_trend", select=True)
trace_bucket = {i: labels.index(t.name) for i, t in enumerate(fig.data) if t.name in labels}
ui.drill_on_select("ag_trend", [(p.get("curve_number"), p.get("x")) for p in bars or []],
                   lambda cx: bucket_spec(trace_bucket[cx[0]], month=dt.date.fromisoformat(str(cx[1])[:10]))
                   if cx[0] in trace_bucket and cx[1] else None)

# --- aging report --------------------------------------------------------------------------------------
compare = previous_quarter_end(f.month)
st.subheader(ui.tr("账龄分析表", "Aging analysis report"))
st.caption(ui.tr(f"{ui.month_label(f.month)} 月末，与上季末 {ui.month_label(compare)} 比较",
                 f"{ui.month_label(f.month)} month end compared with the previous quarter end {ui.month_label(compare)}"))
report = app_data.run(aging.aging_report, month=f.month, branches=f.branches, products=f.products, scheme=scheme)
report_rows = ui.show_table(
    ui.aging_report_view(report, scheme), "ag_report", name="aging_report",
    money=("total_balance", "overdue_principal", "npl_balance", "prev_balance", "change_balance"),
    pct=("share_count", "share_balance", "npl_rate_balance", "npl_rate_count", "prev_share_balance",
         "change_share_balance"),
    headers={"bucket_label": ui.tr("账龄段", "Bucket"), "total_count": ui.tr("笔数", "Loans"),
             "total_balance": ui.tr("余额(元)", "Balance (CNY)"),
             "share_count": ui.tr("笔数占比", "Share of loans"), "share_balance": ui.tr("余额占比", "Share of balance"),
             "overdue_principal": ui.tr("逾期本金(元)", "Overdue principal (CNY)"),
             "npl_count": ui.tr("不良笔数", "NPL loans"), "npl_balance": ui.tr("不良余额(元)", "NPL (CNY)"),
             "npl_rate_balance": ui.tr("段内不良率(余额)", "NPL rate in bucket (balance)"),
             "npl_rate_count": ui.tr("段内不良率(笔数)", "NPL rate in bucket (count)"),
             "top_causes": ui.tr("主要逾期原因(余额占比)", "Top overdue causes (share of balance)"),
             "prev_count": ui.tr("上季末笔数", "Loans, prev. quarter end"),
             "prev_balance": ui.tr("上季末余额(元)", "Balance, prev. quarter end (CNY)"),
             "prev_share_balance": ui.tr("上季末余额占比", "Share, prev. quarter end"),
             "change_count": ui.tr("笔数变动", "Change in loans"),
             "change_balance": ui.tr("余额变动(元)", "Change in balance (CNY)"),
             "change_share_balance": ui.tr("占比变动", "Change in share")},
    pp=("change_share_balance",), selectable=True,
)
report_buckets = report["bucket"].to_list()
ui.drill_on_select("ag_report", report_rows, lambda i: bucket_spec(int(report_buckets[i]))
                   if int(report_buckets[i]) < aging.N_BUCKETS else None)

# --- drill -------------------------------------------------------------------------------------------
d1, d2 = st.columns([3, 1])
bucket = d1.selectbox(ui.tr("查看账龄段借据", "Loans in a bucket"), list(range(aging.N_BUCKETS)), key="ag_drill_bucket",
                      index=1, format_func=ui.options(dict(enumerate(labels))))
dpd_min, dpd_max = aging.bucket_dpd_range(scheme, bucket)
with d2:
    ui.drill_button(DrillSpec(month=f.month, branches=f.branches, products=f.products, dpd_min=dpd_min,
                              dpd_max=dpd_max, title=ui.tr(f"账龄段 {labels[bucket]}", f"Bucket {labels[bucket]}")),
                    "ag_drill")

ui.definition(
    "- **范围**：月末在账（正常存续）贷款；余额 = **整笔本金余额**（有逾期即全部本金计入该段）。此处“账龄”为逾期账龄（逾期天数），"
    "与 Vintage 分析中的放款后月数(MOB)不同。\n"
    "- **催收 M 段**（行业惯例）：M0 = 未逾期，M1 = 1–30 天，M2 = 31–60，M3 = 61–90，M4 = 91–120，M5 = 121–150，"
    "M6 = 151–180，M7+ = 180 天以上。\n"
    "- **监管账龄段**（1104 S71）：≤30、31–60、61–90、91–180、181–270、271–360、>360 天，与五级分类底线 90/270/360 天一致。\n"
    "- **余额占比** = 段内余额 ÷ 在账贷款余额，逾期小计行即逾期率；**段内不良率** = 段内账面次级/可疑/损失余额 ÷ 段内余额"
    "（逾期 90 天以上各段应为 100%）。\n"
    "- **主要逾期原因**：段内余额最大的前 3 个逾期原因及其占段内已标注原因余额的比例。\n"
    "- **较上季末**：与上一季度最后一个月月末比较，占比变动单位为百分点。",
    "- **Scope**: on-book (active) loans at month end; balance = the **whole outstanding principal** of a loan in a "
    "bucket. Aging here means days past due, not months on book (vintage).\n"
    "- **Collection M-buckets** (convention): M0 = current, M1 = 1–30 DPD, M2 = 31–60, M3 = 61–90, M4 = 91–120, "
    "M5 = 121–150, M6 = 151–180, M7+ = over 180.\n"
    "- **Regulatory bands** (1104 S71): ≤30, 31–60, 61–90, 91–180, 181–270, 271–360, >360 days, matching the "
    "90/270/360-day classification floors.\n"
    "- **Share of balance** = bucket balance / on-book balance; the overdue subtotal row gives the overdue ratio. "
    "**NPL rate in bucket** = booked substandard/doubtful/loss balance in the bucket / bucket balance (should be 100% "
    "beyond 90 DPD).\n"
    "- **Top causes**: the 3 overdue causes with the largest balance in the bucket and their share of the bucket's "
    "balance with a recorded cause.\n"
    "- **vs previous quarter end**: the last month of the previous quarter; share changes in ratio points.",
)
