"""The UI's formatting rules (formats.py) and how every chart and table applies them."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import formats


@pytest.mark.parametrize(("value", "lang", "text"), [
    (12_007_872_731.0, "zh", "120.08 亿元"), (12_007_872_731.0, "en", "CNY 12.01 bn"),
    (49_650_000.0, "zh", "4,965.00 万元"), (49_650_000.0, "en", "CNY 49.65 m"),
    (5_300.0, "en", "CNY 5.30 k"), (12.5, "zh", "12.50 元"), (None, "zh", "—"),
])
def test_money_unit_fits_the_value(value, lang, text):
    assert formats.money(value, lang) == text


def test_one_percent_precision_counts_and_months():
    assert [formats.pct(v) for v in (0.037, 0.04, 0.0356)] == ["3.70%", "4.00%", "3.56%"]
    assert formats.pp(-0.0012) == "-0.12 pp"
    assert formats.count(1234567) == "1,234,567"
    assert formats.month(dt.date(2026, 10, 1)) == "2026-10"
    assert formats.month(dt.datetime(2026, 10, 1, 0, 0)) == "2026-10"
    assert formats.month_tickformat("zh") == "%Y年%-m月" and "%b" not in formats.month_tickformat("en")


def _chart(at, i=0):
    return json.loads(at.get("plotly_chart")[i].proto.spec)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_month_axes_and_amount_axes(app_test, lang):
    at = app_test()
    if lang == "en":
        at.sidebar.radio(key="lang").set_value("en").run()
    layout = _chart(at)["layout"]
    assert layout["xaxis"]["tickformat"] == formats.month_tickformat(lang)
    assert layout["yaxis"]["exponentformat"] == "none" and layout["yaxis"]["separatethousands"]
    # both axes of the dual-axis chart get their own round ticks (never synced to the other axis: 1.247, 1.872)
    assert layout["yaxis"]["tickmode"] == layout["yaxis2"]["tickmode"] == "auto"
    assert ("右轴" if lang == "zh" else "right axis") in layout["yaxis2"]["title"]["text"]
    # the right-axis series say so in the legend
    names = [t["name"] for t in _chart(at)["data"]]
    assert any(("右轴" if lang == "zh" else "right axis") in n for n in names)


def test_table_columns_formats(app_test):
    at = app_test()
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["月份"]["type_config"]["format"] == "YYYY-MM"
    money = config["贷款余额(元)"]
    assert money["type_config"]["format"] == "%,.2f" and money["width"] == "medium"
    assert config["笔数"]["type_config"]["format"] == "%,d"
    assert config["不良率"]["type_config"]["format"] == "%.2f%%"  # ratios: 2 decimals on ratio x 100


def test_ratios_in_tables_always_show_two_decimals():
    import polars as pl

    import ui

    kinds = {"share": "pct", "change": "pp", "n": "count"}
    frame = pl.DataFrame({"share": [0.037, 0.04, None], "change": [0.0012, -0.003, None], "n": [1, 2, 3]})
    grid = ui._grid_frame(frame, kinds)
    assert grid["share"].to_list()[:2] == pytest.approx([3.7, 4.0]) and grid["share"][2] is None
    assert grid["change"].to_list()[:2] == pytest.approx([0.12, -0.3]) and grid["n"].to_list() == [1, 2, 3]
    config = ui._column_config(kinds)
    # the grid's printf (sprintf-js) on the scaled values: "3.70%", "4.00%", "+0.12 pp"; its "percent" preset
    # would show "3.7%" and "4%"
    assert config["share"]["type_config"]["format"] == "%.2f%%"
    assert config["change"]["type_config"]["format"] == "%+.2f pp"
    assert [ui.PCT_FORMAT % v for v in grid["share"].to_list()[:2]] == ["3.70%", "4.00%"]


def test_highlighted_matrix_shades_flagged_cells_and_greys_small_rows():
    """ui.show_highlighted: the CSS sent with the table shades exactly the flagged cells (a null flag is not
    shaded) and greys every cell of a small-sample row, whatever its flags."""
    import re

    from streamlit.testing.v1 import AppTest

    def script():
        import polars as pl

        import ui
        df = pl.DataFrame({"cohort": ["2024-01", "2024-02", "2024-03"], "1": [0.01, 0.02, 0.03],
                           "2": [0.05, None, 0.07]})
        flags = pl.DataFrame({"cohort": [None, None, None], "1": [False, True, True], "2": [True, None, False]})
        ui.show_highlighted(df, flags, "t", grey_rows=[False, False, True])

    at = AppTest.from_function(script).run()
    assert not at.exception
    css = at.dataframe[0].proto.arrow_data.styler.styles
    cells = {rule: set(re.findall(r"row(\d+)_col(\d+)", sel)) for sel, rule in re.findall(r"([^{}]+)\{([^}]*)\}", css)}
    assert cells == {" background-color: #f6c8c3 ": {("0", "2"), ("1", "1")},
                     " background-color: #eeeeee; color: #9e9e9e ": {("2", "1"), ("2", "2")}}
    assert at.dataframe[0].value.iloc[:, 1].tolist()[:2] == [0.01, 0.02]  # values stay the ratios
