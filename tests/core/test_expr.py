"""The one safe division and its zero policy (analytics.core.expr)."""

import polars as pl
import pytest

from analytics.core.expr import pct_change, safe_div, share_of_total


def test_safe_div_zero_and_null_denominators_give_null():
    df = pl.DataFrame({"num": [1, 2, 3, None], "den": [4, 0, None, 2]})
    assert df.select(safe_div("num", "den"))["num"].to_list() == [0.25, None, None, None]


def test_shares_and_pct_change():
    df = pl.DataFrame({"g": ["a", "a", "b", "b"], "v": [1, 3, 0, 0], "prev": [2, 0, 1, 0]})
    assert df.select(share_of_total("v"))["v"].to_list() == [0.25, 0.75, 0.0, 0.0]
    assert df.select(share_of_total("v", ["g"]))["v"].to_list() == [0.25, 0.75, None, None]
    assert df.select(pct_change("v", "prev"))["v"].to_list() == pytest.approx([-0.5, None, -1.0, None], nan_ok=True)
