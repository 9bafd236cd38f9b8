"""逾期预警 / Early warning: the warning centre (levels, list with reasons, level changes), the crossing calendar,
handling status by level, portfolio limits, the backtest, borrower notices, and the rule-table editor."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import polars as pl
import streamlit as st

import app_data
import ui
from analytics.core import export
from analytics.core import months as mo
from analytics.customer import blacklist as bl
from analytics.model.artifact import ArtifactError
from analytics.warning import backtest as bt
from analytics.warning import notices as nt
from analytics.warning import report as rp
from analytics.warning import rules as R
from analytics.warning import signals as S

ui.require_data()
f = ui.filters()
lang = ui.lang()
H = rp.headers(lang)
COLORS = {"red": "#d62728", "orange": "#ff7f0e", "yellow": "#e6c229", "blue": "#1f77b4"}

st.title(ui.tr("逾期预警", "Early warning"))

# --- the rule table in force (latest saved version, else the defaults) ----------------------------------------
rules_version, saved_rules = app_data.load_config(R.CONFIG_NAME, R.default_rules())
try:
    rules = R.validate(saved_rules)
except R.RuleError as exc:
    st.error(ui.tr(f"已保存的规则表无法使用（{exc}），改用默认规则。", f"The saved rule table cannot be used ({exc}); "
                   "using the defaults."))
    rules, rules_version = R.default_rules(), 0
rules_text = R.dumps(rules)
scope = {"month": f.month, "rules": rules_text, "branches": f.branches, "products": f.products}
# files built on a click belong to the month, slice and rule table they were built for
signature = (f.month, f.branches, f.products, rules_text)
if st.session_state.get("wa_signature") != signature:
    for k in [k for k in st.session_state if k in ("wa_report_pdf", "wa_monthly_xlsx", "wa_nt_batch", "wa_nt_xlsx")
              or str(k).endswith("_full_bytes")]:
        del st.session_state[k]
    st.session_state["wa_signature"] = signature


def with_model(fn, **kwargs):
    """``fn`` with the PD signals when a model was trained, else without; (result, model used)."""
    try:
        return app_data.run_model(fn, **kwargs), True
    except ArtifactError:
        return app_data.run(fn, **kwargs), False


def show(df, key: str, name: str, *, money=(), pct=(), height=None) -> None:
    """A labelled table; long lists show their first rows (their downloads are built on every run) and the whole
    list is built on a click."""
    if df.height <= SHOWN_ROWS:
        ui.show_table(rp.labelled(df, lang), key, money=money, pct=pct, headers=H, name=name, height=height)
        return
    st.caption(ui.tr(f"显示前 {SHOWN_ROWS:,} 行，共 {df.height:,} 行；完整清单请点击下方按钮生成下载。",
                     f"Showing the first {SHOWN_ROWS:,} of {df.height:,} rows; build the full list below."))
    ui.show_table(rp.labelled(df.head(SHOWN_ROWS), lang), key, money=money, pct=pct, headers=H, name=name,
                  height=height)
    if st.button(ui.tr("生成完整清单（CSV / Excel）", "Build the full list (CSV / Excel)"), key=f"{key}_full"):
        full = rp.labelled(df, lang).rename({k: v for k, v in H.items() if k in df.columns})
        st.session_state[f"{key}_full_bytes"] = (export.to_csv_bytes(full), export.to_excel_bytes(full, name))
    if st.session_state.get(f"{key}_full_bytes"):
        csv, xlsx = st.session_state[f"{key}_full_bytes"]
        c1, c2, _ = st.columns([1, 1, 4])
        c1.download_button(ui.tr("完整 CSV", "Full CSV"), csv, f"{name}_full.csv", "text/csv", key=f"{key}_full_csv")
        c2.download_button(ui.tr("完整 Excel", "Full Excel"), xlsx, f"{name}_full.xlsx",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_full_xlsx")


VIEWS = {"centre": ("预警中心", "Warning centre"), "calendar": ("临界日历", "Crossing calendar"),
         "handling": ("处置跟踪", "Handling"), "portfolio": ("组合限额", "Portfolio limits"),
         "backtest": ("回测", "Backtest"), "notices": ("借款人通知", "Borrower notices"),
         "rules": ("规则配置", "Rule table")}
c_view, c_rows = st.columns([5, 1])
view = c_view.radio(ui.tr("视图", "View"), list(VIEWS), key="wa_view", horizontal=True,
                    format_func=ui.options({k: ui.tr(*v) for k, v in VIEWS.items()}))
SHOWN_ROWS = int(c_rows.number_input(ui.tr("清单显示行数", "Rows shown"), 5, 10_000, 1000, 100, key="wa_rows"))


def rules_definition() -> None:
    rows = []
    for code, entry in rules["signals"].items():
        params = ", ".join(f"{k} = {v:g}" for k, v in entry.items() if k not in ("enabled", "level"))
        state = ui.label("warning_level", entry["level"]) if entry["enabled"] else ui.tr("停用", "off")
        rows.append(f"| {ui.label('warning_signal', code)} | {state} | {params} |")
    nodes = "; ".join(f"{ui.label('warning_level', lv)}: {n['respond_days']} / {n['escalate_days']}"
                      for lv, n in rules["time_nodes"].items())
    table = "\n".join(rows)
    ui.definition(
        f"规则表版本 v{rules_version}（0 = 默认）。等级：红 > 橙 > 黄 > 蓝，借据的等级 = 触发信号中最严重的等级，原因按严重程度列出。"
        "在册 = 快照状态 active；余额 = 本金余额。临界：逾期借据下一分类临界 T ∈ {91, 271, 361}（DPD > 90 次级、> 270 可疑、"
        "> 360 损失），距临界天数 = T − 月末 DPD，临界日期 = 月末 + 距临界天数（不还款时 DPD 达到 T 的日历日）。"
        "滚动：上月 DPD 0 → 本月 1–30（C→M1），上月 1–30 → 本月 31–60（M1→M2）。未足额还款：本月应还 > 0 且实还 < 应还。"
        "LTV = 本金余额 ÷ 押品现值。还款比例下降：近 3 个月 Σ实还 ÷ Σ应还 比前 3 个月低至少 drop。PD 信号仅在已训练模型时计算。"
        f"处置时限（首次处置 / 升级，天）：{nodes}。\n\n| 信号 | 等级 | 参数 |\n|---|---|---|\n{table}",
        f"Rule table version v{rules_version} (0 = defaults). Levels: red > orange > yellow > blue; a loan's level is "
        "the most severe level of its signals; reasons are listed most severe first. On book = snapshot status "
        "active; balance = outstanding principal. Crossing: an overdue loan's next threshold T in {91, 271, 361} "
        "(DPD > 90 substandard, > 270 doubtful, > 360 loss); days to threshold = T − month-end DPD; crossing date = "
        "month end + days to threshold (the calendar day its DPD reaches T if it pays nothing). Rolls: DPD 0 last "
        "month → 1–30 now (C→M1), 1–30 → 31–60 (M1→M2). Missed payment: due > 0 and paid < due this month. LTV = "
        "outstanding ÷ current collateral value. Payment ratio falling: Σ paid ÷ Σ due over the last 3 months at "
        "least `drop` below the 3 months before. PD signals only with a trained model. Time nodes (first action / "
        f"escalation, days): {nodes}.\n\n| Signal | Level | Parameters |\n|---|---|---|\n{table}")


# --- warning centre --------------------------------------------------------------------------------------------
if view == "centre":
    rules_definition()
    centre, used_model = with_model(S.centre, **scope)
    if not used_model:
        st.info(ui.tr("尚未训练违约风险模型：PD 信号未计算（no model trained）。", "No model trained: the PD signals are "
                      "not computed."))
    by_level = centre["by_level"]
    cols = st.columns(4)
    for col, row in zip(cols, by_level.iter_rows(named=True), strict=True):
        col.metric(ui.label("warning_level", row["level"]), f"{row['loans']:,}", ui.fmt_money(row["balance"]),
                   delta_color="off")
    changes = {r["change"]: r["loans"] for r in centre["changes"].iter_rows(named=True)}
    st.caption(" · ".join(f"{ui.label('warning_change', c)} {n:,}" for c, n in changes.items()))
    group = st.radio(ui.tr("分组", "Group by"), ["branch_id", "product"], key="wa_group", horizontal=True,
                     format_func=ui.options({"branch_id": ui.tr("机构", "Branch"), "product": ui.tr("产品", "Product")}))
    basis = st.radio(ui.tr("口径", "Basis"), ["loans", "balance"], key="wa_basis", horizontal=True,
                     format_func=ui.options({"loans": ui.tr("笔数", "Count"), "balance": ui.tr("余额", "Balance")}))
    grouped = centre["by_branch" if group == "branch_id" else "by_product"]
    fig = go.Figure()
    for lv in R.LEVELS:
        part = grouped.filter(grouped["level"] == lv)
        names = part[group].to_list() if group == "branch_id" else [ui.label("product", p) for p in part[group]]
        fig.add_bar(x=names, y=part[basis].to_list(), name=ui.label("warning_level", lv), marker_color=COLORS[lv])
    fig.update_layout(barmode="stack", title=ui.tr("各等级预警分布", "Warnings by level"))
    ui.chart(fig, "wa_centre_chart")
    wide = S.by_branch_wide(grouped, basis, group=group)
    level_names = {lv: ui.label("warning_level", lv) for lv in R.LEVELS} | {"total": ui.tr("合计", "Total")}
    ui.show_table(rp.labelled(wide, lang), "wa_centre_groups", money=tuple(level_names) if basis == "balance" else (),
                  headers=H | level_names, name=f"warnings_by_{group}")
    levels = st.multiselect(ui.tr("等级（空 = 全部）", "Levels (empty = all)"), list(R.LEVELS), key="wa_levels",
                            format_func=ui.options(ui.label_map("warning_level")))
    change_sel = st.multiselect(ui.tr("变动（空 = 全部）", "Changes (empty = all)"), list(S.CHANGES[:-1]),
                                key="wa_changes", format_func=ui.options(ui.label_map("warning_change")))
    lst = centre["list"]
    if levels:
        lst = lst.filter(lst["level"].is_in(levels))
    if change_sel:
        lst = lst.filter(lst["change"].is_in(change_sel))
    st.subheader(ui.tr("预警清单", "Warning list"))
    show(lst.drop("level_rank", "month"), "wa_list", "warnings",
         money=("balance", "overdue_amount", "amount_due", "amount_paid"),
         pct=("pay_ratio_3", "pay_ratio_prior", "ltv", "pd", "pd_prev"), height=360)
    with st.expander(ui.tr(f"本月解除的预警（{centre['closed'].height:,}）", f"Closed since last month "
                                                                         f"({centre['closed'].height:,})")):
        show(centre["closed"], "wa_closed", "warnings_closed", money=("balance",))

    # the customer side: the blacklist and customer grades C / D raise a loan's level (customer view rules)
    if st.toggle(ui.tr("显示客户侧调整（黑名单、客户分级）", "Show the customer side (blacklist, customer grades)"),
                 key="wa_customer_side"):
        side, _ = with_model(bl.warnings, **scope, **app_data.customer_side())
        rules_level = centre["list"].select("loan_id", pl.col("level").alias("rule_level"))
        moved = (side.join(rules_level, on="loan_id", how="left")
                 .filter(pl.col("rule_level").is_null() | (pl.col("rule_level") != pl.col("level"))))
        added = moved.filter(pl.col("rule_level").is_null()).height
        c1, c2, c3 = st.columns(3)
        c1.metric(ui.tr("黑名单客户的预警借据", "Warned loans of blacklisted customers"),
                  f"{side.filter(pl.col('blacklisted')).height:,}")
        c2.metric(ui.tr("因客户侧升级", "Raised by the customer side"), f"{moved.height - added:,}")
        c3.metric(ui.tr("因客户侧新增", "Added by the customer side"), f"{added:,}")
        show(moved.select("loan_id", "customer_id", "branch_id", "grade", "blacklisted", "rule_level", "level",
                          "reasons", "dpd", "balance"), "wa_customer_list", "warnings_customer_side", money=("balance",))
        st.caption(ui.tr("口径：黑名单客户在账借据至少为黑名单规则设定的等级；C/D 级客户的预警借据至少为分级规则设定的等级"
                         "（规则在「客户视图 → 参数配置」维护）。上表只列等级因此改变或新增的借据；上方清单与统计为规则表本身的结果。",
                         "Definition: a blacklisted customer's loans on the book are at least the blacklist rule's level; "
                         "grade C / D customers' warned loans at least the grading rule's level (set in Customer view → "
                         "Parameters). The table lists only the loans whose level this changes or adds; the list and "
                         "counts above are the rule table's own."))

    st.subheader(ui.tr("单户预警报告", "Per-loan warning report"))
    ids = centre["list"]["loan_id"].head(500).to_list()
    c1, c2 = st.columns(2)
    picked = c1.selectbox(ui.tr("预警借据（前500）", "Warned loan (top 500)"), ids or [""], key="wa_report_pick")
    typed = c2.text_input(ui.tr("或输入借据号", "or type a loan id"), key="wa_report_id").strip()
    loan_id = typed or picked
    if st.button(ui.tr("生成预警报告 PDF", "Build the warning report (PDF)"), key="wa_report_build") and loan_id:
        data, _ = with_model(rp.loan_report_data, month=f.month, loan_id=loan_id, rules=rules_text)
        if not data["facts"]:
            st.warning(ui.tr(f"借据 {loan_id} 不存在。", f"Loan {loan_id} does not exist."))
        else:
            st.session_state["wa_report_pdf"] = (loan_id, rp.loan_report_pdf(data, lang))
    if st.session_state.get("wa_report_pdf"):
        lid, pdf = st.session_state["wa_report_pdf"]
        st.download_button(ui.tr(f"下载 {lid} 预警报告", f"Download the report of {lid}"), pdf,
                           f"warning_{lid}.pdf", "application/pdf", key="wa_report_dl")

    st.subheader(ui.tr("月度预警汇总报告", "Monthly warning report"))
    if st.button(ui.tr("生成月度报告 Excel", "Build the monthly report (Excel)"), key="wa_monthly_build"):
        handling = with_model(S.handling_status, **scope)[0]
        limits = app_data.run(S.portfolio_limits, **scope, provision_rates=app_data.provision_rates()[1])
        cal = app_data.run(S.crossing_calendar, month=f.month, branches=f.branches, products=f.products)

        def sheet(df):
            return rp.labelled(df, lang).rename({k: v for k, v in H.items() if k in df.columns})

        st.session_state["wa_monthly_xlsx"] = rp.monthly_report_xlsx({
            ui.tr("等级汇总", "By level"): sheet(by_level.drop("level_rank")),
            ui.tr("机构", "By branch"): sheet(centre["by_branch"].drop("level_rank")),
            ui.tr("产品", "By product"): sheet(centre["by_product"].drop("level_rank")),
            ui.tr("等级变动", "Changes"): sheet(centre["changes"]),
            ui.tr("处置跟踪", "Handling"): sheet(S.handling_summary(handling).drop("level_rank")),
            ui.tr("组合限额", "Portfolio limits"): sheet(limits),
            ui.tr("临界日历", "Crossing calendar"): sheet(S.calendar_by_day(cal)),
            ui.tr("预警清单", "Warning list"): sheet(centre["list"].drop("level_rank")),
        })
    if st.session_state.get("wa_monthly_xlsx"):
        st.download_button(ui.tr("下载月度预警报告", "Download the monthly report"), st.session_state["wa_monthly_xlsx"],
                           f"warning_report_{mo.month_label(f.month)}.xlsx",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="wa_monthly_dl")

# --- crossing calendar -----------------------------------------------------------------------------------------
elif view == "calendar":
    horizon = st.number_input(ui.tr("未来天数", "Days ahead"), 1, 90, 30, 1, key="wa_cal_days")
    ui.definition("月末逾期 1 天以上、若不还款将在月末后 N 天内达到 91 / 271 / 361 天（即逾期超过 90 / 270 / 360 天）的借据；"
                  "临界日期 = 月末 + (T − 月末 DPD) 天，按日历日精确计算（跨月、闰年 2 月）。",
                  "Loans overdue at the month end that will reach 91 / 271 / 361 DPD (pass 90 / 270 / 360) within N days "
                  "after the month end unless they pay; crossing date = month end + (T − month-end DPD) days, exact "
                  "calendar days (across month ends, February of a leap year).")
    cal = app_data.run(S.crossing_calendar, month=f.month, horizon_days=int(horizon), branches=f.branches,
                       products=f.products)
    daily = S.calendar_by_day(cal)
    fig = go.Figure()
    for t in R.THRESHOLDS:
        part = daily.filter(daily["next_threshold"] == t)
        fig.add_bar(x=part["crossing_date"].to_list(), y=part["loans"].to_list(), name=f"> {t - 1} DPD")
    fig.update_layout(barmode="stack", title=ui.tr("每日临界借据数", "Loans crossing per day"))
    ui.chart(fig, "wa_cal_chart")
    st.subheader(ui.tr("按日期与机构", "By day and branch"))
    ui.show_table(S.calendar_wide(cal), "wa_cal_wide", headers=H, name="crossing_by_day_branch")
    st.subheader(ui.tr("临界借据", "Loans crossing"))
    show(cal, "wa_cal_list", "crossing_calendar", money=("balance",), height=320)

# --- handling status -----------------------------------------------------------------------------------------
elif view == "handling":
    rules_definition()
    ui.definition("预警日期 = 连续预警月份中第一个月的月末；处置记录 = 预警日期之后、本月末之前的催收记录（collection_actions）。"
                  "按时处置：首次处置距预警日期 ≤ 处置时限；逾时处置：晚于时限；超时未处置：无记录且已持续天数 > 处置时限；"
                  "需升级：已持续天数 > 升级时限。连续月份只按规则信号计算（PD 信号不回溯）。",
                  "Raised = the month end of the first month of the unbroken run of warned months; handling record = "
                  "collection actions after that date up to this month end. On time: first action within the respond "
                  "days; late: after them; overdue: no action and age > respond days; escalation due: age > escalate "
                  "days. The run of months uses the rule signals only (PD signals are not traced back).")
    status, _ = with_model(S.handling_status, **scope)
    show(S.handling_summary(status).drop("level_rank"), "wa_handling_summary", "handling_by_level")
    only_overdue = st.checkbox(ui.tr("只看超时未处置或需升级", "Only overdue or escalation due"), key="wa_overdue_only")
    shown = status.filter(status["handling"].eq("overdue") | status["escalation_due"]) if only_overdue else status
    show(shown.drop("level_rank"), "wa_handling_list", "handling", money=("balance",), height=360)

# --- portfolio limits ----------------------------------------------------------------------------------------
elif view == "portfolio":
    p = rules["portfolio"]
    ui.definition(
        f"不良率（余额）> {p['npl_ratio_max']:.0%}；偏离度 = 逾期 90 天以上余额 ÷ 不良余额 > {p['deviation_max']:.0%}；"
        f"拨备覆盖率（简化计提）< {p['coverage_min']:.0%}（监管区间 120%–150%，一行一策）；M0→M1、M1→M2 滚动率（余额）"
        f"高于前 {p['range_months']} 个月最大值；最新达到 MOB {p['vintage_mob']} 的批次 30+ 逾期率高于前 {p['range_months']} 个批次最大值。",
        f"NPL ratio (balance) > {p['npl_ratio_max']:.0%}; 90+ DPD ÷ NPL > {p['deviation_max']:.0%}; provision coverage "
        f"(simplified provisions) < {p['coverage_min']:.0%} (regulatory band 120%–150%, set bank by bank); M0→M1 and "
        f"M1→M2 roll rates (balance) above the maximum of the previous {p['range_months']} months; the newest cohort "
        f"reaching MOB {p['vintage_mob']}: ever-30+ rate above the maximum of the {p['range_months']} cohorts before.")
    limits = app_data.run(S.portfolio_limits, **scope, provision_rates=app_data.provision_rates()[1])
    for row in limits.filter(limits["breached"].fill_null(False)).iter_rows(named=True):
        st.error(ui.tr(f"突破限额：{ui.label('warning_limit', row['code'])} = {ui.fmt_pct(row['value'])}",
                       f"Limit breached: {ui.label('warning_limit', row['code'])} = {ui.fmt_pct(row['value'])}"))
    show(limits, "wa_limits", "portfolio_limits", pct=("value", "limit"))

# --- backtest --------------------------------------------------------------------------------------------------
elif view == "backtest":
    c1, c2 = st.columns(2)
    horizon = c1.number_input(ui.tr("观察期 H（月）", "Outcome window H (months)"), 1, 12, bt.HORIZON, 1,
                              key="wa_bt_h")
    n_months = c2.number_input(ui.tr("回测月份数", "Months tested"), 1, 36, bt.MONTHS, 1, key="wa_bt_months")
    ui.definition(
        "只用规则信号（不含 PD：模型已见过结果）。精确率 = t 月预警且 DPD ≤ 90 的借据中，t+1…t+H 月末任一月 DPD > 90 的占比；"
        "召回率 = 新进入 DPD > 90 的借据（上月在册且 ≤ 90）中，此前 H 个月内有该等级或更严重预警的占比；提前期 = 进入月 − "
        "首次预警月（月，中位数）；人均预警 = 已分配预警数 ÷ 催收员数。跨月合计为分子分母求和。",
        "Rule signals only (no PD: the model has seen the outcomes). Precision = of the loans warned at t with DPD ≤ 90, "
        "the share at DPD > 90 at some month end in t+1 … t+H; recall = of the loans newly at DPD > 90 (on book and "
        "≤ 90 the month before), the share with a warning of that level or more severe in the H months before; lead "
        "time = entry month − first warning month (months, median); per collector = assigned warnings ÷ collectors. "
        "Totals over months sum numerators and denominators.")
    res = app_data.run(bt.backtest, horizon=int(horizon), months=int(n_months), rules=rules_text,
                       branches=f.branches, products=f.products)
    if not res["months"]:
        ui.empty_notice()
    else:
        st.caption(ui.tr(f"回测月份：{mo.month_label(res['months'][0])} – {mo.month_label(res['months'][-1])}",
                         f"Months tested: {mo.month_label(res['months'][0])} – {mo.month_label(res['months'][-1])}"))
        st.subheader(ui.tr("精确率（合计）", "Precision (total)"))
        show(res["precision_total"].drop("level_rank"), "wa_bt_precision", "backtest_precision", pct=("precision",))
        st.subheader(ui.tr("召回率与提前期", "Recall and lead time"))
        show(res["recall"].drop("level_rank"), "wa_bt_recall", "backtest_recall", pct=("recall",))
        prec = res["precision"]
        fig = go.Figure()
        for lv in R.LEVELS:
            part = prec.filter(prec["level"] == lv)
            fig.add_scatter(x=part["month"].to_list(), y=part["precision"].to_list(), name=ui.label("warning_level", lv),
                            mode="lines+markers", line_color=COLORS[lv])
        fig.update_layout(title=ui.tr("各月精确率", "Precision by month"), yaxis_tickformat=".0%")
        ui.chart(fig, "wa_bt_chart")
        st.subheader(ui.tr("工作量", "Workload"))
        show(res["workload"], "wa_bt_workload", "backtest_workload")

# --- borrower notices ------------------------------------------------------------------------------------------
elif view == "notices":
    tv, saved_templates = app_data.load_config(nt.CONFIG_NAME, nt.default_templates())
    try:
        templates = nt.validate(saved_templates)
    except nt.TemplateError as exc:
        st.error(ui.tr(f"已保存的模板无法使用（{exc}），改用默认模板。", f"The saved templates cannot be used ({exc}); "
                       "using the defaults."))
        templates, tv = nt.default_templates(), 0
    b = templates["bounds"]
    ui.definition(
        f"模板版本 v{tv}。阶段（月末 DPD）：到期前提醒 = DPD 0 且本月应还 > 0；M1 = {b['m1_from']}–{b['m2_from'] - 1} 天；"
        f"M2 = {b['m2_from']}–{b['pre_legal_from'] - 1} 天；诉前通知 ≥ {b['pre_legal_from']} 天。可用占位符："
        f"{', '.join('{' + p + '}' for p in (*nt.LOAN_FIELDS, *templates['settings']))}；未知占位符保存时报错。"
        "导出文件已防公式注入。",
        f"Templates version v{tv}. Stages (month-end DPD): pre-due = DPD 0 with an instalment due; M1 = "
        f"{b['m1_from']}–{b['m2_from'] - 1}; M2 = {b['m2_from']}–{b['pre_legal_from'] - 1}; pre-legal ≥ "
        f"{b['pre_legal_from']}. Placeholders: {', '.join('{' + p + '}' for p in (*nt.LOAN_FIELDS, *templates['settings']))}; "
        "an unknown placeholder is an error when saving. Exports are neutralised against formula injection.")
    with st.expander(ui.tr("编辑模板", "Edit the templates")):
        stage = st.selectbox(ui.tr("阶段", "Stage"), list(nt.STAGES), key="wa_tpl_stage",
                             format_func=ui.options(ui.label_map("notice_stage")))
        zh_text = st.text_area(ui.tr("中文", "Chinese"), templates["templates"][stage]["zh"], key=f"wa_tpl_zh_{stage}")
        en_text = st.text_area(ui.tr("英文", "English"), templates["templates"][stage]["en"], key=f"wa_tpl_en_{stage}")
        c1, c2 = st.columns(2)
        hotline = c1.text_input(ui.tr("客服电话", "Hotline"), templates["settings"]["hotline"], key="wa_tpl_hotline")
        bank = c2.text_input(ui.tr("银行名称", "Bank name"), templates["settings"]["bank_name"], key="wa_tpl_bank")
        if st.button(ui.tr("保存模板（新版本）", "Save the templates (new version)"), key="wa_tpl_save"):
            draft = {"templates": {**templates["templates"], stage: {"zh": zh_text, "en": en_text}},
                     "settings": templates["settings"] | {"hotline": hotline, "bank_name": bank},
                     "bounds": templates["bounds"]}
            try:
                version = app_data.save_config(nt.CONFIG_NAME, nt.validate(draft), note=f"stage {stage}")
                st.success(ui.tr(f"已保存为 v{version}。", f"Saved as v{version}."))
            except nt.TemplateError as exc:
                st.error(ui.tr(f"未保存：{exc}", f"Not saved: {exc}"))
    mode = st.radio(ui.tr("选择借据", "Select loans"), ["warned", "ids", "all"], key="wa_nt_mode", horizontal=True,
                    format_func=ui.options({"warned": ui.tr("按预警等级", "By warning level"),
                                            "ids": ui.tr("输入借据号", "Loan ids"),
                                            "all": ui.tr("筛选范围内全部", "All in the slice")}))
    stages = st.multiselect(ui.tr("阶段（空 = 全部）", "Stages (empty = all)"), list(nt.STAGES), key="wa_nt_stages",
                            format_func=ui.options(ui.label_map("notice_stage")))
    loan_ids: tuple[str, ...] = ()
    ready = True
    if mode == "warned":
        nt_levels = st.multiselect(ui.tr("预警等级", "Warning levels"), list(R.LEVELS), default=["red", "orange"],
                                   key="wa_nt_levels", format_func=ui.options(ui.label_map("warning_level")))
        warned, _ = with_model(S.warnings, **scope)
        loan_ids = tuple(warned.filter(warned["level"].is_in(nt_levels))["loan_id"].to_list())
        ready = bool(loan_ids)
    elif mode == "ids":
        text = st.text_area(ui.tr("借据号（每行一个或逗号分隔）", "Loan ids (one per line or comma separated)"),
                            key="wa_nt_ids")
        loan_ids = tuple(sorted({t.strip() for t in text.replace(",", "\n").splitlines() if t.strip()}))
        ready = bool(loan_ids)
    if st.button(ui.tr("生成通知批次", "Generate the batch"), key="wa_nt_build"):
        if not ready:
            st.warning(ui.tr("没有选中的借据。", "No loans selected."))
            st.session_state.pop("wa_nt_batch", None)
        else:
            names = tuple((p, ui.label("product", p), ui.label("product", p)) for p in ui.label_map("product"))
            st.session_state["wa_nt_batch"] = batch = app_data.run(
                nt.notice_batch, month=f.month, templates=json.dumps(templates, ensure_ascii=False),
                loan_ids=loan_ids, stages=tuple(stages), branches=f.branches, products=f.products,
                product_names=names)
            st.session_state["wa_nt_xlsx"] = export.to_excel_bytes(batch, "notices")
    batch = st.session_state.get("wa_nt_batch")
    if batch is not None:
        summ = nt.summary(batch)
        cols = st.columns(len(nt.STAGES))
        for col, row in zip(cols, summ.iter_rows(named=True), strict=True):
            col.metric(ui.label("notice_stage", row["stage"]), f"{row['notices']:,}")
        show(batch, "wa_nt_table", f"notices_{mo.month_label(f.month)}", money=("overdue_amount", "outstanding"),
             height=320)
        st.download_button(ui.tr("下载短信/信函系统文件 CSV", "Download for the SMS / letter system (CSV)"),
                           export.to_csv_bytes(batch), f"notices_{mo.month_label(f.month)}_raw.csv", "text/csv",
                           key="wa_nt_raw_csv")
        st.download_button(ui.tr("下载短信/信函系统文件 Excel", "Download for the SMS / letter system (Excel)"),
                           st.session_state["wa_nt_xlsx"], f"notices_{mo.month_label(f.month)}_raw.xlsx",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="wa_nt_raw_xlsx")

# --- rule table editor ----------------------------------------------------------------------------------------
else:
    rules_definition()
    st.caption(ui.tr(f"当前生效：v{rules_version}（0 = 默认）。修改后保存为新版本，旧版本保留。",
                     f"In force: v{rules_version} (0 = defaults). Saving writes a new version; old versions are kept."))
    draft = {"signals": {}, "time_nodes": {}, "portfolio": {}}
    st.subheader(ui.tr("信号 → 等级", "Signal → level"))
    for code, entry in rules["signals"].items():
        cols = st.columns([3, 1, 2, 2, 2])
        cols[0].markdown(ui.label("warning_signal", code))
        on = cols[1].checkbox(ui.tr("启用", "On"), entry["enabled"], key=f"wa_r_{code}_on")
        level = cols[2].selectbox(ui.tr("等级", "Level"), list(R.LEVELS), index=R.LEVELS.index(entry["level"]),
                                  key=f"wa_r_{code}_level", format_func=ui.options(ui.label_map("warning_level")))
        item = {"enabled": on, "level": level}
        for i, name in enumerate(R.SIGNALS[code]):
            item[name] = cols[3 + i].number_input(name, value=float(entry[name]), min_value=0.0,
                                                  key=f"wa_r_{code}_{name}")
        draft["signals"][code] = item
    st.subheader(ui.tr("处置时限（天）", "Time nodes (days)"))
    for lv, nodes in rules["time_nodes"].items():
        c0, c1, c2 = st.columns([2, 2, 2])
        c0.markdown(ui.label("warning_level", lv))
        draft["time_nodes"][lv] = {
            "respond_days": c1.number_input(ui.tr("首次处置", "Respond within"), 0, 365, int(nodes["respond_days"]),
                                            key=f"wa_t_{lv}_respond"),
            "escalate_days": c2.number_input(ui.tr("升级", "Escalate after"), 0, 730, int(nodes["escalate_days"]),
                                             key=f"wa_t_{lv}_escalate")}
    st.subheader(ui.tr("组合限额", "Portfolio limits"))
    pcols = st.columns(len(R.DEFAULT_PORTFOLIO))
    for col, (name, value) in zip(pcols, rules["portfolio"].items(), strict=True):
        draft["portfolio"][name] = col.number_input(name, value=float(value), min_value=0.0, key=f"wa_p_{name}")
    note = st.text_input(ui.tr("修改说明", "Note"), key="wa_rules_note")
    if st.button(ui.tr("保存规则表（新版本）", "Save the rule table (new version)"), key="wa_rules_save"):
        try:
            version = app_data.save_config(R.CONFIG_NAME, R.validate(draft), note=note)
            st.success(ui.tr(f"已保存为 v{version}。", f"Saved as v{version}."))
        except R.RuleError as exc:
            st.error(ui.tr(f"未保存：{exc}", f"Not saved: {exc}"))
    history = app_data.config_history(R.CONFIG_NAME)
    if history:
        st.caption(ui.tr("历史版本", "Versions"))
        st.dataframe(history, key="wa_rules_history", hide_index=True)
