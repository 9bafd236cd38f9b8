"""AppTests of the overdue-causes page (逾期原因) through app.py."""

from __future__ import annotations

import json

import pytest

import labels
from analytics.core import store
from analytics.metrics import causes
from tests.app.grid import ratios
from tests.app.test_trends_page import tiny_store

PAGE = "pages/causes.py"


@pytest.fixture()
def tiny_app(app_test, tmp_path, monkeypatch):
    """app_test over the hand-built store of tests/test_trends.py (see ``tiny_store``)."""
    monkeypatch.setenv(store.DATA_ENV, str(tiny_store(tmp_path / "data")))
    return app_test


def _charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _view(at, name: str):
    """The page's Pareto (the first view), its cause mix over time, or its branch / product and QoQ tables."""
    at.button_group(key="ca_view").set_value(name).run()
    assert not at.exception, at.exception
    return at


def test_renders_pareto_mix_tables(app_test, demo_root):
    at = app_test(PAGE)
    assert at.title[0].value == "逾期原因"
    (pareto_fig,) = _charts(at)
    assert pareto_fig["layout"]["yaxis"]["title"]["text"] == "逾期余额（万元）"
    assert pareto_fig["layout"]["yaxis2"]["title"]["text"] == "累计占比（%）"
    con = store.connect(demo_root)
    month = store.months(con)[-1]
    expected = causes.pareto(con, month=month, basis="balance")
    con.close()
    table = ratios(at.dataframe[0])
    assert table["逾期原因"].tolist() == [labels.label("overdue_cause", c, "zh") for c in expected["cause"]]
    assert table["累计占比"].iloc[-1] == pytest.approx(1.0)
    assert len(at.dataframe) == 1 and at.button(key="ca_drill")
    (mix_fig,) = _charts(_view(at, "mix"))
    assert mix_fig["layout"]["yaxis"]["title"]["text"] == "占逾期比例（%）"
    assert mix_fig["layout"]["barmode"] == "stack" and not at.dataframe
    assert len(_view(at, "cross").dataframe) == 2 and not _charts(at)  # cross table, QoQ
    assert at.button(key="ca_drill")


def test_every_widget(app_test):
    at = app_test(PAGE)
    before = ratios(at.dataframe[0])
    at.radio(key="ca_basis").set_value("count").run()
    assert not at.exception
    assert _charts(at)[0]["layout"]["yaxis"]["title"]["text"] == "逾期笔数（笔）"
    after = ratios(at.dataframe[0])
    assert after["笔数"].is_monotonic_decreasing and not after.equals(before)

    cross_branch = ratios(_view(at, "cross").dataframe[0])
    assert "合计" in cross_branch.columns and cross_branch.columns[0] == "机构"
    at.radio(key="ca_dim").set_value("product").run()
    assert not at.exception
    assert ratios(at.dataframe[0]).columns[0] == "产品"

    cause = at.selectbox(key="ca_drill_cause")
    cause.set_value(cause.options[-1]).run()
    assert not at.exception
    member = at.selectbox(key="ca_drill_member_product")
    member.set_value(member.options[1]).run()
    assert not at.exception
    at.button(key="ca_drill").click().run()
    assert not at.exception
    spec = at.session_state["drill_spec"]
    assert spec.dpd_min == 1 and len(spec.products) == 1
    assert spec.causes or spec.cause_not_reported


def test_not_reported_drill(tiny_app):
    at = tiny_app(PAGE)
    # OCT overdue: B 2000 business_difficulty, A 900 income_drop, C 500 with no cause.
    assert ratios(at.dataframe[0])["逾期原因"].tolist() == ["经营困难", "收入下降/失业", "未填报"]
    at.selectbox(key="ca_drill_cause").set_value(causes.NOT_REPORTED).run()
    at.button(key="ca_drill").click().run()
    assert not at.exception
    spec = at.session_state["drill_spec"]
    assert spec.cause_not_reported and spec.dpd_min == 1


def test_english(app_test):
    # Switched in the sidebar: app_test(PAGE, lang="en") first renders the overview page, whose
    # language-dependent format_func AppTest later re-evaluates outside the run (in Chinese).
    at = app_test(PAGE)
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Overdue causes"
    assert "Cause" in ratios(at.dataframe[0]).columns
    assert _charts(_view(at, "mix"))[0]["layout"]["xaxis"]["title"]["text"] == "Month"
    at.radio(key="ca_basis").set_value("count").run()
    at.radio(key="ca_dim").set_value("product").run()
    assert not at.exception
    assert "Total" in ratios(_view(at, "cross").dataframe[0]).columns


def test_click_a_pareto_bar_drills_with_the_same_total(app_test, demo_root):
    from analytics.metrics import drilldown

    at = app_test(PAGE)
    at.radio(key="ca_basis").set_value("count").run()
    fig = _charts(at)[0]
    label = fig["data"][0]["x"][0]
    table = ratios(at.dataframe[0])
    n = int(table[table["逾期原因"] == label]["笔数"].iloc[0])
    at.session_state["ca_pareto"] = {"selection": {"points": [{"curve_number": 0, "point_index": 0, "x": label,
                                                               "y": 1}], "point_indices": [0], "box": [],
                                                   "lasso": []}}
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "借据明细"
    con = store.connect(demo_root)
    assert drilldown.loans_behind(con, at.session_state["drill_spec"]).height == n
    con.close()
