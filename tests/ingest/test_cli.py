"""The import command (``analytics.ingest.cli``, ``python -m analytics.ingest``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analytics import ingest
from tests.ingest.files import (
    APR_ROWS,
    SNAP_HEADER,
    SNAP_ROWS,
    load,
    snapshots,
)


def test_cli_load_history_restore(base: Path, tmp_path: Path, capsys):
    path = tmp_path / "快照.csv"
    path.write_bytes((SNAP_HEADER + SNAP_ROWS).encode("gbk"))
    assert ingest.main(["--data", str(base), "load", str(path), "--table", "snapshots", "--save-profile", "p1"]) == 0
    assert "accepted=3" in capsys.readouterr().out
    assert ingest.main(["--data", str(base), "--lang", "en", "load", str(path), "--table", "snapshots",
                        "--profile", "p1"]) == 1
    assert "confirm" in capsys.readouterr().err
    report = tmp_path / "errors.csv"
    bad = tmp_path / "bad.csv"
    bad.write_text(SNAP_HEADER + "2024/3/31,L9,B1,1,0,0,0,正常,正常,否,,,否,,0,0,0\n", encoding="utf-8")
    assert ingest.main(["--data", str(base), "load", str(bad), "--table", "snapshots", "--report", str(report)]) == 1
    assert "L9" in report.read_text(encoding="utf-8-sig")
    change_id = ingest.history(base).filter(pl.col("status") == "loaded")["change_id"][0]
    assert ingest.main(["--data", str(base), "restore", change_id]) == 0
    assert snapshots(base).is_empty()
    assert ingest.main(["--data", str(base), "history"]) == 0
    assert ingest.main(["--data", str(base), "profiles"]) == 0
    assert "p1" in capsys.readouterr().out


def test_cli_missing_file_is_a_clear_error(base: Path, tmp_path: Path, capsys):
    assert ingest.main(["--data", str(base), "--lang", "en", "load", str(tmp_path / "nope.csv"),
                        "--table", "snapshots"]) == 1
    assert "Cannot read" in capsys.readouterr().err
    assert ingest.main(["--data", str(base), "load", str(tmp_path), "--table", "snapshots"]) == 1
    assert "无法读取" in capsys.readouterr().err


def test_cli_prints_continuity_warnings(base: Path, tmp_path: Path, capsys):
    load(base, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    path = tmp_path / "m4.csv"
    path.write_text(SNAP_HEADER + APR_ROWS[0] + "\n", encoding="utf-8")
    assert ingest.main(["--data", str(base), "--lang", "en", "load", str(path), "--table", "snapshots"]) == 0
    out = capsys.readouterr().out
    assert "Continuity warning" in out and "1 loans active" in out and "L2" in out and "accepted=1" in out
    assert ingest.history(base).row(0, named=True)["vanished_loans"] == 1
