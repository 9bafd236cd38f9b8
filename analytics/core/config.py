"""Saved, versioned configurations (assessment schemes, programme targets, rule tables ...).

Each configuration ``name`` lives in ``<root>/_meta/config/<name>/v0001.json``, ``v0002.json`` …; saving writes a
new version atomically (temp file, fsync, ``os.replace``) and never changes an old one, so every score can say
which version of the scheme produced it and an earlier version can be reloaded. A torn or unreadable version
file is skipped (the previous good version is used) rather than breaking the page.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

CONFIG_DIR = ("_meta", "config")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_VERSION = re.compile(r"^v(\d{4,})\.json$")


def _folder(root: Path, name: str) -> Path:
    if not _NAME.match(name):
        raise ValueError(f"configuration name must be lower-case letters, digits and _: {name!r}")
    return Path(root).joinpath(*CONFIG_DIR, name)


def versions(root: Path, name: str) -> list[int]:
    folder = _folder(root, name)
    if not folder.is_dir():
        return []
    return sorted(int(m[1]) for p in folder.iterdir() if (m := _VERSION.match(p.name)))


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load(root: Path, name: str, default: dict, version: int | None = None) -> tuple[int, dict]:
    """(version, data): the given or the latest readable version; (0, ``default``) when none was saved."""
    folder = _folder(root, name)
    for v in ([version] if version else reversed(versions(root, name))):
        data = _read(folder / f"v{v:04d}.json")
        if data is not None:
            return v, data.get("data", data)
    return 0, default


def save(root: Path, name: str, data: dict, *, note: str = "") -> int:
    """Write ``data`` as the next version; returns its number."""
    folder = _folder(root, name)
    folder.mkdir(parents=True, exist_ok=True)
    version = (versions(root, name) or [0])[-1] + 1
    record = {"version": version, "saved_at": dt.datetime.now().isoformat(timespec="seconds"), "note": note,
              "data": data}
    tmp = folder / f".v{version:04d}.json.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh, ensure_ascii=False, indent=1, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / f"v{version:04d}.json")
    return version


def history(root: Path, name: str) -> list[dict]:
    """Every readable version: version, saved_at, note (newest first)."""
    folder = _folder(root, name)
    out = []
    for v in reversed(versions(root, name)):
        record = _read(folder / f"v{v:04d}.json")
        if record is not None:
            out.append({"version": v, "saved_at": record.get("saved_at", ""), "note": record.get("note", "")})
    return out
