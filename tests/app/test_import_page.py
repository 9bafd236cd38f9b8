"""AppTests of the data import page (数据导入) on its own tmp stores.

AppTest cannot upload a file, so the page's file step (``read_upload`` -> ``st.session_state["imp_source"]``)
is replaced by injecting a ``Source`` read from bytes, exactly what the upload produces.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics import ingest
from analytics.core import store
from analytics.ingest import mapping, reading
from tests.ingest.files import BRANCHES_CSV, LOANS_CSV, SNAP_HEADER, SNAP_ROWS, load, table_frame

PAGE = "pages/data_import.py"


@pytest.fixture()
def import_app(app_test, tmp_path, monkeypatch):
    """(make, root): app_test over an empty tmp store."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv(store.DATA_ENV, str(root))
    return app_test, root


def open_with(make, source: reading.Source | None, table: str, lang: str = "zh"):
    at = make(PAGE, lang)
    at.session_state["imp_table"] = table
    if source is not None:
        at.session_state["imp_source"] = source
    at.run()
    assert not at.exception, at.exception
    return at


def test_empty_store_renders_in_both_languages(import_app):
    make, _ = import_app
    at = open_with(make, None, "branches")
    assert at.title[0].value == "数据导入"
    assert any("还没有导入记录" in i.value for i in at.info)
    at = open_with(make, None, "branches", lang="en")
    assert at.title[0].value == "Data import"
    assert any("Nothing has been imported" in i.value for i in at.info)


def test_from_empty_folder_to_loaded_tables(import_app):
    make, root = import_app
    src = reading.read_source(BRANCHES_CSV.encode("gbk"), "机构.csv")
    at = open_with(make, src, "branches")
    assert at.selectbox(key="imp_map_branch_id").value == "机构号"
    assert [m.value for m in at.metric] == ["2", "2", "0"]
    at.text_input(key="imp_save_as").input("机构方案")
    at.button(key="imp_load").click().run()
    assert not at.exception, at.exception
    assert any("已导入 2 行" in s.value for s in at.success)
    assert table_frame(root, "branches")["branch_id"].to_list() == ["B1", "B2"]
    assert ingest.history(root).height == 1
    assert (root / "_meta" / "profiles" / "机构方案.json").is_file()

    # loans next, remapping a column by hand on the page
    src = reading.read_source(LOANS_CSV.encode("gbk"), "借据.csv")
    at.session_state["imp_table"] = "loans"
    at.session_state["imp_source"] = src
    at.run()
    at.selectbox(key="imp_map_industry").select("").run()  # unmapped: an optional column is shown as not provided
    assert not at.error and any("未提供" in i.value and "industry" in i.value for i in at.info)
    at.selectbox(key="imp_map_industry").select(mapping.ALL_EMPTY).run()  # explicitly empty for every row
    assert at.selectbox(key="imp_map_industry").value == mapping.ALL_EMPTY
    at.button(key="imp_load").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert table_frame(root, "loans")["industry"].to_list() == [None, None, None]


def test_bad_file_shows_summary_report_and_quarantine_choice(import_app):
    make, root = import_app
    load(root, BRANCHES_CSV, "b.csv", "branches")
    load(root, LOANS_CSV, "l.csv", "loans")
    bad = SNAP_HEADER + SNAP_ROWS + "2024/3/31,L9,B1,-1,0,0,0,正常,正常,否,,,否,,0,0,0\n"
    at = open_with(make, reading.read_source(bad.encode(), "m.csv"), "snapshots", lang="en")
    assert [m.value for m in at.metric] == ["4", "3", "1"]
    assert at.get("download_button")  # the error report (CSV and Excel)
    before = store.data_version(root)
    at.button(key="imp_load").click().run()
    assert any("rejected" in e.value for e in at.error)
    assert store.data_version(root) == before
    at.radio(key="imp_on_bad").set_value("quarantine").run()
    at.button(key="imp_load").click().run()
    assert not at.exception, at.exception
    assert any("quarantined 1" in s.value for s in at.success)
    assert store.data_version(root) != before


def test_existing_month_needs_confirmation_and_restore_undoes(import_app):
    make, root = import_app
    load(root, BRANCHES_CSV, "b.csv", "branches")
    load(root, LOANS_CSV, "l.csv", "loans")
    load(root, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    v1 = store.data_version(root)
    changed = SNAP_HEADER + SNAP_ROWS.replace("70.5", "60")
    at = open_with(make, reading.read_source(changed.encode(), "m2.csv"), "snapshots")
    assert at.warning and "2024-03" in at.warning[0].value
    at.button(key="imp_load").click().run()
    assert at.error  # not confirmed
    at.checkbox(key="imp_replace").check().run()
    at.button(key="imp_load").click().run()
    assert not at.exception, at.exception
    assert store.data_version(root) != v1
    latest = ingest.history(root)["change_id"][0]
    at.selectbox(key="imp_restore_id").select(latest).run()
    at.button(key="imp_restore").click().run()
    assert not at.exception, at.exception
    assert ingest.history(root)["kind"][0] == "restore"
    con = store.connect(root)
    try:
        assert store.query(con, "SELECT sum(outstanding_principal)::VARCHAR AS s FROM snapshots")["s"][0] == "786234.56"
    finally:
        con.close()


def test_value_map_editor_and_unit(import_app, tmp_path: Path):
    make, root = import_app
    load(root, BRANCHES_CSV, "b.csv", "branches")
    load(root, LOANS_CSV, "l.csv", "loans")
    text = SNAP_HEADER.replace("(万元)", "") + SNAP_ROWS
    at = open_with(make, reading.read_source(text.encode(), "m.csv"), "snapshots")
    assert at.radio(key="imp_unit").value == "元"
    at.radio(key="imp_unit").set_value("万元").run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric] == ["3", "3", "0"]
    assert at.get("arrow_data_frame") or at.dataframe


def test_bad_profile_name_and_stale_restore_show_errors_not_exceptions(import_app):
    make, root = import_app
    at = open_with(make, reading.read_source(BRANCHES_CSV.encode(), "b.csv"), "branches", lang="en")
    at.text_input(key="imp_save_as").input("../../etc/x")
    at.button(key="imp_load").click().run()
    assert not at.exception, at.exception
    assert any("Invalid profile name" in e.value for e in at.error)
    assert not store.has_table(root, "branches")
    at.text_input(key="imp_save_as").input("")
    at.button(key="imp_load").click().run()
    assert store.has_table(root, "branches")
    loaded = ingest.history(root)["change_id"][0]
    at.selectbox(key="imp_restore_id").select(loaded).run()
    ingest.restore(root, loaded)  # meanwhile, from the command line
    at.button(key="imp_restore").click().run()
    assert not at.exception, at.exception
    assert any("already been restored" in e.value for e in at.error)


def test_continuity_warning_lists_vanished_loans_and_still_loads(import_app):
    make, root = import_app
    load(root, BRANCHES_CSV, "b.csv", "branches")
    load(root, LOANS_CSV, "l.csv", "loans")
    load(root, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    april = SNAP_HEADER + SNAP_ROWS.replace("2024/3/31", "2024/4/30").splitlines()[0] + "\n"  # L2 dropped
    at = open_with(make, reading.read_source(april.encode(), "m4.csv"), "snapshots")
    assert any("1 笔贷款" in w.value for w in at.warning)
    assert [m.value for m in at.metric] == ["1", "1", "0"]  # a warning, not a problem
    [table] = [d.value for d in at.dataframe if "借据号" in d.value.columns and "规则" in d.value.columns]
    assert list(table["借据号"]) == ["L2"]
    at.button(key="imp_load").click().run()
    assert not at.exception, at.exception
    assert any("已导入 1 行" in s.value for s in at.success)
    assert ingest.history(root)["vanished_loans"][0] == 1
    at = open_with(make, reading.read_source(april.encode(), "m4.csv"), "snapshots", lang="en")
    assert any("Continuity warning" in w.value for w in at.warning)
    assert [list(d.value["Loan id"]) for d in at.dataframe if "Rule" in d.value.columns] == [["L2"]]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_preview_and_history_tables_are_labelled(import_app, lang):
    from tests.app.test_labels_everywhere import problems_in

    make, root = import_app
    load(root, BRANCHES_CSV, "b.csv", "branches")
    load(root, LOANS_CSV, "l.csv", "loans")
    bad = SNAP_HEADER + SNAP_ROWS + "2024/3/31,L9,-1,0,0,0,正常,正常,否,,,否,,0,0,0\n"
    at = open_with(make, reading.read_source(bad.encode(), "m.csv"), "snapshots", lang=lang)
    assert len(at.dataframe) >= 3  # preview, problem summary, import history
    assert problems_in(at) == []
    history = at.dataframe[-1].value
    assert ("导入行数" if lang == "zh" else "Rows loaded") in history.columns
    assert ("已导入" if lang == "zh" else "Loaded") in set(history.iloc[:, 3])


def test_large_files_are_checked_and_loaded_in_the_background_with_progress(import_app, monkeypatch):
    import time

    import jobs

    make, root = import_app
    monkeypatch.setattr(jobs, "BACKGROUND_ROWS", 1)  # every file counts as large here
    src = reading.read_source(BRANCHES_CSV.encode("gbk"), "机构.csv")
    at = open_with(make, src, "branches")

    def until(done) -> None:
        for _ in range(100):  # wait for the worker (no timing assertion: only for the result)
            if done():
                return
            time.sleep(0.1)
            at.run()
        raise AssertionError("the job did not finish")

    until(lambda: [m.value for m in at.metric] == ["2", "2", "0"])
    assert not at.exception, at.exception
    at.button(key="imp_load").click().run()
    until(lambda: any("已导入 2 行" in s.value for s in at.success))
    con = store.connect(root)
    assert store.query(con, "SELECT branch_id FROM branches ORDER BY branch_id")["branch_id"].to_list() == ["B1", "B2"]
    con.close()
