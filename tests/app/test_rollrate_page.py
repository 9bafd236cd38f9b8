"""AppTests of the roll-rate page (滚动率) through app.py, on the demo store."""

from __future__ import annotations

import json

import pytest

from analytics.core import store
from analytics.metrics import rollrate
from tests.app.grid import ratios

PAGE = "pages/rollrate.py"
# The page's views (ui.view) and the charts each draws: one view at a time.
VIEWS = {"matrix": ("rr_matrix",), "rolls": ("rr_trend", "rr_cures"), "flow": ("rr_flow", "rr_flow_trend")}


def _chart(at, key: str) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if c.key == key).proto.spec)


def _view(at, name: str):
    at.button_group(key="rr_view").set_value(name).run()
    assert not at.exception, at.exception
    return at


def test_renders_matrix_trends_flow(app_test, demo_root):
    at = app_test(PAGE)
    assert not at.exception
    assert at.title[0].value == "滚动率"
    assert at.button_group(key="rr_view").value == "matrix"
    assert [c.key for c in at.get("plotly_chart")] == list(VIEWS["matrix"])
    con = store.connect(demo_root)
    month = store.months(con)[-1]
    matrix = rollrate.roll_matrix(con, month=month)
    con.close()
    heat = _chart(at, "rr_matrix")
    assert heat["data"][0]["type"] == "heatmap"
    assert heat["layout"]["yaxis"]["title"]["text"] == "上月逾期档位"
    assert "核销" in heat["data"][0]["x"]  # exit columns
    table = ratios(at.dataframe[0])
    m0 = matrix.filter((matrix["from_state"] == "M0") & (matrix["to_state"] == "M1"))
    row = table[(table["上月档位"] == "M0") & (table["本月状态"] == "M1")]
    assert row["金额占比"].iloc[0] == pytest.approx(m0["share_balance"][0])
    assert at.expander
    for name, keys in VIEWS.items():  # each view draws its own charts only, the choice survives a page change
        _view(at, name)
        assert [c.key for c in at.get("plotly_chart")] == list(keys), name
    assert _chart(at, "rr_flow_trend")["layout"]["xaxis"]["title"]["text"] == "月份"
    _view(at, "rolls")
    assert _chart(at, "rr_trend")["layout"]["yaxis"]["title"]["text"] == "比率（%）"
    at.switch_page("pages/trends.py").run()
    at.switch_page(PAGE).run()
    assert at.button_group(key="rr_view").value == "rolls" and at.get("plotly_chart")[0].key == "rr_trend"


def test_every_widget_and_drill(app_test):
    at = app_test(PAGE)
    heat = _chart(at, "rr_matrix")
    at.radio(key="rr_basis").set_value("count").run()
    assert not at.exception
    assert _chart(at, "rr_matrix")["data"][0]["z"] != heat["data"][0]["z"]
    months = at.selectbox(key="rr_month").options
    at.selectbox(key="rr_month").set_value(at.selectbox(key="rr_month").options[0]).run()
    assert not at.exception
    assert len(months) > 1 and at.title[0].value == "滚动率"
    _view(at, "rolls")
    at.multiselect(key="rr_rolls").set_value(["M0→M1"]).run()
    assert not at.exception
    assert len(_chart(at, "rr_trend")["data"]) == 1
    _view(at, "matrix")
    at.selectbox(key="rr_drill_from").set_value("M1").run()
    at.selectbox(key="rr_drill_to").set_value("M0").run()
    assert not at.exception
    at.button(key="rr_drill").click().run()
    assert not at.exception
    spec = at.session_state["drill_spec"]
    assert spec.prev_dpd_min == 1 and spec.dpd_max == 0


def test_english(app_test):
    # Switched in the sidebar: app_test(PAGE, lang="en") first renders the overview page, whose
    # language-dependent format_func AppTest later re-evaluates outside the run (in Chinese).
    at = app_test(PAGE)
    at.sidebar.radio(key="lang").set_value("en").run()
    assert at.title[0].value == "Roll rates"
    assert not at.exception
    assert "Written off" in _chart(at, "rr_matrix")["data"][0]["x"]
    assert at.button(key="rr_drill").label == "Show the loans"
    assert at.button_group(key="rr_view").options[1] == "Roll and cure rates"
    _view(at, "rolls")
    assert _chart(at, "rr_trend")["layout"]["yaxis"]["title"]["text"] == "Rate (%)"


def test_drill_to_exit_cell(app_test):
    at = app_test(PAGE)
    at.selectbox(key="rr_drill_from").set_value("M7+").run()
    at.selectbox(key="rr_drill_to").set_value("written_off").run()
    at.button(key="rr_drill").click().run()
    assert not at.exception
    spec = at.session_state["drill_spec"]
    assert spec.rows == "first_exit" and spec.statuses == ("written_off",) and spec.prev_dpd_min == 181


def test_click_a_matrix_row_drills_with_the_same_total(app_test, demo_root):
    from analytics.metrics import drilldown

    at = app_test(PAGE)
    table = ratios(at.dataframe[0])
    i = int(table["笔数"].idxmax())
    frm, n = table["上月档位"].iloc[i], int(table["笔数"].iloc[i])
    at.session_state["rr_matrix_table"] = {"selection": {"rows": [i], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "借据明细"
    spec = at.session_state["drill_spec"]
    con = store.connect(demo_root)
    assert drilldown.loans_behind(con, spec).height == n
    con.close()
    assert int(at.metric[0].value.replace(",", "")) == n and frm in spec.title


def test_forward_roll_to_any_worse_bucket_and_pooled_window(app_test):
    at = app_test(PAGE)
    at.selectbox(key="rr_window").set_value(3).run()
    assert not at.exception
    assert "合并" in at.subheader[0].value
    assert any(str(y).startswith("M0 (n=") for y in _chart(at, "rr_matrix")["data"][0]["y"])
    _view(at, "rolls")
    assert "M0→M1+" in [t["name"] for t in _chart(at, "rr_trend")["data"]]
    rates = ratios(at.dataframe[0])
    assert set(rates["合并月数"]) == {3}
    assert "向前滚动(至任一更差档)" in set(rates["类型"]) and "滚入下一档" in set(rates["类型"])


def test_default_drill_cell_has_loans(app_test):
    at = app_test(PAGE)
    at.button(key="rr_drill").click().run()
    assert not at.exception
    assert int(at.metric[0].value.replace(",", "")) > 0


def test_empty_flow_through_is_a_message_not_an_empty_chart(app_test):
    at = app_test(PAGE)
    first = at.selectbox(key="rr_month").options[0]  # the first month: no flows before it for most buckets
    at.selectbox(key="rr_month").set_value(at.selectbox(key="rr_month").options[0]).run()
    _view(at, "flow")
    flow = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    bars = [f for f in flow if f["data"] and f["data"][0].get("type") == "bar"]
    assert all(f["data"][0].get("x") for f in bars)  # a drawn flow chart is never empty
    if not bars:
        assert any("空档" in i.value for i in at.info), first
