"""Prepare a file for loading: read it, map it onto the contract and check every row. Nothing is written.

``prepare`` reads a file (CSV UTF-8/GBK, Excel .xlsx, Parquet; see ``reading``), maps its columns and
values onto the contract with a profile (suggested, or a saved one; see ``mapping``) and checks every
row (``checks``) against the store it will join (references, months already there). Snapshots are also
checked for continuity against the stored months next to theirs (``continuity``): loans active the
month before that have no row and no exit row (``vanished``), rows of loans that already exited
(``after_exit``). These are warnings (``Prepared.warnings``): shown, printed and logged, never rejected.
The result, a ``Prepared``, goes to ``commit``.

A minimal bank export loads: optional contract columns the file lacks are "not provided" (stored empty and
listed, ``Prepared.not_provided``), except ``disposed_principal``, which is derived when absent (0 on rows that are
not a disposal; on a write-off / transfer / foreclosure row the loan's outstanding principal at the previous month,
from the file or the store; ``Prepared.derived`` says so). A snapshot file whose profile maps loan fields
(``Profile.loan_columns``: origination date or month, disbursed amount, product ...) also creates the loans it names
that the store does not have yet (``Prepared.loans``; the origination branch is a mapped column, else the managing
branch at the loan's first month in the file; unmapped loan fields are empty). Every source column the contract
has no place for is listed (``Prepared.unused``), never dropped silently.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from analytics.core import months as mo
from analytics.core import store
from analytics.core.months import add_months_expr
from analytics.core.schema import DISPOSAL_STATUSES, EXIT_STATUSES, TABLES, Table
from analytics.ingest import problems as pb
from analytics.ingest import reading
from analytics.ingest.checks import outlier_months, plausible_month, problems_frame, typed
from analytics.ingest.continuity import continuity_problems
from analytics.ingest.mapping import (
    Profile,
    apply_mapping,
    apply_options,
    load_profile,
    loan_fields,
    normalise,
    suggest_profile,
    suggest_value_maps,
    unknown_targets,
    unused_columns,
)
from analytics.ingest.problems import FILE, ROW
from analytics.ingest.reading import IngestError, Source, check_size, read_source
from analytics.ingest.rounding import rounded_amounts
from analytics.ingest.store_check import store_keys

# The order a bank loads an empty store in: each table's references come before it.
LOAD_ORDER = ("branches", "collectors", "loans", "snapshots", "collection_actions", "targets", "return_visits")


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
    unused: list[str] = field(default_factory=list)  # source columns the contract has no place for (not loaded)
    not_provided: list[str] = field(default_factory=list)  # optional contract columns the file does not provide
    derived: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> how it was derived (zh, en)
    # loans a snapshot file creates (canonical text, loans columns + __row__ = the row they come from)
    loans: pl.DataFrame = field(default_factory=pl.DataFrame)
    loan_bad_rows: list[int] = field(default_factory=list)  # rows of ``loans`` that break the loans contract
    _quarantine_warnings: pl.DataFrame | None = None
    root: Path | None = None
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

    @property
    def n_new_loans(self) -> int:
        """Loans this (snapshot) file creates: those whose loan fields pass the loans contract."""
        if self.loans.is_empty():
            return 0
        return self.loans.filter(~pl.col(ROW).cast(pl.Int64).is_in(self.loan_bad_rows)).height

    def notes(self, lang: str = "zh") -> list[str]:
        """What the user must know before loading: columns not loaded, not provided, derived; loans created."""
        zh = lang == "zh"
        out = []
        if self.unused:
            cols = "、".join(self.unused) if zh else ", ".join(self.unused)
            out.append(f"以下源列在数据契约中没有对应字段，不会导入：{cols}" if zh
                       else f"These source columns have no place in the data contract and are not loaded: {cols}")
        unknown = unknown_targets(self.profile)
        if unknown:
            pairs = ", ".join(f"{src} → {col}" for col, src in unknown.items())
            out.append(f"映射方案把以下源列映射到契约中不存在的字段（不会导入）：{pairs}" if zh
                       else f"The profile maps these source columns onto fields the contract does not have (not "
                       f"loaded): {pairs}")
        if self.not_provided:
            table = TABLES[self.table]
            cols = "、".join(f"{table.column(c).zh}（{c}）" for c in self.not_provided) if zh else ", ".join(self.not_provided)
            out.append(f"文件未提供（存为空，页面显示“未提供”）：{cols}" if zh
                       else f"Not provided by the file (stored empty, shown as 'not provided'): {cols}")
        for column, (how_zh, how_en) in self.derived.items():
            out.append(f"{column} 由其他列推导：{how_zh}" if zh else f"{column} is derived: {how_en}")
        if not self.loans.is_empty():
            n, bad = self.n_new_loans, len(self.loan_bad_rows)
            out.append(f"本文件同时新建 {n:,} 笔借据（仓库中尚无的借据号；未映射的借据字段为空）" + (f"，{bad:,} 笔借据信息有误" if bad else "")
                       if zh else f"This file also creates {n:,} loans (loan ids not yet in the store; unmapped loan "
                       "fields are empty)" + (f"; {bad:,} loans have invalid loan fields" if bad else ""))
        return out

    def quarantine_warnings(self) -> pl.DataFrame:
        """Loans that vanish only because rows are quarantined: the continuity check run on the accepted rows.

        A quarantined row of a loan active the month before makes it "无记录 / missing" in the migration matrix;
        these are the ``vanished`` warnings of the accepted rows that the whole file does not have.
        """
        if self._quarantine_warnings is not None:
            return self._quarantine_warnings
        out = pb.no_problems()
        if self.table == "snapshots" and self.n_bad and self.file_problems.is_empty() and self.root is not None:
            good = self.rows.filter(~pl.col(ROW).cast(pl.Int64).is_in(self.bad_rows.implode()))
            after = continuity_warnings(self.root, good, months=self.months, name=self.source.name)
            before = self.warnings.filter(pl.col("rule") == "vanished").select("value")
            out = after.filter(pl.col("rule") == "vanished").join(before, on="value", how="anti")
        self._quarantine_warnings = out
        return out

    @property
    def n_vanish_by_quarantine(self) -> int:
        return self.quarantine_warnings()["value"].n_unique()

    def quarantine_warning_text(self, lang: str = "zh") -> str:
        """The loans that quarantining the bad rows makes vanish, in one sentence ("" when none)."""
        q = self.quarantine_warnings()
        if q.is_empty():
            return ""
        ids = q["value"].unique(maintain_order=True).to_list()
        shown = ", ".join(ids[:20]) + (" …" if len(ids) > 20 else "")
        if lang == "zh":
            return (f"隔离问题行后，{len(ids)} 笔上月为正常状态的贷款本月将没有记录（迁徙矩阵中显示为“无记录”）：{shown}。"
                    "请修正这些行后重新导入，或确认接受。")
        return (f"With the bad rows quarantined, {len(ids)} loans active the month before will have no row this month "
                f"(shown as 'missing' in the migration matrix): {shown}. Fix those rows and load again, or accept it.")

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


DISPOSED_DERIVATION = (
    "文件没有处置本金列：非处置行为 0；核销/转让/以物抵债行取该借据上月末的本金余额（本文件或仓库中）",
    "the file has no disposed-principal column: 0 on rows that are not a disposal; on a write-off, transfer or "
    "foreclosure row the loan's outstanding principal at the previous month end (from the file or the store)")


def _previous_outstanding(root: Path, rows: pl.DataFrame) -> pl.DataFrame:
    """(month, loan_id, prev_out text) of each row's loan at the previous month, from the file, else the store."""
    parsed = typed("snapshots", rows.select("month", "loan_id", "outstanding_principal", ROW)).drop_nulls(
        ["month", "loan_id"])
    months = set(parsed["month"].unique().to_list())
    wanted = {mo.add_months(m, -1) for m in months}
    frames = [parsed.select("month", "loan_id", "outstanding_principal")]
    for path in store.table_files(root, "snapshots"):
        month = store.partition_month(path)
        if month in wanted and month not in months:
            frames.append(pl.read_parquet(path, columns=["loan_id", "outstanding_principal"]).with_columns(
                pl.lit(month, dtype=pl.Date).alias("month")).select("month", "loan_id", "outstanding_principal"))
    known = pl.concat(frames, how="vertical_relaxed").unique(["month", "loan_id"], keep="first")
    return known.select(add_months_expr(pl.col("month"), 1).alias("month"), "loan_id",
                        pl.col("outstanding_principal").cast(pl.String).alias("__prev_out"))


def _derive_snapshot_columns(root: Path, rows: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, tuple[str, str]]]:
    """Columns a minimal export lacks that follow from the others (see the module doc)."""
    if "disposed_principal" in rows.columns or not pb.has_columns(rows, "month", "loan_id", "status",
                                                                   "outstanding_principal"):
        return rows, {}
    month = typed("snapshots", rows.select("month", ROW))["month"]
    keyed = rows.with_columns(month.alias("__month"))
    prev = _previous_outstanding(root, rows).rename({"month": "__month"})
    keyed = keyed.join(prev, on=["__month", "loan_id"], how="left", maintain_order="left")
    disposal = pl.col("status").is_in(list(DISPOSAL_STATUSES))
    keyed = keyed.with_columns(pl.when(disposal).then(pl.col("__prev_out")).otherwise(pl.lit("0"))
                               .alias("disposed_principal"))
    return keyed.drop("__month", "__prev_out"), {"disposed_principal": DISPOSED_DERIVATION}


def _snapshot_loans(root: Path, source: Source, profile: Profile, rows: pl.DataFrame) -> pl.DataFrame:
    """The loans a snapshot file creates: one row per loan id not in the store, from its first month's row."""
    fields = loan_fields(source.frame, profile)
    if fields.is_empty() or not pb.has_columns(rows, "loan_id", "month"):
        return pl.DataFrame()
    stored = store_keys(root).get("loans.loan_id", pl.Series([], dtype=pl.String))
    base = rows.select(ROW, "loan_id", *(["branch_id"] if "branch_id" in rows.columns else []))
    base = base.with_columns(typed("snapshots", rows.select("month", ROW))["month"].alias("__month"))
    joined = base.join(fields.drop(FILE).rename({"branch_id": "__origination_branch"}, strict=False), on=ROW)
    if "__origination_branch" in joined.columns:
        joined = joined.with_columns(pl.coalesce("__origination_branch", "branch_id").alias("branch_id"))
    joined = joined.filter(pl.col("loan_id").is_not_null() & ~pl.col("loan_id").is_in(stored.implode()))
    first = joined.sort("__month", ROW, nulls_last=True).unique("loan_id", keep="first", maintain_order=True)
    cols = [c for c in TABLES["loans"].names if c in first.columns]
    return first.select(ROW, *cols).with_columns(pl.lit(source.name).alias(FILE)).sort(ROW)


def _not_provided(table: Table, rows: pl.DataFrame, profile: Profile) -> list[str]:
    return [c.name for c in table.columns if not c.required
            and (c.name not in rows.columns or profile.constants.get(c.name) == "")]


def prepare_source(root: Path, source: Source, table_name: str, profile: Profile | None = None) -> Prepared:
    """Map and check an already read source (the page re-runs this when the user edits the mapping).

    The check runs in a worker process with the memory, CPU and time limits of ``reading`` (``run_bounded``):
    a hostile file (millions of distinct values, huge cells) is refused with the limit it hit instead of
    taking the server all users share. A stored file that cannot be read (the neighbouring month the continuity
    check needs, say) is named in the error instead of a raw reader message."""
    if os.environ.get(reading.SANDBOX_ENV, "1") == "0":
        return check_here(root, source, table_name, profile)
    return reading.run_bounded(check_here, (root, source, table_name, profile), source.name, "check")


def check_here(root: Path, source: Source, table_name: str, profile: Profile | None = None) -> Prepared:
    """``prepare_source`` in the calling process (what the worker runs)."""
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
    derived_columns: dict[str, tuple[str, str]] = {}
    keys = known_keys(root, table)
    loans = pl.DataFrame()
    loan_problems = pb.no_problems()
    if table_name == "snapshots":
        rows, derived_columns = _derive_snapshot_columns(root, rows)
        loans = _snapshot_loans(root, source, profile, rows)
        if not loans.is_empty():
            loan_problems = problems_frame("loans", loans, file=source.name,
                                           known_keys=known_keys(root, TABLES["loans"]))
            bad = loan_problems["row"].drop_nulls().unique().implode()
            created = loans.filter(~pl.col(ROW).cast(pl.Int64).is_in(bad))["loan_id"]
            keys["loans.loan_id"] = pl.concat([keys.get("loans.loan_id", pl.Series([], dtype=pl.String)), created])
    in_store = stored_months(root, table)
    problems = problems_frame(table_name, rows, file=source.name, known_keys=keys, store_months=in_store)
    months: list[dt.date] = []
    if table.partition and table.partition in rows.columns:
        parsed = typed(table_name, rows.select(table.partition, ROW))
        counts = parsed.group_by(table.partition).len().drop_nulls(table.partition)
        far, _ = outlier_months(dict(zip(counts[table.partition].to_list(), counts["len"].to_list(), strict=True)),
                                in_store)
        months = sorted(m for m in counts[table.partition].to_list()
                        if m.day == 1 and plausible_month(m) and m not in far)  # 9999-12 is a row problem, not a month
    extra = [_cell_problems(source, profile)]
    if table_name == "collection_actions":
        extra.append(_action_id_clashes(root, rows, months, source.name))
    problems = pl.concat([problems, *extra, loan_problems])
    existing = sorted(set(months) & set(in_store))
    prepared = Prepared(source, table_name, profile, rows, problems, months, existing,
                        unused=unused_columns(source.columns, profile), not_provided=_not_provided(table, rows, profile),
                        derived=derived_columns, loans=loans,
                        loan_bad_rows=sorted(loan_problems["row"].drop_nulls().unique().to_list()), root=root,
                        n_rounded=rounded_amounts(mapped, profile))
    if table_name == "snapshots":
        prepared.warnings = continuity_warnings(root, rows, months=months, name=source.name)
    return prepared


def prepare(root: str | os.PathLike | None, data: bytes, name: str, table_name: str, *,
            profile: Profile | str | None = None, sheet: str | None = None, unit: str | None = None,
            month: str | None = None, limit: int | None = None, header_row: int | None = None,
            maps: list[str] = (), value_maps: list[str] = ()) -> Prepared:
    """Read ``data`` (the file's bytes, named ``name``), map it and check every row. Writes nothing.

    ``profile`` is a Profile, the name of a saved one, or None for a suggestion. ``unit`` (元/万元)
    and ``month`` (for a one-month file without a month column) override the profile; so do ``maps``
    (``column=source``) and ``value_maps`` (``column:source value=code``), see ``mapping.apply_options``.
    ``header_row`` is the 1-based row of the header (default: detected, ``reading.detect_header``).
    """
    root = store.data_root(root)
    if table_name not in TABLES:
        raise IngestError("table", f"未知的表：{table_name}", f"Unknown table: {table_name}")
    source = read_source(data, name, sheet=sheet, limit=limit, header_row=header_row)
    if isinstance(profile, str):
        profile = load_profile(root, profile)
    if profile is None:
        profile = suggest_profile(source.columns, table_name, sample=source.frame.head(10_000))
    if unit:
        profile.unit = unit
    if month:
        profile.constants["month"] = month
        profile.columns["month"] = None
    apply_options(profile, source.columns, maps=list(maps), value_maps=list(value_maps))
    profile.value_maps = suggest_value_maps(profile, source.frame) | profile.value_maps
    return prepare_source(root, source, table_name, profile)


def prepare_file(root: str | os.PathLike | None, path: str | os.PathLike, table_name: str, *,
                 limit: int | None = None, **kw) -> Prepared:
    """``prepare`` of a file on disk, its size checked before it is read into memory."""
    path = Path(path)
    check_size(path.stat().st_size, limit)
    return prepare(root, path.read_bytes(), path.name, table_name, limit=limit, **kw)
