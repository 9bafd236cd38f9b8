"""Bank-shaped files for the importer tests (Chinese headers, 万元, labels) and helpers to load them."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from analytics import ingest
from analytics.core import schema, store
from analytics.ingest import LoadRejected
from analytics.ingest.reading import IngestError

D = Decimal


ROOT = Path(__file__).resolve().parents[2]


MARCH = dt.date(2024, 3, 1)


BRANCHES_CSV = "机构号,机构名称,区域\nB1,城东支行,东区\nB2,城西支行,西区\n"


LOANS_CSV = (
    "借据号,客户号,机构,产品,放款日期,到期日期,放款金额(元),年利率,期限,还款方式,担保方式,押品价值,借款人年龄,年收入,行业,内部评级\n"
    'L1,C1,B1,个人消费贷款,2023/1/5,2026/1/5,"100,000.00",4.5%,36,等额本息,信用,,30,"120,000",IT,A\n'
    "L2,C2,B2,个人住房贷款,20220310,20420310,800000,0.041,240,等额本金,抵押,1200000,41,,,AA\n"
    "L3,C3,B1,consumer,2023-06-01,2024-06-01,5000.5,0.12,12,annuity,credit,,25,,,BBB\n"
)


SNAP_HEADER = "数据日期,借据号,机构号,贷款余额(万元),逾期本金(万元),逾期利息(万元),逾期天数,五级分类,状态,技术性短期逾期,逾期原因,催收员,是否重组,押品现值(万元),本月应还(万元),本月实还(万元),处置本金(万元)\n"


SNAP_ROWS = (
    "2024/3/31,L1,B1,\"8.123456\",0,0,0,正常,正常,否,,,否,,0.3,0.3,0\n"
    "2024/3/31,L2,B2,70.5,1.2,0.05,45,关注,正常,否,经营困难,,否,110,0.6,0,0\n"
    "2024/3/31,L3,B1,0,0,0,0,1,结清,否,,,否,,0.2,0.2,0\n"
)


def fingerprint(root: Path) -> dict[str, str]:
    """The bytes of every file of the published version (base and derived tables), by table, plus the data
    version."""
    cur = store.current_manifest(root)
    specs = {**{n: f for n, f in cur["tables"].items() if f},
             **{n: spec["files"] for n, spec in cur.get("derived", {}).items()}}
    files = {name: hashlib.sha256(b"".join((root / rel).read_bytes() for rel in rels)).hexdigest()
             for name, rels in specs.items()}
    return files | {"__version__": store.data_version(root)}


def table_frame(root: Path, table: str) -> pl.DataFrame:
    """A stored table as the published version has it."""
    con = store.connect(root)
    try:
        return store.query(con, f"SELECT * FROM {table}")  # noqa: S608 - a contract table name
    finally:
        con.close()


def load(root: Path, text: str | bytes, name: str, table: str, encoding: str = "utf-8", **kw) -> ingest.LoadResult:
    data = text.encode(encoding) if isinstance(text, str) else text
    commit_kw = {k: kw.pop(k) for k in ("on_bad", "replace", "save_as") if k in kw}
    return ingest.commit(root, ingest.prepare(root, data, name, table, **kw), **commit_kw)


def snapshots(root: Path) -> pl.DataFrame:
    con = store.connect(root)
    try:
        return store.query(con, "SELECT * FROM snapshots ORDER BY month, loan_id", schema=schema.SNAPSHOTS.polars_schema)
    finally:
        con.close()


def rejected(root: Path, data: bytes | str, name: str, table: str, **kw) -> str:
    before = fingerprint(root)
    with pytest.raises((IngestError, LoadRejected)) as info:
        load(root, data, name, table, **kw)
    assert fingerprint(root) == before
    return info.value.message("en")


APR_ROWS = SNAP_ROWS.replace("2024/3/31", "2024/4/30").splitlines()  # L1 active, L2 active, L3 paid_off


L2_PAID_APR = "2024/4/30,L2,B2,0,0,0,0,正常,结清,否,,,否,,70.5,70.5,0"


MARCH_FILE = str(Path("snapshots/month=2024-03-01/part-0.parquet"))


def warned(prepared: ingest.Prepared) -> list[tuple]:
    return sorted((w["rule"], logical(w["file"]), w["row"], w["value"]) for w in prepared.warnings.iter_rows(named=True))


def logical(rel: str) -> str:
    """A store file's path without its version folder (``_versions/<change id>/``)."""
    parts = Path(rel).parts
    return str(Path(*parts[2:])) if parts and parts[0] == "_versions" else rel
