"""An empty data folder offers, on the page, the demo book, the import page and the import templates."""

from __future__ import annotations

import csv
import io

import pytest

from analytics.core import schema, store


@pytest.fixture()
def empty_root(tmp_path, monkeypatch):
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv(store.DATA_ENV, str(root))
    return root


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_empty_folder_offers_demo_import_and_templates(app_test, empty_root, lang):
    at = app_test(lang=lang)
    assert not at.exception
    assert at.warning and str(empty_root) in at.warning[0].value
    assert "make demo" not in at.warning[0].value
    assert at.button(key="empty_demo")
    keys = {b.key for b in at.get("download_button")}
    assert {f"empty_template_{t}" for t in schema.TABLES} <= keys


def test_template_rows_come_from_the_contract():
    import ui

    rows = list(csv.reader(io.StringIO(ui.template_csv("snapshots").decode("utf-8-sig"))))
    assert rows[0] == [c.zh for c in schema.SNAPSHOTS.columns]
    assert rows[1] == [c.name for c in schema.SNAPSHOTS.columns]


def test_generate_demo_from_the_page(app_test, empty_root, monkeypatch):
    import ui

    monkeypatch.setattr(ui, "EMPTY_DEMO_LOANS", 600)
    at = app_test()
    at.button(key="empty_demo").click().run()
    assert not at.exception, at.exception
    assert store.has_data(empty_root)
    assert at.title[0].value == "资产质量总览" and at.metric
