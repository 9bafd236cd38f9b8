"""Commit a prepared file to the store, and undo it: commit, restore, history, recover.

``commit`` loads the rows: the whole file is rejected when anything is wrong, or (``on_bad=
"quarantine"``) the valid rows are loaded and the rejected ones kept in ``_quarantine/<id>/``
with their reasons. Snapshot and action months are replaced whole (only with ``replace=True``
when they exist); branches, loans, collectors and targets are upserted by key. The change is a new
store version (``analytics.core.manifest``): its files and its derived tables are written into
``_versions/<id>/`` and the manifest naming them is published in one ``os.replace``; the previous versions
stay (the undo history), every load is written to the import log. ``restore(change_id)`` puts back what a
change replaced (itself a logged, reversible change), refused when it would break a reference and, unless
confirmed, when newer changes of the same table and months would be undone with it (``restore_plan``).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from analytics import derived
from analytics.core import manifest as mf
from analytics.core import store
from analytics.core.schema import TABLES, Table
from analytics.derived.builder import build_into
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


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _stage(root: Path, base: dict, folder: Path, table: Table, good: pl.DataFrame) -> dict[str, list[str]]:
    """Write the new files of ``table`` into ``folder``; the tables of the new version."""
    tables = {name: list(files) for name, files in base["tables"].items()}
    if table.partition:
        store.write_table(folder, table, good)
        months = set(good[table.partition].unique().to_list())
        kept = [rel for rel in tables.get(table.name, []) if store.partition_month(root / rel) not in months]
        new = [_rel(root, folder / table.name / store.month_dir_name(m) / "part-0.parquet") for m in sorted(months)]
        tables[table.name] = sorted(kept + new, key=lambda rel: (store.partition_month(root / rel), rel))
        return tables
    old_files = store.manifest_files(root, base, table)
    if old_files:
        old = pl.concat([pl.read_parquet(f) for f in old_files], how="vertical_relaxed")
        good = pl.concat([old.join(good.select(table.key), on=list(table.key), how="anti"), good])
    store.write_table(folder, table, good)
    tables[table.name] = [_rel(root, store.table_path(folder, table))]
    return tables


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


def _derive(root: Path, tables: dict[str, list[str]], folder: Path) -> tuple[dict, str | None]:
    """The derived tables of the new version, written into its folder before it is published. A failure
    publishes the version without them (readers compute them inline from the same base tables)."""
    try:
        return build_into(root, {"tables": tables}, folder / "derived"), None
    except Exception as exc:  # derived tables are a cache: report, keep the load
        shutil.rmtree(folder / "derived", ignore_errors=True)
        return {}, f"derived tables not rebuilt: {exc}"


def write_error(exc: OSError) -> LoadRejected:
    """A failed write of the store as a bilingual refusal (nothing was published)."""
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return LoadRejected("磁盘空间不足，导入未完成，数据未做任何更改。请清理数据目录所在磁盘后重试。",
                            "The disk is full: the load did not complete and the store is unchanged. Free space on "
                            "the data folder's disk and try again.")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return LoadRejected("数据目录不可写（只读或无权限），导入未完成，数据未做任何更改。",
                            "The data folder cannot be written (read-only or no permission): the load did not "
                            "complete and the store is unchanged.")
    return LoadRejected(f"写入数据目录失败（{exc.strerror or exc}），导入未完成，数据未做任何更改。",
                        f"Writing the data folder failed ({exc.strerror or exc}): the load did not complete and "
                        "the store is unchanged.")


def _log_quietly(root: Path, entry: dict) -> None:
    try:
        tx.log_change(root, entry)
    except OSError:  # the published manifest carries the entry: ``recover`` appends it later
        pass


def commit(root: str | os.PathLike | None, prepared: Prepared, *, on_bad: str = "reject", replace: bool = False,
           save_as: str | None = None) -> LoadResult:
    """Load the checked rows atomically (see module doc); raises ``LoadRejected`` and changes nothing if refused."""
    root = store.data_root(root)
    if save_as:
        check_profile_name(save_as)  # before anything is written: a bad name must not follow a done load
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = tx.locked(root)
        lock.__enter__()
    except OSError as exc:
        raise write_error(exc) from exc
    try:
        result = _commit_locked(root, prepared, on_bad, replace)
    finally:
        lock.__exit__(None, None, None)
    if save_as:
        prepared.profile.name = save_as
        save_profile(root, prepared.profile)
    return result


def _commit_locked(root: Path, prepared: Prepared, on_bad: str, replace: bool) -> LoadResult:
    table = TABLES[prepared.table]
    change_id = tx.new_change_id()
    _recover_locked(root)
    base = store.current_manifest(root)
    # Another load may have added months since ``prepare``: confirmation is checked against the store now.
    prepared.existing_months = sorted(set(prepared.months) & set(stored_months(root, table)))
    _check_committable(root, prepared, on_bad, replace, change_id)
    good = _good_rows(prepared)
    new_loans = _new_loans(prepared)
    vanished = prepared.quarantine_warnings()["value"].unique(maintain_order=True).to_list() \
        if on_bad == "quarantine" else []
    folder = mf.change_dir(root, change_id)
    months = sorted(good[table.partition].unique().to_list()) if table.partition else []
    try:
        tables = _stage(root, base, folder, table, good)
        if not new_loans.is_empty():  # the loans the snapshot file names, in the same atomic change
            tables = _stage(root, base | {"tables": tables}, folder, TABLES["loans"], new_loans)
        quarantine = _write_quarantine(root, prepared, change_id)
        entry = tx.log_row(_log_entry(prepared, change_id, "load", "loaded", good.height, prepared.n_bad,
                                      quarantine=quarantine, message=_load_notes(prepared, vanished)))
        derived_files, warning = _derive(root, tables, folder)
        mf.publish(root, base, change_id, tables, derived_files,
                   {"kind": "load", "table": table.name, "months": [f"{m:%Y-%m-%d}" for m in months], "log": entry})
    except BaseException as exc:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(tx.inside(root, f"{tx.QUARANTINE}/{change_id}"), ignore_errors=True)
        if isinstance(exc, OSError) and store.data_version(root) != _version_id(root, change_id):
            rejected = write_error(exc)
            rejected.change_id = change_id
            _log_quietly(root, _log_entry(prepared, change_id, "load", "rejected", 0, prepared.n_bad,
                                          message=rejected.en))
            raise rejected from exc
        raise
    _log_quietly(root, entry)
    _cleanup_quietly(root)
    return LoadResult(change_id, table.name, months, good.height, prepared.n_bad, quarantine, warning,
                      new_loans.height, vanished)


def _version_id(root: Path, change_id: str) -> str:
    """The data version the store would have if ``change_id`` had been published."""
    cur = mf.read_current(root)
    if cur is not None and cur["change"].get("change_id") == change_id:
        return store.data_version(root)
    return ""


def _cleanup_quietly(root: Path) -> None:
    try:
        mf.cleanup(root)
    except OSError:
        pass


def rebuild_derived(root: Path) -> str | None:
    """Rebuild the derived tables (a new version, same base files); a failure there never touches the store."""
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


def _changes(root: Path) -> list[dict]:
    """The published versions that changed data (loads and restores), oldest first, with their index."""
    return [m for m in mf.published_versions(root) if m["change"].get("kind") in ("load", "restore")]


def history(root: str | os.PathLike | None = None) -> pl.DataFrame:
    """The import log, newest first, with whether each change can still be restored."""
    root = store.data_root(root)
    log = tx.read_log(root)
    known = set(log["change_id"].to_list())
    missing = [m["change"]["log"] for m in _changes(root) if m["change"].get("log")
               and m["change"]["change_id"] not in known]  # published, its log line lost (crash, full disk)
    if missing:
        log = pl.concat([log, pl.DataFrame([tx.log_row(e) for e in missing], schema=tx.LOG_SCHEMA, orient="row")])
    published = {m["change"]["change_id"] for m in _changes(root)}
    restored = set(log.filter(pl.col("kind") == "restore")["restored_from"].drop_nulls().to_list())
    can = [cid in published and cid not in restored for cid in log["change_id"].to_list()]
    restorable = pl.lit(pl.Series(can, dtype=pl.Boolean)) & pl.col("status").is_in(["loaded", "restored"])
    return log.with_columns(restorable.alias("restorable")).sort("time", maintain_order=True).reverse()


def _unknown(change_id: str) -> LoadRejected:
    return LoadRejected(f"没有可恢复的导入记录「{change_id}」（请用 history 查看记录号）。",
                        f"There is no restorable change '{change_id}' (see `history` for the ids).")


def _find(root: Path, change_id: str) -> tuple[list[dict], int]:
    """All published versions and the index of the one ``change_id`` published, else ``LoadRejected``."""
    if not mf.valid_change_id(change_id):  # "x/../<id>", "../_meta" ...: only the plain id form is an id
        raise _unknown(change_id)
    versions = mf.published_versions(root)
    for i, m in enumerate(versions):
        if m["change"].get("change_id") == change_id and m["change"].get("kind") in ("load", "restore") and i > 0:
            return versions, i
    raise _unknown(change_id)


def restore_plan(root: str | os.PathLike | None, change_id: str) -> dict:
    """What restoring ``change_id`` would do, without doing it: ``table``, ``months``, ``later`` (newer changes
    of the same table and months, which the restore would also undo), ``broken`` (references it would break).

    Raises ``LoadRejected`` for an unknown id or a change already restored."""
    root = store.data_root(root)
    versions, i = _find(root, change_id)
    done = [m["change"]["change_id"] for m in versions if m["change"].get("restored_from") == change_id]
    if done:
        by = done[-1]
        raise LoadRejected(f"「{change_id}」已经恢复过（记录号 {by}）；如需撤销那次恢复，请恢复 {by}。",
                           f"'{change_id}' has already been restored (as {by}); to undo that, restore {by}.")
    target, before, cur = versions[i], versions[i - 1], versions[-1]
    name = target["change"]["table"]
    table = TABLES[name]
    months = set(target["change"].get("months") or [])
    tables = {n: list(f) for n, f in cur["tables"].items()}
    if table.partition:
        def month(rel: str) -> str:
            return f"{store.partition_month(root / rel):%Y-%m-%d}"
        kept = [rel for rel in tables.get(name, []) if month(rel) not in months]
        back = [rel for rel in before["tables"].get(name, []) if month(rel) in months]
        tables[name] = sorted(kept + back, key=lambda rel: (month(rel), rel))
    else:
        tables[name] = list(before["tables"].get(name, []))
    later = [m["change"]["change_id"] for m in versions[i + 1:]
             if m["change"].get("table") == name and m["change"].get("kind") in ("load", "restore")
             and (not table.partition or months & set(m["change"].get("months") or []))]
    return {"change_id": change_id, "table": name, "months": sorted(months), "tables": tables, "later": later,
            "broken": broken_references(root, cur["tables"], tables), "target": target, "base": cur}


def broken_references(root: Path, old: dict[str, list[str]], new: dict[str, list[str]]) -> list[dict]:
    """References that hold in the ``old`` tables and not in the ``new`` ones: ``[{table, column, target,
    rows, examples}]`` (rows of ``table`` whose ``column`` names no row of ``target``)."""
    def orphans(tables: dict[str, list[str]]) -> dict[tuple[str, str, str], tuple[int, list[str]]]:
        con = store.connect_manifest(root, {"tables": tables}, derived=False)
        out = {}
        try:
            has_collectors = bool(tables.get("collectors"))
            for t in TABLES.values():
                for column, target in t.references.items():
                    t_name, t_col = target.split(".")
                    if t_name == "collectors" and not has_collectors:
                        continue  # checked only when a collectors table exists (see the import rules)
                    # names from the contract (schema.TABLES), no user input
                    sql = (f'SELECT CAST(s."{column}" AS VARCHAR) AS v FROM {t.name} s '  # noqa: S608
                           f'WHERE s."{column}" IS NOT NULL '
                           f'AND NOT EXISTS (SELECT 1 FROM {t_name} r WHERE r."{t_col}" = s."{column}")')
                    counted = "SELECT count(*) AS n, list(DISTINCT v ORDER BY v)[1:5] AS ex FROM (" + sql + ")"  # noqa: S608
                    df = store.query(con, counted)
                    examples = df["ex"][0]
                    out[(t.name, column, target)] = (int(df["n"][0]), [] if examples is None else examples.to_list())
        finally:
            con.close()
        return out

    try:
        before = orphans(old)
    except (duckdb.Error, store.StoreDamaged):  # a damaged current file: every orphan of the result counts
        before = {}
    try:
        after = orphans(new)
    except (duckdb.Error, store.StoreDamaged) as exc:  # the result would hold a damaged file
        bad = ", ".join(store.damaged_files(root, {"tables": new})) or str(exc)
        raise LoadRejected(f"不能恢复：恢复后的数据包含已损坏的文件（{bad}）。",
                           f"Cannot restore: the result would include damaged files ({bad}).") from None
    return [{"table": k[0], "column": k[1], "target": k[2], "rows": n, "examples": ex}
            for k, (n, ex) in after.items() if n > before.get(k, (0, []))[0]]


def restore(root: str | os.PathLike | None, change_id: str, *, confirm: bool = False) -> LoadResult:
    """Put back the files a change replaced and remove the ones it added (a new, reversible change).

    Refused (``LoadRejected``, nothing changed) when the result would break a reference (the reason names
    the table, column and rows), and, unless ``confirm``, when a newer change of the same table and months
    would be undone with it."""
    root = store.data_root(root)
    restore_plan(root, change_id)  # refuse an unknown id before taking the lock
    restore_id = tx.new_change_id()
    with tx.locked(root):
        _recover_locked(root)
        plan = restore_plan(root, change_id)  # again under the lock: a concurrent restore of the same change
        if plan["broken"]:
            b = plan["broken"][0]
            ex = ", ".join(b["examples"])
            raise LoadRejected(
                f"不能恢复「{change_id}」：恢复后 {b['table']} 表有 {b['rows']} 行的 {b['column']} 找不到对应的 "
                f"{b['target']}（例如 {ex}）。请先恢复或重新导入引用它们的数据。",
                f"Cannot restore '{change_id}': {b['rows']} rows of {b['table']} would have a {b['column']} with no "
                f"{b['target']} (e.g. {ex}). Restore or reload the data that references them first.")
        if plan["later"] and not confirm:
            later = ", ".join(plan["later"])
            raise LoadRejected(
                f"「{change_id}」之后同一表和月份还有更新的导入（{later}）：恢复会一并撤销它们。请确认后再恢复（--confirm）。",
                f"Newer changes of the same table and months follow '{change_id}' ({later}): restoring would undo "
                "them as well. Confirm to restore (--confirm).")
        target = plan["target"]["change"]
        folder = mf.change_dir(root, restore_id)
        entry = tx.log_row({"change_id": restore_id, "kind": "restore", "status": "restored",
                            "table": plan["table"], "months": ",".join(m[:7] for m in plan["months"]),
                            "source": (target.get("log") or {}).get("source"), "restored_from": change_id,
                            "rows_accepted": 0, "rows_rejected": 0, "replaced": True})
        try:
            derived_files, warning = _derive(root, plan["tables"], folder)
            mf.publish(root, plan["base"], restore_id, plan["tables"], derived_files,
                       {"kind": "restore", "table": plan["table"], "months": plan["months"],
                        "restored_from": change_id, "log": entry})
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            if _version_id(root, restore_id):
                raise
            raise write_error(exc) from exc
        _log_quietly(root, entry)
        _cleanup_quietly(root)
    return LoadResult(restore_id, plan["table"], [dt.date.fromisoformat(m) for m in plan["months"]],
                      0, 0, warning=warning)


def _recover_locked(root: Path) -> str | None:
    """Finish what a crash left (the caller holds the lock): roll back a journal of the older layout, remove
    unpublished files, append the log line of a published change that lost it."""
    rolled = tx.rollback(root) if (root / tx.META / tx.JOURNAL).is_file() else None
    mf.cleanup(root)
    known = set(tx.read_log(root)["change_id"].to_list())
    for m in _changes(root):
        entry = m["change"].get("log")
        if entry and m["change"]["change_id"] not in known:
            tx.log_change(root, entry)
            rolled = rolled or m["change"]["change_id"]
    return rolled


def recover(root: str | os.PathLike | None = None) -> str | None:
    """Finish after an interrupted change (killed process, power loss); returns the id it acted on or None.

    Readers never need it (they only see published versions); the next load or restore runs it itself."""
    root = store.data_root(root)
    if not root.is_dir():
        return None
    with tx.locked(root, wait=False) as free:
        return _recover_locked(root) if free else None
