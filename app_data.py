"""The one place where Streamlit meets analytics: cached calls keyed on the store's data version.

Pages call ``run(analytics_function, *args, **kwargs)``. The function gets a fresh DuckDB
connection as its first argument; the result (a collected Polars frame or plain values) is
cached per (function, data version, arguments). Arguments must be hashable plain values.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import streamlit as st

from analytics.core import store


# Bounded: at most 256 results (drill-down lists can be tens of MB at full size), each kept an hour.
@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def _run(module: str, name: str, data_version: str, args: tuple, kwargs: tuple):
    fn = getattr(importlib.import_module(module), name)
    con = store.connect()
    try:
        return fn(con, *args, **dict(kwargs))
    finally:
        con.close()


def version() -> str:
    return store.data_version()


SPINNER_TEXT = {"zh": "正在计算…", "en": "Computing…"}


def run(fn: Callable, *args, **kwargs):
    """``fn(con, *args, **kwargs)`` through the cache. A cache miss that takes longer than half a second
    shows a spinner with the elapsed time (st.spinner appears only after 0.5 s, so a cache hit shows nothing)."""
    text = SPINNER_TEXT.get(st.session_state.get("lang", "zh"), SPINNER_TEXT["zh"])
    with st.spinner(text, show_time=True):
        return _run(fn.__module__, fn.__qualname__, version(), args, tuple(sorted(kwargs.items())))


def has_data() -> bool:
    return store.has_data()


def clear() -> None:
    """Forget every cached result (after the store was written from the app)."""
    _run.clear()
