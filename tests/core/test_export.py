import io
from decimal import Decimal

import openpyxl
import polars as pl

from analytics.core import export

RISKY = pl.DataFrame({
    "text": ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "普通", None],
    "amount": [Decimal("1.50")] * 7,
}).with_columns(pl.col("amount").cast(pl.Decimal(18, 2)))


def test_neutralise_prefixes_formula_like_text():
    out = export.neutralise(RISKY)["text"].to_list()
    assert out == ["'=HYPERLINK(\"x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "普通", None]


def test_csv_has_bom_and_no_formula_cells():
    data = export.to_csv_bytes(RISKY)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[1].startswith("\"'=HYPERLINK") and "普通" in data.decode("utf-8-sig")


def test_excel_cells_are_text_or_numbers_never_formulas():
    book = openpyxl.load_workbook(io.BytesIO(export.to_excel_bytes(RISKY, "s")))
    sheet = book.active
    values = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert values[0] == "'=HYPERLINK(\"x\")"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert sheet["B2"].value == 1.5  # decimals are written as numbers
