"""Bring-your-own-data import: `python -m analytics.ingest` and the 数据导入 page share this code path.

1. ``prepare`` reads a file (CSV UTF-8/GBK, Excel .xlsx, Parquet; see ``ingest_read``), maps its
   columns and values onto the contract with a profile (suggested, or a saved one; see
   ``ingest_map``) and checks every row with ``analytics.validate``. Nothing is written.
   Snapshots are also checked for continuity against the stored months next to theirs: loans active
   the month before that have no row and no exit row (``vanished``), rows of loans that already exited
   (``after_exit``). These are warnings (``Prepared.warnings``): shown, printed and logged, never rejected.
2. ``commit`` loads the rows: the whole file is rejected when anything is wrong, or (``on_bad=
   "quarantine"``) the valid rows are loaded and the rejected ones kept in ``_quarantine/<id>/``
   with their reasons. Snapshot and action months are replaced whole (only with ``replace=True``
   when they exist); branches, loans, collectors and targets are upserted by key. The change is
   atomic (``ingest_store``), the previous version is kept in ``_history/<id>/`` and every load
   is written to the import log.
3. ``restore(change_id)`` puts back what a load replaced (itself a logged, reversible change).

CLI::

    python -m analytics.ingest load FILE --table snapshots [--profile NAME] [--save-profile NAME]
        [--sheet S] [--unit 万元] [--month 2024-03] [--on-bad reject|quarantine] [--replace]
        [--report errors.csv] [--lang zh|en] [--data DIR] [--max-mb N]
    python -m analytics.ingest history | restore CHANGE_ID | profiles | recover   [--data DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from analytics import derived
from analytics.core import export, store
from analytics.core.schema import EXIT_STATUSES, TABLES, Table
from analytics.ingest import journal as tx
from analytics.ingest import validate
from analytics.ingest.mapping import (
    Profile,
    apply_mapping,
    check_profile_name,
    list_profiles,
    load_profile,
    normalise,
    save_profile,
    suggest_profile,
    suggest_value_maps,
)
from analytics.ingest.reading import BilingualError, IngestError, Source, check_size, read_source
from analytics.ingest.validate import FILE, PROBLEM_SCHEMA, ROW

ON_BAD = ("reject", "quarantine")
# The order a bank loads an empty store in: each table's references come before it.
LOAD_ORDER = ("branches", "collectors", "loans", "snapshots", "collection_actions", "targets")

__all__ = ["IngestError", "Prepared", "Profile", "commit", "history", "load_file", "prepare", "restore"]


class LoadRejected(BilingualError):
    """The load was refused; nothing in the store changed. ``zh``/``en`` say why."""

    def __init__(self, zh: str, en: str, change_id: str | None = None):
        super().__init__(zh, en)
        self.change_id = change_id


@dataclass
class Prepared:
    """A file read, mapped and checked, ready for ``commit`` (nothing written yet)."""

    source: Source
    table: str
    profile: Profile
    rows: pl.DataFrame  # canonical text in contract columns + __row__ + __file__
    problems: pl.DataFrame  # every problem, uncapped (validate.PROBLEM_SCHEMA)
    months: list[dt.date] = field(default_factory=list)  # months in the file (partitioned tables)
    existing_months: list[dt.date] = field(default_factory=list)  # of those, months already in the store
    # continuity warnings (validate.continuity_problems): shown and logged, never a reason to reject a row
    warnings: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PROBLEM_SCHEMA))

    @property
    def bad_rows(self) -> pl.Series:
        return self.problems["row"].drop_nulls().unique()

    @property
    def file_problems(self) -> pl.DataFrame:
        """Problems that concern the whole file (a missing column, a wrong type): no row can be loaded."""
        return self.problems.filter(pl.col("row").is_null() & (pl.col("rule") != "too_many"))

    @property
    def n_rows(self) -> int:
        return self.rows.height

    @property
    def n_bad(self) -> int:
        return self.bad_rows.len()

    @property
    def n_good(self) -> int:
        """Rows that can be loaded (none while a file-level problem stands)."""
        return 0 if not self.file_problems.is_empty() else self.n_rows - self.n_bad

    def file_problem_text(self, lang: str = "zh") -> str:
        return "；".join(self.file_problems["message_zh" if lang == "zh" else "message_en"].unique(maintain_order=True))

    def summary(self) -> pl.DataFrame:
        return validate.summary(self.problems)

    @property
    def n_vanished(self) -> int:
        """Loans active the month before that have no row in the next month and no exit row."""
        return self.warnings.filter(pl.col("rule") == "vanished")["value"].n_unique()

    @property
    def n_after_exit(self) -> int:
        """Rows of loans that already exited (in the file or in the store)."""
        return self.warnings.filter(pl.col("rule") == "after_exit").height

    def warning_text(self, lang: str = "zh") -> str:
        """The continuity warnings in one sentence ("" when there are none)."""
        if self.warnings.is_empty():
            return ""
        if lang == "zh":
            return (f"连续性提示（不影响导入）：{self.n_vanished} 笔贷款上月为正常状态、下月却没有记录也没有退出记录；"
                    f"{self.n_after_exit} 行属于已经退出的贷款。这会使迁徙率和期间减少失真，请核对清单。")
        return (f"Continuity warning (the rows still load): {self.n_vanished} loans active in a month have no row "
                f"in the next month and no exit row; {self.n_after_exit} rows belong to loans that already exited. "
                "This distorts roll rates and migration (期间减少); check the list.")


@dataclass
class LoadResult:
    change_id: str
    table: str
    months: list[dt.date]
    rows_accepted: int
    rows_rejected: int
    quarantine: str | None = None
    warning: str | None = None


# --- prepare -----------------------------------------------------------------------------------------


def known_keys(root: Path, table: Table) -> dict[str, pl.Series]:
    """Keys a table may reference: those in the store; a missing branches/loans table means none exist.

    A store without a collectors table does not check snapshot collector ids (many banks have none).
    """
    keys = validate.store_keys(root)
    for target in table.references.values():
        t_name = target.split(".")[0]
        if target not in keys and (t_name != "collectors" or table.name == "collection_actions"):
            keys[target] = pl.Series([], dtype=pl.String)
    return keys


def _store_months(root: Path, table: Table) -> list[dt.date]:
    base = store.table_path(root, table)
    if not base.is_dir():
        return []
    return sorted(dt.date.fromisoformat(p.name.split("=", 1)[1]) for p in base.glob("month=*")
                  if any(p.glob("*.parquet")))


def _cell_problems(source: Source, profile: Profile) -> pl.DataFrame:
    """Source cell problems (formulas without a value) expressed on the contract columns."""
    if source.cell_problems.is_empty():
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    back = {src: col for col, src in profile.columns.items() if src}
    zh = "Excel 单元格是公式且没有缓存值（不会计算公式）：请在 Excel 中保存计算结果或粘贴为数值"
    en = "The Excel cell holds a formula without a cached value (formulas are never computed): paste values"
    return source.cell_problems.filter(pl.col("source_column").is_in(list(back))).select(
        pl.lit(source.name).alias("file"), pl.lit(profile.table).alias("table"), pl.col("row"),
        pl.col("source_column").replace_strict(back, return_dtype=pl.String).alias("column"), pl.col("value"),
        pl.lit("formula").alias("rule"), pl.lit(zh).alias("message_zh"), pl.lit(en).alias("message_en"))


def _action_id_clashes(root: Path, rows: pl.DataFrame, months: list[dt.date], name: str) -> pl.DataFrame:
    """collection_actions keys are unique across months: ids already stored in months not being replaced."""
    files = [f for f in store.table_files(root, "collection_actions")
             if dt.date.fromisoformat(f.parent.name.split("=", 1)[1]) not in months]
    if not files or "action_id" not in rows.columns:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    stored = pl.concat([pl.read_parquet(f, columns=["action_id"]) for f in files])["action_id"]
    zh, en = validate.RULES["duplicate_key"]
    return rows.filter(pl.col("action_id").is_in(stored.implode())).select(
        pl.lit(name).alias("file"), pl.lit("collection_actions").alias("table"), pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.lit("action_id").alias("column"), pl.col("action_id").alias("value"), pl.lit("duplicate_key").alias("rule"),
        pl.lit(zh.format(col_zh="记录号(action_id)") + "（已在其他月份存在）").alias("message_zh"),
        pl.lit(en.format(col_en="action_id") + " (already stored in another month)").alias("message_en"))


def _stored_snapshot_rows(root: Path, file_rows: pl.DataFrame, months: list[dt.date]) -> pl.DataFrame:
    """Stored snapshot rows the continuity check of ``file_rows`` needs (months being replaced excluded).

    Whole months next to the file's months, the exit rows of the file's loans, and every row of the loans
    that exit in the file; each with its store file and row.
    """
    near = {_add_months(m, k) for m in months for k in (-1, 1)} - set(months)
    loans = file_rows["loan_id"].unique().implode()
    exiting = file_rows.filter(pl.col("status").is_in(list(EXIT_STATUSES)))["loan_id"].unique().implode()
    frames = []
    for path in store.table_files(root, "snapshots"):
        month = dt.date.fromisoformat(path.parent.name.split("=", 1)[1])
        if month in months:
            continue
        lf = pl.scan_parquet(path).select("loan_id", "status").with_row_index(ROW, offset=1).with_columns(
            pl.col(ROW).cast(pl.Int64))
        if month not in near:
            status, loan = pl.col("status"), pl.col("loan_id")
            lf = lf.filter(((status != "active") & loan.is_in(loans)) | loan.is_in(exiting))
        frames.append(lf.with_columns(pl.lit(month, dtype=pl.Date).alias("month"),
                                      pl.lit(str(path.relative_to(root))).alias(FILE)))
    return pl.concat(pl.collect_all(frames)) if frames else pl.DataFrame()


def _add_months(month: dt.date, n: int) -> dt.date:
    y, m = divmod(month.year * 12 + month.month - 1 + n, 12)
    return dt.date(y, m + 1, 1)


def continuity_warnings(root: Path, rows: pl.DataFrame, months: list[dt.date], name: str) -> pl.DataFrame:
    """Continuity of a snapshot file with the store as it will be after the load (see ``validate``)."""
    if not months or not all(c in rows.columns for c in ("month", "loan_id", "status")):
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    file_rows = validate.typed("snapshots", rows.select("month", "loan_id", "status", ROW)).with_columns(
        pl.col(ROW).cast(pl.Int64), pl.lit(name).alias(FILE)).filter(pl.col("month").is_in(months)).drop_nulls(
        ["loan_id", "status"])
    both = pl.concat([file_rows, _stored_snapshot_rows(root, file_rows, months)], how="diagonal_relaxed")
    return validate.continuity_problems(both, months=months)


def prepare_source(root: Path, source: Source, table_name: str, profile: Profile | None = None) -> Prepared:
    """Map and check an already read source (the page re-runs this when the user edits the mapping)."""
    root = store.data_root(root)
    table = TABLES[table_name]
    if profile is None:
        profile = suggest_profile(source.columns, table_name, sample=source.frame.head(10_000))
    if profile.table != table_name:
        raise IngestError("profile_table", f"映射方案「{profile.name}」用于表 {profile.table}，不能用于 {table_name}。",
                          f"Profile '{profile.name}' is for table {profile.table}, not {table_name}.")
    rows = normalise(apply_mapping(source.frame, profile), profile)
    problems = validate.problems_frame(table_name, rows, file=source.name, known_keys=known_keys(root, table))
    months: list[dt.date] = []
    if table.partition and table.partition in rows.columns:
        typed = validate.typed(table_name, rows.select(table.partition, ROW))
        months = sorted(m for m in typed[table.partition].drop_nulls().unique().to_list() if m.day == 1)
    extra = [_cell_problems(source, profile)]
    if table_name == "collection_actions":
        extra.append(_action_id_clashes(root, rows, months, source.name))
    problems = pl.concat([problems, *extra])
    existing = sorted(set(months) & set(_store_months(root, table)))
    prepared = Prepared(source, table_name, profile, rows, problems, months, existing)
    if table_name == "snapshots":
        prepared.warnings = continuity_warnings(root, rows, months, source.name)
    return prepared


def prepare(root: str | os.PathLike | None, data: bytes, name: str, table_name: str, *,
            profile: Profile | str | None = None, sheet: str | None = None, unit: str | None = None,
            month: str | None = None, limit: int | None = None) -> Prepared:
    """Read ``data`` (the file's bytes, named ``name``), map it and check every row. Writes nothing.

    ``profile`` is a Profile, the name of a saved one, or None for a suggestion. ``unit`` (元/万元)
    and ``month`` (for a one-month file without a month column) override the profile.
    """
    root = store.data_root(root)
    if table_name not in TABLES:
        raise IngestError("table", f"未知的表：{table_name}", f"Unknown table: {table_name}")
    source = read_source(data, name, sheet=sheet, limit=limit)
    if isinstance(profile, str):
        profile = load_profile(root, profile)
    if profile is None:
        profile = suggest_profile(source.columns, table_name, sample=source.frame.head(10_000))
    if unit:
        profile.unit = unit
    if month:
        profile.constants["month"] = month
        profile.columns["month"] = None
    profile.value_maps = suggest_value_maps(profile, source.frame) | profile.value_maps
    return prepare_source(root, source, table_name, profile)


# --- reports -------------------------------------------------------------------------------------


# Rules about one cell: the report shows that cell exactly as the file has it (e.g. `-1` in a 万元 column,
# not the `-10000.00` yuan it was read as), so the user finds it in the file.
CELL_RULES = ("parse", "null", "allowed", "min", "max", "month_not_first", "quarter_not_first", "reference",
              "action_outside_month")


def _source_values(prepared: Prepared, back: dict[str, str]) -> pl.DataFrame:
    """(row, source column, raw text) of the mapped cells on rows with a problem."""
    srcs = sorted({s for s in back.values() if s in prepared.source.frame.columns})
    rows = prepared.problems["row"].drop_nulls().unique()
    schema = {"row": pl.Int64, "source_column": pl.String, "raw": pl.String}
    if not srcs or rows.is_empty():
        return pl.DataFrame(schema=schema)
    frame = prepared.source.frame.filter(pl.col(ROW).is_in(rows.cast(pl.UInt32).implode()))
    return frame.select(pl.col(ROW).cast(pl.Int64).alias("row"), *[pl.col(c).cast(pl.String) for c in srcs]).unpivot(
        index="row", variable_name="source_column", value_name="raw").cast(schema)


def error_report(prepared: Prepared, lang: str = "zh") -> pl.DataFrame:
    """Every problem with the file's own column header and cell value, in Chinese or English."""
    back = {col: src for col, src in prepared.profile.columns.items() if src}
    p = prepared.problems.with_columns(
        pl.col("column").replace_strict(back, default=pl.lit(""), return_dtype=pl.String).alias("source_column"))
    p = p.join(_source_values(prepared, back), on=["row", "source_column"], how="left", maintain_order="left")
    p = p.with_columns(pl.when(pl.col("rule").is_in(CELL_RULES) & pl.col("row").is_not_null()
                               & (pl.col("source_column") != ""))
                       .then(pl.col("raw").fill_null("")).otherwise(pl.col("value")).alias("value"))
    msg = "message_zh" if lang == "zh" else "message_en"
    names = (["文件", "行号", "源列", "字段", "值", "规则", "说明"] if lang == "zh"
             else ["file", "row", "source column", "field", "value", "rule", "message"])
    return p.select(
        *[pl.col(c).alias(n) for c, n in zip(["file", "row", "source_column", "column", "value", "rule", msg], names,
                                              strict=True)])


def continuity_report(prepared: Prepared, lang: str = "zh") -> pl.DataFrame:
    """The continuity warnings (one line per vanished loan or post-exit row), in Chinese or English."""
    msg = "message_zh" if lang == "zh" else "message_en"
    names = (["文件", "行号", "借据号", "规则", "说明"] if lang == "zh" else ["file", "row", "loan_id", "rule", "message"])
    return prepared.warnings.select(
        *[pl.col(c).alias(n) for c, n in zip(["file", "row", "value", "rule", msg], names, strict=True)])


def error_report_csv(prepared: Prepared, lang: str = "zh") -> bytes:
    """The error report as CSV (formula-like cells neutralised by ``analytics.export``)."""
    return export.to_csv_bytes(error_report(prepared, lang))


def preview(prepared: Prepared, n: int = 20) -> pl.DataFrame:
    """The first mapped rows as the contract will read them (canonical text), with the source row number."""
    cols = [c for c in TABLES[prepared.table].names if c in prepared.rows.columns]
    return prepared.rows.head(n).select(pl.col(ROW).alias("row"), *cols)


def value_map_frame(profile: Profile, column: str) -> pl.DataFrame:
    """One column's value map as an editable two-column frame (source value -> contract code)."""
    items = profile.value_maps.get(column, {})
    return pl.DataFrame({"source": list(items), "code": [items[k] or None for k in items]},
                        schema={"source": pl.String, "code": pl.String})


def value_map_from_frame(frame) -> dict[str, str]:
    """The edited map back from the page's data editor (a Polars or pandas frame)."""
    rows = pl.DataFrame(frame).iter_rows(named=True)
    return {r["source"]: str(r["code"]).strip() for r in rows if r["source"] and r["code"] and str(r["code"]).strip()}


def coded_columns(table_name: str) -> list[str]:
    """Columns that take codes (or yes/no) and so have a value map."""
    return [c.name for c in TABLES[table_name].columns if c.allowed is not None or c.dtype == pl.Boolean]


# --- commit ---------------------------------------------------------------------------------------


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


def _good_rows(prepared: Prepared) -> pl.DataFrame:
    table = TABLES[prepared.table]
    typed = validate.typed(prepared.table, prepared.rows)
    good = typed.filter(~pl.col(ROW).is_in(prepared.bad_rows.implode()))
    return good.select(table.names)


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
        prepared.existing_months = sorted(set(prepared.months) & set(_store_months(root, table)))
        _check_committable(root, prepared, on_bad, replace, change_id)
        good = _good_rows(prepared)
        stage = tx.staging_dir(root, change_id)
        try:
            stage_fn = _stage_partitioned if table.partition else _stage_upsert
            new, aside = stage_fn(root, stage, table, good)
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
                                       quarantine=quarantine))
        # Under the lock: a concurrent load's rebuild must not swap in derived tables of an older store.
        warning = rebuild_derived(root)
    if save_as:
        prepared.profile.name = save_as
        save_profile(root, prepared.profile)
    return LoadResult(change_id, table.name, months, good.height, prepared.n_bad, quarantine, warning)


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
    path = Path(path)
    check_size(path.stat().st_size, limit)  # before reading it into memory
    prepared = prepare(root, path.read_bytes(), path.name, table_name, limit=limit, **kw)
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
    return tx.recover(root) if root.is_dir() else None


# --- command line ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analytics.ingest", description="Import a bank's monthly exports.")
    p.add_argument("--data", help="data folder (default $OVERDUE_DATA_DIR or ./data)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    sub = p.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load", help="load one file into one table")
    load.add_argument("file")
    load.add_argument("--table", required=True, choices=list(TABLES))
    load.add_argument("--profile", help="saved mapping profile to use")
    load.add_argument("--save-profile", help="save the mapping used under this name")
    load.add_argument("--sheet", help="Excel sheet (default: the first)")
    load.add_argument("--unit", choices=("元", "万元"), help="amount unit of the file")
    load.add_argument("--month", help="the month of a one-month file without a month column (e.g. 2024-03)")
    load.add_argument("--on-bad", choices=ON_BAD, default="reject")
    load.add_argument("--replace", action="store_true", help="replace months that already exist")
    load.add_argument("--report", help="write the error report (CSV) here")
    load.add_argument("--max-mb", type=float, help="size limit in MB")
    sub.add_parser("history", help="list the import log")
    rest = sub.add_parser("restore", help="undo a load (put back what it replaced)")
    rest.add_argument("change_id")
    sub.add_parser("profiles", help="list saved mapping profiles")
    sub.add_parser("recover", help="roll back an interrupted load")
    return p


def _cli_load(args: argparse.Namespace, root: Path) -> int:
    limit = int(args.max_mb * 1024 * 1024) if args.max_mb else None
    path = Path(args.file)
    check_size(path.stat().st_size, limit)
    prepared = prepare(root, path.read_bytes(), path.name, args.table, profile=args.profile, sheet=args.sheet,
                       unit=args.unit, month=args.month, limit=limit)
    print(f"{prepared.source.name}: {prepared.n_rows} rows, {prepared.n_bad} with problems")
    if not prepared.problems.is_empty():
        with pl.Config(tbl_rows=30, fmt_str_lengths=70, tbl_width_chars=180):
            print(error_report(prepared, args.lang).head(30))
    if args.report:
        Path(args.report).write_bytes(error_report_csv(prepared, args.lang))
    if not prepared.warnings.is_empty():
        print(prepared.warning_text(args.lang))
        with pl.Config(tbl_rows=30, fmt_str_lengths=70, tbl_width_chars=180):
            print(continuity_report(prepared, args.lang).head(30))
    result = commit(root, prepared, on_bad=args.on_bad, replace=args.replace, save_as=args.save_profile)
    months = ", ".join(f"{m:%Y-%m}" for m in result.months)
    print(f"loaded {result.change_id}: {result.table} {months} accepted={result.rows_accepted} "
          f"rejected={result.rows_rejected}" + (f" quarantine={result.quarantine}" if result.quarantine else ""))
    if result.warning:
        print(result.warning, file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = store.data_root(args.data)
    try:
        if args.command != "recover":
            recover(root)
        if args.command == "load":
            return _cli_load(args, root)
        if args.command == "history":
            with pl.Config(tbl_rows=100, tbl_width_chars=200):
                print(history(root).select("change_id", "time", "kind", "status", "table", "months", "source",
                                           "rows_accepted", "rows_rejected", "profile", "restorable"))
        elif args.command == "restore":
            result = restore(root, args.change_id)
            print(f"restored {args.change_id} as {result.change_id}")
        elif args.command == "profiles":
            for prof in list_profiles(root):
                print(f"{prof.name}\t{prof.table}\tunit={prof.unit}")
        elif args.command == "recover":
            print(f"rolled back {recover(root)}")
    except (IngestError, LoadRejected) as exc:
        print(exc.message(args.lang), file=sys.stderr)
        return 1
    except OSError as exc:  # the file to load is missing, a folder, unreadable ...
        name = exc.filename or args.__dict__.get("file", "")
        zh, en = f"无法读取「{name}」：{exc.strerror or exc}", f"Cannot read '{name}': {exc.strerror or exc}"
        print(zh if args.lang == "zh" else en, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
