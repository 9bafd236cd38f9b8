"""Page choices survive page changes and a language switch, and live in the URL (st.query_params) with the
language and the sidebar filters, so a view can be shared by link and survives a reload."""

from __future__ import annotations

import datetime as dt

OVERVIEW, ROLL, VINTAGE = "pages/overview.py", "pages/rollrate.py", "pages/vintage.py"


def test_choices_kept_across_pages_and_language(app_test):
    at = app_test(ROLL)
    at.radio(key="rr_basis").set_value("count").run()
    at.selectbox(key="rr_window").set_value(3).run()
    at.switch_page(OVERVIEW)
    at.run()
    at.radio(key="ov_compare").set_value("qoq").run()
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    # the radio shows its selection in the new language
    radio = at.radio(key="ov_compare")
    assert radio.value == "qoq" and radio.options[radio.index] == "previous quarter end"
    at.switch_page(ROLL)
    at.run()
    assert not at.exception
    assert at.radio(key="rr_basis").value == "count" and at.selectbox(key="rr_window").value == 3
    assert at.selectbox(key="rr_window").options[at.selectbox(key="rr_window").index] == "3 months pooled"
    assert at.query_params["rr_basis"] == ["count"] or at.query_params["rr_basis"] == "count"


def _q(at, key):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def test_view_written_to_the_url(app_test):
    at = app_test(VINTAGE)
    at.radio(key="vt_grain").set_value("quarter").run()
    at.sidebar.selectbox(key="f_month").set_value(dt.date(2026, 8, 1)).run()
    at.sidebar.multiselect(key="f_products").select("consumer").run()
    at.run()
    assert _q(at, "vt_grain") == "quarter" and _q(at, "f_month") == "2026-08"
    assert _q(at, "f_products") == "consumer" and _q(at, "lang") == "zh"


def test_a_link_opens_the_same_view(app_test):
    at = app_test(query={"lang": "en", "f_month": "2026-08", "f_products": "consumer", "ov_compare": "qoq",
                         "rr_basis": "count", "bogus": "x", "tr_dim": "not-a-choice"})
    assert not at.exception
    assert at.title[0].value == "Portfolio overview"
    assert at.sidebar.selectbox(key="f_month").value == dt.date(2026, 8, 1)
    assert at.sidebar.multiselect(key="f_products").value == ["consumer"]
    assert at.radio(key="ov_compare").value == "qoq"
    at.switch_page(ROLL)
    at.run()
    assert at.radio(key="rr_basis").value == "count"
    at.switch_page("pages/trends.py")
    at.run()
    assert not at.exception and at.radio(key="tr_dim").value == "total"  # an invalid value is ignored
