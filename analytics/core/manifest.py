"""Versions of the store: immutable files listed by an atomically replaced manifest.

A *version* of the store is one JSON manifest listing every file of every table, base and derived
(paths relative to the data root). ``<root>/_meta/current.json`` is the published version; it is only
ever replaced whole (written to a temp file, fsynced, ``os.replace``d, the folder fsynced), so a reader
sees the old manifest or the new one, never a mix. Every manifest is also kept as
``_meta/versions/<N>.json`` (written, fsynced, before ``current.json`` flips), which is what restore and
history read.

Data files are never changed once a manifest lists them: a change (load, restore, derived rebuild)
writes its new files under ``_versions/<change_id>/`` (the derived set of the new version included),
fsyncs them, and only then publishes the manifest that names them. A crash before the flip leaves the
old version (the orphan folder is removed by the next writer); a crash after it leaves the new one. A
reader (``store.connect``) reads the manifest once and registers its views over exactly those files.

Garbage: base files stay as long as the versions that list them (they are the undo history); the
derived files of a superseded version are removed by the next writer once the version has been
superseded for ``grace_seconds()`` (``$OVERDUE_READER_GRACE_S``, default 3600 s) -- a reader connection
must not be kept longer than that (the app opens one per cached call and per store version).

A store written by the older layout (files in place, no ``current.json``, e.g. by
``store.write_table`` or the demo generator) is read as *version 0* by scanning its folders; the
first change writes ``versions/0.json`` for it and publishes version 1, so no migration step is needed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

META, VERSIONS_DIR, DATA_DIR = "_meta", "versions", "_versions"
CURRENT = "current.json"
LOCK = "store.lock"
GRACE_ENV = "OVERDUE_READER_GRACE_S"
FORMAT = 1
CHANGE_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


class StoreWriteError(OSError):
    """The store could not be written (disk full, read-only folder ...); ``zh``/``en`` say so."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


def grace_seconds() -> float:
    return float(os.environ.get(GRACE_ENV, "3600"))


def new_change_id() -> str:
    return f"{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def valid_change_id(change_id: str) -> bool:
    return bool(CHANGE_ID.match(change_id or ""))


# --- durable writes -----------------------------------------------------------------------------------


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder`` (and the folder itself)."""
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            fsync_path(Path(dirpath) / name)
        fsync_path(Path(dirpath))


def write_json(path: Path, data: dict) -> None:
    """Write ``path`` whole or not at all: temp file, fsync, ``os.replace``, fsync of the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


@contextmanager
def locked(root: Path, wait: bool = True) -> Iterator[bool]:
    """An exclusive lock on the store (released by the OS if the process dies); yields False if busy."""
    try:
        import fcntl
    except ImportError:  # Windows: single-user local use, no lock
        yield True
        return
    path = root / META / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# --- reading ------------------------------------------------------------------------------------------


def current_path(root: Path) -> Path:
    return root / META / CURRENT


def read_current(root: Path) -> dict | None:
    """The published manifest, or None for a store of the older layout (or no store)."""
    try:
        text = current_path(root).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return json.loads(text)


def version_path(root: Path, n: int) -> Path:
    return root / META / VERSIONS_DIR / f"{n:08d}.json"


def published_versions(root: Path) -> list[dict]:
    """Every published manifest, oldest first (those written after ``current.json`` are not published)."""
    cur = read_current(root)
    if cur is None:
        return []
    out = []
    folder = root / META / VERSIONS_DIR
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            n = int(path.stem)
        except ValueError:
            continue
        if n > cur["version"]:
            continue
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, OSError):  # a torn copy: the published one is current.json
            continue
    if not out or out[-1]["version"] != cur["version"]:
        out = [m for m in out if m["version"] != cur["version"]] + [cur]
    return out


def legacy_manifest(root: Path, tables: dict[str, bool]) -> dict:
    """Version 0: the files of a store of the older layout, found by scanning its folders.

    ``tables`` maps each contract table name to whether it is partitioned.
    """
    files: dict[str, list[str]] = {}
    for name, partitioned in tables.items():
        if partitioned:
            folder = root / name
            found = sorted(folder.glob("*=*/*.parquet")) if folder.is_dir() else []
        else:
            path = root / f"{name}.parquet"
            found = [path] if path.is_file() else []
        files[name] = [p.relative_to(root).as_posix() for p in found]
    derived: dict[str, dict] = {}
    folder = root / "derived"
    if folder.is_dir():
        for entry in sorted(folder.iterdir()):
            if entry.is_dir():
                parts = sorted(entry.glob("*=*/*.parquet"))
                if parts:
                    derived[entry.name] = {"files": [p.relative_to(root).as_posix() for p in parts], "hive": True}
            elif entry.suffix == ".parquet":
                derived[entry.stem] = {"files": [entry.relative_to(root).as_posix()], "hive": False}
    return {"format": FORMAT, "version": 0, "id": "legacy", "time": None, "change": {"kind": "legacy"},
            "tables": files, "derived": derived}


# --- writing (the caller holds the lock) ---------------------------------------------------------------


def change_dir(root: Path, change_id: str) -> Path:
    if not valid_change_id(change_id):
        raise ValueError(f"not a change id: {change_id!r}")
    return root / DATA_DIR / change_id


def publish(root: Path, base: dict, change_id: str, tables: dict[str, list[str]], derived: dict[str, dict],
            change: dict) -> dict:
    """Make version ``base.version + 1`` the published one; returns its manifest.

    Every file it names must already be written; the folder of this change is fsynced first.
    """
    folder = change_dir(root, change_id)
    if folder.is_dir():
        fsync_tree(folder)
        fsync_path(folder.parent)
    if base["version"] == 0 and not version_path(root, 0).is_file():
        write_json(version_path(root, 0), base)  # the older-layout store, kept for restore and history
    n = base["version"] + 1
    manifest = {"format": FORMAT, "version": n, "id": f"{n}-{change_id}",
                "time": dt.datetime.now().isoformat(timespec="seconds"),
                "change": {"change_id": change_id, **change}, "tables": tables, "derived": derived}
    write_json(version_path(root, n), manifest)
    write_json(current_path(root), manifest)  # the commit point
    return manifest


def cleanup(root: Path) -> list[str]:
    """Remove what no published version names, and the derived files of versions superseded longer than
    the grace period. The caller holds the lock (so no change is in progress). Returns what was removed."""
    removed: list[str] = []
    cur = read_current(root)
    meta = root / META
    for tmp in list(meta.glob(".*.tmp")) + list((meta / VERSIONS_DIR).glob(".*.tmp")) if meta.is_dir() else []:
        tmp.unlink(missing_ok=True)
        removed.append(str(tmp.relative_to(root)))
    for name in (".derived-tmp-*", ".derived-old-*"):  # left by the older layout's rebuild
        for entry in root.glob(name):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    staging = root / "_staging"
    if staging.is_dir() and not (meta / "journal.json").exists():
        for entry in staging.iterdir():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(str(entry.relative_to(root)))
    if cur is None:
        folder = meta / VERSIONS_DIR
        for path in folder.glob("*.json") if folder.is_dir() else []:
            if path.stem != f"{0:08d}":  # written, never published: the first change died before its flip
                path.unlink()
                removed.append(str(path.relative_to(root)))
        published = []
    else:
        folder = meta / VERSIONS_DIR
        for path in folder.glob("*.json") if folder.is_dir() else []:
            try:
                unpublished = int(path.stem) > cur["version"]
            except ValueError:
                unpublished = True
            if unpublished:
                path.unlink()
                removed.append(str(path.relative_to(root)))
        published = published_versions(root)
    named = {m["change"].get("change_id") for m in published}
    data = root / DATA_DIR
    for entry in sorted(data.iterdir()) if data.is_dir() else []:
        if entry.name not in named:  # a change that died before its manifest was published
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(str(entry.relative_to(root)))
    # Derived files of superseded versions, once no reader can still hold them.
    now = time.time()
    live = {f for f in _derived_files(cur)} if cur else set()
    for older, newer in zip(published, published[1:], strict=False):
        try:
            superseded_at = version_path(root, newer["version"]).stat().st_mtime
        except FileNotFoundError:
            continue
        if now - superseded_at < grace_seconds():
            continue
        for rel in _derived_files(older):
            if rel in live:  # derived files are never shared with base tables, nor used by a restore
                continue
            path = root / rel
            if path.exists():
                path.unlink()
                removed.append(rel)
    for entry in sorted(data.iterdir()) if data.is_dir() else []:
        _prune_empty_dirs(entry / "derived")
    _prune_empty_dirs(root / "derived")  # the older layout's derived folder, once its files are gone
    return removed


def _derived_files(manifest: dict) -> list[str]:
    return [f for spec in manifest.get("derived", {}).values() for f in spec["files"]]


def _prune_empty_dirs(folder: Path) -> None:
    if not folder.is_dir():
        return
    for dirpath, _dirs, _files in sorted(os.walk(folder), key=lambda t: -len(t[0])):
        path = Path(dirpath)
        if not any(path.iterdir()):
            path.rmdir()
