"""AppTest of the loan drill-down page."""

from __future__ import annotations

PAGE = "pages/drilldown.py"


def test_default_list_search_and_history(app_test):
    at = app_test(PAGE)
    assert at.title[0].value == "借据明细"
    n_loans = int(at.metric[0].value.replace(",", ""))
    assert n_loans > 0
    loan = at.selectbox(key="dd_loan").options[0]
    at.text_input(key="dd_search").input(loan).run()
    assert not at.exception
    assert at.dataframe[0].value.shape[0] == 1  # the table is searched; the totals stay those of the number
    at.selectbox(key="dd_loan").set_value(loan).run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1


def test_english_and_no_match(app_test):
    at = app_test(PAGE, lang="en")
    assert at.title[0].value == "Loan drill-down"
    at.text_input(key="dd_search").input("no-such-loan").run()
    assert not at.exception
    assert any("No data" in i.value for i in at.info)


def _criteria(at) -> list[str]:
    """The bullet lines of the criteria expander."""
    lines = [line for m in at.markdown for line in m.value.splitlines() if line.startswith("- ")]
    return [line[2:] for line in lines]


def test_criteria_in_words_zh_and_en(app_test):
    import datetime as dt

    from analytics.core.months import add_months
    from analytics.metrics.drilldown import DrillSpec
    from tests.conftest import DEMO_END

    at = app_test(PAGE)
    assert "逾期 ≥ 1 天" in _criteria(at)  # the default list: overdue loans of the sidebar portfolio
    prev, jan = add_months(DEMO_END, -1), dt.date(2026, 1, 1)
    specs = [  # together they use every message key of drilldown.describe
        (DrillSpec(month=DEMO_END, prev_month=prev, rows="first_exit", statuses=("written_off",), prev_dpd_min=91,
                   prev_dpd_max=180, prev_classes=(3,), branches=("B01",), products=("consumer",),
                   cohort_start=jan),
         ["2026-09（不含）至 2026-10 期间首次退出（结清、核销、转让等）时的记录", "机构：B01", "产品：个人消费贷款",
          "放款月份不早于 2026-01", "状态：核销", "2026-09 末有快照记录", "2026-09 末逾期 91–180 天",
          "2026-09 末五级分类：次级"]),
        (DrillSpec(month=DEMO_END, rows="first_hit", statuses=(), ever_dpd_min=31, ever_mob_max=6,
                   cohort_start=jan, cohort_end=jan),
         ["截至 2026-10 各借据首次逾期 ≥ 31 天时的记录（冻结余额）", "放款月份 2026-01 至 2026-01",
          "在本笔账龄 MOB6 之前曾逾期 ≥ 31 天"]),
        (DrillSpec(month=DEMO_END, rows="latest", ever_dpd_min=91, cohort_end=jan, dpd_min=91, classes=(3, 4)),
         ["截至 2026-10 各借据最近一期记录（已退出的按退出时）", "放款月份不晚于 2026-01", "逾期 ≥ 91 天",
          "五级分类：次级、可疑", "截至 2026-10 曾逾期 ≥ 91 天"]),
        (DrillSpec(month=DEMO_END, new_overdue=True, prev_dpd_max=0, causes=("illness",), cause_not_reported=True,
                   below_floor=True, dpd_min=1, dpd_max=30),
         ["2026-10 月末快照", "逾期 1–30 天", "逾期原因：疾病/意外", "逾期原因未填报",
          "本月新增逾期（2026-09 末未逾期或无记录）", "2026-09 末逾期 ≤ 0 天", "账面分类优于监管底线分类"]),
        (DrillSpec(month=DEMO_END, prev_month=prev, prev_dpd_min=1, dpd_max=0),
         ["逾期 ≤ 0 天", "2026-09 末逾期 ≥ 1 天"]),
    ]
    for spec, expected in specs:
        at.session_state["drill_spec"] = spec
        at.run()
        assert not at.exception
        shown = _criteria(at)
        assert set(expected) <= set(shown), (expected, shown)
        assert not any("{" in line for line in shown)
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    shown = _criteria(at)
    assert {"Month-end snapshot of 2026-10", "DPD ≤ 0", "DPD ≥ 1 at 2026-09", "Has a snapshot at 2026-09"} <= set(shown)
    at.session_state["drill_spec"] = specs[0][0]
    at.run()
    assert {"Each loan's first exit row (paid off, written off, sold, …) after 2026-09 up to 2026-10",
            "Branches: B01", "Products: Consumer loan", "Status: Written off", "Class at 2026-09: Substandard",
            "DPD 91–180 at 2026-09"} <= set(_criteria(at))
