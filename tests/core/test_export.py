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


def test_excel_number_formats_per_column_kind_without_float_noise():
    import datetime as dt

    df = pl.DataFrame({
        "month": [dt.date(2026, 10, 1)],
        "npl_ratio_balance": [0.035612],
        "change_pp": [0.1 + 0.2 - 0.3 + 0.0012],  # a ratio change in percentage points
        "total_balance": [Decimal("12007872731.00")],
        "total_count": [12345],
        "share_count": [0.1 + 0.2],
    }).with_columns(pl.col("total_balance").cast(pl.Decimal(18, 2)))
    data = export.to_excel_bytes(df, "s", kinds={"change_pp": "pp"})
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    cells = dict(zip(header, sheet[2], strict=True))
    assert cells["month"].number_format == "yyyy-mm"
    assert cells["month"].value.date() == dt.date(2026, 10, 1)
    assert cells["npl_ratio_balance"].number_format == "0.00%"
    assert cells["npl_ratio_balance"].value == 0.035612
    assert cells["share_count"].value == 0.3  # not 0.30000000000000004
    assert cells["change_pp"].number_format == "0.00" and cells["change_pp"].value == 0.12
    assert cells["total_balance"].number_format == "#,##0.00"
    assert cells["total_balance"].value == 12007872731.0
    assert cells["total_count"].number_format == "#,##0" and cells["total_count"].value == 12345


def test_csv_months_as_text_and_pp_in_percentage_points():
    import datetime as dt

    df = pl.DataFrame({"month": [dt.date(2026, 10, 1)], "chg": [0.0012], "share": [0.1 + 0.2]})
    text = export.to_csv_bytes(df, kinds={"chg": "pp"}).decode("utf-8-sig").splitlines()
    assert text[1] == "2026-10,0.12,0.3"
