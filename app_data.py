"""The one place where Streamlit meets analytics: cached calls keyed on the store's data version.

Pages call ``run(analytics_function, *args, **kwargs)``. The function gets a DuckDB connection as its
first argument; the result (a collected Polars frame or plain values) is cached per (function, data
version, arguments). Arguments must be hashable plain values.

One rerun reads the published manifest once (``store.pinned``): every call of that rerun gets a cursor of
one long-lived read connection whose views name exactly the files of that version (one connection per
store version, kept by ``st.cache_resource``), so a load published in the middle of a rerun is seen by
the next rerun, never by half of this one, and no call pays for opening views again.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import streamlit as st

from analytics.core import store

PIN = "_store_pin"


@st.cache_resource(max_entries=4, ttl=3600, show_spinner=False)
def _connection(root: str, data_version: str, _manifest: dict):
    return store.connect_manifest(store.data_root(root), _manifest)


# Bounded: at most 256 results (drill-down lists can be tens of MB at full size), each kept an hour.
@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def _run(module: str, name: str, data_version: str, args: tuple, kwargs: tuple, _manifest: dict):
    fn = getattr(importlib.import_module(module), name)
    con = _connection(str(store.data_root()), data_version, _manifest).cursor()
    try:
        return fn(con, *args, **dict(kwargs))
    finally:
        con.close()


def begin_run() -> None:
    """Pin the published version for this script run (``app.py`` calls it first on every rerun)."""
    st.session_state[PIN] = (str(store.data_root()), *store.pinned())


def _pin() -> tuple[str, dict]:
    pin = st.session_state.get(PIN)
    if pin is None or pin[0] != str(store.data_root()):
        return store.pinned()
    return pin[1], pin[2]


def version() -> str:
    return _pin()[0]


def run(fn: Callable, *args, **kwargs):
    """``fn(con, *args, **kwargs)`` through the cache, on the version pinned for this run."""
    version, manifest = _pin()
    return _run(fn.__module__, fn.__qualname__, version, args, tuple(sorted(kwargs.items())), manifest)


@st.cache_data(max_entries=16, ttl=60, show_spinner=False)
def _damaged(root: str, data_version: str) -> list[str]:
    return store.damaged_files(root)


def damaged() -> list[str]:
    """Files of the published version that cannot be read (checked once a minute per version)."""
    return _damaged(str(store.data_root()), version())


def has_data() -> bool:
    return store.has_data() and not damaged()
