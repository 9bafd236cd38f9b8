"""管理层季度压降汇总 / Quarterly reduction summary: tiles vs target and previous quarter, the reconciled bridge
with drill-down, the branch assessment on a saved scheme, the programme's status, findings, and the board pack."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import streamlit as st

import app_data
import auth
import ui
from analytics import ingest
from analytics.core.months import month_label, quarter_label
from analytics.metrics import assessment, bridge, programme
from analytics.pack import charts, content, tables

ui.require_data()
f = ui.filters()

st.title(ui.tr("管理层季度压降汇总", "Quarterly reduction summary"))
if "ex_notice" in st.session_state:  # what the last save did, shown after its rerun
    st.success(st.session_state.pop("ex_notice"))
quarters = app_data.run(bridge.available_quarters)
if not quarters:
    st.info(ui.tr("至少需要两个季度末的快照才能计算季度压降。", "At least two quarter-end snapshots are needed."))
    st.stop()
if st.session_state.get("ex_quarter") not in quarters:
    st.session_state["ex_quarter"] = quarters[0]
quarter = st.selectbox(ui.tr("季度", "Quarter"), quarters, key="ex_quarter",
                       format_func=ui.options({q: quarter_label(q) for q in quarters}))

# --- saved configurations -----------------------------------------------------------------------------
scheme_version, scheme = app_data.load_config("assessment_scheme", assessment.DEFAULT_SCHEME)
scheme = assessment.DEFAULT_SCHEME | scheme
prog_version, prog = app_data.load_config("programme", programme.DEFAULT_TARGETS)
prog = programme.DEFAULT_TARGETS | prog
start = prog.get("start_month")
prog_targets = tuple((k, float(prog[k])) for k in ("new_loan_npl_ratio", "recovery_rate", "overdue_ratio_drop",
                                                   "legal_benefit", "satisfaction", "tolerance"))
summary = app_data.run(content.summary, quarter=quarter, branches=f.branches, products=f.products,
                       scheme_json=json.dumps(scheme, sort_keys=True),
                       programme_start=dt.date.fromisoformat(start) if start else None,
                       programme_targets=prog_targets, with_collections=False,
                       rates=app_data.provision_rates()[1])
w = summary.window
st.caption(ui.tr(f"期初 {month_label(w['open_month'])} 月末 → 期末 {month_label(w['effective_close'])} 月末",
                 f"Opening {month_label(w['open_month'])} → closing {month_label(w['effective_close'])} month end"))
if not w["complete"]:
    st.warning(ui.tr(f"{quarter_label(quarter)} 尚未结束：数据截至 {month_label(w['effective_close'])}，为季度至今。",
                     f"{quarter_label(quarter)} is not complete: data to {month_label(w['effective_close'])}, "
                     "quarter to date."))

# --- tiles ----------------------------------------------------------------------------------------------
cols = st.columns(4)
for i, r in enumerate(summary.tiles.iter_rows(named=True)):
    fmt = ui.fmt_money if r["kind"] == "money" else ui.fmt_pct
    change = None if r["value"] is None or r["previous"] is None else r["value"] - r["previous"]
    target = ui.tr("目标", "target") + " " + (fmt(r["target"]) if r["target"] is not None else "—")
    status = ui.label("target_status", tables.tile_status(r["value"], r["target"], r["better"]))
    ui.kpi(cols[i % 4], ui.label("exec_kpi", r["kpi"]), r["value"], kind=r["kind"], change=change,
           up_is="bad" if r["better"] == "lower" else "good",
           help=f"{target} · {status} · " + ui.tr("变动为较上季末", "change vs previous quarter end"))

st.subheader(ui.tr("要点", "Findings"))
for line in content.findings(summary, ui.lang()):
    st.markdown(f"- {line}")

# --- bridge --------------------------------------------------------------------------------------------
st.subheader(ui.tr("余额从哪里来、到哪里去", "Where the balance came from and went"))
measure = st.radio(ui.tr("口径", "Balance"), list(bridge.BRIDGE_MEASURES), key="ex_measure", horizontal=True,
                   format_func=ui.options({"overdue": ui.label("exec_kpi", "overdue_balance"),
                                           "npl": ui.label("exec_kpi", "npl_balance")}))
frame = summary.bridges[measure]
ui.chart(charts.waterfall(frame, ui.lang(), ui.label("exec_kpi", f"{measure}_balance")), "ex_waterfall")
shown = ui.with_label_column(frame, "line", ui.label_map("bridge_line"), "line_name").drop("branch_id", "line")
ui.show_table(shown, "ex_bridge_table", name=f"bridge_{measure}_{quarter_label(quarter)}",
              money=("amount",), headers={"line_name": ui.tr("变动", "Movement"), "loans_count": ui.tr("笔数", "Loans"),
                                          "amount": ui.tr("金额(元)", "Amount (CNY)")})
st.metric(ui.tr("核销后收回（表外，不在变动桥内）", "Post-write-off recoveries (off-balance, outside the bridge)"),
          ui.fmt_money(summary.writeoff_recovered))

lines = [r["line"] for r in frame.iter_rows(named=True) if r["line"] in bridge.LINES and r["loans_count"]]
if lines:
    line = st.selectbox(ui.tr("查看某一变动的借据", "Loans behind a movement"), lines, key="ex_drill_line",
                        format_func=ui.options(ui.label_map("bridge_line")))
    loans = app_data.run(bridge.bridge_loans, measure=measure, open_month=w["open_month"],
                         close_month=w["effective_close"], branches=f.branches, products=f.products)
    picked = bridge.loans_of_line(loans, line)
    st.caption(ui.tr(f"{picked.height:,} 笔，合计 {ui.fmt_money(picked['amount'].sum())}（= 上图该柱）",
                     f"{picked.height:,} loans, total {ui.fmt_money(picked['amount'].sum())} (= the bar above)"))
    ui.show_table(ui.with_code_labels(picked, {"line": "bridge_line"}), "ex_drill_table",
                  name=f"bridge_{measure}_{line}", money=("amount",),
                  headers={"loan_id": ui.tr("借据号", "Loan id"), "branch_id": ui.tr("机构号", "Branch id"),
                           "product": ui.tr("产品", "Product"), "line": ui.tr("变动", "Movement"),
                           "amount": ui.tr("金额(元)", "Amount (CNY)")})

# --- branch assessment -----------------------------------------------------------------------------------
st.subheader(ui.tr("机构压降考核", "Branch assessment"))
st.caption(ui.tr(f"考核方案：{scheme.get('name', '')}（版本 {scheme_version}）",
                 f"Scheme: {scheme.get('name', '')} (version {scheme_version})"))
league = tables.league_frame(summary, ui.lang())
st.dataframe(league, key="ex_league", hide_index=True, width="stretch")
ui.chart(charts.league(summary.league, ui.lang()), "ex_league_chart")

with st.expander(ui.tr("考核方案（权重、封顶、档次、否决、同组）", "Scheme (weights, cap, tiers, veto, peers)")):
    c = st.columns(5)
    weights = {k: c[i].number_input(ui.label("component", k), 0.0, 100.0, float(scheme["weights"].get(k, 0)), 5.0,
                                    key=f"ex_w_{k}") for i, k in enumerate(assessment.COMPONENTS)}
    d1, d2, d3, d4 = st.columns(4)
    cap = d1.number_input(ui.tr("完成率封顶", "Attainment cap"), 1.0, 2.0, float(scheme["cap"]), 0.05, key="ex_cap")
    reward = d2.number_input(ui.tr("奖励档分数线", "Reward from"), 0.0, 200.0, float(scheme["tiers"]["reward"]), 1.0,
                             key="ex_reward")
    passing = d3.number_input(ui.tr("合格档分数线", "Pass from"), 0.0, 200.0, float(scheme["tiers"]["pass"]), 1.0,
                              key="ex_pass")
    peers = d4.selectbox(ui.tr("同组划分", "Peer groups"), ["size", "region", "none"], key="ex_peers",
                         index=["size", "region", "none"].index(scheme["peer_groups"]),
                         format_func=ui.options({"size": ui.tr("按规模三分位", "Size terciles"),
                                                 "region": ui.tr("按区域", "Region"), "none": ui.tr("不分组", "None")}))
    veto = st.toggle(ui.tr("不良率超上限一票否决", "Veto: NPL ratio above its ceiling"), value=bool(scheme["veto"]),
                     key="ex_veto")
    difficulty = st.text_input(ui.tr("难度系数（机构号=系数，逗号分隔）", "Difficulty (branch=coefficient, comma separated)"),
                               ", ".join(f"{k}={v}" for k, v in scheme["difficulty"].items()), key="ex_difficulty")
    if st.button(ui.tr("保存为新版本", "Save as a new version"), key="ex_save_scheme", disabled=not auth.can("configure")):
        try:
            diff = {k.strip(): float(v) for k, v in (p.split("=") for p in difficulty.split(",") if p.strip())}
        except ValueError:
            st.error(ui.tr("难度系数格式应为 B01=1.1, B02=0.9", "Difficulty must look like B01=1.1, B02=0.9"))
        else:
            new = scheme | {"weights": weights, "cap": cap, "tiers": {"reward": reward, "pass": passing},
                            "peer_groups": peers, "veto": veto, "difficulty": diff}
            version = app_data.save_config("assessment_scheme", new)
            st.session_state["ex_notice"] = ui.tr(f"已保存考核方案版本 {version}。", f"Scheme version {version} saved.")
            st.rerun()

with st.expander(ui.tr("本季目标（可编辑，保存后可在数据导入页撤销）", "This quarter's targets (editable; undo on the import page)")):
    targets = app_data.run(assessment.quarter_targets, quarter=quarter)
    edited = st.data_editor(targets, key="ex_targets_editor", hide_index=True, disabled=["branch_id", "quarter"])
    if st.button(ui.tr("保存目标", "Save targets"), key="ex_save_targets", disabled=not auth.can("configure")):
        try:
            change, skipped = app_data.save_targets(edited)
        except (ingest.LoadRejected, ingest.IngestError) as exc:
            st.error(exc.message(ui.lang()))
        else:
            left = ("；" + ui.tr("未填完整而未保存：", "") + ", ".join(skipped)) if skipped else ""
            left_en = (f"; not saved (incomplete): {', '.join(skipped)}") if skipped else ""
            st.session_state["ex_notice"] = ui.tr(f"目标已保存（变更号 {change}）{left}。",
                                                  f"Targets saved (change {change}){left_en}.")
            st.rerun()

# --- programme -----------------------------------------------------------------------------------------
st.subheader(ui.tr("项目效果评估", "Programme evaluation"))
p = summary.programme
pcols = st.columns(len(p))
for col, r in zip(pcols, p.iter_rows(named=True), strict=True):
    col.metric(ui.label("programme", r["target"]), ui.fmt_pct(r["value"]),
               border=True, help=ui.tr(f"目标 {'≤' if r['kind'] == 'ceiling' else '≥'} {ui.fmt_pct(r['goal'])}，"
                                       f"样本 {r['loans_count']:,} 笔", f"goal {'≤' if r['kind'] == 'ceiling' else '≥'} "
                                       f"{ui.fmt_pct(r['goal'])}, sample {r['loans_count']:,} loans"))
    col.caption(ui.label("target_status", r["status"]))
with st.expander(ui.tr("项目目标（可编辑）", "Programme targets (editable)")):
    months = app_data.run(assessment.store_months)
    default_start = programme.default_start(w["effective_close"])
    start_value = start if start else default_start.isoformat()
    options = [m.isoformat() for m in months]
    s1, s2 = st.columns(2)
    new_start = s1.selectbox(ui.tr("项目开始月份", "Programme start month"), options, key="ex_prog_start",
                             index=options.index(start_value) if start_value in options else 0,
                             format_func=ui.options({m: m[:7] for m in options}))
    goals = {k: s2.number_input(ui.label("programme", k) + " (%)", -100.0, 100.0, float(prog[k]) * 100, 0.5,
                                key=f"ex_prog_{k}") / 100 for k in programme.KINDS}
    if st.button(ui.tr("保存项目目标", "Save programme targets"), key="ex_save_prog", disabled=not auth.can("configure")):
        version = app_data.save_config("programme", prog | goals | {"start_month": new_start})
        st.session_state["ex_notice"] = ui.tr(f"已保存项目目标版本 {version}。", f"Programme targets version {version} saved.")
        st.rerun()

st.subheader(ui.tr("季度清收效果评估", "Quarterly collection-efficiency review"))
review = app_data.run(content.collection_review, quarter=quarter, branches=f.branches, products=f.products)
summary = dataclasses.replace(summary, collections=review)
st.dataframe(tables.collection_frame(summary, ui.lang()), key="ex_collections", hide_index=True, width="stretch")

# --- board pack ----------------------------------------------------------------------------------------
st.subheader(ui.tr("董事会材料", "Board pack"))
b1, b2 = st.columns(2)
for col, fmt, mime in ((b1, "pdf", "application/pdf"),
                       (b2, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")):
    if col.button(ui.tr(f"生成 {fmt.upper()}", f"Build the {fmt.upper()}"), key=f"ex_build_{fmt}",
                  disabled=not auth.can("export")):
        with st.spinner(ui.tr("正在生成…", "Building…")):
            st.session_state[f"ex_pack_{fmt}"] = (quarter, ui.lang(), app_data.build_pack(summary, fmt, ui.lang()))
    built = st.session_state.get(f"ex_pack_{fmt}")
    if built and built[0] == quarter and built[1] == ui.lang():
        col.download_button(ui.tr(f"下载 {fmt.upper()}", f"Download the {fmt.upper()}"), built[2],
                            f"board_pack_{quarter_label(quarter)}_{ui.lang()}.{fmt}", mime, key=f"ex_download_{fmt}",
                            on_click=ui._audit_export, args=(f"board_pack_{quarter_label(quarter)}", fmt, 1))

ui.definition("\n".join(f"- {t}" for t in tables.DEFINITIONS["zh"]),
              "\n".join(f"- {t}" for t in tables.DEFINITIONS["en"]))
