"""AppTests of the 账龄分析 / Aging page, through app.py."""

from __future__ import annotations

import json

import pytest

from analytics.core import store
from analytics.metrics import aging
from tests.app.grid import ratios

PAGE = "pages/aging.py"


def _traces(at) -> list[dict]:
    return json.loads(at.get("plotly_chart")[0].proto.spec)["data"]


def _frame(at, key: str):
    # st.dataframe keeps no key in AppTest: the bucket table comes first, the report second
    return ratios(at.dataframe[{"ag_table": 0, "ag_report": 1}[key]])


def test_page_renders_report_matching_analytics(app_test, demo_root):
    at = app_test(PAGE)
    assert at.title[0].value == "账龄分析"
    con = store.connect(demo_root)
    month = store.months(con)[-1]
    report = aging.aging_report(con, month=month)
    con.close()
    shown = _frame(at, "ag_report")
    assert list(shown["账龄段"])[-2:] == ["逾期小计", "合计"]
    assert float(shown["余额(元)"].iloc[-1]) == float(report["total_balance"][-1])
    assert float(shown["余额占比"].iloc[-2]) == pytest.approx(report["share_balance"][8], rel=1e-12)  # overdue ratio
    assert len(at.get("plotly_chart")) == 1
    assert [t["name"] for t in _traces(at)][0] == "M1 (1-30)"  # overdue buckets only by default
    assert any("口径" in e.label for e in at.expander)


def test_scheme_measure_and_rows(app_test):
    at = app_test(PAGE)
    by_branch = _frame(at, "ag_table")
    at.radio(key="ag_scheme").set_value("reg").run()
    assert not at.exception
    assert "91-180" in [t["name"] for t in _traces(at)]
    assert "91-180 (元)" in _frame(at, "ag_table").columns
    at.radio(key="ag_measure").set_value("count").run()
    assert not at.exception
    counts = _frame(at, "ag_table")
    assert "91-180 (笔)" in counts.columns and float(counts["合计(笔)"].sum()) != float(by_branch["合计(元)"].sum())
    at.radio(key="ag_by").set_value("product").run()
    assert not at.exception
    assert "产品" in _frame(at, "ag_table").columns


def test_trend_toggles(app_test):
    at = app_test(PAGE)
    overdue_only = _traces(at)
    at.toggle(key="ag_overdue_only").set_value(False).run()
    assert not at.exception
    everything = _traces(at)
    assert everything[0]["name"] == "M0 (0)" and len(everything) == len(overdue_only) + 1
    at.toggle(key="ag_share").set_value(True).run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "%" in spec["layout"]["yaxis"]["title"]["text"]


def test_bucket_drill(app_test):
    at = app_test(PAGE)
    at.radio(key="ag_scheme").set_value("reg").run()
    at.selectbox(key="ag_drill_bucket").set_value(4).run()
    assert not at.exception
    at.button(key="ag_drill").click().run()
    assert not at.exception
    spec = at.session_state["drill_spec"]
    assert (spec.dpd_min, spec.dpd_max) == (91, 180)
    assert at.title[0].value == "借据明细"


def test_report_download_buttons(app_test):
    at = app_test(PAGE)
    keys = {b.proto.id for b in at.get("download_button")}
    assert any("ag_report_csv" in k for k in keys) and any("ag_report_xlsx" in k for k in keys)


def test_english(app_test):
    at = app_test(PAGE)
    at.radio(key="ag_scheme").set_value("reg").run()
    # AppTest cannot re-run a radio whose option labels changed language: switch language last
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Aging (DPD buckets)"
    shown = _frame(at, "ag_report")
    assert list(shown["Bucket"])[0] == "Current" and list(shown["Bucket"])[-1] == "Total"


def test_click_a_cell_a_report_row_or_a_bar_drills_with_the_same_total(app_test, demo_root):
    from analytics.core import store
    from analytics.metrics import drilldown

    at = app_test("pages/aging.py")
    table = ratios(at.dataframe[0])
    col = [c for c in table.columns if c.startswith("M1 ")][0]
    at.radio(key="ag_measure").set_value("count").run()
    table = ratios(at.dataframe[0])
    col = [c for c in table.columns if c.startswith("M1 ")][0]
    n = int(table[col].iloc[0])
    at.session_state["ag_table"] = {"selection": {"rows": [], "columns": [], "cells": [[0, col]]}}
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "借据明细"
    spec = at.session_state["drill_spec"]
    con = store.connect(demo_root)
    assert drilldown.loans_behind(con, spec).height == n and spec.dpd_min == 1 and spec.dpd_max == 30
    assert len(spec.branches) == 1
    # back on the page: a report row (bucket M2) drills to that bucket
    at.switch_page("pages/aging.py")
    at.run()
    assert at.title[0].value.startswith("账龄")
    at.session_state["ag_report"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    assert at.title[0].value == "借据明细"
    assert at.session_state["drill_spec"].dpd_min == 31
    con.close()
