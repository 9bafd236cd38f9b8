"""AppTests of the 五级分类与迁徙 / Classification & migration page, through app.py."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from analytics.core import store
from analytics.metrics import classification as cl

PAGE = "pages/classification.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.2f}%"


def _heatmap(at) -> dict:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(s["data"][0] for s in specs if s["data"][0]["type"] == "heatmap")


def _view(at, name: str):
    at.button_group(key="cl_view").set_value(name).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture()
def asof(demo_root) -> dt.date:
    con = store.connect(demo_root)
    month = store.months(con)[-1]
    con.close()
    return month


def test_page_numbers_match_analytics(app_test, demo_root, asof):
    at = app_test(PAGE)
    assert at.title[0].value == "五级分类与迁徙"
    con = store.connect(demo_root)
    now = cl.quality_views(con, month=asof)["current"].row(0, named=True)
    metrics = _metrics(at)
    assert metrics["不良贷款率"] == _pct(now["npl_ratio_balance"])
    assert metrics["偏离度(逾期90天+/不良)"] == _pct(now["deviation_balance"])
    assert metrics["拨备覆盖率(简化)"] == _pct(now["coverage"])
    assert at.button_group(key="cl_view").value == "structure" and not at.get("plotly_chart")  # two tables
    assert len(at.dataframe) == 2  # by branch, by product
    assert any("口径" in e.label for e in at.expander)
    floor = cl.below_floor_by_branch(con, month=asof)
    assert _metrics(_view(at, "floor"))["低于底线笔数"] == f"{int(floor['below_count'].sum()):,}"
    rates = cl.supervisory_migration(con, month=asof, period="quarter")
    assert _metrics(_view(at, "migration"))["关注类贷款迁徙率"] == _pct(rates.row(1, named=True)["migration_rate_balance"])
    con.close()
    assert [c.key for c in at.get("plotly_chart")] == ["cl_matrix_chart"]
    assert [c.key for c in _view(at, "trend").get("plotly_chart")] == ["cl_trend"]


def test_provision_rates_come_from_the_app_wide_scheme(sparse_store, app_test, asof):
    """No page-local selector (it reset on every page change): the scheme saved on the Scenarios page applies."""
    from analytics.core import config
    from analytics.metrics import provisioning

    at = app_test(PAGE)
    pboc = _metrics(at)["拨备覆盖率(简化)"]
    assert "2002" in " ".join(m.value for m in at.markdown)
    custom = {"preset": "custom", "rates": [1.0, 1.0, 1.0, 1.0, 1.0]}
    config.save(sparse_store[0], provisioning.SCHEME_CONFIG, custom)
    at = app_test(PAGE)
    assert not at.exception
    # every class at 100%: provision = total loans, so the provision ratio is 100%
    assert _metrics(at)["贷款拨备率(简化)"] == "100.00%" and _metrics(at)["拨备覆盖率(简化)"] != pboc
    assert "自定义" in " ".join(m.value for m in at.markdown)


def test_count_basis(app_test, demo_root, asof):
    at = app_test(PAGE)
    at.radio(key="cl_basis").set_value("count").run()
    assert not at.exception
    con = store.connect(demo_root)
    now = cl.quality_views(con, month=asof)["current"].row(0, named=True)
    con.close()
    assert _metrics(at)["不良贷款率"] == _pct(now["npl_ratio_count"])


def test_period_selector_and_custom_start(app_test, demo_root, asof):
    at = _view(app_test(PAGE), "migration")
    quarter = _metrics(at)["正常类贷款迁徙率"]
    con = store.connect(demo_root)
    for period in ("month", "ytd"):
        at.radio(key="cl_period").set_value(period).run()
        assert not at.exception
        expected = cl.supervisory_migration(con, month=asof, period=period).row(0, named=True)["migration_rate_balance"]
        assert _metrics(at)["正常类贷款迁徙率"] == _pct(expected)
    assert _metrics(at)["正常类贷款迁徙率"] != quarter
    at.radio(key="cl_period").set_value("custom").run()
    first = store.months(con)[0]
    at.selectbox(key="cl_start_month").set_value(first).run()
    assert not at.exception
    expected = cl.migration_rates(cl.transition_base(con, start_month=first, end_month=asof)).row(0, named=True)["migration_rate_balance"]
    assert _metrics(at)["正常类贷款迁徙率"] == _pct(expected)
    con.close()
    assert any(first.strftime("%Y-%m") in c.value for c in at.caption)


def test_matrix_toggles(app_test, demo_root, asof):
    at = _view(app_test(PAGE), "migration")
    bal = _heatmap(at)
    assert "退出：核销" in bal["x"] and bal["y"][0] == "正常类"
    # the colour bar says 万元: z must be in 万元 too (start balance / 10,000), not in yuan
    assert bal["colorbar"]["title"]["text"] == "万元"
    con = store.connect(demo_root)
    matrix = cl.migration_matrix(cl.transition_base(con, start_month=cl.period_start(asof, "quarter"), end_month=asof), basis="balance")
    con.close()
    assert bal["z"][0][0] == pytest.approx(matrix["1"][0] / 1e4)
    at.radio(key="cl_matrix_measure").set_value("count").run()
    assert not at.exception
    count = _heatmap(at)
    assert count["z"] != bal["z"]
    at.toggle(key="cl_matrix_share").set_value(True).run()
    assert not at.exception
    share = _heatmap(at)
    assert share["text"][0][0].endswith("%")


def test_matrix_exit_cell_drill(app_test):
    at = _view(app_test(PAGE), "migration")
    at.selectbox(key="cl_cell_from").set_value(1).run()
    at.selectbox(key="cl_cell_to").set_value("paid_off").run()
    at.button(key="cl_cell_drill").click().run()
    assert not at.exception
    spec = at.session_state["drill_spec"]
    assert spec.rows == "first_exit" and spec.statuses == ("paid_off",) and spec.prev_classes == (1,)
    assert at.title[0].value == "借据明细"
    assert int(at.metric[0].value.replace(",", "")) > 0  # loans paid off during the quarter


@pytest.mark.parametrize(("view", "select_key", "value", "button", "check"), [
    ("structure", "cl_drill_kpi", "class2", "cl_drill_kpi_go", lambda s: s.classes == (2,)),
    ("migration", "cl_rate_drill", "performing", "cl_rate_drill_go",
     lambda s: s.prev_classes == (1, 2) and s.classes == (3, 4, 5)),
    ("floor", "cl_floor_branch", None, "cl_floor_drill", lambda s: s.below_floor and len(s.branches) == 1),
    ("migration", "cl_cell_to", "3", "cl_cell_drill", lambda s: s.classes == (3,) and s.rows == "at_month"),
])
def test_drill_buttons(app_test, demo_root, asof, view, select_key, value, button, check):
    at = _view(app_test(PAGE), view)
    if value is None:  # the worst branch of the below-floor table
        con = store.connect(demo_root)
        value = cl.below_floor_by_branch(con, month=asof)["branch_id"][0]
        con.close()
    at.selectbox(key=select_key).set_value(value).run()
    assert not at.exception
    at.button(key=button).click().run()
    assert not at.exception
    assert check(at.session_state["drill_spec"])


def test_english(app_test):
    at = app_test(PAGE)
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Classification & migration"
    assert "By branch / product" in at.button_group(key="cl_view").options
    metrics = _metrics(_view(at, "migration"))
    assert "NPL ratio" in metrics and "Special-mention migration rate" in metrics
    assert "Exit: Written off" in _heatmap(at)["x"]


def test_click_a_migration_matrix_cell_drills_with_the_same_total(app_test, demo_root):
    from analytics.metrics import drilldown

    at = _view(app_test(PAGE), "migration")
    at.radio(key="cl_matrix_measure").set_value("count").run()
    matrix = next(d.value for d in at.dataframe if "期初分类" in d.value.columns)
    key = next(d.key for d in at.dataframe if "期初分类" in d.value.columns)
    col = "关注类" if "关注类" in matrix.columns else matrix.columns[2]
    n = int(matrix[col].iloc[0])
    at.session_state[key] = {"selection": {"rows": [], "columns": [], "cells": [[0, col]]}}
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "借据明细"
    con = store.connect(demo_root)
    assert drilldown.loans_behind(con, at.session_state["drill_spec"]).height == n
    con.close()
