"""AppTests of the collection performance page (清收绩效) through app.py, on the demo store."""

from __future__ import annotations

import json
import shutil

import pytest

from analytics.core import months as mo
from analytics.core import store
from analytics.metrics import collection_scorecard as sc
from analytics.metrics import collections as coll

PAGE = "pages/collections.py"
CHARTS = ("co_quadrant", "co_funnel", "co_cost", "co_bucket", "co_legal")
TABLES = ("co_card_table", "co_why_table", "co_team_scores", "co_group_table", "co_bucket_table", "co_resolve_table",
          "co_legal_table", "co_targets_table", "co_drill_cases", "co_drill_actions")


def _chart(at, key: str) -> dict:
    return json.loads(at.get("plotly_chart")[CHARTS.index(key)].proto.spec)


def _table(at, key: str):
    return at.dataframe[TABLES.index(key)].value


def _period(at):
    quarter = at.selectbox(key="co_period").value
    return coll.period_range(quarter, at.radio(key="co_freq").value)


def test_renders_scorecard_charts_and_tables(app_test, demo_root):
    at = app_test(PAGE)
    assert not at.exception
    assert at.title[0].value == "清收绩效"
    assert len(at.get("plotly_chart")) == len(CHARTS) and len(at.dataframe) == len(TABLES)
    card = _table(at, "co_card_table")
    assert {"组内排名", "档次", "总分", "结果分", "过程分", "质量分"} <= set(card.columns)
    assert set(card["档次"]) <= {"奖励", "达标", "处罚"}
    month_from, month_to = _period(at)
    con = store.connect(demo_root)
    want = sc.collector_scorecard(con, month_from=month_from, month_to=month_to, scheme=sc.load_scheme(root=demo_root))
    con.close()
    assert len(card) == want.height
    assert sorted(card["总分"].round(6)) == sorted(round(v, 6) for v in want["total"])
    why = _table(at, "co_why_table")
    assert why["贡献分"].sum() == pytest.approx(card[card["催收员"] == at.selectbox(key="co_why").value]["总分"].iloc[0])
    bucket = _chart(at, "co_bucket")
    assert bucket["layout"]["shapes"][0]["y0"] == pytest.approx(80)  # the 80% target line
    assert _chart(at, "co_funnel")["data"][0]["type"] == "funnel"
    assert _chart(at, "co_quadrant")["layout"]["xaxis"]["title"]["text"] == "案件覆盖率（%）"
    assert at.expander  # scheme editor and 口径


def test_drill_totals_equal_the_row(app_test, demo_root):
    at = app_test(PAGE)
    collector = at.selectbox(key="co_drill_key").value
    month_from, month_to = _period(at)
    con = store.connect(demo_root)
    row = coll.collection_kpis(con, month_from=month_from, month_to=month_to, by="collector", freq="quarter")
    con.close()
    row = row.filter(row["collector_id"] == collector).row(0, named=True)
    cases, acts = _table(at, "co_drill_cases"), _table(at, "co_drill_actions")
    assert len(cases) == row["cases_assigned"] and int(cases["已作业"].sum()) == row["cases_worked"]
    assert len(acts) == row["actions"]
    assert acts["回收金额(元)"].sum() == pytest.approx(float(row["cash"]))
    assert acts["成本(元)"].sum() == pytest.approx(float(row["cost"]))
    at.selectbox(key="co_drill_by").set_value("team").run()
    assert not at.exception
    team = at.selectbox(key="co_drill_key").value
    group = _table(at, "co_group_table")
    team_row = group[group["团队"] == team]
    assert len(_table(at, "co_drill_cases")) == int(team_row["分案数"].iloc[0])
    at.selectbox(key="co_drill_by").set_value("channel").run()
    assert not at.exception
    assert len(at.dataframe) == len(TABLES) - 1  # a channel has actions, no queue of cases


def test_every_widget(app_test):
    at = app_test(PAGE)
    quadrant = _chart(at, "co_quadrant")
    at.radio(key="co_basis").set_value("count").run()
    assert not at.exception and _chart(at, "co_quadrant")["data"] != quadrant["data"]
    at.radio(key="co_by").set_value("channel").run()
    assert not at.exception and "催收方式" in _table(at, "co_group_table").columns
    at.radio(key="co_by").set_value("branch").run()
    assert not at.exception
    at.slider(key="co_target").set_value(0.5).run()
    assert _chart(at, "co_bucket")["layout"]["shapes"][0]["y0"] == pytest.approx(50)
    at.number_input(key="co_grace").set_value(0).run()
    at.number_input(key="co_min_n").set_value(5).run()
    at.radio(key="co_target_freq").set_value("day").run()
    assert not at.exception and "日期/周一" in _table(at, "co_targets_table").columns
    collectors = at.selectbox(key="co_why").options
    at.selectbox(key="co_why").set_value(collectors[-1]).run()
    assert not at.exception
    for key, value in (("co_w_result", 0.6), ("co_w_process", 0.2), ("co_w_quality", 0.2), ("co_cap", 1.3),
                       ("co_kw_recovery_attainment", 0.5), ("co_coef_7", 1.6), ("co_veto_actions", 6),
                       ("co_veto_n", 2), ("co_pass", 50.0)):
        at.number_input(key=key).set_value(value).run()
        assert not at.exception, key
    for k in sc.DEFAULT_SCHEME.kpis:
        at.number_input(key=f"co_kw_{k.code}").set_value(0.25)
    for b in coll.BUCKETS:
        at.number_input(key=f"co_coef_{b}").set_value(1.0 + b / 10)
    at.run()
    assert not at.exception
    first = at.selectbox(key="co_why").value
    at.multiselect(key="co_veto_list").set_value([first]).run()
    card = _table(at, "co_card_table")
    assert card[card["催收员"] == first]["否决"].iloc[0] and card[card["催收员"] == first]["总分"].iloc[0] == 0
    at.selectbox(key="co_version").set_value(0).run()
    assert not at.exception
    at.radio(key="co_freq").set_value("month").run()
    assert not at.exception
    months = at.selectbox(key="co_period").options
    at.selectbox(key="co_period").set_value(months[0]).run()
    assert not at.exception and at.title[0].value == "清收绩效"


def test_save_a_scheme_version(app_test, demo_root, tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns("_meta"))
    monkeypatch.setenv(store.DATA_ENV, str(root))
    at = app_test(PAGE)
    at.number_input(key="co_cap").set_value(1.25).run()
    at.button(key="co_save").click().run()
    assert not at.exception
    assert sc.scheme_versions(root=root) == [1] and sc.load_scheme(root=root).cap == 1.25
    assert "v1" in at.success[0].value
    assert at.selectbox(key="co_version").options == ["内置默认方案", "v1"]
    assert at.selectbox(key="co_version").value == 1
    at.number_input(key="co_cap").set_value(1.1).run()
    at.button(key="co_save").click().run()
    assert sc.scheme_versions(root=root) == [1, 2]
    at.selectbox(key="co_version").set_value(1).run()
    assert at.number_input(key="co_cap").value == pytest.approx(1.25)


def test_english(app_test):
    at = app_test(PAGE)
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Collection performance"
    assert {"Rank", "Tier", "Total"} <= set(_table(at, "co_card_table").columns)
    assert set(_table(at, "co_card_table")["Tier"]) <= {"Reward", "Pass", "Penalty"}
    assert _chart(at, "co_funnel")["data"][0]["y"][0] == "Attempts"
    assert _chart(at, "co_quadrant")["layout"]["xaxis"]["title"]["text"] == "Coverage (%)"
    assert "Route" in _table(at, "co_legal_table").columns
    assert mo.quarter_label(at.selectbox(key="co_period").value).startswith("20")
