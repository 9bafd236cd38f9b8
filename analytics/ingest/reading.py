"""Reading a bank's export into an all-text frame: CSV (UTF-8/GBK), Excel .xlsx, Parquet.

The header is the row the user names (``header_row``, 1-based as Excel and a text editor number rows), else the
first row in which most cells are filled with text and most of those are known header names (so merged title
rows above the header are skipped; ``detect_header``), else the first non-empty row.

Every cell comes back as text (or null) so the mapping step parses each column explicitly and
every unparseable cell can be reported with its row and value. Files are only read: no Excel
formula is evaluated (cached values are used; a formula without one is an error cell), no
pickle or macro is ever loaded. A size limit guards memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field

import polars as pl

from analytics.ingest.problems import FILE, ROW

DEFAULT_MAX_MB = 500
MAX_MB_ENV = "OVERDUE_IMPORT_MAX_MB"
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


def read_csv(data: bytes, name: str, *, header_row: int | None = None) -> tuple[pl.DataFrame, str, int]:
    """The frame, the encoding and the 1-based line of the header (lines above it, e.g. a title, are skipped)."""
    if not data.strip(b" \r\n\t\xef\xbb\xbf"):
        raise _empty(name)
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


def _rows(data: bytes, sheet: str | None, data_only: bool) -> tuple[list[tuple], list[str], str]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only, keep_vba=False,
                                  keep_links=False)
    try:
        names = book.sheetnames
        chosen = sheet or names[0]
        if chosen not in names:
            raise IngestError("sheet", f"工作表「{chosen}」不存在；现有：{', '.join(names)}",
                              f"Sheet '{chosen}' does not exist; sheets: {', '.join(names)}")
        rows = list(book[chosen].iter_rows(min_row=1, values_only=True))
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
        rows, names, chosen = _rows(data, sheet, data_only=True)
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
    """Read uploaded bytes into a ``Source``; raises ``IngestError`` for a file that cannot be used."""
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
