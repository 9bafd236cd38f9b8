"""Every analysis page answers an empty filter result with a clear message, not an error or an empty chart."""

from __future__ import annotations

import pytest

PAGES = ("pages/overview.py", "pages/classification.py", "pages/aging.py", "pages/vintage.py", "pages/rollrate.py",
         "pages/trends.py", "pages/causes.py")


@pytest.mark.parametrize("page", PAGES)
def test_empty_filter_result_shows_message(app_test, sparse_store, page):
    _, branch, product = sparse_store
    at = app_test(page)
    assert at.get("plotly_chart") or at.dataframe  # data before filtering (a chart, or the tables of the first view)
    at.sidebar.multiselect(key="f_branches").select(branch).run()
    at.sidebar.multiselect(key="f_products").select(product).run()
    assert not at.exception
    assert any("没有数据" in i.value for i in at.info)
    assert not at.get("plotly_chart") and not at.dataframe
