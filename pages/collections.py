"""清收绩效 / Collection performance: the collector scorecard (rank, tier and why), team / branch / channel
KPIs, recovery by entry bucket, the PTP funnel, cost against cash, legal against non-legal, daily or weekly
targets, the scheme editor and the cases and actions behind any collector, team, branch or channel."""

from __future__ import annotations

from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

import app_data
import auth
import ui
from analytics import access
from analytics.core import months as mo
from analytics.metrics import collection_scorecard as sc
from analytics.metrics import collections as coll

ui.require_data()
f = ui.filters()

st.title(ui.tr("清收绩效", "Collection performance"))

action_months = app_data.run(coll.action_months)
if not action_months:
    ui.empty_notice()
    st.stop()

KPI_NAMES = {
    "recovery_attainment": ("催回达成率", "Recovery attainment"), "cash_attainment": ("回款达成率", "Cash attainment"),
    "coverage": ("案件覆盖率", "Coverage"), "rpc_rate": ("有效联络率", "RPC rate"),
    "ptp_kept_rate_count": ("承诺兑现率", "PTP kept rate"), "contacts_attainment": ("联络量达成率", "Contacts attainment"),
    "compliance": ("合规率(频次)", "Compliance (frequency)"), "cost_to_collect": ("催收成本率", "Cost to collect"),
    "contact_rate": ("接通率", "Contact rate"), "ptp_rate": ("承诺率", "PTP rate"), "cei": ("CEI", "CEI"),
}
GROUP_NAMES = {"result": ("结果", "Result"), "process": ("过程", "Process"), "quality": ("质量", "Quality")}
TIER_NAMES = {"reward": ("奖励", "Reward"), "pass": ("达标", "Pass"), "penalty": ("处罚", "Penalty")}
PEER_NAMES = {"early": ("早期(M1-M2)", "Early (M1-M2)"), "mid": ("中期(M3-M6)", "Mid (M3-M6)"),
              "late": ("后期(M7+)", "Late (M7+)")}
BY_NAMES = {"collector": ("催收员", "Collector"), "team": ("团队", "Team"), "branch": ("机构", "Branch"),
            "channel": ("催收方式", "Channel")}
ROUTE_NAMES = {"legal": ("诉讼", "Legal"), "non_legal": ("非诉", "Non-legal")}


def name(table: dict, code) -> str:
    pair = table.get(code)
    return ui.tr(*pair) if pair else str(code)


def with_small(df, headers: dict[str, str]) -> dict[str, str]:
    """Headers plus one for each small-sample flag column (``<rate>_small``)."""
    flags = {c: ui.tr("样本不足·", "Small n · ") + headers.get(c.removesuffix("_small"), c.removesuffix("_small"))
             for c in df.columns if c.endswith("_small")}
    return headers | flags


# --- period and 口径 ----------------------------------------------------------------------------------------
c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
freq = c1.radio(ui.tr("周期", "Period"), ["quarter", "month"], key="co_freq", horizontal=True,
                format_func=lambda v: ui.tr("季度", "Quarter") if v == "quarter" else ui.tr("月度", "Month"))
options = sorted({mo.quarter_start(m) for m in action_months}) if freq == "quarter" else action_months
if st.session_state.get("co_period") not in options:
    # the latest complete quarter at the as-of month (the as-of quarter itself when the month closes it)
    closed = f.month if mo.quarter_end(f.month) == f.month else mo.previous_quarter_end(f.month)
    default = mo.quarter_start(closed) if freq == "quarter" else f.month
    st.session_state["co_period"] = default if default in options else options[-1]
period = c2.selectbox(ui.tr("考核期", "Assessment period"), options, key="co_period",
                      format_func=mo.quarter_label if freq == "quarter" else ui.month_label)
grace = c3.number_input(ui.tr("承诺宽限天数", "PTP grace days"), 0, 30, 3, 1, key="co_grace")
min_n = c4.number_input(ui.tr("最小样本量 n", "Minimum sample n"), 1, 1000, 30, 5, key="co_min_n")
month_from, month_to = coll.period_range(period, freq)
rules = coll.CollectionRules(grace_days=int(grace), min_n=int(min_n))
period_text = mo.quarter_label(period) if freq == "quarter" else ui.month_label(period)
scope = {"month_from": month_from, "month_to": month_to, "branches": f.branches, "products": f.products}

# --- scheme editor (values live in session_state; saved as a new version) --------------------------------------


def _load_into_state(scheme: sc.Scheme) -> None:
    for g, w in zip(sc.GROUPS, scheme.group_weights, strict=True):
        st.session_state[f"co_w_{g}"] = float(w)
    for k in scheme.kpis:
        st.session_state[f"co_kw_{k.code}"] = float(k.weight)
    for i, c in enumerate(scheme.bucket_coefficients, start=1):
        st.session_state[f"co_coef_{i}"] = float(c)
    st.session_state["co_cap"] = float(scheme.cap)
    st.session_state["co_veto_actions"] = int(scheme.max_actions_per_case)
    st.session_state["co_veto_n"] = int(scheme.veto_violations)
    st.session_state["co_veto_list"] = list(scheme.veto_collectors)
    st.session_state["co_pass"] = float(scheme.pass_score)
    st.session_state["co_base_scheme"] = scheme


def _on_version() -> None:
    chosen = st.session_state["co_version"]
    _load_into_state(sc.load_scheme(version=chosen) if chosen else sc.DEFAULT_SCHEME)


if "co_base_scheme" not in st.session_state:
    _load_into_state(sc.load_scheme())
base = st.session_state["co_base_scheme"]
staff = app_data.run(coll.collectors)

with st.expander(ui.tr("考核方案（权重、封顶、否决、难度系数）", "Scoring scheme (weights, caps, veto, coefficients)")):
    versions = sc.scheme_versions()
    if "co_pending_version" in st.session_state:  # just saved: show the new version as the chosen one
        st.session_state["co_version"] = st.session_state.pop("co_pending_version")
    if st.session_state.get("co_version") not in [0, *versions]:
        st.session_state["co_version"] = base.version if base.version in versions else 0
    st.selectbox(ui.tr("方案版本", "Scheme version"), [0, *versions], key="co_version", on_change=_on_version,
                 format_func=lambda v: ui.tr("内置默认方案", "Built-in default") if v == 0 else f"v{v}")
    w1, w2, w3, w4 = st.columns(4)
    for col, g in zip((w1, w2, w3), sc.GROUPS, strict=True):
        col.number_input(ui.tr(f"{name(GROUP_NAMES, g)}权重", f"{name(GROUP_NAMES, g)} weight"), 0.0, 1.0,
                         step=0.05, key=f"co_w_{g}")
    w4.number_input(ui.tr("达成率封顶", "Attainment cap"), 1.0, 3.0, step=0.05, key="co_cap")
    kcols = st.columns(len(base.kpis))
    for col, k in zip(kcols, base.kpis, strict=True):
        col.number_input(f"{name(KPI_NAMES, k.code)} ({name(GROUP_NAMES, k.group)})", 0.0, 1.0, step=0.05,
                         key=f"co_kw_{k.code}")
    bcols = st.columns(len(coll.BUCKETS))
    for col, b in zip(bcols, coll.BUCKETS, strict=True):
        col.number_input(ui.tr(f"{coll.M_BUCKET_LABELS[b]} 难度系数", f"{coll.M_BUCKET_LABELS[b]} coefficient"),
                         0.5, 3.0, step=0.05, key=f"co_coef_{b}")
    v1, v2, v3, v4 = st.columns([1, 1, 2, 1])
    v1.number_input(ui.tr("单案单月最多催收次数", "Max actions per case a month"), 1, 50, step=1, key="co_veto_actions")
    v2.number_input(ui.tr("超频案件数达此值即否决", "Veto at this many over-contacted cases"), 1, 1000, step=1,
                    key="co_veto_n")
    v3.multiselect(ui.tr("一票否决名单（如投诉属实）", "Vetoed collectors (e.g. upheld complaint)"),
                   staff["collector_id"].to_list(), key="co_veto_list")
    v4.number_input(ui.tr("达标分数线", "Pass score"), 0.0, 150.0, step=5.0, key="co_pass")
    scheme = replace(
        base,
        group_weights=tuple(float(st.session_state[f"co_w_{g}"]) for g in sc.GROUPS),
        kpis=tuple(replace(k, weight=float(st.session_state[f"co_kw_{k.code}"])) for k in base.kpis),
        bucket_coefficients=tuple(float(st.session_state[f"co_coef_{b}"]) for b in coll.BUCKETS),
        cap=float(st.session_state["co_cap"]), max_actions_per_case=int(st.session_state["co_veto_actions"]),
        veto_violations=int(st.session_state["co_veto_n"]),
        veto_collectors=tuple(st.session_state["co_veto_list"]), pass_score=float(st.session_state["co_pass"]))
    problem = None
    try:
        sc.validate(scheme)
    except ValueError as exc:
        problem = str(exc)
        st.error(problem)
    if st.button(ui.tr("保存为新版本", "Save as a new version"), key="co_save",
                 disabled=problem is not None or not auth.can("configure")):
        saved = sc.save_scheme(scheme)
        access.audit("config_change", auth.current().username, {"config": "collection_scheme"})
        st.session_state["co_base_scheme"] = saved
        st.session_state["co_saved_version"] = saved.version
        st.session_state["co_pending_version"] = saved.version
        st.rerun()
    if st.session_state.get("co_saved_version"):
        st.success(ui.tr(f"已保存为 v{st.session_state['co_saved_version']}",
                         f"Saved as v{st.session_state['co_saved_version']}"))
if problem is not None:
    scheme = base

# --- scorecard ---------------------------------------------------------------------------------------------------
st.subheader(ui.tr(f"催收员考核排名 {period_text}", f"Collector scorecard {period_text}"))
card = app_data.run(sc.collector_scorecard, scheme=scheme, rules=rules, **scope)
if card.is_empty():
    ui.empty_notice()
    st.stop()
shown = card.select("peer_group", "rank", "peer_n", "tier", "collector_id", "collector_name", "team", "cases_assigned",
                    "difficulty", "total", "result_score", "process_score", "quality_score", "veto", "violations",
                    *[k.code for k in scheme.kpis])
shown = shown.with_columns(shown["peer_group"].replace_strict({p: name(PEER_NAMES, p) for p, _ in scheme.peer_groups},
                                                              default=shown["peer_group"]),
                           shown["tier"].replace_strict({t: name(TIER_NAMES, t) for t in sc.TIERS}))
ui.show_table(shown, "co_card_table", name=f"collector_scorecard_{period_text}",
              pct=tuple(k.code for k in scheme.kpis),
              headers={"peer_group": ui.tr("同组(按档位结构)", "Peer group (bucket mix)"), "rank": ui.tr("组内排名", "Rank"),
                       "peer_n": ui.tr("组内人数", "Peers"), "tier": ui.tr("档次", "Tier"),
                       "collector_id": ui.tr("催收员", "Collector"), "collector_name": ui.tr("姓名", "Name"),
                       "team": ui.tr("团队", "Team"), "cases_assigned": ui.tr("分案数 n", "Cases n"),
                       "difficulty": ui.tr("难度系数", "Difficulty"), "total": ui.tr("总分", "Total"),
                       "result_score": ui.tr("结果分", "Result score"), "process_score": ui.tr("过程分", "Process score"),
                       "quality_score": ui.tr("质量分", "Quality score"), "veto": ui.tr("否决", "Veto"),
                       "violations": ui.tr("超频案件", "Over-contacted cases"),
                       **{k.code: name(KPI_NAMES, k.code) for k in scheme.kpis}})

collector_ids = card["collector_id"].to_list()
if st.session_state.get("co_why") not in collector_ids:
    st.session_state["co_why"] = collector_ids[0]
why = st.selectbox(ui.tr("得分构成（为什么是这个分数）", "Score components (why this score)"), collector_ids, key="co_why")
components = sc.score_components(card, scheme=scheme)
mine = components.filter(components["collector_id"] == why)
mine = mine.with_columns(mine["group"].replace_strict({g: name(GROUP_NAMES, g) for g in sc.GROUPS}),
                         mine["kpi"].replace_strict({k: name(KPI_NAMES, k) for k in sc.KPI_CODES}))
ui.show_table(mine.drop("collector_id", "veto"), "co_why_table", name=f"score_components_{why}",
              pct=("value", "target", "attainment_capped", "weight"),
              headers={"group": ui.tr("维度", "Group"), "kpi": ui.tr("指标", "KPI"), "value": ui.tr("实际值", "Actual"),
                       "target": ui.tr("目标", "Target"), "coefficient": ui.tr("难度系数", "Coefficient"),
                       "score": ui.tr("指标得分", "KPI score"), "weight": ui.tr("折算权重", "Weight in total"),
                       "points": ui.tr("贡献分", "Points"), "attainment_capped": ui.tr("封顶后达成率", "Capped attainment")})
row = card.filter(card["collector_id"] == why).row(0, named=True)
st.caption(ui.tr(f"{why}：总分 {row['total']:.1f} = Σ 贡献分；同组 {row['peer_n']} 人中第 {row['rank']} 名，档次 "
                 f"{name(TIER_NAMES, row['tier'])}" + ("（一票否决）" if row["veto"] else ""),
                 f"{why}: total {row['total']:.1f} = Σ points; rank {row['rank']} of {row['peer_n']} peers, tier "
                 f"{name(TIER_NAMES, row['tier'])}" + (" (vetoed)" if row["veto"] else "")))

teams = sc.team_scores(card)
ui.show_table(teams, "co_team_scores", name=f"team_scores_{period_text}",
              headers={"team": ui.tr("团队", "Team"), "collectors": ui.tr("人数", "Collectors"),
                       "cases_assigned": ui.tr("分案数", "Cases"), "score": ui.tr("团队得分(按案件加权)", "Score (case-weighted)"),
                       "reward": ui.tr("奖励人数", "Rewarded"), "penalty": ui.tr("处罚人数", "Penalised"),
                       "rank": ui.tr("排名", "Rank")})

# --- quadrant ---------------------------------------------------------------------------------------------------
basis = st.radio(ui.tr("比率口径", "Rate basis"), ["balance", "count"], key="co_basis", horizontal=True,
                 format_func=lambda b: ui.tr("金额", "Balance") if b == "balance" else ui.tr("笔数", "Count"))
kpis = app_data.run(coll.collection_kpis, by="collector", freq=freq, rules=rules, **scope)
rec_col = f"recovery_rate_{basis}"
quad = go.Figure()
for team_name in sorted(set(kpis["team"].drop_nulls().to_list())):
    part = kpis.filter(kpis["team"] == team_name)
    quad.add_scatter(x=[None if v is None else v * 100 for v in part["coverage"]],
                     y=[None if v is None else v * 100 for v in part[rec_col]], mode="markers", name=team_name,
                     text=part["collector_id"].to_list(), marker={"size": 9},
                     hovertemplate="%{text}<br>" + ui.tr("覆盖率", "Coverage") + " %{x:.1f}%<br>"
                     + ui.tr("催回率", "Recovery") + " %{y:.1f}%<extra></extra>")
if kpis.height:
    quad.add_vline(x=(kpis["coverage"].median() or 0) * 100, line_dash="dot")
    quad.add_hline(y=(kpis[rec_col].median() or 0) * 100, line_dash="dot")
quad.update_layout(title=ui.tr("覆盖率 × 催回率（虚线 = 中位数）", "Coverage × recovery (dotted = medians)"))
quad.update_xaxes(title_text=ui.tr("案件覆盖率（%）", "Coverage (%)"))
quad.update_yaxes(title_text=ui.tr("催回率（%）", "Recovery rate (%)"))
ui.chart(quad, "co_quadrant")

# --- group tables -----------------------------------------------------------------------------------------------
st.subheader(ui.tr("团队 / 机构 / 催收方式指标", "Team, branch and channel KPIs"))
by = st.radio(ui.tr("分组", "Group by"), ["team", "branch", "channel"], key="co_by", horizontal=True,
              format_func=lambda b: name(BY_NAMES, b))
group = app_data.run(coll.collection_kpis, by=by, freq=freq, rules=rules, **scope)
group_key = {"team": "team", "branch": "collector_branch", "channel": "channel"}[by]
if by == "channel":
    group = group.with_columns(group["channel"].replace_strict(
        {c: ui.label("channel", c) for c in group["channel"].drop_nulls().to_list()}, default=group["channel"]))
group_cols = [group_key, "headcount", "cases_assigned", "cases_worked", "coverage", "attempts", "contact_rate", "rpc",
              "rpc_rate", "ptp", "ptp_rate", "ptp_due", "ptp_pending", "ptp_kept_rate_count", "ptp_kept_rate_balance",
              "cash", "cost", "cost_to_collect", "entry_balance", "recovered_balance", "recovery_rate_count",
              "recovery_rate_balance", "cash_rate", "contacts_per_day", "cash_per_collector", "cei",
              "ptp_kept_rate_count_small", "recovery_rate_balance_small"]
ui.show_table(group.select(group_cols), "co_group_table", name=f"collection_kpis_{by}_{period_text}",
              money=("cash", "cost", "entry_balance", "recovered_balance", "cash_per_collector"),
              pct=("coverage", "contact_rate", "rpc_rate", "ptp_rate", "ptp_kept_rate_count", "ptp_kept_rate_balance",
                   "cost_to_collect", "recovery_rate_count", "recovery_rate_balance", "cash_rate"),
              headers={group_key: name(BY_NAMES, by), "headcount": ui.tr("平均人数", "Headcount"),
                       "cases_assigned": ui.tr("分案数", "Cases assigned"), "cases_worked": ui.tr("已作业", "Worked"),
                       "coverage": ui.tr("覆盖率", "Coverage"), "attempts": ui.tr("拨打/外访次数", "Attempts"),
                       "contact_rate": ui.tr("接通率", "Contact rate"), "rpc": ui.tr("有效联络 n", "RPC n"),
                       "rpc_rate": ui.tr("有效联络率", "RPC rate"), "ptp": ui.tr("承诺 n", "PTP n"),
                       "ptp_rate": ui.tr("承诺率", "PTP rate"), "ptp_due": ui.tr("到期承诺 n", "PTPs due n"),
                       "ptp_pending": ui.tr("未到期承诺", "Pending PTPs"),
                       "ptp_kept_rate_count": ui.tr("兑现率(笔数)", "Kept (count)"),
                       "ptp_kept_rate_balance": ui.tr("兑现率(金额)", "Kept (amount)"),
                       "cash": ui.tr("回款(元)", "Cash (CNY)"), "cost": ui.tr("成本(元)", "Cost (CNY)"),
                       "cost_to_collect": ui.tr("催收成本率", "Cost to collect"),
                       "entry_balance": ui.tr("入催余额(元)", "Entry balance (CNY)"),
                       "recovered_balance": ui.tr("催回余额(元)", "Cured balance (CNY)"),
                       "recovery_rate_count": ui.tr("催回率(笔数)", "Recovery (count)"),
                       "recovery_rate_balance": ui.tr("催回率(金额)", "Recovery (balance)"),
                       "cash_rate": ui.tr("回款率", "Collected-amount rate"),
                       "contacts_per_day": ui.tr("人均日有效联络", "Contacts per collector-day"),
                       "cash_per_collector": ui.tr("人均回款(元)", "Cash per collector (CNY)"), "cei": "CEI",
                       "ptp_kept_rate_count_small": ui.tr("兑现率样本不足", "Kept: small n"),
                       "recovery_rate_balance_small": ui.tr("催回率样本不足", "Recovery: small n")})

g1, g2 = st.columns(2)
steps = [int(kpis[c].sum()) for c in ("attempts", "rpc", "ptp")]  # every action and promise has one collector
kept_n = int(kpis["ptp_kept"].sum())
funnel = go.Figure(go.Funnel(y=[ui.tr("拨打/外访", "Attempts"), ui.tr("有效联络", "RPC"), ui.tr("承诺还款", "PTP"),
                                ui.tr("承诺兑现", "Kept")], x=[*steps, kept_n], textinfo="value+percent previous"))
funnel.update_layout(title=ui.tr("承诺漏斗（兑现按到期承诺计）", "PTP funnel (kept among promises due)"))
with g1:
    ui.chart(funnel, "co_funnel")
cost_fig = go.Figure()
labels = [str(v) for v in group[group_key].to_list()]
cost_fig.add_bar(x=labels, y=[float(v or 0) for v in group["cash"]], name=ui.tr("回款", "Cash"))
cost_fig.add_bar(x=labels, y=[float(v or 0) for v in group["cost"]], name=ui.tr("成本", "Cost"))
cost_fig.update_layout(barmode="group", title=ui.tr("成本与回款", "Cost against cash"))
cost_fig.update_yaxes(title_text=ui.tr("金额（元，对数）", "Amount (CNY, log)"), type="log")
with g2:
    ui.chart(cost_fig, "co_cost")

# --- recovery by bucket -------------------------------------------------------------------------------------------
st.subheader(ui.tr("按入催档位的催回率", "Recovery by entry bucket"))
target = st.slider(ui.tr("催回率目标线", "Recovery target line"), 0.0, 1.0, 0.8, 0.05, key="co_target")
buckets = app_data.run(coll.recovery_by_bucket, by="total", freq=freq, rules=rules, **scope)
bars = go.Figure(go.Bar(x=buckets["bucket"].to_list(),
                        y=[None if v is None else v * 100 for v in buckets[rec_col]],
                        text=[f"n={n}" for n in buckets["cases"]], name=ui.tr("催回率", "Recovery rate")))
bars.add_hline(y=target * 100, line_dash="dash", line_color="red",
               annotation_text=ui.tr(f"目标 {target:.0%}", f"Target {target:.0%}"))
bars.update_layout(title=ui.tr("催回率（入催档位，柱上为案件数 n）", "Recovery rate by entry bucket (n on bars)"))
bars.update_xaxes(title_text=ui.tr("入催档位（上月末）", "Entry bucket (previous month end)"))
bars.update_yaxes(title_text=ui.tr("催回率（%）", "Recovery rate (%)"))
ui.chart(bars, "co_bucket")
ui.show_table(buckets.drop("period", "entry_bucket"), "co_bucket_table", name=f"recovery_by_bucket_{period_text}",
              money=("entry_balance", "recovered_balance", "cash"),
              pct=("recovery_rate_count", "recovery_rate_balance", "cash_recovery_rate"),
              headers=with_small(buckets, {"bucket": ui.tr("档位", "Bucket"), "cases": ui.tr("案件数 n", "Cases n"),
                       "entry_balance": ui.tr("入催余额(元)", "Entry balance (CNY)"),
                       "cases_recovered": ui.tr("催回案件", "Recovered cases"),
                       "recovered_balance": ui.tr("催回余额(元)", "Recovered balance (CNY)"),
                       "cash": ui.tr("回款(元)", "Cash (CNY)"), "recovery_rate_count": ui.tr("催回率(笔数)", "Recovery (count)"),
                       "recovery_rate_balance": ui.tr("催回率(金额)", "Recovery (balance)"),
                       "cash_recovery_rate": ui.tr("现金回收率", "Cash recovery rate")}))

resolve = app_data.run(coll.resolution_times, by="team", freq=freq, rules=rules, **scope)
ui.show_table(resolve.drop("period"), "co_resolve_table", name=f"days_to_resolve_{period_text}",
              pct=("share_open", "share_disposed"),
              headers=with_small(resolve, {"team": ui.tr("团队", "Team"), "episodes": ui.tr("新入催 n", "New episodes n"),
                       "resolved": ui.tr("已化解", "Resolved"), "disposed": ui.tr("核销/转让/抵债", "Disposed"),
                       "open": ui.tr("未结(删失)", "Open (censored)"), "mean_days": ui.tr("平均化解天数", "Mean days"),
                       "median_days": ui.tr("中位化解天数", "Median days"), "share_open": ui.tr("未结占比", "Share open"),
                       "share_disposed": ui.tr("处置占比", "Share disposed")}))

# --- legal vs non-legal -------------------------------------------------------------------------------------------
st.subheader(ui.tr("诉讼与非诉对比（同档位）", "Legal against non-legal (same buckets)"))
legal = app_data.run(coll.legal_vs_nonlegal, rules=rules, **scope)
legal_fig = go.Figure()
for route in coll.ROUTES:
    part = legal.filter((legal["route"] == route) & (legal["bucket"] != "all"))
    legal_fig.add_bar(x=part["bucket"].to_list(), y=[None if v is None else v * 100 for v in part["enforcement_recovery"]],
                      name=name(ROUTE_NAMES, route), text=[f"n={n}" for n in part["cases"]])
legal_fig.update_layout(barmode="group", title=ui.tr("回收率（回收 ÷ 诉请/欠款金额）", "Recovery (recovered ÷ claim)"))
legal_fig.update_xaxes(title_text=ui.tr("起始档位", "Bucket at start"))
legal_fig.update_yaxes(title_text=ui.tr("回收率（%）", "Recovery (%)"))
ui.chart(legal_fig, "co_legal")
legal_shown = legal.drop("entry_bucket").with_columns(legal["route"].replace_strict(
    {r: name(ROUTE_NAMES, r) for r in coll.ROUTES}), legal["bucket"].replace("all", ui.tr("合计", "All")))
ui.show_table(legal_shown, "co_legal_table", name=f"legal_vs_nonlegal_{period_text}",
              money=("claim", "recovered", "cost"),
              pct=("concluded_rate", "success_rate", "enforcement_recovery"),
              headers=with_small(legal, {"route": ui.tr("路径", "Route"), "bucket": ui.tr("档位", "Bucket"), "cases": ui.tr("案件 n", "Cases n"),
                       "concluded": ui.tr("已结案", "Concluded"), "successful": ui.tr("成功", "Successful"),
                       "claim": ui.tr("诉请/欠款(元)", "Claim (CNY)"), "recovered": ui.tr("回收(元)", "Recovered (CNY)"),
                       "cost": ui.tr("成本(元)", "Cost (CNY)"), "concluded_rate": ui.tr("结案率", "Concluded rate"),
                       "success_rate": ui.tr("胜诉/成功率", "Success rate"),
                       "enforcement_recovery": ui.tr("执行回收率", "Enforcement recovery"),
                       "cost_benefit": ui.tr("投入产出比(倍)", "Cost-benefit (x)")}))

# --- daily / weekly targets ---------------------------------------------------------------------------------------
st.subheader(ui.tr("日/周目标达成", "Daily and weekly targets"))
target_freq = st.radio(ui.tr("目标周期", "Target period"), ["week", "day"], key="co_target_freq", horizontal=True,
                       format_func=lambda v: ui.tr("周", "Week") if v == "week" else ui.tr("日", "Day"))
targets = app_data.run(sc.target_attainment, freq=target_freq, scheme=scheme, rules=rules, **scope)
mine_targets = targets.filter(targets["collector_id"] == why)
mine_targets = mine_targets.with_columns(mine_targets["peer_group"].replace_strict(
    {p: name(PEER_NAMES, p) for p, _ in scheme.peer_groups}, default=mine_targets["peer_group"]))
ui.show_table(mine_targets, "co_targets_table", name=f"targets_{why}_{period_text}", money=("cash", "amount_target"),
              pct=("contacts_attainment", "amount_attainment"),
              headers={"collector_id": ui.tr("催收员", "Collector"), "peer_group": ui.tr("同组", "Peer group"),
                       "period": ui.tr("日期/周一", "Day / week (Monday)"), "working_days": ui.tr("工作日", "Working days"),
                       "contacts": ui.tr("有效联络", "Contacts"), "contacts_target": ui.tr("联络目标", "Contacts target"),
                       "contacts_attainment": ui.tr("联络达成", "Contacts attainment"), "cash": ui.tr("回款(元)", "Cash (CNY)"),
                       "amount_target": ui.tr("回款目标(元)", "Amount target (CNY)"),
                       "amount_attainment": ui.tr("回款达成", "Amount attainment")})
st.caption(ui.tr(f"以上为“得分构成”所选催收员 {why} 的目标达成。", f"Targets of the collector chosen above ({why})."))

# --- drill: the cases and actions behind a row ----------------------------------------------------------------------
st.subheader(ui.tr("明细：案件与催收记录", "Drill: the cases and actions behind a row"))
d1, d2 = st.columns(2)
drill_by = d1.selectbox(ui.tr("维度", "Dimension"), list(BY_NAMES), key="co_drill_by",
                        format_func=lambda b: name(BY_NAMES, b))
drill_rows = kpis if drill_by == "collector" else app_data.run(coll.collection_kpis, by=drill_by, freq=freq,
                                                               rules=rules, **scope)
drill_col = {"collector": "collector_id", "team": "team", "branch": "collector_branch", "channel": "channel"}[drill_by]
keys = [k for k in drill_rows[drill_col].to_list() if k is not None]
if st.session_state.get("co_drill_key") not in keys:
    st.session_state["co_drill_key"] = keys[0] if keys else None
drill_key = d2.selectbox(name(BY_NAMES, drill_by), keys, key="co_drill_key",
                         format_func=lambda k: ui.label("channel", k) if drill_by == "channel" else str(k))
if drill_key is not None:
    row_kpi = drill_rows.filter(drill_rows[drill_col] == drill_key)
    acts = app_data.run(coll.drill_actions, by=drill_by, key=drill_key, **scope)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(ui.tr("催收记录数", "Actions"), f"{acts.height:,}",
              help=ui.tr(f"指标行：{int(row_kpi['actions'].sum()):,}", f"Row: {int(row_kpi['actions'].sum()):,}"))
    m2.metric(ui.tr("回款", "Cash"), ui.fmt_money(acts["amount_collected"].sum()),
              help=ui.tr("指标行：", "Row: ") + ui.fmt_money(row_kpi["cash"].sum()))
    m3.metric(ui.tr("成本", "Cost"), ui.fmt_money(acts["cost"].sum()),
              help=ui.tr("指标行：", "Row: ") + ui.fmt_money(row_kpi["cost"].sum()))
    if drill_by != "channel":
        case_rows = app_data.run(coll.drill_cases, by=drill_by, key=drill_key, **scope)
        m4.metric(ui.tr("分案数", "Cases"), f"{case_rows.height:,}",
                  help=ui.tr(f"指标行：{int(row_kpi['cases_assigned'].sum()):,}",
                             f"Row: {int(row_kpi['cases_assigned'].sum()):,}"))
        ui.show_table(case_rows, "co_drill_cases", name=f"cases_{drill_key}_{period_text}",
                      money=("entry_balance", "entry_arrears", "amount_due", "amount_paid", "close_arrears"),
                      headers={"month": ui.tr("月份", "Month"), "loan_id": ui.tr("借据号", "Loan id"),
                               "collector_id": ui.tr("催收员", "Collector"),
                               "entry_bucket": ui.tr("入催档位", "Entry bucket"),
                               "entry_balance": ui.tr("入催余额", "Entry balance"),
                               "entry_arrears": ui.tr("入催欠款", "Arrears at entry"), "worked": ui.tr("已作业", "Worked"),
                               "dpd": ui.tr("月末逾期天数", "DPD at month end"), "status": ui.tr("状态", "Status"),
                               "observed": ui.tr("月末有快照", "Month end present"),
                               "close_bucket": ui.tr("月末档位", "Bucket at month end"),
                               "amount_due": ui.tr("本月应还", "Amount due"), "amount_paid": ui.tr("本月实还", "Amount paid"),
                               "close_arrears": ui.tr("月末欠款", "Arrears at month end"),
                               "collector_name": ui.tr("姓名", "Name"), "team": ui.tr("团队", "Team"),
                               "collector_branch": ui.tr("催收员机构", "Collector branch")})
    ui.show_table(acts, "co_drill_actions", name=f"actions_{drill_key}_{period_text}",
                  money=("promised_amount", "amount_collected", "cost"),
                  headers={"month": ui.tr("月份", "Month"), "action_id": ui.tr("记录号", "Action id"),
                           "loan_id": ui.tr("借据号", "Loan id"), "collector_id": ui.tr("催收员", "Collector"),
                           "action_date": ui.tr("催收日期", "Date"), "channel": ui.tr("方式", "Channel"),
                           "outcome": ui.tr("结果", "Outcome"), "promised_amount": ui.tr("承诺金额", "Promised"),
                           "promised_date": ui.tr("承诺日期", "Promised date"),
                           "amount_collected": ui.tr("回收金额", "Collected"), "cost": ui.tr("成本", "Cost"),
                           "collector_name": ui.tr("姓名", "Name"), "team": ui.tr("团队", "Team"),
                           "collector_branch": ui.tr("催收员机构", "Collector branch")})

ui.definition(
    "- **案件**：上月末逾期且在账、有催收员的借据，为该催收员本月的一个案件；入催档位 = 上月末 M 档位，入催余额 = 上月末本金余额。"
    "季度按月累计（同一借据每月计一次）。**覆盖率** = 本月有催收记录的案件 ÷ 分案数。\n"
    "- **联络类指标**只计电话、外访、委外（短信/信函为单向通知，诉讼另列）：接通率 = 接通 ÷ 拨打/外访次数（未接通以外均为接通）；"
    "有效联络率 = 与本人联络（有效联络、承诺、部分/全额还款、拒绝）÷ 次数；承诺率 = 承诺 ÷ 有效联络。\n"
    f"- **承诺兑现**：自承诺当日至承诺日期 + 宽限 {int(grace)} 天（且不晚于数据截止日）内该借据累计还款 ≥ 承诺金额为兑现；"
    "截止日未到期且未兑现的为“未到期”，**不计为违约**；其余为违约。兑现率(笔数) = 兑现 ÷ (兑现 + 违约)；"
    "兑现率(金额) = Σ min(期内还款, 承诺金额) ÷ Σ 承诺金额。承诺按到期月份归属考核期。\n"
    "- **回款** = 催收记录回收金额合计；**催收成本率** = 成本 ÷ 回款；**回款率** = 回款 ÷ 入催欠款（逾期本金 + 利息）。\n"
    "- **催回率（按入催档位）**：月末逾期天数为 0（在账或结清）的案件的入催余额 ÷ 全部案件入催余额（笔数口径同理）；目标线可调（默认 80%）。\n"
    "- **人均日有效联络** = 有效联络 ÷ Σ 在岗催收员工作日（周一至周五）；人均回款 = 回款 ÷ 平均在岗人数。\n"
    "- **CEI** = (期初欠款 + 本期应还 − 期末欠款) ÷ (期初欠款 + 本期应还 − 期末未逾期欠款) × 100，按案件逐月累加；核销/转让/抵债当月的欠款不算收回。\n"
    "- **化解天数**：本期新入催（上月末未逾期）的逾期段，至首次回到未逾期或结清的天数；平均/中位数仅计已化解，"
    "截至数据截止日未结的为删失（未结占比），核销/转让/抵债为处置。\n"
    "- **诉讼路径**：本期首次诉讼的借据；**非诉**：本期有催收且截至截止日未诉讼的借据；按起始档位对比。回收 = 起始月至截止日回款，"
    "成本 = 同期催收成本；结案 = 回到未逾期或退出；成功 = 治愈、结清或以物抵债（数据无判决字段，以回收结果代替）；"
    "执行回收率 = 回收 ÷ 诉请（本金余额 + 逾期利息）；投入产出比 = (回收 − 成本) ÷ 成本。\n"
    f"- **样本量**：每个比率旁列出分母 n，n < {int(min_n)} 标记为样本不足。\n"
    "- **考核方案**：结果/过程/质量三维加权；结果类指标乘以按档位结构计算的难度系数；达成率封顶；超频催收案件达到阈值或列入名单则一票否决（总分 0、处罚）；"
    "按档位结构分组（早/中/后期）排名，组内前 20% 且达到分数线为奖励，否决、低于分数线或组内末 10% 为处罚。方案每次保存为新版本（JSON）。",
    "- **Case**: a loan overdue and on book at the previous month end with a collector is one case of that collector "
    "this month; entry bucket = its M-bucket then, entry balance = its principal then. A quarter adds its months (a "
    "loan counts once per month). **Coverage** = cases with an action this month ÷ cases assigned.\n"
    "- **Contact KPIs** count phone, field visits and agency actions only (SMS and letters are one-way, litigation is "
    "the legal route): contact rate = connected ÷ attempts (every outcome but no answer is connected); RPC rate = "
    "contact with the debtor (RPC, promise, partial/full payment, refusal) ÷ attempts; PTP rate = promises ÷ RPCs.\n"
    f"- **Promise kept**: payments on the loan from the promise day to the promised date + {int(grace)} grace days "
    "(and not after the data's as-of date) reach the promised amount. A promise not yet due at the as-of date and not "
    "yet kept is **pending, never broken**; the others are broken. Kept rate (count) = kept ÷ (kept + broken); "
    "(amount) = Σ min(paid in window, promised) ÷ Σ promised. A promise belongs to the period of its due month.\n"
    "- **Cash** = Σ amount collected of the actions; **cost to collect** = cost ÷ cash; **collected-amount rate** = "
    "cash ÷ arrears at entry (overdue principal + interest).\n"
    "- **Recovery by entry bucket**: entry balance of cases at 0 DPD at the month end (on book or paid off) ÷ entry "
    "balance of all cases (count likewise); the target line is adjustable (default 80%).\n"
    "- **Contacts per collector-day** = RPCs ÷ Σ active collectors' working days (Mon-Fri); cash per collector = "
    "cash ÷ average active headcount.\n"
    "- **CEI** = (opening arrears + billed − closing arrears) ÷ (opening arrears + billed − closing current) × 100, "
    "summed over the cases' months; arrears of a loan written off, sold or foreclosed are not collected.\n"
    "- **Days to resolve**: new overdue episodes of the period (current at the previous month end) to the first month "
    "end back at 0 DPD or paid off; mean and median over resolved episodes only, episodes still open at the as-of "
    "date are right-censored (share open), write-offs, transfers and foreclosures are disposed.\n"
    "- **Legal route**: loans first sued in the period; **non-legal**: loans worked in the period and never sued by "
    "the as-of date; compared by bucket at the start. Recovered = cash from the start month to the as-of date, cost = "
    "the action costs then; concluded = back to 0 DPD or left the book; success = cured, paid off or foreclosed (the "
    "data has no judgment field); enforcement recovery = recovered ÷ claim (principal + overdue interest); "
    "cost-benefit = (recovered − cost) ÷ cost.\n"
    f"- **Sample sizes**: every rate shows its denominator n; n below {int(min_n)} is flagged as a small sample.\n"
    "- **Scheme**: result / process / quality weights; result KPIs times the bucket-mix difficulty coefficient; "
    "attainment capped; a veto (score 0, penalty) at the over-contact threshold or for listed collectors; ranking "
    "within peer groups by bucket mix (early / mid / late); reward = top 20% of the peer group at or above the pass "
    "score, penalty = veto, below the pass score or bottom 10%. Every save is a new JSON version.",
)
