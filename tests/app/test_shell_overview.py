"""AppTests of the shell (filters, language switch) and the overview page, through app.py."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.core import store
from analytics.metrics import portfolio
from tests.app.grid import ratios

OVERVIEW = "pages/overview.py"


def _metrics(at) -> dict[str, str]:
    # money tiles carry their unit in the label: "贷款余额（亿元）", "Total loans (CNY bn)"
    return {m.label.split("（")[0].removesuffix(" (CNY bn)").removesuffix(" (CNY m)"): m.value for m in at.metric}


def test_overview_renders_kpis_matching_analytics(app_test, demo_root):
    at = app_test(OVERVIEW)
    con = store.connect(demo_root)
    month = store.months(con)[-1]
    tiles = {r["kpi"]: r for r in portfolio.kpi_tiles(con, month=month).iter_rows(named=True)}
    metrics = _metrics(at)
    assert metrics["不良率"] == f"{tiles['npl_ratio_balance']['value'] * 100:.2f}%"
    assert metrics["逾期率"] == f"{tiles['overdue_ratio_balance']['value'] * 100:.2f}%"
    assert len(at.get("plotly_chart")) == 1
    assert at.title[0].value == "资产质量总览"


def test_language_switch(app_test):
    at = app_test(OVERVIEW)
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Portfolio overview"
    assert "NPL ratio" in _metrics(at)


def test_filters_change_the_numbers(app_test, demo_root):
    at = app_test(OVERVIEW)
    before = _metrics(at)["贷款余额"]
    con = store.connect(demo_root)
    branch = store.query(con, "SELECT min(branch_id) AS b FROM branches")["b"][0]
    at.sidebar.multiselect(key="f_branches").select(branch).run()
    assert not at.exception
    after_branch = _metrics(at)["贷款余额"]
    assert after_branch != before
    at.sidebar.multiselect(key="f_products").select("consumer").run()
    assert not at.exception and _metrics(at)["贷款余额"] != after_branch


def test_month_and_compare_widgets(app_test):
    at = app_test(OVERVIEW)
    # August: the previous month (July) differs from the previous quarter end (June).
    at.sidebar.selectbox(key="f_month").set_value(dt.date(2026, 8, 1)).run()
    assert not at.exception
    assert "2026-08" in at.caption[0].value
    delta_mom = [m.delta for m in at.metric]
    at.radio(key="ov_compare").set_value("qoq").run()
    assert not at.exception
    assert [m.delta for m in at.metric] != delta_mom


def test_drill_button_opens_loan_list(app_test):
    at = app_test(OVERVIEW)
    at.selectbox(key="ov_drill_choice").set_value("npl").run()
    at.button(key="ov_drill").click().run()
    assert not at.exception
    assert at.title[0].value == "借据明细"
    assert at.session_state["drill_spec"].classes == (3, 4, 5)
    n_loans = int(at.metric[0].value.replace(",", ""))
    assert n_loans > 0


def test_trend_table_has_count_variants(app_test, demo_root):
    # every ratio in balance and count variants: the count NPL ratio = NPL loans / loans of the as-of month
    at = app_test(OVERVIEW)
    con = store.connect(demo_root)
    month = store.months(con)[-1]
    row = portfolio.quality_by(con, month_from=month, month_to=month).row(0, named=True)
    con.close()
    shown = ratios(at.dataframe[0])  # newest month first
    assert float(shown["不良率(笔数)"].iloc[0]) == pytest.approx(row["npl_count"] / row["total_count"])
    assert float(shown["逾期率(笔数)"].iloc[0]) == pytest.approx(row["overdue_count"] / row["total_count"])


def test_drill_keeps_language_and_filters(app_test):
    at = app_test(OVERVIEW)
    at.sidebar.radio(key="lang").set_value("en").run()
    at.sidebar.selectbox(key="f_month").set_value(dt.date(2026, 8, 1)).run()
    at.sidebar.multiselect(key="f_products").select("consumer").run()
    at.button(key="ov_drill").click().run()
    assert not at.exception
    assert at.title[0].value == "Loan drill-down"
    assert at.sidebar.selectbox(key="f_month").value == dt.date(2026, 8, 1)
    assert at.sidebar.multiselect(key="f_products").value == ["consumer"]
    spec = at.session_state["drill_spec"]
    assert (spec.month, spec.products) == (dt.date(2026, 8, 1), ("consumer",))


def _tiles(at) -> dict[str, object]:
    return {m.label: m.proto for m in at.metric}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_kpi_delta_direction_follows_the_number_not_the_text(app_test, demo_root, lang):
    """A falling overdue balance: down arrow, green; a rising one: up arrow, red; no change: no arrow, grey."""
    from streamlit.proto.Metric_pb2 import Metric as MetricProto

    at = app_test(OVERVIEW)
    if lang == "en":
        at.sidebar.radio(key="lang").set_value("en").run()
    con = store.connect(demo_root)
    month = store.months(con)[-1]
    tiles = {r["kpi"]: r for r in portfolio.kpi_tiles(con, month=month).iter_rows(named=True)}
    con.close()
    names = {"zh": {"overdue_balance": "逾期贷款余额", "total_balance": "贷款余额", "npl_ratio_balance": "不良率"},
             "en": {"overdue_balance": "Overdue balance", "total_balance": "Total loans",
                    "npl_ratio_balance": "NPL ratio"}}[lang]
    shown = _tiles(at)
    seen = 0
    for kpi, name in names.items():
        proto = next(p for label, p in shown.items() if label.startswith(name) and (label == name or "(" in label
                                                                                  or "（" in label))
        change = tiles[kpi]["change_mom"]
        bad_up = kpi != "total_balance"
        if change is None:
            continue
        seen += 1
        if proto.delta in ("持平", "unchanged"):
            assert proto.direction == MetricProto.MetricDirection.NONE and proto.color == MetricProto.MetricColor.GRAY
        elif change < 0:
            assert proto.direction == MetricProto.MetricDirection.DOWN
            assert proto.color == (MetricProto.MetricColor.GREEN if bad_up else MetricProto.MetricColor.RED)
            assert not proto.delta.startswith(("CNY", "+"))
        else:
            assert proto.direction == MetricProto.MetricDirection.UP
            assert proto.color == (MetricProto.MetricColor.RED if bad_up else MetricProto.MetricColor.GREEN)
    assert seen == 3
    # money tiles carry their unit in the label and a short number as the value
    unit = "元）" if lang == "zh" else "(CNY"
    money = [label for label in shown if unit in label]
    assert len(money) >= 4 and all(len(shown[label].body) <= 10 for label in money)


def test_zero_change_shows_no_arrow():
    import formats

    d = formats.delta(0.0000001, kind="pct", lang="zh", up_is="bad")
    assert (d.text, d.arrow, d.color) == ("持平", "off", "gray")
    d = formats.delta(-10_680_000, kind="money", lang="en", up_is="bad", divisor=1e6)
    assert (d.text, d.arrow, d.color) == ("−10.68", "down", "green")
    d = formats.delta(0.0012, kind="pct", lang="en", up_is="bad")
    assert (d.text, d.arrow, d.color) == ("+0.12 pp", "up", "red")
    assert formats.delta(None, kind="pct", lang="zh").text is None
