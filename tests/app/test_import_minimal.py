"""The data import page takes a minimal bank export (issue 8 done-when): snapshots only, Chinese headers, GBK,
a title row above the header (CSV and an Excel sheet with merged title rows); the overview numbers then equal
the hand-computed sums of the file (tests/ingest/minimal.py)."""

from __future__ import annotations

import pytest

from analytics.core import store
from tests.ingest import minimal
from tests.ingest.files import load
from tests.ingest.test_minimal_export import check_minimal_store

PAGE = "pages/data_import.py"


@pytest.fixture()
def branches_loaded(app_test, tmp_path, monkeypatch):
    root = tmp_path / "data"
    load(root, minimal.branches_csv(), "机构.csv", "branches")
    monkeypatch.setenv(store.DATA_ENV, str(root))
    return app_test, root


def open_file(make, data: bytes, name: str, lang: str = "zh"):
    """The page with a file as the uploader hands it over (AppTest cannot upload: its bytes go to the session)."""
    at = make(PAGE, lang)
    at.session_state["imp_table"] = "snapshots"
    at.session_state["imp_bytes"] = (data, name)
    at.run()
    assert not at.exception, at.exception
    return at


def test_minimal_gbk_csv_loads_from_the_page(branches_loaded):
    make, root = branches_loaded
    at = open_file(make, minimal.snapshots_csv(), "快照.csv")
    assert at.number_input(key="imp_header_row").value == 2  # the title line is skipped
    assert at.selectbox(key="imp_map_branch_id").value == "机构号"
    assert at.selectbox(key="imp_loanmap_origination_date").value == "放款月份"
    assert at.selectbox(key="imp_loanmap_principal").value == "放款金额"
    infos = " ".join(i.value for i in at.info)
    assert "客户经理" in infos and "未提供" in infos and "新建 5 笔借据" in infos
    assert "处置本金（disposed_principal）" not in infos and "disposed_principal 由其他列推导" in infos
    assert not at.error, [e.value for e in at.error]
    at.button(key="imp_load").click().run()
    assert not at.exception, at.exception
    assert any("已导入 9 行" in s.value and "新建借据 5 笔" in s.value for s in at.success)
    check_minimal_store(root)
    assert any("仓库中的快照未提供" in c.value and "逾期本金（overdue_principal）" in c.value for c in at.caption)
    at.switch_page("pages/overview.py").run()  # the overview renders on the imported book
    assert not at.exception, at.exception


def test_minimal_xlsx_with_merged_title_rows_and_the_header_row_input(branches_loaded):
    make, root = branches_loaded
    at = open_file(make, minimal.snapshots_xlsx(), "快照.xlsx", lang="en")
    assert at.number_input(key="imp_header_row").value == 3
    assert at.selectbox(key="imp_sheet").value == "贷款明细"
    at.number_input(key="imp_header_row").set_value(2).run()  # the wrong row: no column maps any more
    assert not at.exception, at.exception
    assert at.selectbox(key="imp_map_loan_id").value == ""
    assert any("cannot be loaded" in e.value for e in at.error)
    at.number_input(key="imp_header_row").set_value(3).run()
    assert at.selectbox(key="imp_map_loan_id").value == "借据号"
    assert not at.error, [e.value for e in at.error]
    at.button(key="imp_load").click().run()
    assert not at.exception, at.exception
    assert any("Created 5 loans" in s.value for s in at.success)
    check_minimal_store(root)


def test_quarantine_that_makes_a_loan_vanish_is_warned_on_the_page(branches_loaded):
    make, root = branches_loaded
    from analytics import ingest

    ingest.commit(root, ingest.prepare(root, minimal.snapshots_csv(), "快照.csv", "snapshots"))
    rows = [r.copy() for r in minimal.ROWS if r[1] == "2024-03" and r[0] in ("L1", "L4", "L5")]
    for r in rows:
        r[1] = "2024-04"
    rows[1][4] = "六十五"  # L4's row cannot be read
    text = "\n".join([",".join(minimal.HEADER)] + [",".join(minimal._quote(c) for c in r) for r in rows]) + "\n"
    at = open_file(make, text.encode("gbk"), "4月.csv")
    assert not any("L4" in w.value for w in at.warning)  # rejecting the whole file makes nothing vanish
    at.radio(key="imp_on_bad").set_value("quarantine").run()
    assert any("L4" in w.value and "无记录" in w.value for w in at.warning)
    at.button(key="imp_load").click().run()
    assert not at.exception, at.exception
    assert any("L4" in w.value and "因隔离" in w.value for w in at.warning)


def test_another_sheet_detects_its_header_again(branches_loaded):
    import io

    import openpyxl

    make, _ = branches_loaded
    book = openpyxl.load_workbook(io.BytesIO(minimal.snapshots_xlsx()))
    notes = book.create_sheet("说明", 0)  # a first sheet with the header on row 1
    notes.append(["借据号", "数据月份", "机构号"])
    notes.append(["L1", "2024-02", "B1"])
    buf = io.BytesIO()
    book.save(buf)
    at = open_file(make, buf.getvalue(), "两页.xlsx")
    assert at.selectbox(key="imp_sheet").value == "说明"
    assert at.number_input(key="imp_header_row").value == 1
    at.selectbox(key="imp_sheet").select("贷款明细").run()
    assert not at.exception, at.exception
    assert at.number_input(key="imp_header_row").value == 3
    assert at.selectbox(key="imp_map_loan_id").value == "借据号"
