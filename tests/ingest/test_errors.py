"""Clear messages instead of tracebacks (issue 9 item 8) and values that must not pass silently (items 9,
10, 12)."""

from __future__ import annotations

import datetime as dt
import errno
import io
import os
import stat
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from analytics import ingest
from analytics.core import export, store
from analytics.ingest import LoadRejected
from analytics.ingest.checks import MONTH_FLOOR, month_ceiling
from analytics.ingest.reading import IngestError
from tests.ingest.files import APR_ROWS, SNAP_HEADER, SNAP_ROWS, D, fingerprint, load, snapshots


def _problems(prepared) -> set[tuple]:
    return {(p["rule"], p["column"]) for p in prepared.problems.iter_rows(named=True)}


@pytest.mark.parametrize("day", ["9999/12/31", "0001/1/31", "2999/12/31", "1900/3/31", "2062/11/30"])
def test_implausible_months_are_row_problems_not_tracebacks(base: Path, day: str):
    load(base, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    prepared = ingest.prepare(base, (SNAP_HEADER + SNAP_ROWS.replace("2024/3/31", day)).encode(), "x.csv", "snapshots")
    assert ("month_range", "month") in _problems(prepared)
    assert prepared.months == [] and prepared.n_bad == 3
    msg = prepared.problems.filter(pl.col("rule") == "month_range")["message_en"][0]
    assert f"{MONTH_FLOOR:%Y-%m} to {month_ceiling():%Y-%m}" in msg


def test_tiny_and_huge_floats_are_reported_not_stored_as_zero(base: Path):
    text = "借据号,客户号,机构,产品,放款日期,到期日期,放款金额(元),年利率,期限,还款方式,担保方式,押品价值,借款人年龄,年收入,行业,内部评级\n" \
        "L9,C9,B1,consumer,2023-06-01,2024-06-01,5000,1e-400,12,annuity,credit,,25,,,BBB\n"
    prepared = ingest.prepare(base, text.encode(), "l.csv", "loans")
    assert ("parse", "annual_rate") in _problems(prepared)


def test_float_rendered_money_is_rounded_within_noise_only(base: Path):
    rows = SNAP_ROWS.replace('"8.123456"', "8.1234560000000001")
    load(base, SNAP_HEADER + rows, "m.csv", "snapshots")
    assert snapshots(base)["outstanding_principal"][0] == D("81234.56")
    prepared = ingest.prepare(base, (SNAP_HEADER + SNAP_ROWS.replace('"8.123456"', "8.1234567")).encode(), "m.csv",
                              "snapshots")
    assert ("parse", "outstanding_principal") in _problems(prepared)  # a real 7th decimal of 万元: reported


def test_disk_full_while_staging_is_a_clear_refusal_and_logged(base: Path, monkeypatch):
    before = fingerprint(base)
    real = pl.DataFrame.write_parquet

    def full(self, path, *args, **kwargs):
        if "_versions" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    with pytest.raises(LoadRejected) as info:
        load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    monkeypatch.undo()
    assert "disk is full" in info.value.message("en") and "磁盘空间不足" in info.value.message("zh")
    assert fingerprint(base) == before
    assert ingest.history(base).row(0, named=True)["status"] == "rejected"
    assert not [p for p in (base / "_versions").iterdir()
                if p.name not in {m["change"].get("change_id") for m in store.mf.published_versions(base)}]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_store_is_named_as_such(base: Path):
    base.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(LoadRejected, match="cannot be written"):
            load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    finally:
        base.chmod(stat.S_IRWXU)


def test_read_only_store_simulated(base: Path, monkeypatch):
    real = os.mkdir

    def ro(path, *args, **kwargs):
        if "_versions" in str(path):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", ro)
    with pytest.raises(LoadRejected) as info:
        load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    assert "cannot be written (read-only or no permission)" in info.value.message("en")
    assert "数据目录不可写" in info.value.message("zh")


def test_corrupt_neighbouring_month_is_named(base: Path):
    load(base, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    april = load(base, SNAP_HEADER + "\n".join(APR_ROWS) + "\n", "m4.csv", "snapshots")
    rel = store.current_manifest(base)["tables"]["snapshots"][-1]
    (base / rel).write_bytes(b"PAR1 broken")
    with pytest.raises(IngestError) as info:
        ingest.prepare(base, (SNAP_HEADER + SNAP_ROWS.replace("70.5", "60")).encode(), "m3b.csv", "snapshots")
    assert rel in info.value.message("en") and rel in info.value.message("zh")
    # The repair: load April again (its own damaged file is not read) or undo its load.
    again = ingest.prepare(base, (SNAP_HEADER + "\n".join(APR_ROWS) + "\n").encode(), "m4.csv", "snapshots")
    ingest.commit(base, again, replace=True)
    assert store.damaged_files(base) == []
    assert april.change_id in ingest.history(base)["change_id"].to_list()


def test_full_width_formula_signs_are_neutralised():
    df = pl.DataFrame({"v": ["＝1+1", "＋1", "－1", "＠SUM(A1)", "=1", "正常"]})
    assert export.neutralise(df)["v"].to_list() == ["'＝1+1", "'＋1", "'－1", "'＠SUM(A1)", "'=1", "正常"]


def test_loan_ids_with_sheet_name_characters_export_to_excel():
    for loan in ("LN/2024/L000008120", "a:b", "[x]", "*?", "c\\d", "'quoted'", "x" * 40, ""):
        data = export.to_excel_bytes(pl.DataFrame({"loan_id": [loan]}), f"loan_{loan}")
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        name = book.sheetnames[0]
        assert len(name) <= 31 and not set(name) & set("/\\:[]*?")
        book.close()


def test_rounded_float_amounts_are_counted_for_the_report(base: Path, capsys, tmp_path):
    text = SNAP_HEADER + SNAP_ROWS.replace('"8.123456"', "8.1234560000000001").replace("70.5,", "70.49999999999999,")
    prepared = ingest.prepare(base, text.encode(), "m.csv", "snapshots")
    assert prepared.n_rounded == 2 and prepared.n_bad == 0
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    assert ingest.main(["--data", str(base), "--lang", "en", "load", str(path), "--table", "snapshots"]) == 0
    assert "2 amounts written as binary floats" in capsys.readouterr().out


def test_a_month_far_from_the_store_is_a_row_problem_with_file_row_and_column(base: Path):
    # The store holds 2024-03; a file of 2025-06 is 15 months later (> MONTH_GAP = 12): every row is a problem,
    # nothing is loaded, and the message names the store's months. 2025-03 (12 months later) is accepted.
    load(base, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    far = ingest.prepare(base, (SNAP_HEADER + SNAP_ROWS.replace("2024/3/31", "2025/6/30")).encode(), "far.csv",
                         "snapshots")
    outliers = far.problems.filter(pl.col("rule") == "month_outlier")
    assert outliers["row"].to_list() == [1, 2, 3] and set(outliers["file"]) == {"far.csv"}
    assert set(outliers["column"]) == {"month"} and set(outliers["value"]) == {"2025-06"}
    assert far.months == [] and far.n_bad == 3
    assert "run from 2024-03 to 2024-03" in outliers["message_en"][0]
    near = ingest.prepare(base, (SNAP_HEADER + SNAP_ROWS.replace("2024/3/31", "2025/3/31")).encode(), "near.csv",
                          "snapshots")
    assert "month_outlier" not in set(near.problems["rule"]) and near.months == [dt.date(2025, 3, 1)]
