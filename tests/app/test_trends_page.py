"""AppTests of the overdue-trends page (逾期趋势) through app.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analytics.core import store
from analytics.metrics import trends
from tests.app.grid import ratios
from tests.metrics import test_trends
from tests.tiny import write_store

PAGE = "pages/trends.py"


def _chart(at, i: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def _trace_names(at) -> list[str]:
    return [t.get("name") for t in _chart(at)["data"]]


def test_renders_total_trend_and_qoq(app_test, demo_root):
    at = app_test(PAGE)
    assert at.title[0].value == "逾期趋势"
    assert len(at.get("plotly_chart")) == 1
    fig = _chart(at)
    assert fig["layout"]["yaxis"]["title"]["text"] == "逾期率（%）"
    assert fig["layout"]["xaxis"]["title"]["text"] == "月份"
    con = store.connect(demo_root)
    month = store.months(con)[-1]
    expected = trends.qoq_table(con, month=month, dimension="total", basis="balance")
    con.close()
    table = ratios(at.dataframe[0])
    assert table.shape[0] == 1
    assert table["逾期率"].iloc[0] == pytest.approx(expected["overdue_ratio"][0])
    assert table["逾期率变动(pp)"].iloc[0] == pytest.approx(expected["overdue_ratio_chg"][0])
    assert at.button(key="tr_drill")  # drill button present
    assert at.expander  # 口径


def test_every_widget(app_test):
    at = app_test(PAGE)
    before = _chart(at)
    for metric in ("npl_ratio", "new_overdue"):
        at.selectbox(key="tr_metric").set_value(metric).run()
        assert not at.exception
    assert _chart(at) != before
    assert _chart(at)["layout"]["yaxis"]["title"]["text"] == "新增逾期余额（万元）"
    at.radio(key="tr_basis").set_value("count").run()
    assert not at.exception
    assert _chart(at)["layout"]["yaxis"]["title"]["text"] == "新增逾期笔数（笔）"
    at.radio(key="tr_freq").set_value("quarter").run()
    assert not at.exception
    assert _chart(at)["layout"]["xaxis"]["title"]["text"] == "季度"
    at.radio(key="tr_freq").set_value("month").run()

    at.radio(key="tr_dim").set_value("branch").run()
    assert not at.exception
    shown = at.multiselect(key="tr_members_branch")
    assert 1 <= len(shown.value) <= 8 and len(_trace_names(at)) == len(shown.value)
    table_rows = ratios(at.dataframe[0]).shape[0]
    assert table_rows == len(shown.options) > 1  # the league: one row per branch
    at.multiselect(key="tr_members_branch").set_value(shown.options[:2]).run()
    assert not at.exception and len(_trace_names(at)) == 2
    at.selectbox(key="tr_metric").set_value("overdue_ratio").run()  # re-ranks the branches
    assert not at.exception and _trace_names(at)

    at.radio(key="tr_dim").set_value("product").run()
    assert not at.exception
    assert at.multiselect(key="tr_members_product").options

    months = at.selectbox(key="tr_drill_month").options
    at.selectbox(key="tr_drill_month").set_value(at.selectbox(key="tr_drill_month").options[1]).run()
    assert not at.exception and len(months) > 1
    member = at.selectbox(key="tr_drill_member_product")
    member.set_value(member.options[-1]).run()
    assert not at.exception


def test_new_overdue_drill_opens_loan_list(app_test):
    at = app_test(PAGE)
    at.selectbox(key="tr_metric").set_value("new_overdue").run()
    at.radio(key="tr_dim").set_value("branch").run()
    at.button(key="tr_drill").click().run()
    assert not at.exception
    spec = at.session_state["drill_spec"]
    assert spec.new_overdue and len(spec.branches) == 1


def test_english(app_test):
    # Switched in the sidebar: app_test(PAGE, lang="en") first renders the overview page, whose
    # language-dependent format_func AppTest later re-evaluates outside the run (in Chinese).
    at = app_test(PAGE)
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Overdue trends"
    assert _chart(at)["layout"]["yaxis"]["title"]["text"] == "Overdue ratio (%)"
    at.radio(key="tr_dim").set_value("branch").run()
    at.radio(key="tr_basis").set_value("count").run()
    assert not at.exception
    assert "Overdue ratio" in ratios(at.dataframe[0]).columns


def tiny_store(root: Path) -> Path:
    """The hand-built store of tests/test_trends.py with causes, where branch B2 sells no mortgages."""
    loans = [loan | {"product": "consumer"} if loan["loan_id"] == "E" else loan for loan in test_trends.LOANS]
    cause = {"A": "income_drop", "B": "business_difficulty", "E": "technical"}  # C: no cause reported
    rows = [row | {"overdue_cause": cause.get(row["loan_id"])} if row["dpd"] else row for row in test_trends.SNAPSHOTS]
    return write_store(root, loans, rows)


@pytest.fixture()
def tiny_app(app_test, tmp_path, monkeypatch):
    """app_test over ``tiny_store`` instead of the demo."""
    monkeypatch.setenv(store.DATA_ENV, str(tiny_store(tmp_path / "data")))
    return app_test


def test_tiny_store_numbers(tiny_app):
    at = tiny_app(PAGE)
    at.selectbox(key="tr_metric").set_value("new_overdue").run()
    at.radio(key="tr_dim").set_value("branch").run()
    table = ratios(at.dataframe[0]).set_index("代码")
    # OCT vs SEP: B1 new overdue A 900 (was 0 in SEP), B2 0 (was C 500 + E 3000).
    assert table.loc["B1", "本月新增逾期(元)"] == 900 and table.loc["B2", "本月新增逾期(元)"] == 0
    assert table.loc["B2", "上季末月新增逾期(元)"] == 3500
