"""违约风险模型 / Default-risk model: model card, out-of-time metrics of the main model and the scorecard,
calibration, lift, PSI/CSI monitoring, permutation importance, PD by branch, and a loan lookup with reasons."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

import app_data
import ui
from analytics.model import artifact, features, scoring

ui.require_data()
f = ui.filters()

st.title(ui.tr("违约风险模型", "Default-risk model"))

MODEL_NAMES = {"model": ("梯度提升树（已校准）", "Gradient boosting (calibrated)"),
               "model_uncalibrated": ("梯度提升树（未校准）", "Gradient boosting (uncalibrated)"),
               "scorecard": ("评分卡（逻辑回归基准）", "Scorecard (logistic baseline)")}
REFUSED = {
    "missing": ("当前数据还没有训练过模型。", "No model has been trained on this data yet."),
    "sklearn_version": ("已有模型由另一版本的 scikit-learn 训练，不能使用，请重新训练。",
                        "The model on file was trained with another scikit-learn version and is refused: retrain it."),
    "contract": ("已有模型对应另一版数据契约（表结构或特征定义已变），不能使用，请重新训练。",
                 "The model on file was fitted for another data contract (tables or feature definitions changed) "
                 "and is refused: retrain it."),
    "untrusted": ("模型文件包含未经审核的类型，已拒绝加载。", "The model file holds types that were not reviewed: refused."),
}


def feature_label(code: str | None) -> str:
    if code is None:
        return ""
    return ui.tr(*features.LABELS.get(code, (code, code))) if code != "pd" else ui.tr("PD（模型分数）", "PD (score)")


def model_label(code: str) -> str:
    return ui.tr(*MODEL_NAMES.get(code, (code, code)))


def train_controls(text_zh: str, text_en: str, key: str) -> None:
    c1, c2, c3 = st.columns([1, 1, 2])
    horizon = c1.number_input(ui.tr("表现期 H（月）", "Horizon H (months)"), 1, 36, features.HORIZON,
                              key=f"{key}_horizon")
    history = c2.number_input(ui.tr("观察月所需历史（月）", "History an observation needs (months)"), 1, 24,
                              features.LOOKBACK, key=f"{key}_history")
    if c3.button(ui.tr(text_zh, text_en), key=key):
        with st.spinner(ui.tr("正在训练并做样本外验证……", "Training and validating out of time…")):
            try:
                app_data.train_model(horizon=int(horizon), history=int(history))
            except ValueError as exc:
                st.error(ui.tr("无法训练：", "Cannot train: ") + str(exc))
                return
        st.rerun()


try:
    model = app_data.model()
except artifact.ArtifactError as exc:
    (st.info if exc.reason == "missing" else st.error)(ui.tr(*REFUSED[exc.reason]))
    if exc.reason != "missing":
        st.caption(str(exc))
    st.write(ui.tr("可在此用当前数据训练（演示数据约需半分钟），或在命令行运行 `python -m analytics.model train`。",
                   "Train on the current data here (about half a minute on the demo book), or run "
                   "`python -m analytics.model train` on the command line."))
    train_controls("在当前数据上训练模型", "Train on the current data", "model_train")
    st.stop()

card = scoring.model_card(model)
if card["data_version"] != app_data.version():
    st.warning(ui.tr("数据在模型训练后已变化：下方的验证与监测仍是训练时的结果；请运行 `python -m analytics.model evaluate` 或重新训练。",
                     "The data changed after this model was trained: the validation and monitoring below are as of "
                     "training; run `python -m analytics.model evaluate` or retrain."))

# --- model card ----------------------------------------------------------------------------------------------
st.subheader(ui.tr("模型卡", "Model card"))
windows = card["windows"]
sample_zh = "全部借据（未抽样）" if card["sample_per_mille"] >= 1000 else f"按借据号哈希抽样 {card['sample_per_mille']}‰"
sample_en = ("all loans (no sampling)" if card["sample_per_mille"] >= 1000
             else f"{card['sample_per_mille']}‰ of the loans sampled by a hash of their id")
c1, c2, c3, c4 = st.columns(4)
c1.metric(ui.tr("样本外 AUC", "Out-of-time AUC"), f"{card['metrics']['model']['auc']:.3f}")
c2.metric("KS", f"{card['metrics']['model']['ks']:.3f}")
c3.metric("Brier", f"{card['metrics']['model']['brier']:.4f}")
c4.metric(ui.tr("表现期", "Horizon"), ui.tr(f"{card['horizon']} 个月", f"{card['horizon']} months"))
st.markdown(ui.tr(
    f"- **目标**：观察月后 {card['horizon']} 个月内逾期超过 {card['default_dpd']} 天，或被核销、转让、以物抵债。\n"
    f"- **窗口（观察月）**：训练 {windows['train'][0]} 至 {windows['train'][1]}；校准 {windows['calibration'][0]} 至 "
    f"{windows['calibration'][1]}；样本外测试 {windows['test'][0]} 至 {windows['test'][1]}。\n"
    f"- **样本**：训练 {card['rows']['train']['n']:,} 条（违约 {card['rows']['train']['bads']:,}），测试 "
    f"{card['rows']['test']['n']:,} 条；{sample_zh}。\n"
    f"- **特征**：{len(card['features'])} 个（{'、'.join(feature_label(c) for c in card['features'])}）；"
    f"单调约束：{'、'.join(feature_label(c) for c in card['increasing'])}。\n"
    f"- **版本**：模型 {card['version']}，数据版本 {card['data_version']}，数据契约 {card['contract']}，"
    f"scikit-learn {card['versions']['scikit-learn']}，{card['trees']} 棵树。",
    f"- **Target**: within {card['horizon']} months after the observation month, DPD above {card['default_dpd']} "
    f"or written off, transferred or foreclosed.\n"
    f"- **Windows (observation months)**: train {windows['train'][0]} to {windows['train'][1]}; calibration "
    f"{windows['calibration'][0]} to {windows['calibration'][1]}; out-of-time test {windows['test'][0]} to "
    f"{windows['test'][1]}.\n"
    f"- **Rows**: train {card['rows']['train']['n']:,} ({card['rows']['train']['bads']:,} defaults), test "
    f"{card['rows']['test']['n']:,}; {sample_en}.\n"
    f"- **Features**: {len(card['features'])} ({', '.join(feature_label(c) for c in card['features'])}); "
    f"monotonic: {', '.join(feature_label(c) for c in card['increasing'])}.\n"
    f"- **Versions**: model {card['version']}, data version {card['data_version']}, contract {card['contract']}, "
    f"scikit-learn {card['versions']['scikit-learn']}, {card['trees']} trees."))
with st.expander(ui.tr("排除规则与局限", "Exclusions and limits")):
    st.markdown("\n".join(f"- {ui.tr(zh, en)}" for zh, en in card["exclusions"] + card["limits"]))

st.subheader(ui.tr("样本外验证指标", "Out-of-time validation"))
metrics = scoring.metrics_table(model)
ui.show_table(metrics.with_columns(metrics["model"].replace_strict({k: model_label(k) for k in MODEL_NAMES})),
              "model_metrics", name="model_oot_metrics", pct=("bad_rate", "mean_pd"),
              headers={"model": ui.tr("模型", "Model"), "n": ui.tr("样本数", "Rows"), "bads": ui.tr("违约数", "Defaults"),
                       "bad_rate": ui.tr("实际违约率", "Observed rate"), "mean_pd": ui.tr("平均预测 PD", "Mean PD"),
                       "auc": "AUC", "gini": "Gini", "ks": "KS", "brier": "Brier"})

# --- calibration and lift ------------------------------------------------------------------------------------
c1, c2 = st.columns(2)
with c1:
    fig = go.Figure()
    top = 0.0
    for name in ("model", "scorecard"):
        cal = scoring.report_frame(model, "calibration", name)
        fig.add_scatter(x=[v * 100 for v in cal["mean_pd"]], y=[v * 100 for v in cal["observed_rate"]],
                        mode="lines+markers", name=model_label(name))
        top = max(top, max(cal["mean_pd"]), max(cal["observed_rate"]))
    fig.add_scatter(x=[0, top * 100], y=[0, top * 100], mode="lines", name=ui.tr("完全校准", "Perfect calibration"),
                    line={"dash": "dot", "color": "grey"})
    fig.update_layout(title=ui.tr("校准：按 PD 十分位，预测 vs 实际", "Calibration by PD decile: predicted vs observed"))
    fig.update_xaxes(title_text=ui.tr("平均预测 PD（%）", "Mean predicted PD (%)"))
    fig.update_yaxes(title_text=ui.tr("实际违约率（%）", "Observed default rate (%)"))
    ui.chart(fig, "model_calibration")
with c2:
    imp = scoring.report_frame(model, "importance")
    bars = go.Figure(go.Bar(x=imp["importance"].to_list()[::-1], y=[feature_label(c) for c in imp["feature"]][::-1],
                            orientation="h", error_x={"array": imp["std"].to_list()[::-1]}))
    bars.update_layout(title=ui.tr("置换重要性（打乱该特征后 AUC 的下降）", "Permutation importance (drop in AUC)"),
                       height=520)
    bars.update_xaxes(title_text=ui.tr("AUC 下降", "Drop in AUC"))
    ui.chart(bars, "model_importance")

which = st.radio(ui.tr("模型", "Model"), ["model", "scorecard"], key="model_which", horizontal=True,
                 format_func=model_label)
st.markdown(ui.tr("**提升与捕获表**（按 PD 由高到低十等分，第 1 组风险最高）",
                  "**Lift and capture** (PD deciles, riskiest first)"))
ui.show_table(scoring.report_frame(model, "lift", which), "model_lift", name=f"lift_{which}",
              pct=("bad_rate", "capture", "min_pd", "max_pd"),
              headers={"bin": ui.tr("十分位", "Decile"), "n": ui.tr("笔数", "Loans"), "bads": ui.tr("违约数", "Defaults"),
                       "bad_rate": ui.tr("违约率", "Default rate"), "lift": ui.tr("提升度", "Lift"),
                       "cum_bads": ui.tr("累计违约", "Cumulative defaults"), "capture": ui.tr("累计捕获率", "Capture"),
                       "cum_lift": ui.tr("累计提升度", "Cumulative lift"), "min_pd": ui.tr("最低 PD", "Min PD"),
                       "max_pd": ui.tr("最高 PD", "Max PD")})
group = st.radio(ui.tr("分组验证", "Validation by"), ["branch_id", "product"], key="model_group", horizontal=True,
                 format_func=lambda g: ui.tr("机构", "Branch") if g == "branch_id" else ui.tr("产品", "Product"))
by_group = scoring.group_table(model, which=which, group=group)
if group == "product":
    by_group = by_group.with_columns(by_group["product"].replace_strict(
        {p: ui.label("product", p) for p in by_group["product"].to_list()}))
ui.show_table(by_group, "model_by_group", name=f"validation_by_{group}", pct=("bad_rate", "mean_pd"),
              headers={"branch_id": ui.tr("机构", "Branch"), "product": ui.tr("产品", "Product"),
                       "n": ui.tr("样本数", "Rows"), "bads": ui.tr("违约数", "Defaults"),
                       "bad_rate": ui.tr("实际违约率", "Observed rate"), "mean_pd": ui.tr("平均预测 PD", "Mean PD"),
                       "auc": "AUC", "gini": "Gini", "ks": "KS", "brier": "Brier"})

if "calibration_by" in model.report:
    with st.expander(ui.tr("分组校准（每组内按 PD 十分位）", "Calibration within each group (PD deciles)")):
        cal_by = scoring.report_frame(model, "calibration_by", which, group)
        ui.show_table(cal_by, "model_cal_by", name=f"calibration_by_{group}", pct=("mean_pd", "observed_rate"),
                      headers={"branch_id": ui.tr("机构", "Branch"), "product": ui.tr("产品", "Product"),
                               "bin": ui.tr("十分位", "Decile"), "n": ui.tr("笔数", "Loans"),
                               "mean_pd": ui.tr("平均预测 PD", "Mean PD"),
                               "observed_rate": ui.tr("实际违约率", "Observed rate")})

# --- monitoring ------------------------------------------------------------------------------------------------
st.subheader(ui.tr("稳定性监测（PSI / CSI，相对训练窗口）", "Stability monitoring (PSI / CSI vs the training window)"))
stab = scoring.stability_table(model)
evaluation = model.latest_evaluation()
if evaluation:
    st.caption(ui.tr(f"来自最近一次评估（{evaluation['file']}，python -m analytics.model evaluate）。",
                     f"From the latest evaluation ({evaluation['file']}, python -m analytics.model evaluate)."))
else:
    st.caption(ui.tr("训练时计算；新增月份后运行 `python -m analytics.model evaluate` 更新。",
                     "As computed at training; run `python -m analytics.model evaluate` after new months arrive."))
psi = stab.filter(stab["variable"] == "pd")
fig = go.Figure(go.Scatter(x=psi["month"].to_list(), y=psi["psi"].to_list(), mode="lines+markers", name="PSI"))
for level, color in ((0.1, "orange"), (0.25, "red")):
    fig.add_hline(y=level, line_dash="dot", line_color=color)
fig.update_layout(title=ui.tr("模型分数 PSI 按月（0.1 / 0.25 预警线）", "PSI of the score by month (0.1 / 0.25 lines)"))
fig.update_xaxes(title_text=ui.tr("月份", "Month"))
fig.update_yaxes(title_text="PSI")
ui.chart(fig, "model_psi")
variables = [v for v in card["features"] if v in set(stab["variable"].to_list())]
chosen = st.multiselect(ui.tr("CSI 特征", "CSI features"), variables, default=variables, key="model_csi_vars",
                        format_func=feature_label)
wide = scoring.stability_wide(model, tuple(chosen))
if wide.width > 1:
    heat = go.Figure(go.Heatmap(z=[list(r) for r in zip(*[wide[c].to_list() for c in wide.columns[1:]], strict=True)],
                                x=[feature_label(c) for c in wide.columns[1:]], y=wide["month"].to_list(),
                                colorscale="OrRd", zmin=0, zmax=0.25, colorbar={"title": {"text": "CSI"}}))
    heat.update_layout(title=ui.tr("特征 CSI 按月", "CSI of each feature by month"), height=520)
    ui.chart(heat, "model_csi")
else:
    ui.empty_notice()

# --- the book at the as-of month ---------------------------------------------------------------------------------
st.subheader(ui.tr(f"{ui.month_label(f.month)} 在账贷款的 PD", f"PD of the loans on book, {ui.month_label(f.month)}"))
expected, bands = app_data.run_book(scoring.book_frames, month=f.month, branches=f.branches,
                                    products=f.products)
if bands.is_empty():
    ui.empty_notice()
else:
    basis = st.radio(ui.tr("口径", "Basis"), ["count", "balance"], key="model_basis", horizontal=True,
                     format_func=lambda b: ui.tr("笔数", "Count") if b == "count" else ui.tr("金额", "Balance"))
    measure = "loans" if basis == "count" else "balance"
    stacked = go.Figure()
    colors = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027")  # low to high risk
    for label, color in zip(scoring.band_labels(), colors, strict=True):
        part = bands.filter(bands["band_label"] == label)
        stacked.add_bar(x=part["branch_id"].to_list(), y=part[measure].to_list(), name=f"PD {label}",
                        marker_color=color)
    stacked.update_layout(barmode="stack", barnorm="percent",
                          title=ui.tr("各机构 PD 分布（占比）", "PD distribution by branch (share)"))
    stacked.update_xaxes(title_text=ui.tr("机构", "Branch"))
    stacked.update_yaxes(title_text=ui.tr("占比（%）", "Share (%)"))
    ui.chart(stacked, "model_pd_bands")
    ui.show_table(expected, "model_expected", name=f"expected_defaults_{ui.month_label(f.month)}",
                  money=("balance", "expected_defaults_balance", "in_default_balance"),
                  pct=("expected_default_share_count", "expected_default_share_balance"),
                  headers={"branch_id": ui.tr("机构", "Branch"), "loans": ui.tr("评分借据数", "Loans scored"),
                           "balance": ui.tr("余额(元)", "Balance (CNY)"),
                           "expected_defaults_count": ui.tr("预期违约笔数", "Expected defaults (loans)"),
                           "expected_defaults_balance": ui.tr("预期违约余额(元)", "Expected defaults (CNY)"),
                           "expected_default_share_count": ui.tr("预期违约占比(笔数)", "Expected default share (count)"),
                           "expected_default_share_balance": ui.tr("预期违约占比(金额)",
                                                                   "Expected default share (balance)"),
                           "in_default_count": ui.tr("已违约笔数(未评分)", "Already in default (not scored)"),
                           "in_default_balance": ui.tr("已违约余额(元)", "Already in default (CNY)")})

st.markdown(ui.tr("**借据查询**：输入借据号查看 PD 与主要原因", "**Loan lookup**: a loan id's PD and top reasons"))
loan_id = st.text_input(ui.tr("借据号", "Loan id"), key="model_loan").strip()
if loan_id:
    found = app_data.run_model(scoring.pd_for_loans, month=f.month, loan_ids=(loan_id,))
    if found.is_empty():
        st.info(ui.tr(f"{loan_id} 在 {ui.month_label(f.month)} 不在账、已退出或已违约（逾期 > 90 天），没有 PD。",
                      f"{loan_id} is not on the book at {ui.month_label(f.month)}, has exited or is already in default "
                      "(DPD > 90): no PD."))
    else:
        row = found.row(0, named=True)
        d1, d2, d3 = st.columns(3)
        d1.metric("PD", ui.fmt_pct(row["pd"]))
        d2.metric(ui.tr("评分卡分数", "Scorecard points"), f"{row['score']:.0f}")
        d3.metric(ui.tr("当前逾期天数", "DPD now"), f"{row['dpd']:.0f}")
        why = [feature_label(row[f"reason_{i}"]) for i in range(1, scoring.TOP_REASONS + 1) if row[f"reason_{i}"]]
        st.write(ui.tr("主要原因：", "Top reasons: ") + ("、".join(why) if ui.lang() == "zh" else ", ".join(why))
                 if why else ui.tr("没有特征使风险高于中性水平。", "No feature raises the risk above the neutral level."))

with st.expander(ui.tr("评分卡分值表（基准模型）", "Scorecard points (baseline)")):
    st.write(ui.tr(f"基础分 {model.report['scorecard']['base_points']:.1f}；600 分对应好坏比 50:1，每 20 分好坏比翻倍。",
                   f"Base points {model.report['scorecard']['base_points']:.1f}; 600 points at good:bad odds of 50:1, "
                   "20 points to double the odds."))
    points = scoring.report_frame(model, "scorecard", "points")
    ui.show_table(points.with_columns(points["feature"].replace_strict(
        {c: feature_label(c) for c in points["feature"].unique().to_list()})), "model_points", name="scorecard_points",
        headers={"feature": ui.tr("特征", "Feature"), "bin": ui.tr("分箱", "Bin"), "points": ui.tr("分值", "Points")})

with st.expander(ui.tr("重新训练", "Retrain")):
    train_controls("用当前数据重新训练", "Retrain on the current data", "model_retrain")

ui.definition(
    "- **违约（目标）**：观察月 t 之后 H 个月内（默认 12）逾期超过 90 天，或核销、转让、以物抵债；与不良 / 90 天以上逾期口径一致。\n"
    "- **样本**：观察月在账（正常存续）且未违约（逾期 ≤ 90 天）的借据；已违约、已退出的不评分；结清视为未违约。\n"
    "- **特征**：只用观察月及以前的快照（近 3/6/12 月最大逾期天数、12 月内逾期 30 天以上次数、距上次逾期月数、余额与还款变化、"
    "实还/应还、账龄、押品现值 LTV、重组）和放款时的借据属性（产品、担保、机构、年龄、收入、内部评级）。\n"
    "- **样本外验证**：按观察月分为训练、校准、测试三个连续窗口；所有指标在最晚的测试窗口计算。"
    "AUC；Gini = 2·AUC − 1；KS = max(TPR − FPR)；Brier = mean((p − y)²)。\n"
    "- **校准**：梯度提升树训练后冻结，在校准窗口上用保序回归（isotonic）把分数映射为 PD。\n"
    "- **PSI / CSI**：Σ (A − E)·ln(A ÷ E)，分箱取训练窗口的十分位（类别特征每类一箱，缺失一箱），零占比以 0.0001 代替；"
    "< 0.1 稳定，0.1–0.25 需关注，> 0.25 显著偏移。\n"
    "- **预期违约占比**：Σ PD ÷ 评分借据数（笔数），Σ PD × 余额 ÷ 余额（金额）；已违约借据单列，不计入。\n"
    "- **主要原因**：把某个特征换成中性值（训练中位数或最常见类别）后模型对数几率下降最多的特征（假设分析，非 SHAP）。\n"
    "- 演示数据为模拟账簿，指标不代表真实银行的表现。",
    "- **Default (target)**: within H months after the observation month t (12 by default), DPD above 90, or "
    "written off, transferred or foreclosed; consistent with NPL / 90+ DPD.\n"
    "- **Population**: loans active and not in default (DPD ≤ 90) at the observation month; loans in default or "
    "exited are not scored; paying off counts as not defaulting.\n"
    "- **Features**: snapshots at or before the observation month only (max DPD over 3/6/12 months, months at "
    "30+ in 12, months since last overdue, balance and payment changes, paid ÷ due, months on book, LTV on the "
    "current collateral value, restructured) and origination attributes (product, guarantee, branch, age, "
    "income, internal rating).\n"
    "- **Out-of-time validation**: observation months cut into consecutive train, calibration and test "
    "windows; every metric is computed on the latest, the test window. AUC; Gini = 2·AUC − 1; KS = "
    "max(TPR − FPR); Brier = mean((p − y)²).\n"
    "- **Calibration**: the fitted trees are frozen and an isotonic map from score to PD is learned on the "
    "calibration window.\n"
    "- **PSI / CSI**: Σ (A − E)·ln(A ÷ E) over the training window's deciles (one bin per category, one for "
    "missing), zero shares replaced by 0.0001; < 0.1 stable, 0.1–0.25 investigate, > 0.25 major shift.\n"
    "- **Expected default share**: Σ PD ÷ loans scored (count), Σ PD × balance ÷ balance (balance); loans "
    "already in default are shown apart.\n"
    "- **Top reasons**: the features whose replacement by a neutral value (training median or commonest "
    "category) lowers the model's log-odds most (a what-if, not SHAP).\n"
    "- The demo book is simulated: the metrics do not stand for a real bank's book.",
)
