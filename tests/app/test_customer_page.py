"""AppTests of the customer page (客户视图) through app.py, on a copy of the demo store (configs are saved)."""

from __future__ import annotations

import json
import shutil

import pytest

from analytics import access
from analytics.core import config, store
from analytics.customer import blacklist as bl

PAGE = "pages/customer.py"
VIEWS = ("grades", "blacklist", "penalty", "credit", "satisfaction", "settings", "view")


@pytest.fixture()
def copy_store(demo_root, tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns("_models"))
    monkeypatch.setenv(store.DATA_ENV, str(root))
    return root


def _view(at, view):
    at.radio(key="cu_view").set_value(view).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_view_renders(app_test, copy_store, lang):
    at = app_test(PAGE, lang)
    assert at.title[0].value == ("客户视图" if lang == "zh" else "Customer view")
    assert len(at.metric) == 6 and at.selectbox(key="cu_customer").value
    for view in VIEWS:
        _view(at, view)
        if view == "settings":
            assert at.data_editor  # the penalty parameters per product
        if view == "satisfaction":
            assert len(at.metric) == 3  # satisfaction, revisit and complaint rates of the quarter


def test_customer_view_shows_all_loans_across_branches(app_test, copy_store, demo_con):
    # a customer of the demo book with loans at two branches
    pair = store.query(demo_con, "SELECT customer_id FROM loans GROUP BY 1 HAVING count(DISTINCT branch_id) = 2 "
                                 "ORDER BY 1 LIMIT 1")["customer_id"][0]
    at = app_test(PAGE)
    at.text_input(key="cu_search").set_value(pair).run()
    assert not at.exception and at.selectbox(key="cu_customer").value == pair
    loans = next(d.value for d in at.dataframe if "借据号" in d.value.columns and "机构" in d.value.columns)
    assert loans["机构"].nunique() == 2


def test_grading_widgets(app_test, copy_store):
    at = _view(app_test(PAGE), "grades")
    total = at.dataframe[0].value
    assert list(total.iloc[:, 0])[:4] == ["A类：逾期但能还款", "B类：暂时困难", "C类：还款意愿差", "D类：欺诈/失联"]
    at.radio(key="cu_grade_by").set_value("branch_id").run()
    assert not at.exception and at.dataframe[0].value.columns[0] == "机构号"
    at.selectbox(key="cu_grade_pick").set_value("D").run()
    assert not at.exception


def test_a_steward_adds_and_removes_with_a_reason(app_test, copy_store):
    at = _view(app_test(PAGE), "blacklist")
    at.text_input(key="cu_bl_id").set_value("C000000001").run()
    at.button(key="cu_bl_add").click().run()
    assert at.error and not at.exception  # no reason: refused
    at.text_input(key="cu_bl_reason").set_value("伪造材料").run()
    at.button(key="cu_bl_add").click().run()
    assert not at.exception
    version, data = config.load(copy_store, bl.CONFIG_NAME, bl.empty())
    assert version == 1 and data["records"][0]["customer_id"] == "C000000001"
    assert data["records"][0]["reason"] == "伪造材料" and data["records"][0]["who"] == "local"
    events = [e for e in access.read_audit() if e["event"] == "blacklist_add"]
    assert events and events[0]["what"]["customer_id"] == "C000000001"
    at.text_input(key="cu_bl_reason").set_value("").run()
    at.button(key="cu_bl_remove").click().run()
    assert at.error  # removal needs a reason
    at.text_input(key="cu_bl_reason").set_value("核实无误").run()
    at.button(key="cu_bl_remove").click().run()
    assert config.load(copy_store, bl.CONFIG_NAME, bl.empty())[1]["records"][-1]["action"] == "remove"


def test_settings_save_a_new_grading_version(app_test, copy_store):
    at = _view(app_test(PAGE), "settings")
    rules = json.loads(at.text_area(key="cu_cfg_grading_rules").value)
    rules["lookback_months"] = 6
    at.text_area(key="cu_cfg_grading_rules").set_value(json.dumps(rules)).run()
    at.button(key="cu_cfg_save_grading_rules").click().run()
    assert not at.exception and config.load(copy_store, "grading_rules", {})[1]["lookback_months"] == 6
    at.text_area(key="cu_cfg_grading_rules").set_value('{"rules": []}').run()
    at.button(key="cu_cfg_save_grading_rules").click().run()
    assert at.error and config.versions(copy_store, "grading_rules") == [1]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_view_labels_its_columns(app_test, copy_store, lang):
    from tests.app.test_labels_everywhere import problems_in

    at = app_test(PAGE, lang)
    for view in VIEWS:
        _view(at, view)
        assert problems_in(at) == [], view
