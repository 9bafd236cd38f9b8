"""The store lock, the import log, and the file-moving swap of the older store layout.

Changes are now published as store versions (``analytics.core.manifest``: new immutable files plus an
atomically replaced manifest). What stays here: the lock (``locked``), the import log (``log_change``,
``read_log``: a torn last line, e.g. from a power loss, is skipped and the next entry starts on a new
line) and, for a store written by an older release, the journal swap and its rollback (``apply``,
``rollback``, ``recover_journal``): a journal left by such a release is still rolled back before the
store is first changed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analytics.core import manifest as mf

META, HISTORY, QUARANTINE, STAGING = "_meta", "_history", "_quarantine", "_staging"
JOURNAL = "journal.json"
LOCK = "store.lock"
STALE_STAGING_SECONDS = 24 * 3600
LOG = "import_log.jsonl"
MANIFEST = "manifest.json"

LOG_SCHEMA = pl.Schema({
    "change_id": pl.String, "time": pl.String, "kind": pl.String, "status": pl.String, "table": pl.String,
    "months": pl.String, "source": pl.String, "sha256": pl.String, "rows_accepted": pl.Int64,
    "rows_rejected": pl.Int64, "profile": pl.String, "replaced": pl.Boolean, "restored_from": pl.String,
    "quarantine": pl.String, "message": pl.String, "vanished_loans": pl.Int64, "after_exit_rows": pl.Int64,
})


new_change_id = mf.new_change_id


def inside(root: Path, rel: str) -> Path:
    """``root / rel`` refusing anything that would land outside the data folder."""
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(f"path outside the data folder: {rel}")
    return path


def staging_dir(root: Path, change_id: str) -> Path:
    return inside(root, f"{STAGING}/{change_id}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync(path.parent)


def _move(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)


def _prune_empty(root: Path, path: Path) -> None:
    """Remove empty folders from ``path`` up to (not including) the root."""
    root = root.resolve()
    path = path.resolve()
    while path != root and path.is_relative_to(root) and path.is_dir() and not any(path.iterdir()):
        path.rmdir()
        path = path.parent


locked = mf.locked


@dataclass
class Change:
    change_id: str
    aside: list[str]  # relative paths of current files to move into _history/<id>/
    new: list[str]  # relative paths of files staged in _staging/<id>/ to move in
    info: dict  # written to the history manifest (table, months, source ...)


def apply(root: Path, change: Change) -> None:
    """Swap the staged files in; on any error roll back and re-raise."""
    stage = staging_dir(root, change.change_id)
    hist = inside(root, f"{HISTORY}/{change.change_id}")
    for rel in change.new:
        _fsync(inside(stage, rel))
    _write_json(inside(root, f"{META}/{JOURNAL}"), {"change_id": change.change_id, "aside": change.aside,
                                                     "new": change.new})
    try:
        _write_json(hist / MANIFEST, {"change_id": change.change_id, "aside": change.aside, "new": change.new,
                                      **change.info})
        for rel in change.aside:
            _move(inside(root, rel), inside(hist, rel))
        for rel in change.new:
            _move(inside(stage, rel), inside(root, rel))
        for rel in change.aside:
            _prune_empty(root, inside(root, rel).parent)
        _fsync(root)
    except BaseException:
        rollback(root)
        raise
    inside(root, f"{META}/{JOURNAL}").unlink()
    shutil.rmtree(stage, ignore_errors=True)


def recover_journal(root: Path) -> str | None:
    """Roll back an unfinished change (its journal is still there); returns its id or None.

    Skipped while another process holds the store lock (a change in progress is not unfinished).
    """
    if not (root / META / JOURNAL).is_file():
        _clean_stale_staging(root)
        return None
    with locked(root, wait=False) as ok:
        return rollback(root) if ok else None


def rollback(root: Path) -> str | None:
    """Undo the change of the journal (the caller holds the lock); returns its id or None."""
    journal = root / META / JOURNAL
    if not journal.is_file():
        return None
    data = json.loads(journal.read_text(encoding="utf-8"))
    change_id = data["change_id"]
    stage = staging_dir(root, change_id)
    hist = inside(root, f"{HISTORY}/{change_id}")
    for rel in data["new"]:  # a new file no longer in staging was moved in: take it out again
        target, staged = inside(root, rel), inside(stage, rel)
        if target.exists() and not staged.exists():
            _move(target, staged)
            _prune_empty(root, target.parent)
    for rel in data["aside"]:  # an old file found in history was moved aside: put it back
        kept = inside(hist, rel)
        if kept.exists():
            _move(kept, inside(root, rel))
    shutil.rmtree(hist, ignore_errors=True)
    journal.unlink()
    shutil.rmtree(stage, ignore_errors=True)
    return change_id


def _clean_stale_staging(root: Path) -> None:
    """Staging folders left by a process that died before its journal was written."""
    folder = root / STAGING
    if folder.is_dir():
        for entry in folder.iterdir():
            if time.time() - entry.stat().st_mtime > STALE_STAGING_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)


# --- import log ------------------------------------------------------------------------------------


def log_row(entry: dict) -> dict:
    row = {k: entry.get(k) for k in LOG_SCHEMA.names()}
    row["time"] = row["time"] or dt.datetime.now().isoformat(timespec="seconds")
    return row


def log_change(root: Path, entry: dict) -> None:
    """Append one entry (the caller holds the store lock). A torn last line -- a write cut off by a crash --
    is removed first (a published change's entry is appended again by ``recover`` from its manifest), a whole
    last line without its newline is ended, so the new entry always starts on a line of its own."""
    path = root / META / LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    row = log_row(entry)
    with open(path, "a+b") as f:
        size = f.seek(0, os.SEEK_END)
        prefix = b""
        if size:
            f.seek(max(0, size - 65536))
            tail = f.read()
            if not tail.endswith(b"\n"):
                cut = tail.rfind(b"\n")
                last = tail[cut + 1:]
                try:
                    json.loads(last)
                    prefix = b"\n"
                except ValueError:
                    f.truncate(size - len(last))
        f.seek(0, os.SEEK_END)
        f.write(prefix + (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())


def read_log(root: Path) -> pl.DataFrame:
    """The import log; lines that are not whole JSON objects (torn by a crash, edited by hand) are skipped."""
    path = root / META / LOG
    if not path.is_file():
        return pl.DataFrame(schema=LOG_SCHEMA)
    rows = []
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and row.get("change_id"):
            rows.append({k: _cell(row.get(k), LOG_SCHEMA[k]) for k in LOG_SCHEMA.names()})
    return pl.DataFrame(rows, schema=LOG_SCHEMA, orient="row") if rows else pl.DataFrame(schema=LOG_SCHEMA)


def _cell(value, dtype: pl.DataType):
    if value is None:
        return None
    if dtype == pl.String:
        return str(value)
    if dtype == pl.Boolean:
        return value if isinstance(value, bool) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def manifest(root: Path, change_id: str) -> dict:
    path = inside(root, f"{HISTORY}/{change_id}/{MANIFEST}")
    if not path.is_file():
        raise FileNotFoundError(change_id)
    return json.loads(path.read_text(encoding="utf-8"))
