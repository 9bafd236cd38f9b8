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
