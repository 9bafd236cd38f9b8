"""Prepare a file for loading: read it, map it onto the contract and check every row. Nothing is written.

``prepare`` reads a file (CSV UTF-8/GBK, Excel .xlsx, Parquet; see ``reading``), maps its columns and
values onto the contract with a profile (suggested, or a saved one; see ``mapping``) and checks every
row (``checks``) against the store it will join (references, months already there). Snapshots are also
checked for continuity against the stored months next to theirs (``continuity``): loans active the
month before that have no row and no exit row (``vanished``), rows of loans that already exited
(``after_exit``). These are warnings (``Prepared.warnings``): shown, printed and logged, never rejected.
The result, a ``Prepared``, goes to ``commit``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from analytics.core import months as mo
from analytics.core import store
from analytics.core.schema import EXIT_STATUSES, TABLES, Table
from analytics.ingest import problems as pb
from analytics.ingest.checks import plausible_month, problems_frame, typed
from analytics.ingest.continuity import continuity_problems
from analytics.ingest.mapping import (
    Profile,
    apply_mapping,
    load_profile,
    normalise,
    suggest_profile,
    suggest_value_maps,
)
from analytics.ingest.problems import FILE, ROW
from analytics.ingest.reading import IngestError, Source, check_size, read_source
from analytics.ingest.rounding import rounded_amounts
from analytics.ingest.store_check import store_keys

# The order a bank loads an empty store in: each table's references come before it.
LOAD_ORDER = ("branches", "collectors", "loans", "snapshots", "collection_actions", "targets")


@dataclass
class Prepared:
    """A file read, mapped and checked, ready for ``commit`` (nothing written yet)."""

    source: Source
    table: str
    profile: Profile
    rows: pl.DataFrame  # canonical text in contract columns + __row__ + __file__
    problems: pl.DataFrame  # every problem, uncapped (problems.PROBLEM_SCHEMA)
    months: list[dt.date] = field(default_factory=list)  # months in the file (partitioned tables)
    existing_months: list[dt.date] = field(default_factory=list)  # of those, months already in the store
    # continuity warnings (continuity.continuity_problems): shown and logged, never a reason to reject a row
    warnings: pl.DataFrame = field(default_factory=pb.no_problems)
    n_rounded: int = 0  # amounts read from a binary-float rendering (825.2900000000001 -> 825.29)

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
        return pb.summary(self.problems)

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


def known_keys(root: Path, table: Table) -> dict[str, pl.Series]:
    """Keys a table may reference: those in the store; a missing branches/loans table means none exist.

    A store without a collectors table does not check snapshot collector ids (many banks have none).
    """
    keys = store_keys(root)
    for target in table.references.values():
        t_name = target.split(".")[0]
        if target not in keys and (t_name != "collectors" or table.name == "collection_actions"):
            keys[target] = pl.Series([], dtype=pl.String)
    return keys


def stored_months(root: Path, table: Table) -> list[dt.date]:
    """The months of a partitioned table already in the store (none for other tables)."""
    if not table.partition:
        return []
    return sorted({store.partition_month(f) for f in store.table_files(root, table)})


def _cell_problems(source: Source, profile: Profile) -> pl.DataFrame:
    """Source cell problems (formulas without a value) expressed on the contract columns."""
    if source.cell_problems.is_empty():
        return pb.no_problems()
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
             if store.partition_month(f) not in months]
    if not files or "action_id" not in rows.columns:
        return pb.no_problems()
    stored = pl.concat([pl.read_parquet(f, columns=["action_id"]) for f in files])["action_id"]
    zh, en = pb.message("duplicate_key", "记录号(action_id)", "action_id")
    return rows.filter(pl.col("action_id").is_in(stored.implode())).select(
        pl.lit(name).alias("file"), pl.lit("collection_actions").alias("table"), pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.lit("action_id").alias("column"), pl.col("action_id").alias("value"), pl.lit("duplicate_key").alias("rule"),
        pl.lit(zh + "（已在其他月份存在）").alias("message_zh"),
        pl.lit(en + " (already stored in another month)").alias("message_en"))


def _stored_snapshot_rows(root: Path, file_rows: pl.DataFrame, months: list[dt.date]) -> pl.DataFrame:
    """Stored snapshot rows the continuity check of ``file_rows`` needs (months being replaced excluded).

    Whole months next to the file's months, the exit rows of the file's loans, and every row of the loans
    that exit in the file; each with its store file and row.
    """
    near = {mo.add_months(m, k) for m in months for k in (-1, 1)} - set(months)
    loans = file_rows["loan_id"].unique().implode()
    exiting = file_rows.filter(pl.col("status").is_in(list(EXIT_STATUSES)))["loan_id"].unique().implode()
    frames = []
    for path in store.table_files(root, "snapshots"):
        month = store.partition_month(path)
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


def continuity_warnings(root: Path, rows: pl.DataFrame, *, months: list[dt.date], name: str) -> pl.DataFrame:
    """Continuity of a snapshot file with the store as it will be after the load (see ``continuity``)."""
    if not months or not pb.has_columns(rows, "month", "loan_id", "status"):
        return pb.no_problems()
    file_rows = typed("snapshots", rows.select("month", "loan_id", "status", ROW)).with_columns(
        pl.col(ROW).cast(pl.Int64), pl.lit(name).alias(FILE)).filter(pl.col("month").is_in(months)).drop_nulls(
        ["loan_id", "status"])
    both = pl.concat([file_rows, _stored_snapshot_rows(root, file_rows, months)], how="diagonal_relaxed")
    return continuity_problems(both, months=months)


def prepare_source(root: Path, source: Source, table_name: str, profile: Profile | None = None) -> Prepared:
    """Map and check an already read source (the page re-runs this when the user edits the mapping).

    A stored file that cannot be read (the neighbouring month the continuity check needs, say) is named in
    the error instead of a raw reader message."""
    try:
        return _prepare_source(root, source, table_name, profile)
    except (pl.exceptions.PolarsError, OSError) as exc:
        bad = store.damaged_files(root)
        if not bad:
            raise
        files = ", ".join(bad)
        raise IngestError("store_damaged", f"数据目录中的文件已损坏，无法检查本文件：{files}。请先修复（恢复写入它的导入或重新导入该月份）。",
                          f"Files of the data folder are damaged, so this file cannot be checked: {files}. Repair them "
                          "first (restore the load that wrote them, or load that month again).") from exc


def _prepare_source(root: Path, source: Source, table_name: str, profile: Profile | None = None) -> Prepared:
    root = store.data_root(root)
    table = TABLES[table_name]
    if profile is None:
        profile = suggest_profile(source.columns, table_name, sample=source.frame.head(10_000))
    if profile.table != table_name:
        raise IngestError("profile_table", f"映射方案「{profile.name}」用于表 {profile.table}，不能用于 {table_name}。",
                          f"Profile '{profile.name}' is for table {profile.table}, not {table_name}.")
    mapped = apply_mapping(source.frame, profile)
    rows = normalise(mapped, profile)
    problems = problems_frame(table_name, rows, file=source.name, known_keys=known_keys(root, table))
    months: list[dt.date] = []
    if table.partition and table.partition in rows.columns:
        parsed = typed(table_name, rows.select(table.partition, ROW))
        months = sorted(m for m in parsed[table.partition].drop_nulls().unique().to_list()
                        if m.day == 1 and plausible_month(m))  # 9999-12 is a row problem, not a month to load
    extra = [_cell_problems(source, profile)]
    if table_name == "collection_actions":
        extra.append(_action_id_clashes(root, rows, months, source.name))
    problems = pl.concat([problems, *extra])
    existing = sorted(set(months) & set(stored_months(root, table)))
    prepared = Prepared(source, table_name, profile, rows, problems, months, existing,
                        n_rounded=rounded_amounts(mapped, profile))
    if table_name == "snapshots":
        prepared.warnings = continuity_warnings(root, rows, months=months, name=source.name)
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


def prepare_file(root: str | os.PathLike | None, path: str | os.PathLike, table_name: str, *,
                 limit: int | None = None, **kw) -> Prepared:
    """``prepare`` of a file on disk, its size checked before it is read into memory."""
    path = Path(path)
    check_size(path.stat().st_size, limit)
    return prepare(root, path.read_bytes(), path.name, table_name, limit=limit, **kw)
