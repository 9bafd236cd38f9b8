"""The one place where Streamlit meets analytics: cached calls keyed on the store's data version.

Pages call ``run(analytics_function, *args, **kwargs)``. The function gets a connection of the configured
engine (DuckDB by default, Spark with ``OVERDUE_ENGINE=spark``: ``analytics.core.engine``) as its first
argument; the result (a collected Polars frame or plain values) is cached per (function, data version,
arguments). Arguments must be hashable plain values.

One rerun reads the published manifest once (``store.pinned``): every call of that rerun gets a cursor of
one long-lived read connection whose views name exactly the files of that version (one connection per
store version, kept by ``st.cache_resource``), so a load published in the middle of a rerun is seen by
the next rerun, never by half of this one, and no call pays for opening views again.

Branch scope (``auth``): the signed-in user's branches are applied HERE, below every page, so no page, export,
drill-down, pack or cache entry can show another branch's rows: a ``branches`` argument (or a DrillSpec's) is
limited to the scope, a loan-level call (``loan_id`` / ``loan_ids``) is refused for a loan managed elsewhere,
every returned frame with a ``branch_id`` column (and the sidebar's branch list) is filtered again, and the
scope is part of every cache key.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from analytics.core import store

# A loan belongs to the branch that manages it now (its latest snapshot), or to its branch if it has no snapshot.
_LOAN_BRANCH_SQL = """SELECT coalesce(arg_max(s.branch_id, s.month), any_value(l.branch_id)) AS branch_id
FROM loans l LEFT JOIN snapshots s ON s.loan_id = l.loan_id
WHERE list_contains($ids, l.loan_id) GROUP BY l.loan_id"""


def _scoped(value, scope: tuple[str, ...] | None):
    """Rows of ``value`` outside ``scope`` removed (frames with a branch_id column, the dimensions dict)."""
    import polars as pl

    if scope is None:
        return value
    if isinstance(value, pl.DataFrame) and "branch_id" in value.columns:
        return value.filter(pl.col("branch_id").is_in(list(scope)))
    if isinstance(value, dict) and "branches" in value:
        return value | {"branches": [b for b in value["branches"] if b[0] in set(scope)]}
    return value


def _loans_in_scope(con, kwargs: dict, scope: tuple[str, ...] | None) -> bool:
    ids = [kwargs["loan_id"]] if "loan_id" in kwargs else list(kwargs.get("loan_ids", ()))
    if scope is None or not ids:
        return True
    from analytics.core.slice import list_param

    found = store.query(con, _LOAN_BRANCH_SQL, {"ids": list_param(ids)})["branch_id"].to_list()
    return set(found) <= set(scope)


PIN = "_store_pin"


@st.cache_resource(max_entries=4, ttl=3600, show_spinner=False)
def _connection(root: str, data_version: str, engine_name: str, _manifest: dict):
    # The configured engine ($OVERDUE_ENGINE: DuckDB by default, or Spark; analytics.core.engine).
    from analytics.core import engine

    return engine.open_engine(store.data_root(root), _manifest, name=engine_name)


# Bounded: at most 256 results (drill-down lists can be tens of MB at full size), each kept an hour.
@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def _run(module: str, name: str, data_version: str, args: tuple, kwargs: tuple, _manifest: dict,
         scope: tuple | None = None):
    fn = getattr(importlib.import_module(module), name)
    from analytics.core import engine

    con = _connection(str(store.data_root()), data_version, engine.engine_name(), _manifest).cursor()
    try:
        if not _loans_in_scope(con, dict(kwargs), scope):
            raise PermissionError("loan outside the user's branches")
        return _scoped(fn(con, *args, **dict(kwargs)), scope)
    finally:
        con.close()


def scope() -> tuple[str, ...] | None:
    """The signed-in user's branches (None = all); set by ``auth.gate``."""
    value = st.session_state.get("auth_scope")
    return None if value is None else tuple(value)


def _restrict(args: tuple, kwargs: dict, user_scope: tuple[str, ...] | None) -> tuple[tuple, dict]:
    import dataclasses

    from analytics.access import restrict
    from analytics.metrics.drilldown import DrillSpec

    if user_scope is None:
        return args, kwargs
    args = tuple(dataclasses.replace(a, branches=restrict(a.branches, user_scope)) if isinstance(a, DrillSpec) else a
                 for a in args)
    if "branches" in kwargs:
        kwargs = kwargs | {"branches": restrict(tuple(kwargs["branches"]), user_scope)}
    return args, kwargs


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


SPINNER_TEXT = {"zh": "正在计算…", "en": "Computing…"}


def run(fn: Callable, *args, **kwargs):
    """``fn(con, *args, **kwargs)`` through the cache, limited to the user's branches."""
    import inspect

    user_scope = scope()
    if user_scope is not None and "branches" not in kwargs and "branches" in inspect.signature(fn).parameters:
        kwargs = kwargs | {"branches": ()}  # "all" becomes "all I may see"
    args, kwargs = _restrict(args, kwargs, user_scope)
    data_version, manifest = _pin()
    call = (fn.__module__, fn.__qualname__, data_version, args, tuple(sorted(kwargs.items())))
    try:
        warm = (*call, user_scope) in _WARM
    except TypeError:  # an unhashable argument: treat the call as a miss
        warm = None
    if warm:  # computed in this process already: a cache hit, no spinner (its thread and messages cost every rerun)
        return _run(*call, manifest, user_scope)
    # A cache miss longer than half a second shows a spinner with the elapsed time (a cache hit shows nothing).
    text = SPINNER_TEXT.get(st.session_state.get("lang", "zh"), SPINNER_TEXT["zh"])
    with st.spinner(text, show_time=True):
        result = _run(*call, manifest, user_scope)
    if warm is not None:
        _remember((*call, user_scope))
    return result


# Calls computed in this process (bounded like the cache): their next call is a cache hit and skips the spinner.
# A call whose cache entry has expired meanwhile is computed again without a spinner (only the cue is lost).
_WARM: dict[tuple, None] = {}
_WARM_MAX = 512
_WARM_LOCK = __import__("threading").Lock()


def _remember(key: tuple) -> None:
    with _WARM_LOCK:
        _WARM[key] = None
        while len(_WARM) > _WARM_MAX:
            _WARM.pop(next(iter(_WARM)))


def clear() -> None:
    """Forget every cached result (after the store was written from the app)."""
    _run.clear()
    _run_book.clear()
    with _WARM_LOCK:
        _WARM.clear()


def load_config(name: str, default: dict) -> tuple[int, dict]:
    """A saved configuration of the store (version, data); (0, default) when none was saved."""
    from analytics.core import config

    return config.load(store.data_root(), name, default)


def save_config(name: str, data: dict, note: str = "") -> int:
    import auth
    from analytics import access
    from analytics.core import config

    version = config.save(store.data_root(), name, data, note=note)
    access.audit("config_change", auth.current().username, {"config": name, "version": version})
    return version


def config_history(name: str) -> list[dict]:
    from analytics.core import config

    return config.history(store.data_root(), name)


def build_pack(summary, fmt: str, lang: str) -> bytes:
    """The board pack bytes for a summary the page already holds (built on click, never on every run)."""
    from analytics import pack

    return pack.render(summary, fmt=fmt, lang=lang)


def save_targets(edited) -> tuple[str, list[str]]:
    """Load the edited targets through the importer (checked, journaled, undoable; rows of the same branch and
    quarter are replaced). Rows with an empty target are left out: (change id, the branches left out)."""
    import polars as pl

    from analytics import ingest
    from analytics.core import export

    if not isinstance(edited, pl.DataFrame):  # st.data_editor may hand back pandas
        edited = pl.from_pandas(edited)
    complete = edited.drop_nulls()
    skipped = sorted(set(edited["branch_id"]) - set(complete["branch_id"]))
    edited = complete
    root = store.data_root()
    prepared = ingest.prepare(root, export.to_csv_bytes(edited), "targets_edited_on_page.csv", "targets")
    change = ingest.commit(root, prepared, replace=True).change_id
    import auth
    from analytics import access

    access.audit("config_change", auth.current().username, {"config": "targets", "change_id": change})
    return change, skipped
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
def _run_model(module: str, name: str, data_version: str, model_path: str, kwargs: tuple, scope: tuple | None):
    fn = getattr(importlib.import_module(module), name)
    con = store.open_store()
    try:
        if not _loans_in_scope(con, dict(kwargs), scope):
            raise PermissionError("loan outside the user's branches")
        return _scoped(fn(con, model=model(), **dict(kwargs)), scope)
    finally:
        con.close()


def run_model(fn: Callable, **kwargs):
    """``fn(con, model=<the newest model>, **kwargs)`` through the cache (keyword arguments only), limited to the
    user's branches like ``run``."""
    import inspect

    user_scope = scope()
    if user_scope is not None and "branches" not in kwargs and "branches" in inspect.signature(fn).parameters:
        kwargs = kwargs | {"branches": ()}
    _, kwargs = _restrict((), kwargs, user_scope)
    return _run_model(fn.__module__, fn.__qualname__, version(), str(model().path), tuple(sorted(kwargs.items())),
                      user_scope)


@st.cache_resource(max_entries=3, ttl=3600, show_spinner=False)
def _book(root: str, data_version: str, engine_name: str, model_path: str, month, _manifest: dict):
    """The month's whole book scored by the model at ``model_path`` (``scoring.cached_book_scores``: a file next
    to the model, so a restart or another server reads it instead of scoring again); kept as one shared frame."""
    from analytics.model import artifact, scoring

    fitted = _load_model(model_path, (Path(model_path) / artifact.META_FILE).stat().st_mtime_ns)  # that one model
    con = _connection(root, data_version, engine_name, _manifest).cursor()
    try:
        return scoring.cached_book_scores(con, month=month, model=fitted, data_version=data_version)
    finally:
        con.close()


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _run_book(module: str, name: str, data_version: str, model_path: str, month, branches: tuple, products: tuple,
              whole: bool, _manifest: dict, scope: tuple | None):
    from analytics.core import engine
    from analytics.model import scoring

    fn = getattr(importlib.import_module(module), name)
    root = str(store.data_root())
    book = _book(root, data_version, engine.engine_name(), model_path, month, _manifest)
    con = _connection(root, data_version, engine.engine_name(), _manifest).cursor()
    try:
        scored = book if whole else scoring.in_slice(book, branches, products)
        return _scoped(fn(con, scored, month=month, branches=branches, products=products), scope)
    finally:
        con.close()


def run_book(fn: Callable, *, month, branches: tuple[str, ...] = (), products: tuple[str, ...] = (),
             whole: bool = False):
    """``fn(con, scored, month=, branches=, products=)`` through the cache, ``scored`` being the month's book as
    the newest model scores it (``scoring.book_scores``), cut to the slice (``whole``: all of it, for a function
    that joins it to the loans it selects itself). The book is scored once per month, model and data version
    (tens of seconds at 1M loans) and kept on disk next to the model; a slice of it costs a filter. Limited to
    the user's branches like ``run``."""
    user_scope = scope()
    _, kwargs = _restrict((), {"branches": tuple(branches)}, user_scope)
    data_version, manifest = _pin()
    call = (fn.__module__, fn.__qualname__, data_version, str(model().path), month, tuple(kwargs["branches"]),
            tuple(products), whole)
    if (*call, user_scope) in _WARM:
        return _run_book(*call, manifest, user_scope)
    with st.spinner(SPINNER_TEXT.get(st.session_state.get("lang", "zh"), SPINNER_TEXT["zh"]), show_time=True):
        result = _run_book(*call, manifest, user_scope)
    _remember((*call, user_scope))
    return result


def train_model(*, horizon: int, history: int) -> str:
    """Train on the current store and write a new artifact under ``<data root>/_models/``; its folder name."""
    from analytics.model import artifact, training

    con = store.open_store()
    try:
        fitted = training.train_store(con, horizon=horizon, history=history)
    finally:
        con.close()
    path = artifact.save(fitted, artifact.models_dir(), contract=artifact.store_contract(), data_version=version())
    (path / "report.md").write_text(training.markdown(fitted.report), encoding="utf-8")
    from analytics.model import scoring

    scoring.warm_latest(None, artifact.load(path, contract=artifact.store_contract()))
    return path.name


@st.cache_data(max_entries=16, ttl=60, show_spinner=False)
def _damaged(root: str, data_version: str) -> list[str]:
    return store.damaged_files(root)


def damaged() -> list[str]:
    """Files of the published version that cannot be read (checked once a minute per version)."""
    return _damaged(str(store.data_root()), version())


def has_data() -> bool:
    return store.has_data() and not damaged()


# --- what-if scenarios (pages/scenarios.py) ----------------------------------------------------------------

def provision_rates():
    """The app-wide provision scheme (saved on the scenario page) as ``ProvisionRates``; every page showing
    coverage passes it on, so all of them show the same 拨备覆盖率. (version, rates); version 0 = the default."""
    from analytics.metrics import provisioning

    version, scheme = load_config(provisioning.SCHEME_CONFIG, provisioning.DEFAULT_SCHEME)
    try:
        return version, provisioning.rates_of(scheme)
    except ValueError:  # a hand-edited, invalid file: the default rather than a broken page
        return 0, provisioning.rates_of(provisioning.DEFAULT_SCHEME)


def save_scenario(kind: str, name: str, params: dict) -> int:
    import auth
    from analytics import access
    from analytics.scenario import saved

    version = saved.save(store.data_root(), kind=kind, name=name, params=params)
    access.audit("config_change", auth.current().username, {"config": f"scenario_{kind}", "name": name,
                                                            "version": version})
    return version


def saved_scenarios(kind: str) -> dict[str, dict]:
    """Saved scenarios of ``kind``: name -> {"version", "params"}."""
    from analytics.scenario import saved

    return saved.saved(store.data_root(), kind=kind)


def customer_side() -> dict[str, str]:
    """The saved customer-side settings that drive the warnings (latest versions; the defaults where a saved
    version cannot be used — the customer page says so): ``grade_rules``, ``blacklist_rules`` and ``records``
    (the steward's blacklist entries), as the texts ``customer.blacklist.warnings`` takes."""
    from analytics.customer import blacklist as bl
    from analytics.customer import grading as gr

    def text(name, default, validate, dumps, error):
        try:
            return dumps(validate(load_config(name, default)[1]))
        except error:
            return dumps(validate(default))

    return {"grade_rules": text(gr.CONFIG_NAME, gr.default_rules(), gr.validate, gr.dumps, gr.GradingError),
            "blacklist_rules": text(bl.RULES_CONFIG, bl.default_rules(), bl.validate, bl.dumps, bl.BlacklistError),
            "records": bl.dumps_records(load_config(bl.CONFIG_NAME, bl.empty())[1])}
