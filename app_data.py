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


def run(fn: Callable, *args, **kwargs):
    """``fn(con, *args, **kwargs)`` through the cache."""
    return _run(fn.__module__, fn.__qualname__, version(), args, tuple(sorted(kwargs.items())))


def has_data() -> bool:
    return store.has_data()
