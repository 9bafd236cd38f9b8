"""Commit a prepared file to the store, and undo it: commit, restore, history, recover.

``commit`` loads the rows: the whole file is rejected when anything is wrong, or (``on_bad=
"quarantine"``) the valid rows are loaded and the rejected ones kept in ``_quarantine/<id>/``
with their reasons. Snapshot and action months are replaced whole (only with ``replace=True``
when they exist); branches, loans, collectors and targets are upserted by key. The change is
atomic (staged, then swapped in through the journal of ``journal``), the previous version is kept
in ``_history/<id>/``, every load is written to the import log and the derived tables are rebuilt.
``restore(change_id)`` puts back what a load replaced (itself a logged, reversible change).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analytics import derived
from analytics.core import store
from analytics.core.schema import TABLES, Table
from analytics.ingest import journal as tx
from analytics.ingest.checks import typed
from analytics.ingest.mapping import check_profile_name, save_profile
from analytics.ingest.preparing import Prepared, prepare_file, stored_months
from analytics.ingest.problems import ROW
from analytics.ingest.reading import BilingualError

ON_BAD = ("reject", "quarantine")


class LoadRejected(BilingualError):
    """The load was refused; nothing in the store changed. ``zh``/``en`` say why."""

    def __init__(self, zh: str, en: str, change_id: str | None = None):
        super().__init__(zh, en)
        self.change_id = change_id


@dataclass
class LoadResult:
    change_id: str
    table: str
    months: list[dt.date]
    rows_accepted: int
    rows_rejected: int
    quarantine: str | None = None
    warning: str | None = None
    loans_created: int = 0  # loans a snapshot file created
    vanished_by_quarantine: list[str] | None = None  # loans without a row this month because their row is quarantined


def _reject(root: Path, prepared: Prepared, change_id: str, zh: str, en: str) -> LoadRejected:
    tx.log_change(root, _log_entry(prepared, change_id, "load", "rejected", 0, prepared.n_bad, message=en))
    return LoadRejected(zh, en, change_id)


def _log_entry(prepared: Prepared, change_id: str, kind: str, status: str, accepted: int, rejected: int,
               **extra) -> dict:
    return {"change_id": change_id, "kind": kind, "status": status, "table": prepared.table,
            "months": ",".join(f"{m:%Y-%m}" for m in prepared.months), "source": prepared.source.name,
            "sha256": prepared.source.sha256, "rows_accepted": accepted, "rows_rejected": rejected,
            "profile": prepared.profile.name, "replaced": bool(prepared.existing_months),
            **({"vanished_loans": prepared.n_vanished, "after_exit_rows": prepared.n_after_exit}
               if prepared.table == "snapshots" else {}), **extra}


def _load_notes(prepared: Prepared, vanished: list[str]) -> str | None:
    """The import log's message of a load: columns not loaded / not provided / derived, loans created, and the
    loans that quarantining makes vanish (English, one line; the journal's log has no column for each)."""
    notes = prepared.notes("en")
    if vanished:
        notes.append(prepared.quarantine_warning_text("en"))
    return "; ".join(notes) or None


def _check_committable(root: Path, prepared: Prepared, on_bad: str, replace: bool, change_id: str) -> None:
    if on_bad not in ON_BAD:
        raise ValueError(f"on_bad must be one of {ON_BAD}")
    if not prepared.file_problems.is_empty():
        cols = ", ".join(sorted(set(prepared.file_problems["column"].drop_nulls().to_list())))
        raise _reject(root, prepared, change_id, f"文件无法导入：缺少必需列或列类型不符（{cols}）。",
                      f"The file cannot be loaded: required columns missing or of the wrong type ({cols}).")
    if prepared.n_bad and on_bad == "reject":
        raise _reject(root, prepared, change_id,
                      f"文件被拒绝：{prepared.n_bad} 行不符合数据契约（共 {prepared.n_rows} 行），请查看错误报告。",
                      f"The file was rejected: {prepared.n_bad} of {prepared.n_rows} rows break the data contract; "
                      "see the error report.")
    if prepared.n_good == 0:
        raise _reject(root, prepared, change_id, "没有可导入的有效行。", "There is no valid row to load.")
    if prepared.existing_months and not replace:
        months = ", ".join(f"{m:%Y-%m}" for m in prepared.existing_months)
        raise _reject(root, prepared, change_id, f"月份 {months} 已有数据：确认替换后才能导入（--replace）。",
                      f"Months {months} already exist: confirm the replacement to load (--replace).")


def _complete(table: Table, df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with every contract column (those the file does not provide empty), in contract order."""
    return df.with_columns(pl.lit(None, dtype=c.dtype).alias(c.name) for c in table.columns
                           if c.name not in df.columns).select(table.names)


def _good_rows(prepared: Prepared) -> pl.DataFrame:
    table = TABLES[prepared.table]
    good = typed(prepared.table, prepared.rows).filter(~pl.col(ROW).is_in(prepared.bad_rows.implode()))
    return _complete(table, good)


def _new_loans(prepared: Prepared) -> pl.DataFrame:
    """The loans a snapshot file creates (those whose loan fields passed the loans contract)."""
    if prepared.loans.is_empty():
        return pl.DataFrame()
    good = typed("loans", prepared.loans).filter(~pl.col(ROW).cast(pl.Int64).is_in(prepared.loan_bad_rows))
    return _complete(TABLES["loans"], good)


def _stage_partitioned(root: Path, stage: Path, table: Table, good: pl.DataFrame) -> tuple[list[str], list[str]]:
    store.write_table(stage, table, good)
    new, aside = [], []
    for month in sorted(good[table.partition].unique().to_list()):
        folder = f"{table.name}/{store.month_dir_name(month)}"
        new.append(f"{folder}/part-0.parquet")
        aside += [str(p.relative_to(root)) for p in sorted((root / folder).glob("*.parquet"))]
    return new, aside


def _stage_upsert(root: Path, stage: Path, table: Table, good: pl.DataFrame) -> tuple[list[str], list[str]]:
    rel = store.table_path(root, table).name
    old_path = root / rel
    if old_path.is_file():
        old = pl.read_parquet(old_path)
        keys = good.select(table.key)
        good = pl.concat([old.join(keys, on=list(table.key), how="anti"), good])
    store.write_table(stage, table, good)
    return [rel], [rel] if old_path.is_file() else []


def _write_quarantine(root: Path, prepared: Prepared, change_id: str) -> str | None:
    if prepared.n_bad == 0:
        return None
    folder = tx.inside(root, f"{tx.QUARANTINE}/{change_id}")
    folder.mkdir(parents=True, exist_ok=True)
    reasons = prepared.problems.filter(pl.col("row").is_not_null()).group_by("row").agg(
        pl.col("rule").unique().sort().str.join(",").alias("__rules__"),
        pl.format("{}: {}", pl.col("column"), pl.col("message_zh")).str.join("; ").alias("__reasons_zh__"),
        pl.format("{}: {}", pl.col("column"), pl.col("message_en")).str.join("; ").alias("__reasons_en__"))
    bad = prepared.rows.join(reasons, left_on=pl.col(ROW).cast(pl.Int64), right_on="row", how="inner")
    bad.write_parquet(folder / "rows.parquet")
    prepared.problems.write_parquet(folder / "problems.parquet")
    return str(folder.relative_to(root))


def commit(root: str | os.PathLike | None, prepared: Prepared, *, on_bad: str = "reject", replace: bool = False,
           save_as: str | None = None) -> LoadResult:
    """Load the checked rows atomically (see module doc); raises ``LoadRejected`` and changes nothing if refused."""
    root = store.data_root(root)
    if save_as:
        check_profile_name(save_as)  # before anything is written: a bad name must not follow a done load
    root.mkdir(parents=True, exist_ok=True)
    table = TABLES[prepared.table]
    change_id = tx.new_change_id()
    with tx.locked(root):
        tx.rollback(root)
        # Another load may have added months since ``prepare``: confirmation is checked against the store now.
        prepared.existing_months = sorted(set(prepared.months) & set(stored_months(root, table)))
        _check_committable(root, prepared, on_bad, replace, change_id)
        good = _good_rows(prepared)
        new_loans = _new_loans(prepared)
        vanished = prepared.quarantine_warnings()["value"].unique(maintain_order=True).to_list() \
            if on_bad == "quarantine" else []
        stage = tx.staging_dir(root, change_id)
        try:
            stage_fn = _stage_partitioned if table.partition else _stage_upsert
            new, aside = stage_fn(root, stage, table, good)
            if not new_loans.is_empty():  # the loans the snapshot file names, in the same atomic change
                loans_new, loans_aside = _stage_upsert(root, stage, TABLES["loans"], new_loans)
                new, aside = new + loans_new, aside + loans_aside
            quarantine = _write_quarantine(root, prepared, change_id)
            months = sorted(good[table.partition].unique().to_list()) if table.partition else []
            info = {"table": table.name, "months": [f"{m:%Y-%m-%d}" for m in months], "source": prepared.source.name}
            tx.apply(root, tx.Change(change_id, aside, new, info))
        except BaseException:
            tx.rollback(root)
            shutil.rmtree(stage, ignore_errors=True)
            shutil.rmtree(tx.inside(root, f"{tx.QUARANTINE}/{change_id}"), ignore_errors=True)
            raise
        tx.log_change(root, _log_entry(prepared, change_id, "load", "loaded", good.height, prepared.n_bad,
                                       quarantine=quarantine, message=_load_notes(prepared, vanished)))
        # Under the lock: a concurrent load's rebuild must not swap in derived tables of an older store.
        warning = rebuild_derived(root)
    if save_as:
        prepared.profile.name = save_as
        save_profile(root, prepared.profile)
    return LoadResult(change_id, table.name, months, good.height, prepared.n_bad, quarantine, warning,
                      new_loans.height, vanished)


def rebuild_derived(root: Path) -> str | None:
    """Rebuild the derived tables; a failure there never touches the store."""
    try:
        if store.has_data(root):
            derived.build(root)
    except Exception as exc:  # derived tables are a cache: report, keep the loaded data
        return f"derived tables not rebuilt: {exc}"
    return None


def load_file(root: str | os.PathLike | None, path: str | os.PathLike, table_name: str, *,
              on_bad: str = "reject", replace: bool = False, save_as: str | None = None,
              limit: int | None = None, **kw) -> LoadResult:
    """``prepare`` + ``commit`` of a file on disk (what the CLI does)."""
    prepared = prepare_file(root, path, table_name, limit=limit, **kw)
    return commit(root, prepared, on_bad=on_bad, replace=replace, save_as=save_as)


# --- history and restore -------------------------------------------------------------------------------


def history(root: str | os.PathLike | None = None) -> pl.DataFrame:
    """The import log, newest first, with whether each change can still be restored."""
    root = store.data_root(root)
    log = tx.read_log(root)
    restored = set(log.filter(pl.col("kind") == "restore")["restored_from"].drop_nulls().to_list())
    can = [(root / tx.HISTORY / cid / tx.MANIFEST).is_file() and cid not in restored
           for cid in log["change_id"].to_list()]
    restorable = pl.lit(pl.Series(can, dtype=pl.Boolean)) & pl.col("status").is_in(["loaded", "restored"])
    return log.with_columns(restorable.alias("restorable")).reverse()


def _restorable(root: Path, change_id: str) -> dict:
    """The manifest of a change that can be restored, else ``LoadRejected`` saying why."""
    try:
        info = tx.manifest(root, change_id)
    except (FileNotFoundError, ValueError):  # unknown id, or one pointing outside _history
        raise LoadRejected(f"没有可恢复的导入记录「{change_id}」（请用 history 查看记录号）。",
                           f"There is no restorable change '{change_id}' (see `history` for the ids).") from None
    done = tx.read_log(root).filter((pl.col("kind") == "restore") & (pl.col("restored_from") == change_id))
    if not done.is_empty():
        by = done["change_id"][-1]
        raise LoadRejected(f"「{change_id}」已经恢复过（记录号 {by}）；如需撤销那次恢复，请恢复 {by}。",
                           f"'{change_id}' has already been restored (as {by}); to undo that, restore {by}.")
    return info


def restore(root: str | os.PathLike | None, change_id: str) -> LoadResult:
    """Put back the files a change replaced and remove the ones it added (a new, reversible change)."""
    root = store.data_root(root)
    info = _restorable(root, change_id)
    restore_id = tx.new_change_id()
    with tx.locked(root):
        tx.rollback(root)
        _restorable(root, change_id)  # again under the lock: a concurrent restore of the same change
        stage = tx.staging_dir(root, restore_id)
        kept = tx.inside(root, f"{tx.HISTORY}/{change_id}")
        for rel in info["aside"]:
            dst = tx.inside(stage, rel)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(tx.inside(kept, rel), dst)
        current = sorted({rel for rel in info["new"] + info["aside"] if tx.inside(root, rel).is_file()})
        change_info = {"table": info.get("table"), "months": info.get("months", []), "source": f"restore {change_id}"}
        tx.apply(root, tx.Change(restore_id, current, list(info["aside"]), change_info))
        tx.log_change(root, {"change_id": restore_id, "kind": "restore", "status": "restored",
                             "table": info.get("table"), "months": ",".join(m[:7] for m in info.get("months", [])),
                             "source": info.get("source"), "restored_from": change_id, "rows_accepted": 0,
                             "rows_rejected": 0, "replaced": True})
        warning = rebuild_derived(root)  # under the lock, as after a load
    return LoadResult(restore_id, info.get("table") or "", [dt.date.fromisoformat(m) for m in info.get("months", [])],
                      0, 0, warning=warning)


def recover(root: str | os.PathLike | None = None) -> str | None:
    """Roll back a load that was interrupted (killed process, power loss); the id or None."""
    root = store.data_root(root)
    return tx.recover_journal(root) if root.is_dir() else None
