"""The app-wide provision scheme reaches the executive summary and the board pack command."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from analytics.core import config, store
from analytics.core.months import quarter_label
from analytics.metrics import portfolio
from analytics.metrics import provisioning as prov
from analytics.pack import __main__ as pack_main
from analytics.pack import content


def test_summary_coverage_tile_uses_the_scheme(demo_con):
    month = store.months(demo_con)[-1]
    s = content.summary(demo_con, quarter=month, rates=prov.MOF_2012, with_collections=False)
    close = s.window["effective_close"]
    tile = s.tiles.filter(pl.col("kpi") == "coverage")["value"][0]
    expected = portfolio.kpi_tiles(demo_con, month=close, rates=prov.MOF_2012).filter(kpi="coverage")["value"][0]
    default = portfolio.kpi_tiles(demo_con, month=close).filter(kpi="coverage")["value"][0]
    assert tile == pytest.approx(expected) and tile != pytest.approx(default)


def test_pack_command_reads_the_saved_scheme(demo_root, tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(demo_root, root)
    config.save(root, prov.SCHEME_CONFIG, {"preset": "mof2012"})
    seen = {}

    def fake_build(con, **kwargs):
        seen.update(kwargs)
        return b"pack"

    monkeypatch.setattr(pack_main, "build", fake_build)
    con = store.connect(root)
    quarter = quarter_label(store.months(con)[-1])
    con.close()
    out = tmp_path / "pack.xlsx"
    assert pack_main.main(["--quarter", quarter, "--format", "xlsx", "--out", str(out), "--data", str(root)]) == 0
    assert seen["rates"] == prov.MOF_2012 and out.read_bytes() == b"pack"


def test_warning_portfolio_limit_checks_the_schemes_coverage(demo_con):
    from analytics.warning import signals

    month = store.months(demo_con)[-1]
    limits = signals.portfolio_limits(demo_con, month=month, provision_rates=prov.MOF_2012)
    value = limits.filter(code="coverage")["value"][0]
    expected = portfolio.kpi_tiles(demo_con, month=month, rates=prov.MOF_2012).filter(kpi="coverage")["value"][0]
    assert value == pytest.approx(expected)
