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


def load_config(name: str, default: dict) -> tuple[int, dict]:
    """A saved configuration of the store (version, data); (0, default) when none was saved."""
    from analytics.core import config

    return config.load(store.data_root(), name, default)


def save_config(name: str, data: dict, note: str = "") -> int:
    from analytics.core import config

    return config.save(store.data_root(), name, data, note=note)


def config_history(name: str) -> list[dict]:
    from analytics.core import config

    return config.history(store.data_root(), name)


def build_pack(summary, fmt: str, lang: str) -> bytes:
    """The board pack bytes for a summary the page already holds (built on click, never on every run)."""
    from analytics import pack

    return pack.render(summary, fmt=fmt, lang=lang)


def save_targets(edited) -> str:
    """Replace the targets table by ``edited`` through the importer (checked, journaled, undoable)."""
    import polars as pl

    from analytics import ingest
    from analytics.core import export

    if not isinstance(edited, pl.DataFrame):  # st.data_editor may hand back pandas
        edited = pl.from_pandas(edited)
    root = store.data_root()
    prepared = ingest.prepare(root, export.to_csv_bytes(edited), "targets_edited_on_page.csv", "targets")
    return ingest.commit(root, prepared, replace=True).change_id
# --- the default-risk model ---------------------------------------------------------------------------------
# Loaded once per artifact folder (st.cache_resource: the fitted estimators are shared, never copied); results
# computed with it are cached like every other result, keyed on the data version AND the artifact.


@st.cache_resource(max_entries=2, show_spinner=False)
def _load_model(path: str, stamp: int):
    from analytics.model import artifact

    return artifact.load(path, contract=artifact.store_contract())


def model():
    """The newest model under ``<data root>/_models/``; raises ``artifact.ArtifactError`` (reason ``missing``,
    ``sklearn_version``, ``contract`` or ``untrusted``) when there is none or it must not be used."""
    from analytics.model import artifact

    path = artifact.latest(artifact.models_dir())
    if path is None:
        raise artifact.ArtifactError("missing", "no model has been trained on this store yet")
    return _load_model(str(path), (path / artifact.META_FILE).stat().st_mtime_ns)


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _run_model(module: str, name: str, data_version: str, model_path: str, kwargs: tuple):
    fn = getattr(importlib.import_module(module), name)
    con = store.connect()
    try:
        return fn(con, model=model(), **dict(kwargs))
    finally:
        con.close()


def run_model(fn: Callable, **kwargs):
    """``fn(con, model=<the newest model>, **kwargs)`` through the cache (keyword arguments only)."""
    return _run_model(fn.__module__, fn.__qualname__, version(), str(model().path), tuple(sorted(kwargs.items())))


def train_model(*, horizon: int, history: int) -> str:
    """Train on the current store and write a new artifact under ``<data root>/_models/``; its folder name."""
    from analytics.model import artifact, training

    con = store.connect()
    try:
        fitted = training.train_store(con, horizon=horizon, history=history)
    finally:
        con.close()
    path = artifact.save(fitted, artifact.models_dir(), contract=artifact.store_contract(), data_version=version())
    (path / "report.md").write_text(training.markdown(fitted.report), encoding="utf-8")
    return path.name
