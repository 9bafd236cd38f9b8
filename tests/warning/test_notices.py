"""Borrower notices: stages, placeholder check, texts, counts per stage, formula-injection neutralised exports."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal as D

import polars as pl
import pytest
from openpyxl import load_workbook

from analytics.core import config, export, store
from analytics.warning import notices as nt
from tests import tiny

OCT = dt.date(2026, 10, 1)
LOANS = [{"loan_id": k, "branch_id": "B1" if k < "N4" else "B2"} for k in ("N0", "N1", "N2", "N3", "N4", "N5", "N6")]
SNAPS = [
    {"month": OCT, "loan_id": "N0", "outstanding_principal": D("5000"), "amount_due": D("300")},  # pre_due
    {"month": OCT, "loan_id": "N1", "outstanding_principal": D("5000")},  # nothing due: no notice
    {"month": OCT, "loan_id": "N2", "outstanding_principal": D("4000"), "dpd": 15,
     "overdue_principal": D("250.50"), "overdue_interest": D("10")},  # m1
    {"month": OCT, "loan_id": "N3", "outstanding_principal": D("3000"), "dpd": 45},  # m2
    {"month": OCT, "loan_id": "N4", "outstanding_principal": D("12345.6"), "dpd": 75},  # pre_legal
    {"month": OCT, "loan_id": "N5", "outstanding_principal": D("2000"), "dpd": 120},  # pre_legal
    {"month": OCT, "loan_id": "N6", "outstanding_principal": D("0"), "dpd": 30, "status": "paid_off"},  # off book
]


@pytest.fixture()
def con(tmp_path):
    c = store.connect(tiny.write_store(tmp_path / "data", LOANS, SNAPS))
    yield c
    c.close()


def test_counts_per_stage_and_texts(con):
    batch = nt.notice_batch(con, month=OCT)
    assert batch.select("stage", "loan_id").rows() == [("pre_due", "N0"), ("m1", "N2"), ("m2", "N3"),
                                                        ("pre_legal", "N4"), ("pre_legal", "N5")]
    assert nt.summary(batch).select("stage", "notices").rows() == [("pre_due", 1), ("m1", 1), ("m2", 1),
                                                                    ("pre_legal", 2)]
    m1 = batch.row(1, named=True)
    assert "已逾期15天" in m1["text_zh"] and "逾期金额260.50元" in m1["text_zh"]
    assert "征信" in m1["text_zh"] and "罚息" in m1["text_zh"] and "分期" in m1["text_zh"] and "展期" in m1["text_zh"]
    assert "15 days overdue" in m1["text_en"] and "CNY 260.50" in m1["text_en"]
    assert "12,345.60" in batch.row(3, named=True)["text_zh"] and "诉讼" in batch.row(3, named=True)["text_zh"]
    assert "300.00" in batch.row(0, named=True)["text_zh"]


def test_selection_and_stages(con):
    assert nt.notice_batch(con, month=OCT, loan_ids=("N3", "N5", "N1", "N6"))["loan_id"].to_list() == ["N3", "N5"]
    assert nt.notice_batch(con, month=OCT, stages=("pre_legal",))["loan_id"].to_list() == ["N4", "N5"]
    assert nt.notice_batch(con, month=OCT, branches=("B2",))["loan_id"].to_list() == ["N4", "N5"]
    empty = nt.notice_batch(con, month=OCT, loan_ids=("N1",))
    assert empty.is_empty() and nt.summary(empty)["notices"].to_list() == [0, 0, 0, 0]


def test_bounds(con):
    cfg = nt.default_templates() | {"bounds": {"m1_from": 1, "m2_from": 16, "pre_legal_from": 100}}
    batch = nt.notice_batch(con, month=OCT, templates=json.dumps(cfg))
    assert dict(batch.select("loan_id", "stage").iter_rows()) == {"N0": "pre_due", "N2": "m1", "N3": "m2",
                                                                   "N4": "m2", "N5": "pre_legal"}


@pytest.mark.parametrize(("text", "message"), [
    ("逾期{dpd}天 {amount_overdu}", "unknown placeholder {amount_overdu}"),
    ("{}", "positional"),
    ("{0}", "positional"),
    ("{dpd:>5}", "format"),
    ("{dpd!r}", "format"),
    ("{dpd", "malformed"),
])
def test_placeholder_check(text, message):
    cfg = nt.default_templates()
    cfg["templates"]["m2"]["en"] = text
    with pytest.raises(nt.TemplateError, match=message.replace("{", r"\{").replace("}", r"\}")) as exc:
        nt.validate(cfg)
    assert "m2/en" in str(exc.value)


def test_settings_become_placeholders_and_unknown_stage():
    cfg = nt.default_templates()
    cfg["settings"]["app_name"] = "掌上银行"
    cfg["templates"]["m1"]["zh"] = "请用{app_name}还款，{{原样}}"
    assert nt.validate(cfg)["templates"]["m1"]["zh"] == "请用{app_name}还款，{{原样}}"
    with pytest.raises(nt.TemplateError, match="unknown stage 'm9'"):
        nt.validate({"templates": {"m9": {"zh": "x"}}})
    with pytest.raises(nt.TemplateError, match="bounds"):
        nt.validate({"bounds": {"m2_from": 0}})
    assert nt.render("{{a}} {x}", {"x": "1"}) == "{a} 1"
    with pytest.raises(nt.TemplateError, match=r"\{y\}"):
        nt.render("{y}", {"x": "1"})


def test_formula_text_neutralised(con, tmp_path):
    cfg = nt.default_templates()
    cfg["templates"]["m1"]["zh"] = "=HYPERLINK(\"http://x\",\"点击\") 逾期{dpd}天"
    cfg["templates"]["m1"]["en"] = "@SUM(1) {loan_id}"
    batch = nt.notice_batch(con, month=OCT, templates=json.dumps(nt.validate(cfg)), stages=("m1",))
    assert batch["text_zh"][0].startswith("=HYPERLINK")  # the text itself is kept ...
    csv = export.to_csv_bytes(batch).decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and "'@SUM(1) N2" in csv  # ... and neutralised in the export
    rows = pl.read_csv(io.BytesIO(export.to_csv_bytes(batch)))
    assert rows["text_zh"][0].startswith("'=")
    book = load_workbook(io.BytesIO(export.to_excel_bytes(batch, "notices")))
    cells = [c.value for c in book["notices"]["I"]]
    assert cells[1].startswith("'=") and book["notices"]["I2"].data_type == "s"


def test_saved_versions(tmp_path):
    cfg = nt.validate(nt.default_templates())
    assert config.save(tmp_path, nt.CONFIG_NAME, cfg) == 1
    cfg["templates"]["pre_due"]["zh"] = "提醒{loan_id}"
    assert config.save(tmp_path, nt.CONFIG_NAME, nt.validate(cfg)) == 2
    assert nt.parse(config.load(tmp_path, nt.CONFIG_NAME, {})[1])["templates"]["pre_due"]["zh"] == "提醒{loan_id}"
    assert config.load(tmp_path, nt.CONFIG_NAME, {}, version=1)[1]["templates"]["pre_due"]["zh"] != "提醒{loan_id}"
