"""Named scenarios: the parameters of a scenario saved under a name, versioned (``analytics.core.config``).

One configuration per scenario kind (``scenario_<kind>``); each save writes the next version holding
``{"name": ..., "params": {...}}``, so an earlier version of a name stays readable and every result can say which
version of which scenario produced it. Loading a name gives its newest version.
"""

from __future__ import annotations

from pathlib import Path

from analytics.core import config

KINDS = ("provisioning", "classification", "projection", "warning", "capacity", "disposal")


def _config_name(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown scenario kind {kind!r}; known: {', '.join(KINDS)}")
    return f"scenario_{kind}"


def save(root: Path, *, kind: str, name: str, params: dict) -> int:
    """Save ``params`` as the newest version of scenario ``name``; returns the version number."""
    name = name.strip()
    if not name:
        raise ValueError("a scenario needs a name")
    return config.save(root, _config_name(kind), {"name": name, "params": params}, note=name)


def saved(root: Path, *, kind: str) -> dict[str, dict]:
    """Every saved name of ``kind`` -> {"version": newest version, "params": its parameters}."""
    out: dict[str, dict] = {}
    cname = _config_name(kind)
    for v in config.versions(root, cname):  # oldest first: later versions of a name replace earlier ones
        version, data = config.load(root, cname, {}, version=v)
        if version == v and isinstance(data.get("params"), dict) and data.get("name"):
            out[str(data["name"])] = {"version": v, "params": data["params"]}
    return out


def load(root: Path, *, kind: str, name: str) -> dict | None:
    """The parameters of the newest version of ``name``; None when it was never saved."""
    entry = saved(root, kind=kind).get(name)
    return None if entry is None else entry["params"]
