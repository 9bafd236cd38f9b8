"""AppTests of the default-risk model page (违约风险模型) through app.py, on copies of the demo store."""

from __future__ import annotations

import json
import shutil

import pytest

from analytics.core import store
from analytics.model import artifact, cli, scoring

PAGE = "pages/model.py"
CHARTS = ("model_calibration", "model_importance", "model_psi", "model_csi", "model_pd_bands")


@pytest.fixture()
def fresh_store(demo_root, tmp_path, monkeypatch):
    """A copy of the demo store without a model, OVERDUE_DATA_DIR pointed at it."""
    root = tmp_path / "data"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns(artifact.MODELS))
    monkeypatch.setenv(store.DATA_ENV, str(root))
    return root


@pytest.fixture(scope="module")
def trained_copy(tmp_path_factory, demo_root):
    """A copy of the demo store with a model trained on it (15 months: 3-month history and horizon)."""
    root = tmp_path_factory.mktemp("model_page") / "data"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns(artifact.MODELS))
    assert cli.main(["train", "--data", str(root), "--horizon", "3", "--history", "3", "--max-iter", "40"]) == 0
    return root


@pytest.fixture()
def with_model(trained_copy, monkeypatch):
    monkeypatch.setenv(store.DATA_ENV, str(trained_copy))
    return trained_copy


def _chart(at, key: str) -> dict:
    charts = at.get("plotly_chart")
    return json.loads(charts[CHARTS.index(key)].proto.spec)


def test_renders_card_metrics_charts_zh(app_test, with_model):
    at = app_test(PAGE)
    assert not at.exception
    assert at.title[0].value == "违约风险模型"
    assert len(at.get("plotly_chart")) == len(CHARTS)
    model = artifact.load_latest(with_model)
    auc = model.report["metrics"]["model"]["auc"]
    assert at.metric[0].label == "样本外 AUC" and at.metric[0].value == f"{auc:.3f}"
    metrics = at.dataframe[0].value
    assert list(metrics["模型"]) == ["梯度提升树（已校准）", "梯度提升树（未校准）", "评分卡（逻辑回归基准）"]
    assert metrics["KS"].iloc[0] == pytest.approx(model.report["metrics"]["model"]["ks"])
    cal = _chart(at, "model_calibration")
    assert cal["layout"]["xaxis"]["title"]["text"] == "平均预测 PD（%）" and len(cal["data"]) == 3
    assert _chart(at, "model_psi")["layout"]["yaxis"]["title"]["text"] == "PSI"
    assert _chart(at, "model_pd_bands")["layout"]["barmode"] == "stack"


def test_every_widget(app_test, with_model):
    at = app_test(PAGE)
    lift_before = at.dataframe[1].value
    at.radio(key="model_which").set_value("scorecard").run()
    assert not at.exception
    assert not at.dataframe[1].value.equals(lift_before)
    at.radio(key="model_group").set_value("product").run()
    assert not at.exception and "产品" in at.dataframe[2].value.columns
    at.multiselect(key="model_csi_vars").set_value(["dpd", "ltv"]).run()
    assert not at.exception
    assert len(_chart(at, "model_csi")["data"][0]["x"]) == 2
    at.multiselect(key="model_csi_vars").set_value([]).run()
    assert not at.exception and len(at.get("plotly_chart")) == len(CHARTS) - 1
    at.radio(key="model_basis").set_value("balance").run()
    assert not at.exception

    con = store.connect(with_model)
    month = store.months(con)[-1]
    book = scoring.score_month(con, month=month, model=artifact.load_latest(with_model))
    con.close()
    risky = book.sort("pd", descending=True)["loan_id"][0]
    at.text_input(key="model_loan").input(risky).run()
    assert not at.exception
    assert any(m.label == "PD" for m in at.metric)
    assert any("主要原因" in md.value for md in at.markdown)
    at.text_input(key="model_loan").input("NO-SUCH-LOAN").run()
    assert not at.exception and any("没有 PD" in i.value for i in at.info)
    at.number_input(key="model_retrain_horizon").set_value(3).run()
    at.number_input(key="model_retrain_history").set_value(3).run()
    assert not at.exception
    before = sorted(artifact.models_dir(with_model).iterdir())
    at.button(key="model_retrain").click().run()  # a new artifact folder (versions are timestamps)
    assert not at.exception
    after = sorted(artifact.models_dir(with_model).iterdir())
    assert len(after) == len(before) + 1 and artifact.read_meta(after[-1])["report"]["card"]["history"] == 3


def test_english(app_test, with_model):
    at = app_test(PAGE)
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Default-risk model"
    assert at.metric[0].label == "Out-of-time AUC"
    assert list(at.dataframe[0].value["Model"])[2] == "Scorecard (logistic baseline)"
    assert _chart(at, "model_calibration")["layout"]["yaxis"]["title"]["text"] == "Observed default rate (%)"
    assert at.button(key="model_retrain").label == "Retrain on the current data"


def test_without_a_model_trains_from_the_page(app_test, fresh_store):
    at = app_test(PAGE)
    assert not at.exception
    assert at.info[0].value == "当前数据还没有训练过模型。"
    at.number_input(key="model_train_horizon").set_value(3).run()
    at.number_input(key="model_train_history").set_value(3).run()
    at.button(key="model_train").click().run()
    assert not at.exception
    assert artifact.latest(artifact.models_dir(fresh_store)) is not None
    assert at.title[0].value == "违约风险模型" and at.metric[0].label == "样本外 AUC"


def test_training_error_is_shown(app_test, fresh_store):
    at = app_test(PAGE)
    at.button(key="model_train").click().run()  # 12 + 12 months needed, the demo store has 15
    assert not at.exception
    assert at.error[0].value.startswith("无法训练")


def test_refuses_another_sklearn_version(app_test, fresh_store, trained_copy):
    old = artifact.models_dir(fresh_store) / "20000101T000000"
    shutil.copytree(artifact.latest(artifact.models_dir(trained_copy)), old)
    meta = json.loads((old / artifact.META_FILE).read_text())
    meta["versions"]["scikit-learn"] = "1.0.0"
    (old / artifact.META_FILE).write_text(json.dumps(meta))
    at = app_test(PAGE)
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert "another scikit-learn version" in at.error[0].value
    assert at.button(key="model_train").label == "Train on the current data"


def test_warns_when_the_data_changed_after_training(app_test, fresh_store, trained_copy):
    # The copied artifact was trained on another store folder: its data version is not this store's.
    shutil.copytree(artifact.latest(artifact.models_dir(trained_copy)),
                    artifact.models_dir(fresh_store) / artifact.latest(artifact.models_dir(trained_copy)).name)
    at = app_test(PAGE)
    assert not at.exception
    assert "数据在模型训练后已变化" in at.warning[0].value
    assert at.metric[0].label == "样本外 AUC"


def test_scores_appear_on_the_drill_down_and_the_overview(app_test, with_model):
    at = app_test("pages/drilldown.py")
    table = next(d.value for d in at.dataframe if "借据号" in d.value.columns)
    assert "违约概率(PD)" in table.columns and table["违约概率(PD)"].notna().any()
    assert {"原因1", "原因2", "原因3"} <= set(table.columns)  # the top reasons, named
    scored = table[table["违约概率(PD)"].notna()]["借据号"].iloc[0]  # loans in default have no PD
    at.selectbox(key="dd_loan").set_value(scored).run()
    assert not at.exception
    assert any(c.value.startswith("最近 PD") for c in at.caption)
    at.switch_page("pages/overview.py").run()
    assert not at.exception
    keys = [json.loads(c.proto.spec)["layout"].get("barmode") for c in at.get("plotly_chart")]
    assert "group" in keys  # the expected-defaults-by-branch chart


def test_ecl_on_any_slice_reads_the_scored_book(app_test, with_model, monkeypatch):
    """The scenario page's ECL equals the direct computation, on the whole book and on a slice, and neither
    scores the book again: training kept the month's scores next to the model, a slice cuts them."""
    import formats
    from analytics.scenario import provisioning as sp

    con = store.connect(with_model)
    month = store.months(con)[-1]
    model = artifact.load_latest(with_model)
    assert scoring.scores_file(model, store.data_version(with_model), month).is_file()  # written by training
    whole = sp.compare_ecl(con, model=model, month=month).filter(branch="total").row(0, named=True)
    b01 = sp.compare_ecl(con, model=model, month=month, branches=("B01",)).filter(branch="total").row(0, named=True)
    con.close()
    assert whole["coverage_scenario"] != b01["coverage_scenario"]

    def no_scoring(*a, **k):
        raise AssertionError("the book was scored again")

    monkeypatch.setattr(scoring, "score_month", no_scoring)
    at = app_test("pages/scenarios.py")
    at.radio(key="sc_provisioning_mode").set_value("ecl").run()
    assert not at.exception, at.exception
    label = "拨备覆盖率（情景）"
    assert next(m.value for m in at.metric if m.label == label) == formats.pct(whole["coverage_scenario"])
    branches = at.sidebar.multiselect(key="f_branches")
    branches.set_value([o for o in branches.options if o.startswith("B01 ")]).run()
    assert not at.exception, at.exception
    assert next(m.value for m in at.metric if m.label == label) == formats.pct(b01["coverage_scenario"])
