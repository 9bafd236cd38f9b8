"""Shared fixtures: a small generated demo store for app and integration tests."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import duckdb
import pytest

from analytics.core import store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")

# Small but complete: every product, branch story and exit kind appears at this size.
DEMO_LOANS = 4_000
DEMO_MONTHS = 15
DEMO_END = dt.date(2026, 10, 1)


@pytest.fixture(autouse=True)
def _main_module_kept():
    """Put ``sys.modules["__main__"]`` back after each test: an AppTest run leaves it set to the page's script
    module, and a later test's own worker process (the kill sweep's forkserver children) would re-run that script
    as its main module on start (a function script then fails with a NameError). The app's bounded import worker
    hides the main module itself (``reading._start_without_main_script``)."""
    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """A demo store generated once per test session and pointed to by OVERDUE_DATA_DIR."""
    from analytics.tools import demo

    root = tmp_path_factory.mktemp("store") / "data"
    tables = demo.generate(n_loans=DEMO_LOANS, n_months=DEMO_MONTHS, seed=7, end_month=DEMO_END)
    demo.write_demo(root, tables)
    os.environ[store.DATA_ENV] = str(root)
    return root


@pytest.fixture()
def demo_con(demo_root) -> duckdb.DuckDBPyConnection:
    con = store.connect(demo_root)
    yield con
    con.close()


@pytest.fixture()
def app_test(demo_root, monkeypatch):
    """Factory: an AppTest of app.py switched to ``page`` (path relative to the project root)."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1 import app_test as app_test_module

    class NavigationPagesManager(PagesManager):
        # AppTest resets PagesManager.uses_pages_directory before every run, and a pages/ folder next to
        # app.py turns it on: a rerun of a switched-to page then runs pages/x.py alone (old MPA v1),
        # skipping app.py's sidebar filters. app.py always calls st.navigation, so switch it off.
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    monkeypatch.setattr(app_test_module, "PagesManager", NavigationPagesManager)

    def make(page: str | None = None, lang: str = "zh", query: dict[str, str] | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params.update(query or {})  # a shared link / a reload: the view in the URL
        at.run()
        if lang != "zh":  # through the widget, as a user does (a value put in session_state sticks in AppTest)
            at.sidebar.radio(key="lang").set_value(lang).run()
        if page:
            at.switch_page(page)
            at.run()
        assert not at.exception, at.exception
        return at

    return make


@pytest.fixture()
def sparse_store(demo_root, tmp_path, monkeypatch) -> tuple[Path, str, str]:
    """A copy of the demo store in which one branch sells nothing of one product (that filter is empty),
    with OVERDUE_DATA_DIR pointed at it. Returns (root, branch, product)."""
    import shutil

    import polars as pl

    from analytics import derived

    root = tmp_path / "data"
    shutil.copytree(demo_root, root)
    loans = pl.read_parquet(root / "loans.parquet")
    branch, product = loans.row(0, named=True)["branch_id"], loans.row(0, named=True)["product"]
    loans.filter((pl.col("branch_id") != branch) | (pl.col("product") != product)).write_parquet(
        root / "loans.parquet")
    derived.build(root)  # every store change rebuilds the derived tables
    monkeypatch.setenv(store.DATA_ENV, str(root))
    return root, branch, product


@pytest.fixture(params=["derived", "inline"])
def book_con(request, tmp_path) -> duckdb.DuckDBPyConnection:
    """The hand-built book of tests/derived_book.py, once with the derived tables built and once without."""
    from analytics import derived
    from tests.derived_book import write

    root = write(tmp_path / "store")
    if request.param == "derived":
        derived.build(root)
    c = store.connect(root)
    yield c
    c.close()


@pytest.fixture(scope="session", autouse=True)
def _users_file_outside_the_project(tmp_path_factory):
    """No test reads or writes the project's own .access/ (users file, audit log): local single-user mode unless
    a test configures users itself."""
    os.environ["OVERDUE_USERS_FILE"] = str(tmp_path_factory.mktemp("access") / "users.json")
    yield
