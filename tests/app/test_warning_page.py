"""AppTests of the early-warning page (逾期预警) through app.py, on a copy of the demo store (configs are saved)."""

from __future__ import annotations

import shutil

import pytest

from analytics.core import config, store
from analytics.warning import notices as nt
from analytics.warning import rules as R

PAGE = "pages/warnings.py"


@pytest.fixture()
def copy_store(demo_root, tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns("_models"))
    monkeypatch.setenv(store.DATA_ENV, str(root))
    return root


def _list(at):
    """The warning list (the table with the reasons column)."""
    return next(d.value for d in at.dataframe if {"预警原因", "Reasons"} & set(d.value.columns))


def _view(at, view):
    at.radio(key="wa_view").set_value(view).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_view_renders(app_test, copy_store, lang):
    at = app_test(PAGE, lang)
    assert at.title[0].value == ("逾期预警" if lang == "zh" else "Early warning")
    assert len(at.metric) == 4  # one per level
    assert any("no model trained" in i.value.lower() for i in at.info)  # the copy has no model
    assert _list(at).shape[0] > 0  # the warning list
    assert ("预警原因" if lang == "zh" else "Reasons") in _list(at).columns
    groups = at.dataframe[0].value
    assert list(groups.columns) == (["机构", "红色预警", "橙色预警", "黄色预警", "蓝色预警", "合计"] if lang == "zh"
                                    else ["Branch", "Red", "Orange", "Yellow", "Blue", "Total"])
    assert groups[groups.columns[-1]].sum() == _list(at).shape[0]
    for view in ("calendar", "handling", "portfolio", "backtest", "notices", "rules"):
        _view(at, view)
    _view(at, "centre")


def test_centre_widgets(app_test, copy_store):
    at = app_test(PAGE)
    n_all = _list(at).shape[0]
    at.radio(key="wa_group").set_value("product").run()
    at.radio(key="wa_basis").set_value("balance").run()
    assert not at.exception and at.dataframe[0].value.columns[0] == "产品"
    at.multiselect(key="wa_levels").set_value(["red"]).run()
    assert not at.exception
    red = _list(at)
    assert red.shape[0] < n_all and set(red["预警等级"]) <= {"红色预警"}
    at.multiselect(key="wa_levels").set_value([]).run()
    at.multiselect(key="wa_changes").set_value(["new"]).run()
    assert not at.exception and set(_list(at)["变动"]) <= {"新增"}
    at.multiselect(key="wa_changes").set_value([]).run()
    # a long list shows its first rows; the full list is built on a click
    at.number_input(key="wa_rows").set_value(5).run()
    assert _list(at).shape[0] == 5
    at.button(key="wa_list_full").click().run()
    assert not at.exception
    csv, xlsx = at.session_state["wa_list_full_bytes"]
    assert csv.decode("utf-8-sig").count("\n") == n_all + 1 and xlsx[:2] == b"PK"
    at.number_input(key="wa_rows").set_value(1000).run()
    loan = at.selectbox(key="wa_report_pick").value
    at.text_input(key="wa_report_id").set_value("").run()
    at.button(key="wa_report_build").click().run()
    assert not at.exception
    assert at.session_state["wa_report_pdf"][0] == loan
    assert at.session_state["wa_report_pdf"][1][:5] == b"%PDF-"
    at.text_input(key="wa_report_id").set_value("NO_SUCH_LOAN").run()
    at.button(key="wa_report_build").click().run()
    assert not at.exception and at.warning
    at.button(key="wa_monthly_build").click().run()
    assert not at.exception and at.session_state["wa_monthly_xlsx"][:2] == b"PK"
    # another month: the files built for the previous one are dropped
    months = at.sidebar.selectbox(key="f_month").options
    at.sidebar.selectbox(key="f_month").select_index(len(months) - 2).run()
    assert not at.exception
    assert "wa_monthly_xlsx" not in at.session_state and "wa_report_pdf" not in at.session_state


def test_calendar_handling_portfolio_backtest_widgets(app_test, copy_store):
    at = _view(app_test(PAGE, "en"), "calendar")
    at.number_input(key="wa_cal_days").set_value(10).run()
    assert not at.exception
    crossing = at.dataframe[-1].value
    if crossing.shape[0]:
        assert crossing["Days to threshold"].max() <= 10
    _view(at, "handling")
    at.checkbox(key="wa_overdue_only").check().run()
    assert not at.exception
    _view(at, "portfolio")
    assert "Measure" in at.dataframe[0].value.columns
    _view(at, "backtest")
    at.number_input(key="wa_bt_h").set_value(2).run()
    at.number_input(key="wa_bt_months").set_value(4).run()
    assert not at.exception
    assert at.dataframe[0].value.shape[0] == 4  # precision by level


def test_notice_widgets(app_test, copy_store):
    at = _view(app_test(PAGE), "notices")
    at.multiselect(key="wa_nt_levels").set_value(["red", "orange", "yellow"]).run()
    at.multiselect(key="wa_nt_stages").set_value([]).run()
    at.button(key="wa_nt_build").click().run()
    assert not at.exception
    batch = at.session_state["wa_nt_batch"]
    assert batch.height > 0 and at.session_state["wa_nt_xlsx"][:2] == b"PK"
    assert sum(int(m.value.replace(",", "")) for m in at.metric) == batch.height
    at.radio(key="wa_nt_mode").set_value("ids").run()
    loan = batch["loan_id"][0]
    at.text_area(key="wa_nt_ids").set_value(f"{loan}, NOPE").run()
    at.button(key="wa_nt_build").click().run()
    assert at.session_state["wa_nt_batch"]["loan_id"].to_list() == [loan]
    at.radio(key="wa_nt_mode").set_value("all").run()
    at.multiselect(key="wa_nt_stages").set_value(["m2"]).run()
    at.button(key="wa_nt_build").click().run()
    assert set(at.session_state["wa_nt_batch"]["stage"]) == {"m2"}
    # template editor: an unknown placeholder is refused, naming it; a good edit is saved as a new version
    at.selectbox(key="wa_tpl_stage").set_value("m1").run()
    at.text_area(key="wa_tpl_zh_m1").set_value("您已逾期{dpd}天，{no_such}").run()
    at.text_input(key="wa_tpl_hotline").set_value("95588").run()
    at.text_input(key="wa_tpl_bank").set_value("测试银行").run()
    at.button(key="wa_tpl_save").click().run()
    assert not at.exception and "{no_such}" in at.error[0].value
    assert config.versions(copy_store, nt.CONFIG_NAME) == []
    at.text_area(key="wa_tpl_zh_m1").set_value("=您已逾期{dpd}天，请致电{hotline}").run()
    at.text_area(key="wa_tpl_en_m1").set_value("Overdue {dpd} days").run()
    at.button(key="wa_tpl_save").click().run()
    assert config.versions(copy_store, nt.CONFIG_NAME) == [1]
    saved = config.load(copy_store, nt.CONFIG_NAME, {})[1]
    assert saved["settings"]["hotline"] == "95588" and saved["templates"]["m1"]["zh"].startswith("=")


def test_rule_editor(app_test, copy_store):
    at = _view(app_test(PAGE, "en"), "rules")
    defaults = R.default_rules()
    for code, params in R.SIGNALS.items():  # every widget of the editor set (most to their current value)
        at.checkbox(key=f"wa_r_{code}_on").set_value(code != "restructured")
        at.selectbox(key=f"wa_r_{code}_level").set_value(defaults["signals"][code]["level"])
        for name in params:
            at.number_input(key=f"wa_r_{code}_{name}").set_value(float(defaults["signals"][code][name]))
    for lv, nodes in defaults["time_nodes"].items():
        at.number_input(key=f"wa_t_{lv}_respond").set_value(nodes["respond_days"])
        at.number_input(key=f"wa_t_{lv}_escalate").set_value(nodes["escalate_days"])
    for name, value in defaults["portfolio"].items():
        at.number_input(key=f"wa_p_{name}").set_value(float(value))
    at.selectbox(key="wa_r_missed_payment_level").set_value("orange")
    at.number_input(key="wa_r_ltv_high_limit").set_value(0.9)
    at.number_input(key="wa_t_red_respond").set_value(2)
    at.number_input(key="wa_t_red_escalate").set_value(10)
    at.number_input(key="wa_p_npl_ratio_max").set_value(0.03)
    at.text_input(key="wa_rules_note").set_value("test edit").run()
    at.button(key="wa_rules_save").click().run()
    assert not at.exception and at.success
    version, saved = config.load(copy_store, R.CONFIG_NAME, {})
    assert version == 1
    assert saved["signals"]["missed_payment"]["level"] == "orange"
    assert saved["signals"]["restructured"]["enabled"] is False
    assert saved["signals"]["ltv_high"]["limit"] == 0.9
    assert saved["time_nodes"]["red"] == {"respond_days": 2, "escalate_days": 10}
    assert saved["portfolio"]["npl_ratio_max"] == 0.03
    at.run()
    assert "v1" in at.caption[0].value
    # an impossible time node (escalate before respond) is refused
    at.number_input(key="wa_t_blue_escalate").set_value(1).run()
    at.button(key="wa_rules_save").click().run()
    assert at.error and config.versions(copy_store, R.CONFIG_NAME) == [1]


def test_customer_side_shows_the_blacklist_raising_and_adding_loans(app_test, copy_store):
    """A customer a steward blacklisted, with an active loan no rule warned: the centre's own list is unchanged,
    the customer-side table adds that loan at the blacklist rule's level, and its counts agree with the table."""
    import datetime as dt

    import polars as pl

    from analytics.customer import blacklist as bl

    con = store.connect(copy_store)
    month = store.months(con)[-1]
    rows = store.query(con, """SELECT s.loan_id, coalesce(l.customer_id, l.loan_id) AS customer_id
                               FROM snapshots s JOIN loans l USING (loan_id)
                               WHERE s.month = $m AND s.status = 'active' AND s.dpd = 0
                               ORDER BY s.loan_id LIMIT 200""", {"m": month})
    con.close()
    at = app_test(PAGE)
    warned = set(_list(at)["借据号"])
    loan, customer = next((r["loan_id"], r["customer_id"]) for r in rows.iter_rows(named=True)
                          if r["loan_id"] not in warned)
    config.save(copy_store, bl.CONFIG_NAME, bl.add(bl.empty(), customer_id=customer, reason="fraud (test)",
                                                   who="test", at=dt.datetime(2026, 1, 5)))
    at = app_test(PAGE)
    assert set(_list(at)["借据号"]) == warned  # the rule table's own list
    at.toggle(key="wa_customer_side").set_value(True).run()
    assert not at.exception, at.exception
    side = next(d.value for d in at.dataframe if "规则表等级" in d.value.columns)
    side = pl.from_pandas(getattr(side, "data", side)) if not isinstance(side, pl.DataFrame) else side
    mine = side.filter(pl.col("借据号") == loan)
    level = bl.default_rules()["warning_level"]
    assert mine.height == 1 and mine["黑名单"][0] == "是" and mine["规则表等级"][0] is None
    assert mine["预警等级"][0] == {"red": "红色预警", "orange": "橙色预警", "yellow": "黄色预警", "blue": "蓝色预警"}[level]
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["因客户侧新增"].replace(",", "")) == side.filter(pl.col("规则表等级").is_null()).height
