"""A large table is sent to the browser a page at a time; the downloads keep every row."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script():
    import polars as pl
    import streamlit as st

    import ui

    picked = ui.show_table(pl.DataFrame({"loan_id": [f"L{i:05d}" for i in range(2_500)], "dpd": list(range(2_500))}),
                           "big", selectable=True, name="big")
    st.session_state["shown_rows"] = picked


def test_large_table_is_paged(demo_root):
    at = AppTest.from_function(_script, default_timeout=60).run()
    assert not at.exception, at.exception
    page = at.number_input(key="big_page")
    assert page.value == 1 and page.max == 3  # 2,500 rows / 1,000 per page
    assert at.dataframe[0].value.shape[0] == 1_000
    page.set_value(3).run()
    shown = at.dataframe[0].value
    assert shown.shape[0] == 500 and shown.iloc[0, 0] == "L02000"  # rows 2,001-2,500


def test_small_table_has_no_page_picker(demo_root):
    def small():
        import polars as pl

        import ui

        ui.show_table(pl.DataFrame({"dpd": [1, 2, 3]}), "small")

    at = AppTest.from_function(small, default_timeout=60).run()
    assert not at.exception and not at.number_input
