"""Every table a user sees, on every page and in both languages, names its columns from the label catalogue
(no raw field names such as branch_id or message_zh) and shows codes as labels (no "None", no status codes)."""

from __future__ import annotations

import re

import pytest

import app
from analytics.core import schema
from tests.app.views import every_view

RAW_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")  # branch_id, cohort, sha256, message_zh ...
CODES = {code for kind in ("status", "overdue_cause", "product") for code in schema.LABELS[kind]} | {
    "class1", "class2", "class3", "class4", "performing",
    "not_reported", "roll", "roll_next", "cure", "writeoff", "None", "nan", "null", "true", "false"}
CODE_HEADERS = ("代码", "Code", "借据号", "Loan id", "客户号", "Customer id", "机构号", "Branch id", "变更编号",
                "Change id", "映射方案", "Mapping profile")
PAGES = [path for path, *_ in app.PAGES]


def problems_in(at) -> list[str]:
    found = []
    for frame in at.dataframe:
        if frame.proto.editing_mode:  # a data editor: its headers come from column_config (labelled there)
            continue
        df = frame.value
        if hasattr(df, "data"):  # a pandas Styler
            df = df.data
        for col in df.columns:
            name = str(col).strip()
            if RAW_FIELD.match(name):
                found.append(f"raw column name {name!r}")
            if df[col].dtype == object and not any(h in name for h in CODE_HEADERS):
                bad = {str(v) for v in df[col].dropna().unique()} & CODES
                if bad:
                    found.append(f"codes {sorted(bad)} in column {name!r}")
    return found


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", PAGES)
def test_no_raw_field_name_or_code_in_any_table(app_test, page, lang):
    at = app_test()
    if lang == "en":
        at.sidebar.radio(key="lang").set_value("en").run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    for view in every_view(at):
        assert problems_in(at) == [], (page, view)


def test_loan_history_table_is_labelled(app_test):
    at = app_test("pages/drilldown.py")
    assert at.selectbox(key="dd_loan").value is not None
    assert problems_in(at) == []
    history = at.dataframe[-1].value
    assert "借据号" in history.columns and "月份" in history.columns
