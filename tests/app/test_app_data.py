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
    dims = app_data.run(portfolio.dimensions)
    assert dims["months"]
    assert shown == [("正在计算…", True)]
