"""Kill a store change at its n-th file-system step (for the kill sweep of test_integrity.py).

``run_op`` runs in a child forked by a ``forkserver`` (modules imported once, each child cheap): it counts
every write-side call (``os.replace``, ``os.fsync``, ``os.mkdir``, ``os.unlink``, ``shutil.rmtree``, Parquet
writes, appends to the import log) and ends the process with ``os._exit`` -- no ``except``, no ``finally``,
as SIGKILL or a power loss would -- right after call number ``kill_at``. With ``kill_at=0`` it runs to the end
and returns the list of steps, so the sweep knows how many there are.
"""

from __future__ import annotations

import builtins
import os
import shutil
from pathlib import Path

import polars as pl

from analytics import derived, ingest

STEPS: list[str] = []


def _hook(name: str, fn, kill_at: int):
    def wrapped(*args, **kwargs):
        out = fn(*args, **kwargs)
        STEPS.append(f"{name} {args[0] if args and not isinstance(args[0], pl.DataFrame) else args[1:2]}")
        if len(STEPS) == kill_at:
            os._exit(9)
        return out
    return wrapped


def run_op(op: str, root: str, data: bytes | None, arg: str | None, kill_at: int) -> list[str]:
    STEPS.clear()
    os.replace = _hook("replace", os.replace, kill_at)
    os.fsync = _hook("fsync", os.fsync, kill_at)
    os.mkdir = _hook("mkdir", os.mkdir, kill_at)
    os.unlink = _hook("unlink", os.unlink, kill_at)
    shutil.rmtree = _hook("rmtree", shutil.rmtree, kill_at)
    pl.DataFrame.write_parquet = _hook("write_parquet", pl.DataFrame.write_parquet, kill_at)
    real_open = builtins.open

    def counting_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        if "a" in mode and str(file).endswith(".jsonl"):  # the import log: count the append itself
            real_write = f.write

            def write(b):
                n = real_write(b[: len(b) // 2])  # a torn line first, then the rest: both are kill points
                f.flush()
                STEPS.append("log half")
                if len(STEPS) == kill_at:
                    os._exit(9)
                return n + real_write(b[len(b) // 2:])
            f.write = write
        return f
    builtins.open = counting_open
    root_path = Path(root)
    if op == "load":
        prepared = ingest.prepare(root_path, data, "m.csv", "snapshots")
        ingest.commit(root_path, prepared, replace=True)
    elif op == "restore":
        ingest.restore(root_path, arg)
    elif op == "derive":
        derived.build(root_path)
    else:
        raise ValueError(op)
    return list(STEPS)
