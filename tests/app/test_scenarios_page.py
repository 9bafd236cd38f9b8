"""AppTests of the 情景分析 / Scenarios page, through app.py: every tab's widgets, save / load / compare, the
app-wide provisioning scheme, and baselines equal to the other pages."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.core import config, store
from analytics.metrics import portfolio
from analytics.metrics import provisioning as prov

PAGE = "pages/scenarios.py"


@pytest.fixture()
def asof(demo_root) -> dt.date:
    con = store.connect(demo_root)
    month = store.months(con)[-1]
    con.close()
    return month


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_renders_every_tab(app_test, lang):
    at = app_test(PAGE, lang=lang)
    assert not at.exception, at.exception
    assert len(at.tabs) == 6
    assert any("口径" in e.label or "Definitions" in e.label for e in at.expander)
    assert len(at.get("plotly_chart")) >= 2  # projection + trade-off curve
    labels = {m.label for m in at.metric}
    backtest = "逾期率平均绝对误差" if lang == "zh" else "Overdue ratio mean abs. error"
    assert backtest in labels  # the projection's backtest error is shown


def test_widgets_change_the_scenario(app_test):
    at = app_test(PAGE)
    before = _metrics(at)
    at.selectbox(key="sc_provisioning_preset").set_value("custom").run()
    for c in range(1, 6):
        at.number_input(key=f"sc_provisioning_rate{c}").set_value(100.0).run()
    assert not at.exception
    assert _metrics(at)["拨贷比（情景）"] == "100.00%"  # every class at 100%: provision = total loans
    at.number_input(key="sc_classification_npl_dpd").set_value(30).run()
    at.selectbox(key="sc_classification_product").set_value("credit_card").run()
    at.number_input(key="sc_projection_cure_pp").set_value(10.0).run()
    at.checkbox(key="sc_projection_writeoff").check().run()
    at.checkbox(key="sc_projection_by_branch").check().run()
    assert not at.exception, at.exception
    assert any("不良率超上限" in d.value.columns for d in at.dataframe)
    at.selectbox(key="sc_warning_level").set_value("orange").run()
    at.number_input(key="sc_warning_team").set_value(3).run()
    at.number_input(key="sc_capacity_n1").set_value(0.0).run()
    at.number_input(key="sc_disposal_transfer_price").set_value(95.0).run()
    assert not at.exception, at.exception
    after = _metrics(at)
    assert after["不良率（情景）"] != before["不良率（情景）"]  # NPL at 30 DPD adds loans
    # a transfer at 95% of the claim beats auction and restructuring for every loan
    assert after["回收率（情景）"] == "95.00%" and before["回收率（情景）"] != "95.00%"


def test_bad_rule_table_is_reported(app_test):
    at = app_test(PAGE)
    at.text_area(key="sc_warning_rules").set_value("{not json").run()
    assert not at.exception
    assert at.error


def test_save_load_and_compare(sparse_store, app_test):
    at = app_test(PAGE)
    at.number_input(key="sc_classification_npl_dpd").set_value(30).run()
    at.text_input(key="sc_classification_name").set_value("npl at 30").run()
    at.button(key="sc_classification_save").click().run()
    assert not at.exception
    at.number_input(key="sc_classification_npl_dpd").set_value(90).run()
    assert at.selectbox(key="sc_classification_pick").value == "npl at 30"
    compared = next(d.value for d in at.dataframe if "npl at 30" in d.value.columns)
    assert compared.shape[0] == 3  # NPL ratio, 偏离度, provision: current (90 DPD) vs saved (30 DPD)
    assert list(compared["当前"]) != list(compared["npl at 30"])
    at.button(key="sc_classification_load").click().run()
    assert at.number_input(key="sc_classification_npl_dpd").value == 30


def test_app_wide_scheme_reaches_every_page(sparse_store, app_test, asof):
    """Saved on the scenario page, the scheme gives the same coverage on the overview and classification pages."""
    root = sparse_store[0]
    at = app_test(PAGE)
    at.selectbox(key="sc_provisioning_preset").set_value("mof2012").run()
    at.button(key="sc_prov_apply").click().run()
    assert not at.exception
    assert config.load(root, prov.SCHEME_CONFIG, {})[1] == {"preset": "mof2012"}
    con = store.connect(root)
    expected = portfolio.kpi_tiles(con, month=asof, rates=prov.MOF_2012).filter(kpi="coverage")["value"][0]
    con.close()
    shown = f"{expected * 100:.2f}%"
    overview = app_test("pages/overview.py")
    assert _metrics(overview)["拨备覆盖率(简化)"] == shown
    classification = app_test("pages/classification.py")
    assert _metrics(classification)["拨备覆盖率(简化)"] == shown
    again = app_test(PAGE)  # the scenario page's baseline is the saved scheme too: MoF vs MoF, no difference
    assert _metrics(again)["拨备覆盖率（情景）"] == shown
