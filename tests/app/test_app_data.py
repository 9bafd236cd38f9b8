"""app_data.run: every analytics call goes through the cache inside a delayed spinner."""

from __future__ import annotations

import contextlib

import app_data
from analytics.metrics import portfolio


def test_every_call_runs_inside_a_spinner(demo_root, monkeypatch):
    shown = []

    @contextlib.contextmanager
    def spinner(text, show_time=False):
        shown.append((text, show_time))
        yield

    monkeypatch.setattr(app_data.st, "spinner", spinner)
    app_data.clear()
    dims = app_data.run(portfolio.dimensions)
    assert dims["months"]
    assert shown == [("正在计算…", True)]


def test_a_warm_call_skips_the_spinner(demo_root, monkeypatch):
    """A call already computed in this process is a cache hit: no spinner (its thread and delta messages cost
    every rerun of every session); a call with other arguments is a miss and gets one."""
    shown = []

    @contextlib.contextmanager
    def spinner(text, show_time=False):
        shown.append(text)
        yield

    monkeypatch.setattr(app_data.st, "spinner", spinner)
    app_data.clear()
    first = app_data.run(portfolio.dimensions)
    again = app_data.run(portfolio.dimensions)
    assert again == first and shown == ["正在计算…"]
    month = first["months"][-1]
    app_data.run(portfolio.kpi_tiles, month=month)
    app_data.run(portfolio.kpi_tiles, month=month)
    assert shown == ["正在计算…", "正在计算…"]
