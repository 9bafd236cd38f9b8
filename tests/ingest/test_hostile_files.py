"""Hostile upload shapes (issue 9 item 5, duplicate headers of item 9, nested Parquet of item 8): each is
refused or read with bounded memory and time, and the cap that was hit is named with the file, row, column."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import polars as pl
import pytest

from analytics.ingest import reading
from analytics.ingest.reading import IngestError


def _xlsx(rows: list[list], dimension: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    book.save(buf)
    if dimension is None:
        return buf.getvalue()
    out = io.BytesIO()  # rewrite the sheet's declared dimension, as a hostile file would
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="%s"/>' % dimension.encode(), data)
            dst.writestr(item, data)
    return out.getvalue()


def refused(data: bytes, name: str, **kw) -> IngestError:
    with pytest.raises(IngestError) as info:
        reading.read_source(data, name, **kw)
    return info.value


def test_declared_sheet_dimension_is_ignored():
    data = _xlsx([["机构号", "机构名称", "区域"], ["B1", "总行", "东区"]], dimension="A1:XFD1048576")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert b'<dimension ref="A1:XFD1048576"/>' in z.read("xl/worksheets/sheet1.xml")
    assert len(data) < 10_000
    src = reading.read_source(data, "dim.xlsx")
    assert src.columns == ["机构号", "机构名称", "区域"] and src.frame.height == 1


def test_one_cell_far_right_is_refused_at_the_column_cap_with_row_and_count():
    rows = [["a", "b"]] + [[str(i), "x"] for i in range(2000)]
    book = openpyxl.Workbook()
    ws = book.active
    for row in rows:
        ws.append(row)
    ws["XFD1"] = "far"
    buf = io.BytesIO()
    book.save(buf)
    err = refused(buf.getvalue(), "wide.xlsx")
    assert err.code == "columns"
    assert "row 1 has 16,384 columns" in err.en and "wide.xlsx" in err.en and "第 1 行有 16,384 列" in err.zh


def test_csv_header_of_a_million_columns_is_refused_by_the_line_cap():
    data = (",".join(f"c{i}" for i in range(1_000_000)) + "\n1\n").encode()
    assert len(data) > 5_000_000
    err = refused(data, "wide.csv")
    assert err.code == "line_length" and "line 1" in err.en and "第 1 行" in err.zh


def test_csv_header_over_the_column_cap_is_refused(monkeypatch):
    monkeypatch.setenv(reading.MAX_COLUMNS_ENV, "50")
    data = (",".join(f"c{i}" for i in range(60)) + "\n" + ",".join("1" * 60) + "\n").encode()
    err = refused(data, "w.csv")
    assert err.code == "columns" and "60 columns, more than the limit of 50" in err.en


def test_csv_line_without_a_newline_is_refused_with_its_line_number():
    data = b"a,b\n1,2\n" + b"x" * (3 << 20)
    err = refused(data, "long.csv")
    assert err.code == "line_length" and "line 3" in err.en


def test_memory_limit_of_the_worker_refuses_instead_of_taking_the_server(monkeypatch):
    monkeypatch.setenv(reading.MAX_MEM_ENV, "1000")  # the worker may not exceed 1 GB of address space
    data = b"a,b,c\n" + b"12345678901234567890,abcdefghijabcdefghij,zzzzzzzzzzzzzzzzzzzzzzzz\n" * 600_000
    err = refused(data, "big.csv")
    assert err.code == "limits" and "1,000 MB" in err.en and "big.csv" in err.zh


def test_duplicate_header_is_refused_naming_both_columns():
    err = refused("借据号,逾期天数,贷款余额,逾期天数\nL1,0,1,999\n".encode(), "dup.csv")
    assert err.code == "duplicate_header" and "'逾期天数' (columns 2 and 4)" in err.en
    err = refused(_xlsx([["a", "b", "a"], [1, 2, 3]]), "dup.xlsx")
    assert err.code == "duplicate_header"


def test_parquet_list_column_is_refused_with_a_message():
    buf = io.BytesIO()
    pl.DataFrame({"branch_id": [["B1"]], "branch_name": ["x"], "region": ["y"]}).write_parquet(buf)
    err = refused(buf.getvalue(), "b.parquet")
    assert err.code == "parquet_nested" and "branch_id" in err.en and "列表" in err.zh


def test_checking_step_runs_in_the_bounded_worker_and_the_server_survives(monkeypatch, tmp_path):
    """A file that reads fine but whose check explodes (200,000 rows, every cell bad and distinct: 3 million
    problems with their messages) is refused by the checking worker's memory limit, named, and the calling
    process (the server) goes on checking the next file."""
    import resource

    from analytics.ingest import preparing

    header = ("数据日期,借据号,机构号,贷款余额(万元),逾期本金(万元),逾期利息(万元),逾期天数,五级分类,状态,技术性短期逾期,"
              "逾期原因,催收员,是否重组,押品现值(万元),本月应还(万元),本月实还(万元),处置本金(万元)\n")
    row = "2024/3/31,L{i},B{i},x{i},y,z,-5,bad{i},bad,maybe,c{i},K{i},perhaps,q,w,e,r\n"
    data = (header + "".join(row.format(i=i) for i in range(200_000))).encode()
    assert len(data) < 20_000_000
    source = reading.read_source(data, "bad.csv")  # reading fits the default limit (about 1.6 GB of address space) ...
    monkeypatch.setenv(reading.MAX_MEM_ENV, "2200")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(IngestError) as info:  # ... checking does not: the worker is stopped, not the server
        preparing.prepare_source(tmp_path, source, "snapshots")
    # the memory limit (or, on a starved machine, the time limit) is named with the file and the step
    assert info.value.code == "limits" and "Checking 'bad.csv'" in info.value.en
    assert "检查文件「bad.csv」" in info.value.zh
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: the check ran elsewhere
    monkeypatch.delenv(reading.MAX_MEM_ENV)  # the next file, under the default limit (2.2 GB is tight on some machines)
    small = reading.read_source((header + row.format(i=1)).encode(), "ok.csv")
    assert preparing.prepare_source(tmp_path, small, "snapshots").problems.height > 0  # the next file is checked


def test_an_unrecognised_failure_near_the_address_space_limit_is_reported_as_the_memory_limit(monkeypatch):
    """A failed allocation under the limit can surface as any error (a thread that cannot start, a panic): the
    worker reads its peak address space, so it is still reported as the memory limit, not as a bad file."""
    from analytics.ingest import preparing  # noqa: F401 (the worker's module is importable)

    monkeypatch.setenv(reading.MAX_MEM_ENV, "2200")
    monkeypatch.setenv(reading.SANDBOX_ENV, "1")
    with pytest.raises(IngestError) as info:
        reading.run_bounded(_reserve_then_fail, (), "big.csv", "check")
    assert info.value.code == "limits" and "Checking 'big.csv'" in info.value.en, info.value.en


def _reserve_then_fail():
    import mmap

    reserved = []
    try:
        while True:  # reserve address space (no pages touched) up to the limit
            reserved.append(mmap.mmap(-1, 64 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                                      prot=mmap.PROT_READ))
    except OSError:
        pass
    del reserved
    raise RuntimeError("Resource temporarily unavailable (os error 11)")  # what a thread start reports


def test_the_worker_does_not_rerun_the_main_script(monkeypatch, tmp_path):
    """In the app ``sys.modules["__main__"]`` is Streamlit's copy of app.py; a forkserver / spawn child would run
    it before the read (the router and its default page in every import worker). The worker starts without it:
    a main script that would fail (and leave a mark) is not run, the read works, and __main__ is put back."""
    import sys
    import types

    mark = tmp_path / "ran"
    script = tmp_path / "fake_app.py"
    script.write_text(f"open({str(mark)!r}, 'w').close()\nraise SystemExit('main script re-run in the worker')\n",
                      encoding="utf-8")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    source = reading.read_source(b"a,b\n1,2\n", "ok.csv")
    assert source.frame.select("a", "b").rows() == [("1", "2")] and not mark.exists()
    assert sys.modules["__main__"] is fake
