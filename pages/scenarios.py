"""情景分析 / Scenarios: analysts' what-ifs on the filtered portfolio, baseline | scenario | difference.

One tab per scenario kind (provisioning, classification, projection, early-warning thresholds, collection
capacity). Every tab can save its parameters by name (versioned), reload a saved scenario into its widgets,
compare with a saved one and export its tables (the table downloads). The provisioning scheme saved "for every
page" is the one the overview, classification and executive pages use.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

import app_data
import auth
import ui
from analytics.core.rules import M_BUCKET_LABELS
from analytics.core.schema import CLASSES, GUARANTEE_TYPES
from analytics.metrics import portfolio
from analytics.metrics import provisioning as prov
from analytics.model import artifact
from analytics.scenario import capacity as sc_cap
from analytics.scenario import classification as sc_cls
from analytics.scenario import disposal as sc_disp
from analytics.scenario import projection as sc_proj
from analytics.scenario import provisioning as sc_prov
from analytics.scenario import warning as sc_warn
from analytics.warning import rules as R

ui.require_data()
f = ui.filters()
dims = app_data.run(portfolio.dimensions)
scheme_version, app_rates = app_data.provision_rates()
slice_kw = {"branches": f.branches, "products": f.products}

st.title(ui.tr("情景分析", "Scenarios"))
st.caption(ui.tr(f"数据月份 {ui.month_label(f.month)} 月末；基准 = 其他页面显示的数字；所有情景按侧栏筛选的组合重算。",
                 f"Month-end {ui.month_label(f.month)}; baseline = the numbers of the other pages; every scenario is "
                 "recomputed on the portfolio filtered in the sidebar."))

SIDES = ("baseline", "scenario", "diff")


def cols_of(values: tuple[str, ...]) -> list[str]:
    return [f"{v}_{s}" for v in values for s in SIDES]


def saved_box(kind: str, params: dict, headline) -> None:
    """Save these parameters by name, load a saved scenario into the widgets, compare with a saved one."""
    saved = app_data.saved_scenarios(kind)
    with st.expander(ui.tr("保存 / 载入 / 对比情景", "Save / load / compare scenarios")):
        c1, c2 = st.columns([3, 1])
        name = c1.text_input(ui.tr("情景名称", "Scenario name"), key=f"sc_{kind}_name")
        if c2.button(ui.tr("保存", "Save"), key=f"sc_{kind}_save", disabled=not name.strip()):
            version = app_data.save_scenario(kind, name, params)
            st.success(ui.tr(f"已保存“{name}”（版本 {version}）。", f"Saved '{name}' (version {version})."))
            saved = app_data.saved_scenarios(kind)
        if not saved:
            st.caption(ui.tr("尚无已保存的情景。", "No saved scenario yet."))
            return
        names = sorted(saved)
        c1, c2 = st.columns([3, 1])
        chosen = c1.selectbox(ui.tr("已保存的情景", "Saved scenarios"), names, key=f"sc_{kind}_pick",
                              format_func=lambda n: f"{n} (v{saved[n]['version']})")

        def load() -> None:
            for p, v in saved[st.session_state[f"sc_{kind}_pick"]]["params"].items():
                st.session_state[f"sc_{kind}_{p}"] = v

        c2.button(ui.tr("载入", "Load"), key=f"sc_{kind}_load", on_click=load)
        try:
            other = headline(saved[chosen]["params"])
        except (ValueError, KeyError, artifact.ArtifactError) as exc:  # a saved scenario that no longer runs here
            st.warning(ui.tr(f"“{chosen}”无法在当前数据上运行：{exc}", f"'{chosen}' cannot run on this data: {exc}"))
            return
        mine = headline(params)
        rows = [{"metric": k, "now": mine[k], "saved": other[k]} for k in mine]
        st.markdown(ui.tr(f"**当前参数 vs “{chosen}”**", f"**Current parameters vs '{chosen}'**"))
        st.dataframe({ui.tr("指标", "Measure"): [r["metric"] for r in rows],
                      ui.tr("当前", "Current"): [r["now"] for r in rows],
                      chosen: [r["saved"] for r in rows]}, hide_index=True, key=f"sc_{kind}_compare")


def fmt_pct(v) -> str:
    return ui.fmt_pct(v)


tabs = st.tabs([ui.tr("拨备", "Provisioning"), ui.tr("分类口径", "Classification"), ui.tr("迁徙预测", "Projection"),
                ui.tr("预警阈值", "Early-warning thresholds"), ui.tr("催收产能", "Collection capacity"),
                ui.tr("抵押不良处置", "Secured NPL disposal")])

# --- 1. provisioning -----------------------------------------------------------------------------------------
PRESET_TEXT = {"pboc2002": ("2002 人民银行参考比例 (1/2/25/50/100%)", "2002 PBOC reference (1/2/25/50/100%)"),
               "mof2012": ("2012 财政部风险系数 (1.5/3/30/60/100%)", "2012 MoF coefficients (1.5/3/30/60/100%)"),
               "custom": ("自定义", "Custom")}
BAND = {"scenario_band": "scenario_band"}
with tabs[0]:
    rate_text = " / ".join(f"{v * 100:g}%" for v in app_rates.by_class().values())
    st.caption(ui.tr(f"基准：全站拨备方案 {rate_text}（版本 {scheme_version}）", f"Baseline: the app-wide scheme "
                     f"{rate_text} (version {scheme_version})"))
    st.session_state.setdefault("sc_provisioning_mode", "rates")
    st.session_state.setdefault("sc_provisioning_preset", "mof2012")
    mode = st.radio(ui.tr("方法", "Method"), ["rates", "ecl"], key="sc_provisioning_mode", horizontal=True,
                    format_func=ui.options({"rates": ui.tr("按五级分类比例", "Rates per class"),
                                            "ecl": ui.tr("ECL = PD × LGD × EAD", "ECL = PD × LGD × EAD")}))
    prov_params: dict = {"mode": mode}
    if mode == "rates":
        preset = st.selectbox(ui.tr("计提比例", "Rates"), list(PRESET_TEXT), key="sc_provisioning_preset",
                              format_func=ui.options({k: ui.tr(*v) for k, v in PRESET_TEXT.items()}))
        prov_params["preset"] = preset
        if preset == "custom":
            cols = st.columns(5)
            for c in CLASSES:
                st.session_state.setdefault(f"sc_provisioning_rate{c}", app_rates.by_class()[c] * 100)
                prov_params[f"rate{c}"] = cols[c - 1].number_input(
                    f"{ui.label('class', c)} (%)", 0.0, 100.0, step=0.5, key=f"sc_provisioning_rate{c}")
    else:
        cols = st.columns(len(GUARANTEE_TYPES))
        for i, (g, default) in enumerate(sc_prov.LGD):
            st.session_state.setdefault(f"sc_provisioning_lgd_{g}", default * 100)
            prov_params[f"lgd_{g}"] = cols[i].number_input(f"LGD {ui.label('guarantee_type', g)} (%)", 0.0, 100.0,
                                                           step=5.0, key=f"sc_provisioning_lgd_{g}")

    def rates_of(p: dict) -> prov.ProvisionRates:
        if p.get("preset") == "custom":
            return prov.ProvisionRates(*(float(p[f"rate{c}"]) / 100 for c in CLASSES))
        return prov.PROVISION_PRESETS[p.get("preset", "pboc2002")]

    def provisioning_result(p: dict):
        if p.get("mode") == "ecl":
            lgd = tuple((g, float(p.get(f"lgd_{g}", d * 100)) / 100) for g, d in sc_prov.LGD)
            inputs = app_data.run_book(sc_prov.ecl_inputs_of, month=f.month, whole=True, **slice_kw)
            base = app_data.run(sc_prov.rates_by_branch, month=f.month, rates=app_rates, **slice_kw)
            return sc_prov.compare_ecl_frames(base, inputs, lgd=lgd)  # an LGD change costs no scoring
        return app_data.run(sc_prov.compare_rates, month=f.month, baseline=app_rates, scenario=rates_of(p),
                            **slice_kw)

    def provisioning_headline(p: dict) -> dict:
        try:
            total = provisioning_result(p).row(-1, named=True)
        except artifact.ArtifactError:
            return {ui.tr("拨备覆盖率", "Coverage"): "—", ui.tr("拨贷比", "Provision ratio"): "—"}
        return {ui.tr("拨备覆盖率", "Coverage"): fmt_pct(total["coverage_scenario"]),
                ui.tr("拨贷比", "Provision ratio"): fmt_pct(total["provision_ratio_scenario"])}

    try:
        result = provisioning_result(prov_params)
    except artifact.ArtifactError:
        st.info(ui.tr("尚未训练违约风险模型：请在“违约风险模型”页训练后使用 ECL。",
                      "No default-risk model yet: train one on the Default-risk model page to use ECL."))
        result = None
    if result is not None and result.height > 1:
        total = result.row(-1, named=True)
        c = st.columns(4)
        for i, (v, zh, en, kind) in enumerate((("provision", "拨备", "Provision", "money"),
                                               ("coverage", "拨备覆盖率", "Coverage", "pct"),
                                               ("provision_ratio", "拨贷比", "Provision ratio", "pct"),
                                               ("npl_balance", "不良余额", "NPL balance", "money"))):
            ui.kpi(c[i], ui.tr(f"{zh}（情景）", f"{en} (scenario)"), total[f"{v}_scenario"], kind=kind,
                   change=total[f"{v}_diff"], up_is="neutral",
                   help=ui.tr("差异 = 情景 − 基准", "Change = scenario − baseline"))
        band = ui.label("scenario_band", total["coverage_band_scenario"]) if total["coverage_band_scenario"] else "—"
        st.caption(ui.tr(f"监管区间：拨备覆盖率 120%–150%、拨贷比 1.5%–2.5%（各行确定）。情景覆盖率：{band}。",
                         f"Regulatory bands: coverage 120%–150%, provision ratio 1.5%–2.5% (set bank by bank). "
                         f"Scenario coverage: {band}."))
        shown = ui.with_code_labels(result, {"branch": "scenario_branch", **{
            f"{b}_band_{s}": "scenario_band" for b in ("coverage", "provision_ratio") for s in ("baseline", "scenario")}})
        ui.show_table(shown, "sc_prov_table", name="scenario_provisioning",
                      money=tuple(cols_of(("total_balance", "npl_balance", "provision"))),
                      pct=tuple(cols_of(("coverage", "provision_ratio"))))
        if mode == "rates":
            if auth.can("configure"):
                if st.button(ui.tr("设为全站拨备方案（所有页面使用）", "Apply to every page (app-wide scheme)"),
                             key="sc_prov_apply"):
                    v = app_data.save_config(prov.SCHEME_CONFIG, prov.scheme_of(rates_of(prov_params)),
                                             note="scenario page")
                    st.success(ui.tr(f"已保存为全站方案（版本 {v}）。", f"Saved as the app-wide scheme (version {v})."))
            else:
                st.caption(ui.tr("设置全站方案需要“配置”权限。", "Setting the app-wide scheme needs the configure "
                                 "permission."))
    saved_box("provisioning", prov_params, provisioning_headline)

# --- 2. classification -----------------------------------------------------------------------------------------
with tabs[1]:
    st.session_state.setdefault("sc_classification_npl_dpd", 60)
    st.session_state.setdefault("sc_classification_product", "")
    st.session_state.setdefault("sc_classification_product_dpd", 30)
    c1, c2, c3 = st.columns(3)
    npl_dpd = int(c1.number_input(ui.tr("逾期超过 N 天认定不良（全部产品）", "NPL when DPD > N (every product)"), 0, 90,
                                  step=10, key="sc_classification_npl_dpd"))
    products = ["", *dims["products"]]
    product = c2.selectbox(ui.tr("更严口径的产品", "Stricter threshold for a product"), products,
                           key="sc_classification_product",
                           format_func=lambda p: ui.tr("（无）", "(none)") if not p else ui.label("product", p))
    product_dpd = int(c3.number_input(ui.tr("该产品逾期超过 N 天认定不良", "That product: NPL when DPD > N"), 0, 90,
                                      step=10, key="sc_classification_product_dpd", disabled=not product))
    cls_params = {"npl_dpd": npl_dpd, "product": product, "product_dpd": product_dpd}

    def classification_result(p: dict):
        pd_ = ((p["product"], int(p["product_dpd"])),) if p.get("product") else ()
        return app_data.run(sc_cls.compare, month=f.month, npl_dpd=int(p["npl_dpd"]), product_dpd=pd_,
                            rates=app_rates, **slice_kw)

    def classification_headline(p: dict) -> dict:
        t = classification_result(p).row(-1, named=True)
        return {ui.tr("不良率", "NPL ratio"): fmt_pct(t["npl_ratio_balance_scenario"]),
                ui.tr("偏离度", "90+/NPL"): fmt_pct(t["deviation_balance_scenario"]),
                ui.tr("拨备", "Provision"): ui.fmt_money(t["provision_scenario"])}

    result = classification_result(cls_params)
    if result.height > 1:
        t = result.row(-1, named=True)
        c = st.columns(4)
        for i, (v, zh, en, kind) in enumerate((("npl_balance", "不良余额", "NPL balance", "money"),
                                               ("npl_ratio_balance", "不良率", "NPL ratio", "pct"),
                                               ("deviation_balance", "偏离度", "90+/NPL", "pct"),
                                               ("provision", "拨备", "Provision", "money"))):
            ui.kpi(c[i], ui.tr(f"{zh}（情景）", f"{en} (scenario)"), t[f"{v}_scenario"], kind=kind,
                   change=t[f"{v}_diff"], up_is="neutral")
        ui.show_table(ui.with_code_labels(result, {"branch": "scenario_branch"}), "sc_cls_table",
                      name="scenario_classification",
                      money=tuple(cols_of(("total_balance", "npl_balance", "provision"))),
                      pct=tuple(cols_of(("npl_ratio_balance", "npl_ratio_count", "deviation_balance"))))
    else:
        ui.empty_notice()
    saved_box("classification", cls_params, classification_headline)

# --- 3. projection ---------------------------------------------------------------------------------------------
with tabs[2]:
    for k, v in (("window", 3), ("quarters", 4), ("cure_pp", 0.0), ("current_m1_cut", 0.0), ("writeoff", False),
                 ("writeoff_rate", 10.0), ("new_lending", 0.0)):
        st.session_state.setdefault(f"sc_projection_{k}", v)
    c1, c2, c3, c4 = st.columns(4)
    window = c1.selectbox(ui.tr("迁徙矩阵期间（月）", "Matrix window (months)"), [1, 3, 6, 12], key="sc_projection_window")
    quarters = c2.selectbox(ui.tr("预测季度数", "Quarters ahead"), [1, 2, 3, 4], key="sc_projection_quarters")
    cure_pp = c3.number_input(ui.tr("回滚率 +x 个百分点", "Cure rate +x pp"), 0.0, 50.0, step=1.0,
                              key="sc_projection_cure_pp")
    cut = c4.number_input(ui.tr("M0→M1 降低 y%", "Current → M1 −y%"), 0.0, 100.0, step=5.0,
                          key="sc_projection_current_m1_cut")
    c1, c2, c3 = st.columns(3)
    writeoff = c1.checkbox(ui.tr("改变核销政策", "Change the write-off policy"), key="sc_projection_writeoff")
    wo_rate = c2.number_input(ui.tr("M7+ 每月核销比例 (%)", "M7+ written off per month (%)"), 0.0, 100.0, step=5.0,
                              key="sc_projection_writeoff_rate", disabled=not writeoff)
    new_lending = c3.number_input(ui.tr("每月新增投放（万元）", "New lending per month (CNY 10k)"), 0.0, 1e9, step=100.0,
                                  key="sc_projection_new_lending")
    proj_params = {"window": window, "quarters": quarters, "cure_pp": cure_pp, "current_m1_cut": cut,
                   "writeoff": writeoff, "writeoff_rate": wo_rate, "new_lending": new_lending}

    def projection_result(p: dict):
        return app_data.run(sc_proj.compare, month=f.month, window=int(p["window"]), quarters=int(p["quarters"]),
                            cure_pp=float(p["cure_pp"]) / 100, current_m1_cut=float(p["current_m1_cut"]) / 100,
                            writeoff_rate=float(p["writeoff_rate"]) / 100 if p["writeoff"] else None,
                            new_lending=float(p["new_lending"]) * 1e4, **slice_kw)

    def projection_headline(p: dict) -> dict:
        last = projection_result(p)["projection"].row(-1, named=True)
        return {ui.tr("期末逾期率", "Overdue ratio at the end"): fmt_pct(last["overdue_ratio_balance_scenario"]),
                ui.tr("期末不良率", "NPL ratio at the end"): fmt_pct(last["npl_ratio_balance_scenario"])}

    out = projection_result(proj_params)
    table = out["projection"]
    if table.height:
        fig = go.Figure()
        for v, zh, en in (("overdue_ratio_balance", "逾期率", "Overdue ratio"), ("npl_ratio_balance", "不良率", "NPL ratio")):
            for side, dash in (("baseline", "dot"), ("scenario", "solid")):
                fig.add_scatter(x=table["month"].to_list(), y=[None if x is None else x * 100 for x in table[f"{v}_{side}"]],
                                name=f"{ui.tr(zh, en)} · {ui.label('scenario_side', side)}", line={"dash": dash})
        fig.update_yaxes(title_text="%")
        fig.update_xaxes(title_text=ui.tr("月份", "Month"))
        ui.chart(fig, "sc_proj_chart")
        ui.show_table(table, "sc_proj_table", name="scenario_projection",
                      money=tuple(cols_of(("total_balance", "overdue_balance", "dpd90_balance", "npl_balance"))),
                      pct=tuple(cols_of(("overdue_ratio_balance", "npl_ratio_balance"))))
        st.markdown(ui.tr("**季末预测 vs 机构目标（情景）**", "**Quarter ends vs the branch targets (scenario)**"))
        ui.show_table(out["targets"], "sc_proj_targets", name="scenario_projection_targets",
                      money=("overdue_balance", "npl_balance", "overdue_balance_target", "npl_balance_target",
                             "overdue_gap", "npl_gap"), pct=("npl_ratio_balance",))
    if st.checkbox(ui.tr("按机构预测并对照各机构目标（逐机构计算，较慢）", "Project each branch against its own targets "
                         "(one projection per branch: slower)"), key="sc_projection_by_branch"):
        per_branch = app_data.run(sc_proj.by_branch, month=f.month, window=int(window), quarters=int(quarters),
                                  cure_pp=float(cure_pp) / 100, current_m1_cut=float(cut) / 100,
                                  writeoff_rate=float(wo_rate) / 100 if writeoff else None,
                                  new_lending=float(new_lending) * 1e4, **slice_kw)
        ui.show_table(per_branch, "sc_proj_branches", name="scenario_projection_branches",
                      money=("overdue_balance", "npl_balance", "overdue_balance_target", "npl_balance_target",
                             "overdue_gap", "npl_gap"), pct=("npl_ratio_balance", "npl_ratio_ceiling"),
                      pp=("npl_ratio_gap",))
    st.markdown(ui.tr("**预测回测（过去各月出发、3 个月后 vs 实际）**",
                      "**Backtest (projected from past months, 3 months ahead vs actual)**"))
    back = app_data.run(sc_proj.backtest, window=int(window), **slice_kw)
    if back.height:
        c = st.columns(3)
        mae = sc_proj.mean_abs_errors(back)
        c[0].metric(ui.tr("逾期率平均绝对误差", "Overdue ratio mean abs. error"), ui.fmt_pp(mae["overdue_ratio_error"]))
        c[1].metric(ui.tr("不良率平均绝对误差", "NPL ratio mean abs. error"), ui.fmt_pp(mae["npl_ratio_error"]))
        c[2].metric(ui.tr("分档余额平均误差", "Bucket balance mean error"), ui.fmt_pct(mae["bucket_error"]))
        ui.show_table(back, "sc_proj_backtest", name="scenario_projection_backtest",
                      pct=("overdue_ratio_projected", "overdue_ratio_actual", "npl_ratio_projected", "npl_ratio_actual",
                           "bucket_error"), pp=("overdue_ratio_error", "npl_ratio_error"))
    else:
        st.info(ui.tr("历史月份不足，无法回测。", "Not enough history for a backtest."))
    saved_box("projection", proj_params, projection_headline)

# --- 4. early-warning thresholds ---------------------------------------------------------------------------------
with tabs[3]:
    rules_version, saved_rules = app_data.load_config(R.CONFIG_NAME, R.default_rules())
    try:
        base_rules = R.dumps(R.validate(saved_rules))
    except R.RuleError:
        base_rules = R.dumps(R.default_rules())
    st.session_state.setdefault("sc_warning_rules", base_rules)
    st.session_state.setdefault("sc_warning_level", "yellow")
    st.session_state.setdefault("sc_warning_team", 10)
    st.session_state.setdefault("sc_warning_months", 6)
    c1, c2, c3 = st.columns(3)
    level = c1.selectbox(ui.tr("预警级别截止（含更高级别）", "Cut-off level (and more severe)"), list(R.LEVELS),
                         key="sc_warning_level", format_func=lambda x: ui.label("warning_level", x))
    team = int(c2.number_input(ui.tr("催收团队人数", "Team size (collectors)"), 1, 10_000, step=1,
                               key="sc_warning_team"))
    tested = c3.selectbox(ui.tr("回测月数", "Months backtested"), [3, 6, 12], key="sc_warning_months")
    text = st.text_area(ui.tr(f"情景规则表（JSON；基准 = 已保存规则表 版本 {rules_version}）",
                              f"Scenario rule table (JSON; baseline = the saved table, version {rules_version})"),
                        key="sc_warning_rules", height=200)
    warn_params = {"level": level, "team": team, "rules": text, "months": tested}

    def warning_result(p: dict):
        months_ = int(p.get("months", 6))
        base = app_data.run(sc_warn.trade_off, rules=base_rules, months=months_, **slice_kw)  # cached: one per slice
        scen = app_data.run(sc_warn.trade_off, rules=R.dumps(R.parse(p["rules"])), months=months_, **slice_kw)
        return sc_warn.combine(base, scen, level=p["level"], team_size=int(p["team"]))

    def warning_headline(p: dict) -> dict:
        s = warning_result(p)["summary"]
        return {ui.label("scenario_metric", m): ("—" if v is None else f"{v:.3f}")
                for m, v in zip(s["metric"], s["scenario"], strict=True)}

    try:
        out = warning_result(warn_params)
    except R.RuleError as exc:
        st.error(ui.tr(f"规则表无法使用：{exc}", f"The rule table cannot be used: {exc}"))
        out = None
    if out is not None and out["summary"].height:
        ui.show_table(ui.with_code_labels(out["summary"], {"metric": "scenario_metric"}), "sc_warn_table",
                      name="scenario_warning")
        curve = out["curve"]
        fig = go.Figure()
        for side in ("baseline", "scenario"):
            part = curve.filter(side=side)
            fig.add_scatter(x=[None if x is None else x * 100 for x in part["recall"]],
                            y=[None if x is None else x * 100 for x in part["precision"]], mode="lines+markers+text",
                            text=[ui.label("warning_level", x) for x in part["level"]], textposition="top center",
                            name=ui.label("scenario_side", side))
        chosen = curve.filter(side="scenario", level=level)
        if chosen.height:
            fig.add_scatter(x=[(chosen["recall"][0] or 0) * 100], y=[(chosen["precision"][0] or 0) * 100], mode="markers",
                            marker={"size": 16, "symbol": "star"}, name=ui.tr("所选截止点", "Chosen cut-off"))
        fig.update_xaxes(title_text=ui.tr("召回率 (%)", "Recall (%)"))
        fig.update_yaxes(title_text=ui.tr("精确率 (%)", "Precision (%)"))
        ui.chart(fig, "sc_warn_curve")
        ui.show_table(ui.with_code_labels(curve, {"level": "warning_level", "side": "scenario_side"}).drop("level_rank"),
                      "sc_warn_curve_table", name="scenario_warning_curve",
                      pct=("precision", "recall"))

    # the PD cut-off (the model's pd_high signal), backtested on the months out of time for the model
    st.subheader(ui.tr("违约概率(PD)截止值回测", "PD cut-off backtest"))
    saved_pd = float(R.parse(base_rules)["signals"].get("pd_high", {}).get("threshold", 0.2))
    grid = [round(c, 2) for c in sc_warn.PD_GRID]
    st.session_state.setdefault("sc_warning_pd_cutoff", min(grid, key=lambda c: abs(c - saved_pd)))
    cutoff = st.select_slider(ui.tr(f"PD 截止值（基准 = 规则表 pd_high {saved_pd:.0%}）",
                                    f"PD cut-off (baseline = the rule table's pd_high, {saved_pd:.0%})"),
                              grid, key="sc_warning_pd_cutoff", format_func=lambda c: f"{c:.0%}")
    warn_params["pd_cutoff"] = cutoff
    try:
        pd_bt = app_data.run_model(sc_warn.pd_backtest, months=int(tested), **slice_kw)  # scored once per slice
    except artifact.ArtifactError:
        pd_bt = None
        st.info(ui.tr("尚未训练违约风险模型：请在“违约风险模型”页训练后回测 PD 截止值。",
                      "No default-risk model yet: train one on the Default-risk model page to backtest a PD cut-off."))
    bt_horizon = sc_warn.bt.HORIZON
    if pd_bt is not None and pd_bt["curve"].height:
        months_txt = f"{pd_bt['months'][0]:%Y-%m} … {pd_bt['months'][-1]:%Y-%m}"
        if pd_bt["in_sample"]:
            st.warning(ui.tr("该模型未按时间切分训练：回测月份在样本内，结果偏乐观。",
                             "This model was not fitted on a time split: the backtest months are in sample and the "
                             "figures are optimistic."))
        st.caption(ui.tr(f"口径：样本外月份 {months_txt}（模型校准期之后、且有完整 {bt_horizon} 个月观察期），"
                         f"评分借据月 n = {pd_bt['scored']:,}，违约事件 n = {pd_bt['events']:,}；预警 = PD ≥ 截止值；"
                         "精确率 = H 月内进入 90 天以上的预警借据 ÷ 预警借据（各月加总）；召回率 = 样本外月份之后 H 月内新进入 90 天以上的借据中，"
                         "此前 H 月内（样本外月份中）曾预警的占比。",
                         f"Definition: out-of-time months {months_txt} (after the model's calibration window, with "
                         f"a complete {bt_horizon}-month outcome window), scored loan-months n = {pd_bt['scored']:,}, "
                         f"default events n = {pd_bt['events']:,}; flagged = PD ≥ the cut-off; precision = flagged "
                         "loans reaching DPD > 90 within H ÷ flagged (summed over the months); recall = loans newly "
                         "at DPD > 90 within H after a tested month that were flagged in a tested month of the H "
                         "months before ÷ those loans."))
        pd_summary = sc_warn.pd_combine(pd_bt["curve"], baseline=saved_pd, scenario=cutoff, team_size=team)
        ui.show_table(ui.with_code_labels(pd_summary, {"metric": "scenario_metric"}), "sc_warn_pd_table",
                      name="scenario_pd_cutoff")
        pd_curve = pd_bt["curve"]
        fig = go.Figure()
        fig.add_scatter(x=[None if x is None else x * 100 for x in pd_curve["recall"]],
                        y=[None if x is None else x * 100 for x in pd_curve["precision"]], mode="lines",
                        name=ui.tr("PD 截止值曲线", "PD cut-off curve"),
                        text=[f"PD ≥ {c:.0%}" for c in pd_curve["cutoff"]], hovertemplate="%{text}<extra></extra>")
        for c, name, symbol in ((saved_pd, ui.tr("基准", "Baseline"), "circle"),
                                (cutoff, ui.tr("所选截止点", "Chosen cut-off"), "star")):
            row = pd_curve.with_columns((pl.col("cutoff") - c).abs().alias("_d")).sort("_d").row(0, named=True)
            fig.add_scatter(x=[(row["recall"] or 0) * 100], y=[(row["precision"] or 0) * 100], mode="markers",
                            marker={"size": 14, "symbol": symbol}, name=f"{name} (PD ≥ {row['cutoff']:.0%})")
        fig.update_xaxes(title_text=ui.tr("召回率 (%)", "Recall (%)"))
        fig.update_yaxes(title_text=ui.tr("精确率 (%)", "Precision (%)"))
        ui.chart(fig, "sc_warn_pd_curve")
    elif pd_bt is not None:
        st.info(ui.tr("模型校准期之后没有观察期完整的月份，无法回测 PD 截止值。",
                      "No month after the model's calibration window has a complete outcome window: no PD backtest."))
    saved_box("warning", warn_params, warning_headline)

# --- 5. collection capacity --------------------------------------------------------------------------------------
with tabs[4]:
    st.session_state.setdefault("sc_capacity_months", 3)
    months = st.selectbox(ui.tr("观察期（月）", "Observed months"), [1, 3, 6], key="sc_capacity_months")
    obs = app_data.run(sc_cap.compare, month=f.month, months=int(months), **slice_kw)["observed"]
    observed_n = dict(zip(obs["entry_bucket"].to_list(), obs["collectors"].to_list(), strict=True))
    cols = st.columns(len(M_BUCKET_LABELS) - 1)
    cap_params: dict = {"months": months}
    for b in range(1, len(M_BUCKET_LABELS)):
        st.session_state.setdefault(f"sc_capacity_n{b}", round(float(observed_n.get(b) or 0.0), 1))
        cap_params[f"n{b}"] = cols[b - 1].number_input(ui.tr(f"{M_BUCKET_LABELS[b]} 催收员", f"{M_BUCKET_LABELS[b]} "
                                                             "collectors"), 0.0, 10_000.0, step=1.0,
                                                       key=f"sc_capacity_n{b}")

    def capacity_result(p: dict):
        n = tuple((b, float(p[f"n{b}"])) for b in range(1, len(M_BUCKET_LABELS)) if f"n{b}" in p)
        return app_data.run(sc_cap.compare, month=f.month, months=int(p["months"]), collectors=n, **slice_kw)

    def capacity_headline(p: dict) -> dict:
        t = capacity_result(p)["plan"].row(-1, named=True)
        return {ui.tr("预期回滚余额", "Expected cured balance"): ui.fmt_money(t["cured_balance_scenario"]),
                ui.tr("预期回收金额", "Expected recovered"): ui.fmt_money(t["recovered_balance_scenario"])}

    plan = capacity_result(cap_params)["plan"]
    if plan.height:
        t = plan.row(-1, named=True)
        c = st.columns(2)
        ui.kpi(c[0], ui.tr("预期回滚余额（月，情景）", "Expected cured balance (month, scenario)"), t["cured_balance_scenario"],
               kind="money", change=t["cured_balance_diff"])
        ui.kpi(c[1], ui.tr("预期回收金额（月，情景）", "Expected recovered (month, scenario)"),
               t["recovered_balance_scenario"], kind="money", change=t["recovered_balance_diff"])
        ui.show_table(plan, "sc_cap_table", name="scenario_capacity",
                      money=tuple(cols_of(("cured_balance", "recovered_balance"))))
        st.markdown(ui.tr("**观察到的催收与回滚关系**", "**Observed relation between collection and cure**"))
        ui.show_table(obs.drop("entry_bucket"), "sc_cap_observed", name="scenario_capacity_observed", money=("mean_balance",),
                      pct=("cure_worked", "cure_unworked", "recovery_worked", "recovery_unworked"))
    else:
        ui.empty_notice()
    saved_box("capacity", cap_params, capacity_headline)

# --- 6. disposal of secured NPLs ---------------------------------------------------------------------------------
with tabs[5]:
    defaults = sc_disp.Assumptions()
    fields = (("haircut", "拍卖折价率 (%)", "Auction haircut (%)", 100), ("cost_share", "处置费用率 (%)", "Costs (%)", 100),
              ("auction_months", "拍卖回款月数", "Months to the sale", 1),
              ("restructure_months", "重组观察月数", "Restructuring months", 1),
              ("cure_default", "重组成功率假设 (%)", "Assumed cure rate (%)", 100),
              ("transfer_price", "转让价格 (% 本金)", "Transfer price (% of claim)", 100),
              ("discount_rate", "年折现率 (%)", "Annual discount rate (%)", 100))
    cols = st.columns(4)
    disp_params: dict = {}
    for i, (name, zh, en, scale) in enumerate(fields):
        st.session_state.setdefault(f"sc_disposal_{name}", float(getattr(defaults, name) * scale))
        disp_params[name] = cols[i % 4].number_input(ui.tr(zh, en), 0.0, 600.0, step=1.0, key=f"sc_disposal_{name}")

    def assumptions_of(p: dict) -> sc_disp.Assumptions:
        return sc_disp.Assumptions(**{n: (int(p[n]) if scale == 1 else float(p[n]) / scale)
                                      for n, _, _, scale in fields})

    secured = app_data.run(sc_disp.secured_npls, month=f.month, **slice_kw)  # read once per slice
    seen_cure = app_data.run(sc_disp.observed_cure, month=f.month, **slice_kw)

    def disposal_result(p: dict):
        return sc_disp.evaluate(secured, seen_cure, assumptions_of(p))  # a change re-evaluates only

    def disposal_headline(p: dict) -> dict:
        best = disposal_result(p)["totals"].filter(route="best")
        return {ui.tr("逐笔最优回收现值", "Best-route recovery (PV)"):
                ui.fmt_money(best["pv_scenario"][0] if best.height else None)}

    out = disposal_result(disp_params)
    if out["loans"].height:
        best = out["totals"].filter(route="best").row(0, named=True)
        c = st.columns(3)
        ui.kpi(c[0], ui.tr("抵押/质押不良余额", "Secured NPL balance"), best["total_balance"], kind="money")
        ui.kpi(c[1], ui.tr("逐笔最优回收现值（情景）", "Best-route recovery PV (scenario)"), best["pv_scenario"], kind="money",
               change=best["pv_diff"])
        ui.kpi(c[2], ui.tr("回收率（情景）", "Recovery rate (scenario)"), best["recovery_rate_scenario"], kind="pct",
               change=best["recovery_rate_diff"])
        ui.show_table(ui.with_code_labels(out["totals"], {"route": "scenario_route"}), "sc_disp_totals",
                      name="scenario_disposal_totals", money=(*cols_of(("pv",)), "total_balance"),
                      pct=tuple(cols_of(("recovery_rate",))))
        ui.show_table(ui.with_code_labels(out["cure"]), "sc_disp_cure", name="scenario_disposal_cure",
                      pct=("cure_probability",))
        st.markdown(ui.tr("**逐笔测算（情景假设）**", "**Per loan (scenario assumptions)**"))
        ui.show_table(ui.with_code_labels(out["loans"], {"best_route": "scenario_route"}), "sc_disp_loans",
                      name="scenario_disposal_loans",
                      money=("balance", "collateral_value", "auction_proceeds", "pv_transfer", "pv_auction",
                             "pv_restructure", "pv_best"))
    else:
        st.info(ui.tr("当前筛选下没有抵押或质押的不良贷款。", "No secured (mortgage or pledge) NPL in this slice."))
    saved_box("disposal", disp_params, disposal_headline)

ui.definition(
    "- **基准**：与其他页面相同的数字（总览、五级分类、账龄、滚动率、预警、清收页面的同一口径与同一筛选）。"
    "**差异** = 情景 − 基准。\n"
    "- **拨备**：按五级分类余额 × 比例（2002 人民银行参考比例、2012 财政部风险系数或自定义），或 ECL = PD × LGD × EAD"
    "（阶段3：逾期 > 90 天或不良，PD = 1；阶段2：逾期 > 30 天或关注，存续期 PD = 1 − (1 − PD12)^(剩余月数/12)；"
    "阶段1：模型 12 个月 PD；LGD 按担保方式，示例值）。拨备覆盖率 = 拨备 ÷ 不良余额，监管区间 120%–150%；"
    "拨贷比 = 拨备 ÷ 贷款余额，区间 1.5%–2.5%。保存为全站方案后，总览、五级分类与管理层页面均使用该比例。\n"
    "- **分类口径**：逾期超过 N 天（或某产品的更严天数）且账面分类优于次级的贷款视为不良，重算不良余额、不良率、偏离度与拨备。\n"
    "- **迁徙预测**：以近若干月合并的余额迁徙矩阵（滚动率页同一口径）逐月推算各账龄段余额；杠杆：回滚率 + x 个百分点"
    "（从同档及更差档按比例扣减）、M0→M1 降低 y%、M7+ 每月核销比例、每月新增投放（计入 M0）。"
    "不良 = 起点不良 + (预测逾期90天+ − 起点逾期90天+)。不模拟在档贷款的正常摊还。回测：从过去各月出发预测 3 个月，与实际比较。\n"
    "- **预警阈值**：以规则表回测（仅规则信号）：预警笔数、精确率（预警后 H 个月内逾期超过 90 天的比例）、召回率、提前期中位数、"
    "人均日案件 = 月均预警 ÷ 团队人数 ÷ 21.75 个工作日。\n"
    "- **催收产能**：按入催账龄段，已催收与未催收案件的回滚率、回收率（观察值，非因果）；人数 × 人均案件 = 可催收案件。\n"
    "- **抵押不良处置**（示例假设，可改）：抵押/质押的不良贷款逐笔比较三种方式的回收现值：拍卖 = 押品现值 × (1 − 折价率 − 费用率)，"
    "不超过本金，按回款月数折现；重组 = 成功率 × 本金（重组期后）+ (1 − 成功率) × 拍卖回收（重组期 + 拍卖期后）；"
    "成功率取历史上重组不良 12 个月内回到正常/关注且未逾期的比例（样本 ≥ 30 笔，否则用假设值）；转让 = 价格 × 本金（即时）。"
    "基准 = 默认假设。",
    "- **Baseline**: the numbers of the other pages (same definitions, same filters). **Difference** = scenario − "
    "baseline.\n"
    "- **Provisioning**: class balance × rate (2002 PBOC, 2012 MoF or custom), or ECL = PD × LGD × EAD (stage 3: DPD > "
    "90 or NPL, PD = 1; stage 2: DPD > 30 or special mention, lifetime PD = 1 − (1 − PD12)^(remaining months / 12); "
    "stage 1: the model's 12-month PD; LGD by guarantee type, illustrative). Coverage = provision / NPL, band "
    "120%–150%; provision ratio = provision / total loans, band 1.5%–2.5%. Once saved app-wide, the overview, "
    "classification and executive pages use the same rates.\n"
    "- **Classification**: loans over N days past due (or a stricter N for one product) and booked better than "
    "substandard count as NPL; NPL balance, ratio, 偏离度 and provisions recomputed.\n"
    "- **Projection**: bucket balances moved month by month with the balance transition matrix pooled over the window "
    "(the roll-rate page's definition); levers: cure +x pp (taken proportionally from the same and worse buckets), "
    "current → M1 −y%, share of M7+ written off per month, new lending per month (into M0). NPL = start NPL + "
    "(projected 90+ − start 90+). Amortisation within a bucket is not modelled. Backtest: 3 months projected from past "
    "months against the actual figures.\n"
    "- **Early-warning thresholds**: rule-table backtest (rule signals only): flagged, precision (share reaching DPD > "
    "90 within H months), recall, median lead time, cases per collector per day = flagged per month / team / 21.75.\n"
    "- **Collection capacity**: per entry bucket, cure and recovery rates of worked and unworked cases (observed, "
    "not causal); collectors × cases per collector = cases that can be worked.\n"
    "- **Secured NPL disposal** (illustrative, editable assumptions): per mortgage / pledge NPL, the present value of "
    "auction = collateral × (1 − haircut − costs), capped at the claim, discounted over the months to the sale; "
    "restructuring = cure rate × claim (after the restructuring months) + (1 − cure rate) × auction proceeds (after "
    "both periods); the cure rate is the observed share of restructured NPLs back to pass / special mention with DPD 0 "
    "within 12 months (with ≥ 30 cases, else the assumption); transfer = price × claim, now. Baseline = the default "
    "assumptions.",
)
