"""AppTests of the vintage page (Vintage 分析) through app.py, on the demo store."""

from __future__ import annotations

import json

import pytest

from analytics.core import store
from analytics.metrics import vintage

PAGE = "pages/vintage.py"


def _chart(at, key: str) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if c.key == key).proto.spec)


def _view(at, name: str):
    """The page's curves (the first view) or its cohort x MOB triangle (heatmap and table)."""
    at.button_group(key="vt_view").set_value(name).run()
    assert not at.exception, at.exception
    return at


def test_renders_curves_triangle_table(app_test, demo_root):
    at = app_test(PAGE)
    assert not at.exception
    assert at.title[0].value == "Vintage 分析"
    curves = _chart(at, "vt_curves")
    assert curves["layout"]["xaxis"]["title"]["text"].startswith("账龄 MOB")
    assert curves["layout"]["yaxis"]["title"]["text"] == "比率（%）"
    con = store.connect(demo_root)
    expected = vintage.vintage_curves(con, grain="month", measure="ever", threshold=30)
    con.close()
    assert len(curves["data"]) == expected["cohort"].n_unique()
    assert [c.key for c in at.get("plotly_chart")] == ["vt_curves"] and not at.dataframe
    assert at.button(key="vt_drill")
    _view(at, "triangle")
    assert [c.key for c in at.get("plotly_chart")] == ["vt_heatmap"]
    table = at.dataframe[0].value
    assert table.shape[0] == expected["cohort"].n_unique()
    first = expected.filter(expected["mob"] == expected["mob"].max())
    assert table[str(first["mob"][0])].dropna().iloc[0] == pytest.approx(first["rate_count"][0])
    assert _chart(at, "vt_heatmap")["data"][0]["type"] == "heatmap"
    assert at.button(key="vt_drill")
    assert at.expander


def test_every_widget_and_drill(app_test):
    at = _view(app_test(PAGE), "triangle")
    before = at.dataframe[0].value.copy()
    at.radio(key="vt_basis").set_value("balance").run()
    assert not at.exception
    assert not at.dataframe[0].value.equals(before)
    at.selectbox(key="vt_metric").set_value("ever90").run()
    assert not at.exception
    ever90 = at.dataframe[0].value.copy()
    at.selectbox(key="vt_metric").set_value("pit90").run()
    assert not at.exception
    assert not at.dataframe[0].value.equals(ever90)
    at.radio(key="vt_drill_part").set_value("kept").run()
    assert not at.exception
    at.radio(key="vt_grain").set_value("quarter").run()
    assert not at.exception
    assert at.dataframe[0].value["放款批次"].iloc[0][4] == "Q"
    assert at.info  # point-in-time quarter cohorts: no drill
    at.selectbox(key="vt_metric").set_value("ever30").run()
    n_before = at.dataframe[0].value.shape[0]
    at.checkbox(key="vt_censored").check().run()
    assert not at.exception
    assert at.dataframe[0].value.shape[0] > n_before  # left-censored cohorts added
    at.radio(key="vt_grain").set_value("month").run()
    at.selectbox(key="vt_drill_cohort").set_value(at.selectbox(key="vt_drill_cohort").options[-1]).run()
    at.selectbox(key="vt_drill_mob").set_value(at.selectbox(key="vt_drill_mob").options[0]).run()
    assert not at.exception
    at.button(key="vt_drill").click().run()
    assert not at.exception
    assert at.session_state["drill_spec"].cohort_start is not None


def test_english(app_test):
    # Switched in the sidebar: app_test(PAGE, lang="en") first renders the overview page, whose
    # language-dependent format_func AppTest later re-evaluates outside the run (in Chinese).
    at = app_test(PAGE)
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Vintage"
    assert _chart(at, "vt_curves")["layout"]["yaxis"]["title"]["text"] == "Rate (%)"
    assert at.button(key="vt_drill").label == "Show the loans"
    assert _chart(_view(at, "triangle"), "vt_heatmap")["layout"]["yaxis"]["title"]["text"] == "Cohort"


def test_branch_filter(app_test):
    at = _view(app_test(PAGE), "triangle")
    before = at.dataframe[0].value.copy()
    at.sidebar.multiselect(key="f_branches").set_value([at.sidebar.multiselect(key="f_branches").options[0]])
    at.run()
    assert not at.exception
    assert not at.dataframe[0].value.equals(before)


def test_worst_cohort_named_with_n_and_cell_click_drills(app_test, demo_root):
    from analytics.metrics import drilldown

    at = app_test(PAGE)
    assert any("最差批次" in m.value and "n = " in m.value for m in at.markdown)
    names = [t["name"] for t in _chart(at, "vt_curves")["data"]]
    assert all("(n=" in n for n in names)
    table = _view(at, "triangle").dataframe[0].value
    assert "批次笔数(n)" in table.columns
    mob = table.columns[3]
    at.session_state["vt_table"] = {"selection": {"rows": [], "columns": [], "cells": [[0, mob]]}}
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "借据明细"
    con = store.connect(demo_root)
    curves = vintage.vintage_curves(con, grain="month", measure="ever", threshold=30)
    first = curves.filter((curves["cohort"] == curves["cohort"].min()) & (curves["mob"] == int(mob)))
    assert drilldown.loans_behind(con, at.session_state["drill_spec"]).height == first["num_count"][0]
    con.close()
