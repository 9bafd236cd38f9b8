"""Reading a bank's export into an all-text frame: CSV (UTF-8/GBK), Excel .xlsx, Parquet.

The header is the row the user names (``header_row``, 1-based as Excel and a text editor number rows), else the
first row in which most cells are filled with text and most of those are known header names (so merged title
rows above the header are skipped; ``detect_header``), else the first non-empty row.

Every cell comes back as text (or null) so the mapping step parses each column explicitly and
every unparseable cell can be reported with its row and value. Files are only read: no Excel
formula is evaluated (cached values are used; a formula without one is an error cell), no
pickle or macro is ever loaded.

Memory and time are bounded by design, not only by the size limit: ``read_source`` parses the bytes in a
worker process (``multiprocessing`` forkserver) with an address-space limit (``RLIMIT_AS``,
``$OVERDUE_IMPORT_MAX_MEM_MB``, default 3072), a CPU limit (``RLIMIT_CPU``, ``$OVERDUE_IMPORT_MAX_CPU_S``,
default 300) and a wall-clock timeout, so one hostile upload cannot take down the server all users share.
The checking step after reading (mapping, every contract rule, the store's keys and months: ``preparing``) runs in
the same kind of worker (``run_bounded``), so neither step of an untrusted file runs in the server process.
Inside it: the sheet dimensions an .xlsx declares are ignored (rows are streamed cell by cell), at most
``max_columns()`` columns (``$OVERDUE_IMPORT_MAX_COLUMNS``, default 1024) and CSV lines of at most
``MAX_LINE_BYTES`` are read, and a header naming a column twice is refused. Each cap that is hit is reported
with the file, row and column (Chinese and English).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import multiprocessing
import os
import re
import sys
import threading
import types
import zipfile
from dataclasses import dataclass, field

import polars as pl

from analytics.ingest.problems import FILE, ROW

DEFAULT_MAX_MB = 500
MAX_MB_ENV = "OVERDUE_IMPORT_MAX_MB"
MAX_COLUMNS_ENV, DEFAULT_MAX_COLUMNS = "OVERDUE_IMPORT_MAX_COLUMNS", 1024
MAX_MEM_ENV, DEFAULT_MAX_MEM_MB = "OVERDUE_IMPORT_MAX_MEM_MB", 3072
MAX_CPU_ENV, DEFAULT_MAX_CPU_S = "OVERDUE_IMPORT_MAX_CPU_S", 300
SANDBOX_ENV = "OVERDUE_IMPORT_SANDBOX"  # "0": parse in the calling process (debugging only)
MAX_LINE_BYTES = 1 << 20  # one CSV line (a header of a few thousand columns fits)
ENCODINGS = ("utf-8-sig", "gb18030")
CELL_PROBLEM_SCHEMA = pl.Schema({"row": pl.Int64, "source_column": pl.String, "value": pl.String,
                                 "rule": pl.String})


class BilingualError(Exception):
    """An error with a Chinese and an English message (``message(lang)``)."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en

    def message(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


class IngestError(BilingualError):
    """A problem that rejects a whole file."""

    def __init__(self, code: str, zh: str, en: str):
        super().__init__(zh, en)
        self.code = code


@dataclass
class Source:
    name: str
    sha256: str
    size: int
    kind: str  # csv | xlsx | parquet
    frame: pl.DataFrame  # text columns as in the file + __row__ (1-based data row) + __file__
    encoding: str | None = None
    header_row: int | None = None  # 1-based row of the header in the sheet / file
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    cell_problems: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CELL_PROBLEM_SCHEMA))

    @property
    def columns(self) -> list[str]:
        return [c for c in self.frame.columns if c not in (ROW, FILE)]


def max_bytes() -> int:
    return int(float(os.environ.get(MAX_MB_ENV, DEFAULT_MAX_MB)) * 1024 * 1024)


def check_size(size: int, limit: int | None = None) -> None:
    limit = max_bytes() if limit is None else limit
    if size > limit:
        mb, lim = size / 1024 / 1024, limit / 1024 / 1024
        raise IngestError("too_large", f"文件大小 {mb:,.1f} MB 超过上限 {lim:,.0f} MB（可通过 {MAX_MB_ENV} 调整）。",
                          f"The file is {mb:,.1f} MB, over the {lim:,.0f} MB limit (set {MAX_MB_ENV} to change it).")


UNPACKED_FACTOR = 4  # an .xlsx/.parquet may unpack to at most this many times the size limit
PARQUET_CELL_BYTES = 32  # rough memory per cell once read as text (estimate for the unpacked-size guard)


def check_unpacked(name: str, unpacked: int, *, limit: int | None = None) -> None:
    """Refuse a compressed file (xlsx zip, Parquet) whose content would unpack beyond the limit (zip bomb)."""
    limit = max_bytes() if limit is None else limit
    if unpacked > UNPACKED_FACTOR * limit:
        mb, lim = unpacked / 1024 / 1024, UNPACKED_FACTOR * limit / 1024 / 1024
        raise IngestError("too_large", f"文件「{name}」解压后约 {mb:,.0f} MB，超过上限 {lim:,.0f} MB"
                          f"（大小上限的 {UNPACKED_FACTOR} 倍，可通过 {MAX_MB_ENV} 调整）。",
                          f"The file '{name}' unpacks to about {mb:,.0f} MB, over the {lim:,.0f} MB limit "
                          f"({UNPACKED_FACTOR} times the size limit; set {MAX_MB_ENV} to change it).")


def kind_of(name: str) -> str:
    ext = os.path.splitext(name.lower())[1]
    if ext in (".csv", ".txt"):
        return "csv"
    if ext in (".xlsx", ".xlsm"):
        return "xlsx"
    if ext in (".parquet", ".pq"):
        return "parquet"
    if ext == ".xls":
        raise IngestError("xls", "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx。",
                          "Old .xls files are not supported; save the file as .xlsx in Excel.")
    raise IngestError("file_type", f"不支持的文件类型「{ext or name}」：请使用 CSV、Excel(.xlsx) 或 Parquet。",
                      f"Unsupported file type '{ext or name}': use CSV, Excel (.xlsx) or Parquet.")


def _empty(name: str) -> IngestError:
    return IngestError("empty", f"文件「{name}」是空的（没有表头或没有数据行）。",
                       f"The file '{name}' is empty (no header or no data rows).")


HEADER_SCAN_ROWS = 30  # rows looked at for the header


def _is_text(value: object) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    try:
        float(value.replace(",", ""))
        return False
    except ValueError:
        return True


def detect_header(rows: list[tuple | list]) -> int:
    """The 0-based index of the header row among ``rows`` (see the module doc); 0 when nothing is filled."""
    from analytics.ingest.mapping import is_known_header  # mapping builds on this module

    head = [[v for v in r if v is not None and str(v).strip()] for r in rows[:HEADER_SCAN_ROWS]]
    width = max((len(r) for r in head), default=0)
    wide = [i for i, r in enumerate(head) if len(r) >= max(2, width / 2) and all(_is_text(v) for v in r)]
    for i in wide:
        if sum(is_known_header(v) for v in head[i]) * 2 >= len(head[i]):
            return i
    if wide:
        return wide[0]
    return next((i for i, r in enumerate(head) if r), 0)


def _header_index(rows: list, header_row: int | None, name: str) -> int:
    if header_row is None:
        return detect_header(rows)
    if not 1 <= header_row <= len(rows):
        raise IngestError("header_row", f"文件「{name}」没有第 {header_row} 行（共 {len(rows)} 行），无法作为表头。",
                          f"The file '{name}' has no row {header_row} (it has {len(rows)}) to use as the header.")
    return header_row - 1


def max_columns() -> int:
    return int(os.environ.get(MAX_COLUMNS_ENV, DEFAULT_MAX_COLUMNS))


def _too_wide(name: str, n: int, row: int | None = None) -> IngestError:
    cap = max_columns()
    at_zh = f"第 {row} 行" if row else "表头"
    at_en = f"row {row}" if row else "the header"
    return IngestError("columns", f"文件「{name}」{at_zh}有 {n:,} 列，超过上限 {cap:,} 列（{MAX_COLUMNS_ENV}）：请只导出需要的列。",
                       f"The file '{name}': {at_en} has {n:,} columns, more than the limit of {cap:,} "
                       f"({MAX_COLUMNS_ENV}); export only the columns needed.")


def check_header(names: list[str], name: str) -> None:
    """Refuse a header wider than the cap, or one that names a column twice (which column would count?)."""
    if len(names) > max_columns():
        raise _too_wide(name, len(names))
    seen: dict[str, int] = {}
    for i, raw in enumerate(names, start=1):
        h = str(raw).strip()
        if not h:
            continue
        if h in seen:
            raise IngestError("duplicate_header",
                              f"文件「{name}」的表头有两列都叫「{h}」（第 {seen[h]} 列和第 {i} 列）：请删除或重命名其中一列。",
                              f"The file '{name}' has two columns named '{h}' (columns {seen[h]} and {i}): delete or "
                              "rename one of them.")
        seen[h] = i


def _finish(df: pl.DataFrame, name: str, rows: list[int] | None = None) -> pl.DataFrame:
    """Row numbers (1-based data rows, as in the file) and the file name; completely empty rows are skipped.

    An empty row (a blank CSV line, an empty Excel row) holds no value, so nothing is lost, and the
    rows after it keep the numbers they have in the file.
    """
    df = df.rename({c: str(c).strip() for c in df.columns})
    if not df.columns:
        raise _empty(name)
    numbers = range(1, df.height + 1) if rows is None else rows
    df = df.with_columns(pl.Series(ROW, numbers, dtype=pl.UInt32))
    text = [pl.col(c).cast(pl.String).str.strip_chars() for c in df.columns if c != ROW]
    df = df.filter(~pl.all_horizontal(t.is_null() | (t == "") for t in text))
    if df.height == 0:
        raise _empty(name)
    return df.select(ROW, pl.exclude(ROW)).with_columns(pl.lit(name).alias(FILE))


# --- CSV ---------------------------------------------------------------------------------------


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM), else GB18030 (a superset of GBK)."""
    if b"\x00" in data[:4096]:
        raise _encoding_error(name)
    for enc in ENCODINGS:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise _encoding_error(name)


def _encoding_error(name: str) -> IngestError:
    return IngestError("encoding", f"无法识别文件「{name}」的编码：请保存为 UTF-8 或 GBK 编码的 CSV。",
                       f"Cannot decode '{name}': save the CSV as UTF-8 or GBK.")


def _separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (",", "\t", ";", "|")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


def _check_lines(data: bytes, name: str) -> None:
    """Refuse a line longer than ``MAX_LINE_BYTES`` (a 200 MB line without a newline), naming it."""
    long = re.search(rb"[^\n]{%d}" % (MAX_LINE_BYTES + 1), data)
    if long:
        line = data.count(b"\n", 0, long.start()) + 1
        mb = MAX_LINE_BYTES >> 20
        raise IngestError("line_length", f"CSV 文件「{name}」第 {line} 行超过 {mb} MB（缺少换行符或列过多），文件被拒绝。",
                          f"CSV file '{name}', line {line} is longer than {mb} MB (a missing line break or too many "
                          "columns); the file is refused.")


def read_csv(data: bytes, name: str, *, header_row: int | None = None) -> tuple[pl.DataFrame, str, int]:
    """The frame, the encoding and the 1-based line of the header (lines above it, e.g. a title, are skipped)."""
    if not data.strip(b" \r\n\t\xef\xbb\xbf"):
        raise _empty(name)
    _check_lines(data, name)
    text, enc = decode(data, name)
    lines = text.splitlines(keepends=True)
    sep = _separator(max(lines[:HEADER_SCAN_ROWS], key=lambda line: sum(line.count(s) for s in ",\t;|")))
    try:
        parsed = list(csv.reader(io.StringIO("".join(lines[:HEADER_SCAN_ROWS])), delimiter=sep))
    except csv.Error:
        parsed = [[line] for line in lines[:HEADER_SCAN_ROWS]]
    start = _header_index(parsed if header_row is None else lines, header_row, name)
    if start:
        text = "".join(lines[start:])
    header = text.split("\n", 1)[0]
    sep = _separator(header)
    try:
        check_header(next(csv.reader([header.rstrip("\r").lstrip("\ufeff")], delimiter=sep)), name)
    except csv.Error:
        pass
    try:
        df = pl.read_csv(text.encode("utf-8"), infer_schema=False, separator=sep)
    except (pl.exceptions.PolarsError, ValueError) as exc:  # ragged or otherwise malformed text
        raise _malformed(text, sep, name, exc) from exc
    return _finish(df, name), enc, start + 1


def _malformed(text: str, sep: str, name: str, exc: Exception) -> IngestError:
    """Where the CSV breaks: the first line whose field count differs from the header's."""
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        width = len(next(reader))
        for record in reader:
            if record and len(record) != width:
                line = reader.line_num
                return IngestError(
                    "csv", f"CSV 文件「{name}」第 {line} 行（表头下第 {line - 1} 行）有 {len(record)} 个字段，"
                    f"表头有 {width} 个：请检查多余或缺少的分隔符「{sep}」、引号或行尾分隔符。",
                    f"CSV file '{name}', line {line} (data row {line - 1}) has {len(record)} fields but the header "
                    f"has {width}: check for extra or missing '{sep}' separators, quotes or a trailing separator.")
    except csv.Error:
        pass
    detail = str(exc).split("\n", 1)[0]
    return IngestError("csv", f"CSV 文件「{name}」格式有误：{detail}", f"The CSV file '{name}' is malformed: {detail}")


# --- Excel --------------------------------------------------------------------------------------


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def _has_formulas(data: bytes) -> bool:
    """Whether any sheet holds a formula element (streamed: a sheet is never held in memory whole)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/"):
                with z.open(n) as f:
                    tail = b""
                    while chunk := f.read(1 << 20):
                        if b"<f" in tail + chunk:
                            return True
                        tail = chunk[-1:]
    return False


def _rows(data: bytes, sheet: str | None, data_only: bool, name: str = "") -> tuple[list[tuple], list[str], str]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only, keep_vba=False,
                                  keep_links=False)
    try:
        names = book.sheetnames
        chosen = sheet or names[0]
        if chosen not in names:
            raise IngestError("sheet", f"工作表「{chosen}」不存在；现有：{', '.join(names)}",
                              f"Sheet '{chosen}' does not exist; sheets: {', '.join(names)}")
        ws = book[chosen]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # never trust <dimension ref="A1:XFD1048576"/>: read the cells that exist
        rows = []
        cap = max_columns()
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):  # streamed, one row at a time
            row = tuple(row)
            end = len(row)
            while end and (row[end - 1] is None or (isinstance(row[end - 1], str) and not row[end - 1].strip())):
                end -= 1
            if end > cap:
                raise _too_wide(name or chosen, end, row=i)
            rows.append(row[:end])
    finally:
        book.close()
    return rows, names, chosen


def _blank(row: tuple) -> bool:
    return not any(v is not None and str(v).strip() for v in row)


def read_xlsx(data: bytes, name: str, *, sheet: str | None = None, limit: int | None = None,
              header_row: int | None = None) -> tuple[pl.DataFrame, list[str], str, pl.DataFrame, int]:
    """Cached cell values of one sheet (the first unless named); formulas are never evaluated.

    The header is ``header_row`` (1-based sheet row) or the detected one (module doc); data rows are numbered
    from the row under it. Also returns the 1-based sheet row of the header.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile as exc:
        raise IngestError("xlsx", f"无法读取 Excel 文件「{name}」：{exc}", f"Cannot read the Excel file '{name}': {exc}") from exc
    check_unpacked(name, unpacked, limit=limit)
    try:
        rows, names, chosen = _rows(data, sheet, data_only=True, name=name)
    except IngestError:
        raise
    except Exception as exc:  # a corrupt zip or workbook
        raise IngestError("xlsx", f"无法读取 Excel 文件「{name}」：{exc}", f"Cannot read the Excel file '{name}': {exc}") from exc
    if all(_blank(r) for r in rows):
        raise _empty(name)
    start = _header_index(rows, header_row, name)
    if _blank(rows[start]) or all(_blank(r) for r in rows[start + 1:]):
        raise _empty(name)
    header = [_cell_text(v) or f"column_{i + 1}" for i, v in enumerate(rows[start])]
    check_header(header, name)
    body = rows[start + 1:]
    numbers = [i for i, r in enumerate(body, start=1) if not _blank(r)]
    width = len(header)
    columns = list(zip(*[(tuple(body[i - 1]) + (None,) * width)[:width] for i in numbers], strict=True))
    df = pl.DataFrame({h: [_cell_text(v) for v in col] for h, col in zip(header, columns, strict=True)},
                      schema=dict.fromkeys(header, pl.String))
    problems = _formula_problems(data, chosen, start, body, header) if _has_formulas(data) else \
        pl.DataFrame(schema=CELL_PROBLEM_SCHEMA)
    return _finish(df, name, numbers), names, chosen, problems, start + 1


def _formula_problems(data: bytes, sheet: str, start: int, cached: list[tuple], header: list[str]) -> pl.DataFrame:
    """Cells holding a formula without a cached value (never computed here: the row is rejected)."""
    formulas, _, _ = _rows(data, sheet, data_only=False)
    formulas = formulas[start + 1:]
    found = []
    for i, (frow, crow) in enumerate(zip(formulas, cached, strict=False), start=1):
        for j, value in enumerate(frow[:len(header)]):
            if isinstance(value, str) and value.startswith("=") and (j >= len(crow) or crow[j] is None):
                found.append({"row": i, "source_column": header[j], "value": value, "rule": "formula"})
    return pl.DataFrame(found, schema=CELL_PROBLEM_SCHEMA)


# --- Parquet --------------------------------------------------------------------------------------


def read_parquet(data: bytes, name: str, *, limit: int | None = None) -> pl.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(pa.BufferReader(data)).metadata
        check_unpacked(name, meta.num_rows * meta.num_columns * PARQUET_CELL_BYTES, limit=limit)
        table = pq.read_table(pa.BufferReader(data))
    except IngestError:
        raise
    except Exception as exc:  # truncated or not Parquet at all
        raise IngestError("parquet", f"Parquet 文件「{name}」已损坏或不完整：{exc}",
                          f"The Parquet file '{name}' is corrupt or truncated: {exc}") from exc
    check_header(table.column_names, name)
    nested = [f.name for f in table.schema if pa.types.is_nested(f.type) or pa.types.is_dictionary(f.type)
              and pa.types.is_nested(f.type.value_type)]
    if nested:
        cols = ", ".join(nested)
        raise IngestError("parquet_nested", f"Parquet 文件「{name}」的列 {cols} 是列表或结构类型：每个单元格只能有一个值。",
                          f"The Parquet file '{name}' has list or struct columns ({cols}): each cell must hold one "
                          "value.")
    df = pl.from_arrow(table)
    if not isinstance(df, pl.DataFrame):
        df = df.to_frame()
    return _finish(df.select(_as_text(c, t) for c, t in df.schema.items()), name)


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d").alias(name)
    if isinstance(dtype, pl.Datetime):
        return col.dt.strftime("%Y-%m-%d %H:%M:%S").alias(name)
    if dtype == pl.Boolean:
        return pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false")).alias(name)
    return col.cast(pl.String).alias(name)


# --- entry point ---------------------------------------------------------------------------------


def read_source(data: bytes, name: str, *, sheet: str | None = None, limit: int | None = None,
                header_row: int | None = None) -> Source:
    """Read uploaded bytes into a ``Source`` in a worker process with memory, CPU and time limits (see the
    module doc); raises ``IngestError`` for a file that cannot be used, or that needs more than the limits."""
    check_size(len(data), limit)
    if os.environ.get(SANDBOX_ENV, "1") == "0":
        return read_source_here(data, name, sheet=sheet, limit=limit, header_row=header_row)
    return _read_in_worker(data, name, sheet, limit, header_row)


def limits() -> tuple[int, int]:
    """(address-space bytes, CPU seconds) for the parsing worker."""
    mem = int(float(os.environ.get(MAX_MEM_ENV, DEFAULT_MAX_MEM_MB)) * (1 << 20))
    return mem, int(os.environ.get(MAX_CPU_ENV, DEFAULT_MAX_CPU_S))


def _peak_address_space() -> int:
    """Bytes: this process's peak virtual memory (VmPeak, Linux), 0 where unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _worker(conn, target, args: tuple, mem: int, cpu: int, settings: dict[str, str]) -> None:
    import resource

    os.environ.update(settings)  # the caller's caps (the forkserver's own environment may be older)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    except (ValueError, OSError):
        pass
    try:
        conn.send(("ok", target(*args)))
    except IngestError as exc:
        conn.send(("ingest", (exc.code, exc.zh, exc.en)))
    except MemoryError:
        conn.send(("memory", None))
    except BaseException as exc:  # polars raises its own error when an allocation fails
        text = f"{type(exc).__name__}: {exc}"
        # Under the address-space limit a failed allocation surfaces in many forms (a Polars panic, a thread that
        # cannot start: "Resource temporarily unavailable"); the peak address space near the limit tells.
        hit = "alloc" in text.lower() or "memory" in text.lower() or _peak_address_space() >= 0.9 * mem
        conn.send(("memory", None) if hit else ("error", text[:500]))
    finally:
        conn.close()


_CONTEXT = None


def _context():
    global _CONTEXT
    if _CONTEXT is None:
        try:
            _CONTEXT = multiprocessing.get_context("forkserver")
            _CONTEXT.set_forkserver_preload(["analytics.ingest.reading"])
        except ValueError:  # no forkserver (Windows): spawn
            _CONTEXT = multiprocessing.get_context("spawn")
    return _CONTEXT


_START_LOCK = threading.Lock()


def _start_without_main_script(proc) -> None:
    """Start ``proc`` so that its child does not re-run the main script first. A forkserver or spawn child runs
    ``sys.modules["__main__"]`` from its file before the target (``multiprocessing.spawn``), and in the app that
    module is Streamlit's copy of app.py: every bounded read would run the router and its default page again in
    the worker. The target and its arguments live in importable modules, so the child needs no main module; it is
    hidden (a bare module without a file or spec) while the process starts, then put back. (Under ``python -m``
    the child would import the main module by name instead: ``pytest`` or the import command, also not needed.)"""
    main = sys.modules.get("__main__")
    with _START_LOCK:
        bare = types.ModuleType("__main__")
        sys.modules["__main__"] = bare
        try:
            proc.start()
        finally:
            if sys.modules.get("__main__") is bare:
                if main is None:
                    del sys.modules["__main__"]
                else:
                    sys.modules["__main__"] = main


def run_bounded(target, args: tuple, name: str, what: str = "read"):
    """``target(*args)`` in a worker process with the memory, CPU and time limits of the module doc, for work on
    an untrusted file named ``name``: reading it (``what="read"``) or checking it (``"check"``). ``target`` must
    be a module-level function and its arguments and result picklable. An ``IngestError`` raised in the worker
    is raised here; a limit that is hit becomes an ``IngestError`` ("limits") naming the file and the limit."""
    mem, cpu = limits()
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    settings = {k: os.environ[k] for k in (MAX_COLUMNS_ENV, MAX_MB_ENV) if k in os.environ}
    proc = ctx.Process(target=_worker, args=(child, target, args, mem, cpu, settings), daemon=True)
    _start_without_main_script(proc)
    child.close()
    base = os.path.basename(name)
    try:
        if not parent.poll(cpu + 60):
            raise _limit_error(base, "time", what)
        try:
            kind, payload = parent.recv()
        except EOFError:  # killed: the CPU limit (SIGXCPU) or the kernel's OOM killer
            raise _limit_error(base, "killed", what) from None
    finally:
        parent.close()
        if proc.is_alive():
            proc.kill()
        proc.join(5)
    if kind == "ok":
        return payload
    if kind == "ingest":
        raise IngestError(*payload)
    if kind == "memory":
        raise _limit_error(base, "memory", what)
    if what == "check":
        raise IngestError("check", f"无法检查文件「{base}」：{payload}", f"Cannot check the file '{base}': {payload}")
    raise IngestError("read", f"无法读取文件「{base}」：{payload}", f"Cannot read the file '{base}': {payload}")


def _read_in_worker(data: bytes, name: str, sheet: str | None, limit: int | None,
                    header_row: int | None = None) -> Source:
    return run_bounded(_read_here, (data, name, sheet, limit, header_row), name)


def _read_here(data: bytes, name: str, sheet: str | None, limit: int | None, header_row: int | None) -> Source:
    return read_source_here(data, name, sheet=sheet, limit=limit, header_row=header_row)


def _limit_error(name: str, what: str, step: str = "read") -> IngestError:
    mem, cpu = limits()
    zh_step, en_step = ("检查", "Checking") if step == "check" else ("读取", "Reading")
    if what == "memory":
        zh = f"{zh_step}文件「{name}」需要的内存超过上限 {mem >> 20:,} MB（{MAX_MEM_ENV}），文件被拒绝。"
        en = f"{en_step} '{name}' needs more memory than the limit of {mem >> 20:,} MB ({MAX_MEM_ENV}); the file is refused."
    elif what == "time":
        zh = f"{zh_step}文件「{name}」超过时间上限 {cpu + 60} 秒，文件被拒绝。"
        en = f"{en_step} '{name}' took longer than the limit of {cpu + 60} s; the file is refused."
    else:
        zh = (f"{zh_step}文件「{name}」超过资源上限（内存 {mem >> 20:,} MB 或 CPU {cpu} 秒：{MAX_MEM_ENV}/{MAX_CPU_ENV}），"
              "文件被拒绝。")
        en = (f"{en_step} '{name}' exceeded the resource limits (memory {mem >> 20:,} MB or CPU {cpu} s: "
              f"{MAX_MEM_ENV}/{MAX_CPU_ENV}); the file is refused.")
    return IngestError("limits", zh, en)


def read_source_here(data: bytes, name: str, *, sheet: str | None = None, limit: int | None = None,
                     header_row: int | None = None) -> Source:
    """``read_source`` in the calling process (what the worker runs)."""
    check_size(len(data), limit)
    kind = kind_of(name)
    digest = hashlib.sha256(data).hexdigest()
    base = os.path.basename(name)
    if not data:
        raise _empty(base)
    if kind == "csv":
        frame, enc, at = read_csv(data, base, header_row=header_row)
        return Source(base, digest, len(data), kind, frame, encoding=enc, header_row=at)
    if kind == "xlsx":
        frame, sheets, chosen, problems, at = read_xlsx(data, base, sheet=sheet, limit=limit, header_row=header_row)
        return Source(base, digest, len(data), kind, frame, sheet=chosen, sheets=sheets, cell_problems=problems,
                      header_row=at)
    return Source(base, digest, len(data), kind, read_parquet(data, base, limit=limit))
