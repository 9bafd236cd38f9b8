"""AppTests of the quarterly reduction summary (管理层季度压降汇总) through app.py."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest

from analytics.core import config, store
from analytics.pack import content

PAGE = "pages/executive.py"


def _summary(root, quarter):
    con = store.connect(root)
    try:
        return content.summary(con, quarter=quarter)
    finally:
        con.close()


UNITS = {"亿元": 1e8, "万元": 1e4, "元": 1.0, "bn": 1e9, "m": 1e6, "k": 1e3}


def _amount(text: str) -> float:
    """A displayed amount ("3,471.87 万元", "CNY 34.72 m") back in yuan."""
    parts = text.replace("CNY", "").replace(",", "").split()
    return float(parts[0]) * UNITS[parts[1]]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_renders_tiles_bridge_league_programme(app_test, demo_root, lang):
    at = app_test(PAGE, lang=lang)
    assert at.title[0].value == ("管理层季度压降汇总" if lang == "zh" else "Quarterly reduction summary")
    quarter = at.selectbox(key="ex_quarter").value
    s = _summary(demo_root, quarter)
    npl = s.tiles.filter(pl.col("kpi") == "npl_balance")["value"].item()
    label = "不良贷款余额" if lang == "zh" else "NPL balance"
    tile = next(m for m in at.metric if m.label.startswith(label))
    unit = tile.label[len(label):].strip(" （）()").replace("CNY ", "")  # the unit sits in the label
    assert _amount(f"{tile.value} {unit}") == pytest.approx(npl, rel=0.005)
    assert len(at.markdown) >= 1 and any("不良" in m.value or "NPL" in m.value for m in at.markdown)
    charts = at.get("plotly_chart")
    waterfall = json.loads(charts[0].proto.spec)
    assert waterfall["data"][0]["type"] == "waterfall"
    assert not at.exception


def test_drill_list_total_equals_the_bar(app_test, demo_root):
    at = app_test(PAGE)
    at.radio(key="ex_measure").set_value("npl").run()
    quarter = at.selectbox(key="ex_quarter").value
    s = _summary(demo_root, quarter)
    frame = s.bridges["npl"]
    for line in ("written_off", "new"):
        at.selectbox(key="ex_drill_line").set_value(line).run()
        table = next(d.value for d in at.dataframe if "借据号" in d.value.columns)
        bar = float(frame.filter(pl.col("line") == line)["amount"].item())
        amount_col = [c for c in table.columns if "金额" in c][0]
        assert float(table[amount_col].astype(float).sum()) == pytest.approx(bar, abs=0.005)
        assert len(table) == frame.filter(pl.col("line") == line)["loans_count"].item()


def test_older_quarter_and_widgets(app_test):
    at = app_test(PAGE)
    options = at.selectbox(key="ex_quarter").options
    assert len(options) >= 2
    at.selectbox(key="ex_quarter").select_index(1).run()
    assert not at.exception
    assert not any("尚未结束" in w.value for w in at.warning)  # an older quarter is complete


@pytest.fixture()
def own_store(demo_root, tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(demo_root, root)
    monkeypatch.setenv(store.DATA_ENV, str(root))
    return root


def test_scheme_programme_and_targets_are_saved(app_test, own_store):
    at = app_test(PAGE)
    at.number_input(key="ex_w_cash_recovery").set_value(60.0).run()
    at.button(key="ex_save_scheme").click().run()
    assert config.versions(own_store, "assessment_scheme") == [1]
    assert config.load(own_store, "assessment_scheme", {})[1]["weights"]["cash_recovery"] == 60.0
    at.number_input(key="ex_prog_recovery_rate").set_value(50.0).run()
    at.button(key="ex_save_prog").click().run()
    assert config.load(own_store, "programme", {})[1]["recovery_rate"] == pytest.approx(0.5)
    at.button(key="ex_save_targets").click().run()
    assert not at.exception
    assert len(store.query(store.connect(own_store), "SELECT * FROM targets")) > 0
    assert any("变更号" in s.value for s in at.success)


def test_board_pack_buttons(app_test, own_store):
    at = app_test(PAGE)
    at.button(key="ex_build_xlsx").click().run()
    assert not at.exception
    assert at.get("download_button")

