"""Loading prepared files (``analytics.ingest.committing``): the atomic swap and its recovery, quarantine, replace,
restore, the import log, derived-table rebuilds, end-to-end loads."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import ingest
from analytics.core import manifest, store
from analytics.ingest import LoadRejected, committing, journal, mapping
from analytics.metrics import portfolio
from tests.ingest.files import (
    LOANS_CSV,
    SNAP_HEADER,
    SNAP_ROWS,
    D,
    fingerprint,
    load,
    rejected,
    snapshots,
    table_frame,
)


def test_existing_month_needs_confirmation(base: Path):
    load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    assert "confirm" in rejected(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")


def test_month_loaded_by_another_user_since_prepare_still_needs_confirmation(base: Path):
    data = (SNAP_HEADER + SNAP_ROWS).encode()
    first = ingest.prepare(base, data, "a.csv", "snapshots")
    second = ingest.prepare(base, data.replace(b"70.5", b"60"), "b.csv", "snapshots")
    assert first.existing_months == second.existing_months == []
    ingest.commit(base, first)
    before = fingerprint(base)
    with pytest.raises(LoadRejected, match="confirm"):
        ingest.commit(base, second)
    assert fingerprint(base) == before


def test_failure_in_the_middle_of_the_load_changes_nothing(base: Path, monkeypatch):
    load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    before = fingerprint(base)
    real, calls = manifest.write_json, []

    def flaky(path, data):
        calls.append(path)
        if path.name == "current.json":
            raise OSError("disk full")
        real(path, data)

    monkeypatch.setattr(manifest, "write_json", flaky)
    with pytest.raises(LoadRejected, match="Writing the data folder failed"):
        load(base, SNAP_HEADER + SNAP_ROWS.replace("70.5", "60"), "m.csv", "snapshots", replace=True)
    monkeypatch.undo()
    assert fingerprint(base) == before
    ingest.recover(base)
    published = {m["change"].get("change_id") for m in manifest.published_versions(base)}
    assert {p.name for p in (base / "_versions").iterdir()} <= published  # the failed change's files are gone


def test_quarantine_loads_valid_rows_and_keeps_the_rest_with_reasons(base: Path):
    text = SNAP_HEADER + SNAP_ROWS + "2024/3/31,L9,B1,1,0,0,0,正常,正常,否,,,否,,0,0,0\n"
    result = load(base, text, "m.csv", "snapshots", on_bad="quarantine")
    assert (result.rows_accepted, result.rows_rejected) == (3, 1)
    assert snapshots(base)["loan_id"].to_list() == ["L1", "L2", "L3"]
    kept = pl.read_parquet(base / result.quarantine / "rows.parquet")
    assert kept["loan_id"].to_list() == ["L9"]
    assert kept["__rules__"].to_list() == ["reference"]
    assert "loans" in kept["__reasons_en__"][0]
    log = ingest.history(base).row(0, named=True)
    assert (log["rows_accepted"], log["rows_rejected"], log["quarantine"]) == (3, 1, result.quarantine)


def test_replace_keeps_previous_version_and_restore_undoes_it(base: Path):
    first = load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    v1 = fingerprint(base)
    second = load(base, SNAP_HEADER + SNAP_ROWS.replace("70.5", "60"), "m2.csv", "snapshots", replace=True)
    assert snapshots(base)["outstanding_principal"][1] == D("600000.00")
    v2 = fingerprint(base)
    undo = ingest.restore(base, second.change_id)
    assert snapshots(base)["outstanding_principal"][1] == D("705000.00")
    assert {k: v for k, v in fingerprint(base).items() if k != "__version__"} == \
        {k: v for k, v in v1.items() if k != "__version__"}
    assert fingerprint(base)["__version__"] != v2["__version__"]
    ingest.restore(base, undo.change_id)  # a restore is itself reversible
    assert snapshots(base)["outstanding_principal"][1] == D("600000.00")
    ingest.restore(base, first.change_id, confirm=True)  # undo the very first load: the month disappears
    assert snapshots(base).is_empty()
    log = ingest.history(base)
    assert log["kind"].to_list() == ["restore", "restore", "restore", "load", "load", "load", "load"]
    assert log["restored_from"][0] == first.change_id


def test_restore_twice_and_unknown_or_traversing_ids_are_refused(base: Path, capsys):
    result = load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    undo = ingest.restore(base, result.change_id)
    before = fingerprint(base)
    with pytest.raises(LoadRejected, match=f"already been restored \\(as {undo.change_id}\\)"):
        ingest.restore(base, result.change_id)
    for bad in ("nosuch", "../../etc", "../_meta", ""):
        with pytest.raises(LoadRejected, match="no restorable change"):
            ingest.restore(base, bad)
    assert fingerprint(base) == before
    log = ingest.history(base)
    assert log.filter(pl.col("change_id") == result.change_id)["restorable"].to_list() == [False]
    assert log.filter(pl.col("change_id") == undo.change_id)["restorable"].to_list() == [True]
    assert ingest.main(["--data", str(base), "restore", "../../etc/x"]) == 1
    assert "没有可恢复的导入记录" in capsys.readouterr().err


def test_loans_are_upserted_by_key_and_old_file_kept(base: Path):
    before = table_frame(base, "loans")
    text = LOANS_CSV.splitlines()[0] + "\nL2,C2,B2,个人住房贷款,20220310,20420310,900000,0.041,240,等额本金,抵押,,41,,,AA\n" \
        "L4,C4,B2,consumer,2024-01-01,2025-01-01,100,0.1,12,annuity,credit,,30,,,A\n"
    result = load(base, text, "l.csv", "loans")
    after = table_frame(base, "loans")
    assert after["loan_id"].to_list() == ["L1", "L3", "L2", "L4"]
    assert after.filter(pl.col("loan_id") == "L2")["principal"].item() == D("900000.00")
    ingest.restore(base, result.change_id)  # the previous version is kept: the restore gives it back
    assert_frame_equal(table_frame(base, "loans"), before)


def test_import_log_records_checksum_table_months_profile(base: Path):
    data = (SNAP_HEADER + SNAP_ROWS).encode("gbk")
    result = ingest.commit(base, ingest.prepare(base, data, "快照.csv", "snapshots"))
    row = ingest.history(base).row(0, named=True)
    assert row["change_id"] == result.change_id
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert (row["source"], row["table"], row["months"], row["rows_accepted"], row["status"]) == (
        "快照.csv", "snapshots", "2024-03", 3, "loaded")
    assert row["profile"] == "snapshots"
    assert json.loads((base / "_meta" / "import_log.jsonl").read_text(encoding="utf-8").splitlines()[-1])["sha256"]


def test_bad_profile_name_refuses_the_load_before_anything_is_written(base: Path, tmp_path: Path, capsys):
    assert "Invalid profile name" in rejected(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots",
                                              save_as="../../etc/x")
    assert "Invalid profile name" in rejected(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots", save_as=" ")
    path = tmp_path / "m.csv"
    path.write_text(SNAP_HEADER + SNAP_ROWS, encoding="utf-8")
    before = fingerprint(base)
    assert ingest.main(["--data", str(base), "load", str(path), "--table", "snapshots", "--save-profile", "a/b"]) == 1
    assert "映射方案名称" in capsys.readouterr().err
    assert ingest.main(["--data", str(base), "--lang", "en", "load", str(path), "--table", "snapshots",
                        "--profile", "../../etc/passwd"]) == 1
    assert "Invalid profile name" in capsys.readouterr().err
    assert ingest.main(["--data", str(base), "--lang", "en", "load", str(path), "--table", "snapshots",
                        "--profile", "nosuch"]) == 1
    assert "no mapping profile 'nosuch'" in capsys.readouterr().err
    assert fingerprint(base) == before
    assert not list((base / "_meta").glob("profiles/*"))


def test_derive_failure_does_not_touch_the_loaded_data(base: Path, monkeypatch):

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(committing, "build_into", boom)
    result = load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    assert "boom" in result.warning
    assert snapshots(base).height == 3
    assert store.current_manifest(base)["derived"] == {}  # readers compute them inline from the same data


def test_derived_tables_are_rebuilt_while_the_store_is_locked(base: Path, monkeypatch):
    """Two loads at once: each rebuild must see its own store, never publish tables of an older one."""

    seen, real = [], committing.build_into

    def build(root, base_manifest, folder, **kw):
        with journal.locked(Path(root), wait=False) as free:
            seen.append(free)
        return real(root, base_manifest, folder, **kw)

    monkeypatch.setattr(committing, "build_into", build)
    load(base, SNAP_HEADER + SNAP_ROWS, "m.csv", "snapshots")
    second = load(base, SNAP_HEADER + SNAP_ROWS.replace("70.5", "60"), "m2.csv", "snapshots", replace=True)
    ingest.restore(base, second.change_id)
    assert seen == [False, False, False]  # busy: each load and the restore still held the lock


def test_nothing_is_written_outside_the_data_folder(tmp_path: Path):
    root = tmp_path / "data"
    with pytest.raises(ValueError):
        journal.inside(root, "../evil")
    with pytest.raises(ValueError):
        mapping.save_profile(root, mapping.Profile(name="../../x", table="loans"))


def test_empty_store_to_dashboard_in_load_order(tmp_path: Path, demo_root: Path):
    """A bank starts from an empty folder: branches, loans, then snapshots give the same overview numbers."""
    root = tmp_path / "data"
    month = store.months(store.connect(demo_root))[-1]
    for table in ("branches", "collectors", "loans"):
        buf = io.BytesIO()
        pl.read_parquet(store.table_path(demo_root, table)).write_csv(buf)
        load(root, buf.getvalue(), f"{table}.csv", table)
    part = store.table_path(demo_root, "snapshots") / store.month_dir_name(month) / "part-0.parquet"
    buf = io.BytesIO()
    pl.read_parquet(part).write_csv(buf)
    load(root, buf.getvalue(), "snap.csv", "snapshots", month=f"{month:%Y-%m}")
    want, got = (portfolio.quality_by(store.connect(r), by=("month", "branch_id")) for r in (demo_root, root))
    assert_frame_equal(got, want.filter(pl.col("month") == month))


def test_demo_store_copy_can_be_reimported(tmp_path: Path, demo_root: Path):
    """Importing a stored month back into a copy of the demo store (replace) leaves its numbers unchanged."""
    root = tmp_path / "data"
    shutil.copytree(demo_root, root, ignore=shutil.ignore_patterns("_*"))
    month = store.months(store.connect(root))[-1]
    part = root / "snapshots" / store.month_dir_name(month) / "part-0.parquet"
    buf = io.BytesIO()
    pl.read_parquet(part).with_columns(pl.lit(month).alias("month")).write_excel(buf)
    before = portfolio.quality_by(store.connect(root), by=("month", "branch_id", "product"))
    result = load(root, buf.getvalue(), "snap.xlsx", "snapshots", replace=True)
    assert result.rows_rejected == 0
    assert ingest.history(root).row(0, named=True)["vanished_loans"] == 0  # the demo book is continuous
    assert_frame_equal(portfolio.quality_by(store.connect(root), by=("month", "branch_id", "product")), before)
