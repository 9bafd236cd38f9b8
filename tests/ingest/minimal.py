"""A minimal bank export (issue 8, item 15): a branch list and ONE snapshot file with Chinese headers, GBK, a title
row above the header, origination months, no overdue amounts / disposed principal / loans file.

Snapshot rows (yuan; 放款 = origination month or date, 放款金额 = disbursed amount):

| 借据号 | 数据月份 | 机构号 | 贷款余额 | 逾期天数 | 五级分类 | 状态 | 放款月份   | 放款金额 | 客户经理 |
|-------|---------|-------|---------|---------|---------|-----|-----------|---------|---------|
| L1    | 2024-02 | B1    | 1,000   | 0       | 正常     | 正常 | 2023-05   | 2000    | 张三     |
| L2    | 2024-02 | B1    | 5,000   | 100     | 次级     | 正常 | 2023-01-15| 8000    | 李四     |
| L3    | 2024-02 | B2    | 300     | 0       | 正常     | 正常 | 2023-11   | 500     | 王五     |
| L4    | 2024-02 | B2    | 2,500   | 35      | 关注     | 正常 | 2023-08   | 3000    | 王五     |
| L1    | 2024-03 | B1    | 900     | 0       | 正常     | 正常 | 2023-05   | 2000    | 张三     |
| L2    | 2024-03 | B99   | 0       | 130     | 次级     | 核销 | 2023-01-15| 8000    | 李四     |
| L3    | 2024-03 | B2    | 0       | 0       | 正常     | 结清 | 2023-11   | 500     | 王五     |
| L4    | 2024-03 | B99   | 2,400   | 65      | 次级     | 正常 | 2023-08   | 3000    | 赵六     |
| L5    | 2024-03 | B1    | 700     | 0       | 正常     | 正常 | 2024-03   | 700     | 张三     |

Hand-computed (on-book = 正常 status): Feb total 8,800 (4 loans), overdue (DPD ≥ 1) 7,500 (L2, L4), NPL 5,000 (L2);
Mar total 4,000 (3 loans: L1 900 + L4 2,400 + L5 700), overdue 2,400, NPL 2,400 (L4, moved to B99 特殊资产经营部),
B1 1,600 / B99 2,400 / B2 0; L2 written off in March with disposed principal 5,000 (its February balance, derived).
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

FEB, MAR = dt.date(2024, 2, 1), dt.date(2024, 3, 1)
D = Decimal

BRANCHES = "机构号,机构名称,区域\nB1,城东支行,东区\nB2,城西支行,西区\nB99,特殊资产经营部,总行\n"
TITLE = "某某农商银行 贷款月末明细（2024年2-3月）"
HEADER = ["借据号", "数据月份", "机构号", "贷款余额", "逾期天数", "五级分类", "状态", "放款月份", "放款金额", "客户经理"]
ROWS = [
    ["L1", "2024-02", "B1", "1,000.00", "0", "正常", "正常", "2023-05", "2000", "张三"],
    ["L2", "2024-02", "B1", "5,000.00", "100", "次级", "正常", "2023-01-15", "8000", "李四"],
    ["L3", "2024-02", "B2", "300", "0", "正常", "正常", "2023-11", "500", "王五"],
    ["L4", "2024-02", "B2", "2,500", "35", "关注", "正常", "2023-08", "3000", "王五"],
    ["L1", "2024-03", "B1", "900", "0", "正常", "正常", "2023-05", "2000", "张三"],
    ["L2", "2024-03", "B99", "0", "130", "次级", "核销", "2023-01-15", "8000", "李四"],
    ["L3", "2024-03", "B2", "0", "0", "正常", "结清", "2023-11", "500", "王五"],
    ["L4", "2024-03", "B99", "2,400", "65", "次级", "正常", "2023-08", "3000", "赵六"],
    ["L5", "2024-03", "B1", "700", "0", "正常", "正常", "2024-03", "700", "张三"],
]
EXPECTED = {  # month -> (total balance, total count, overdue balance, NPL balance)
    FEB: (D("8800.00"), 4, D("7500.00"), D("5000.00")),
    MAR: (D("4000.00"), 3, D("2400.00"), D("2400.00")),
}
EXPECTED_MAR_BY_BRANCH = {"B1": D("1600.00"), "B99": D("2400.00")}
EXPECTED_ORIGINATION = {"L1": dt.date(2023, 5, 1), "L2": dt.date(2023, 1, 15), "L3": dt.date(2023, 11, 1),
                        "L4": dt.date(2023, 8, 1), "L5": dt.date(2024, 3, 1)}
NOT_PROVIDED = ["overdue_principal", "overdue_interest", "tech_overdue", "overdue_cause", "collector_id",
                "restructured", "collateral_value", "amount_due", "amount_paid"]


def _quote(cell: str) -> str:
    return f'"{cell}"' if "," in cell else cell


def snapshots_csv(title: bool = True) -> bytes:
    """The snapshot export as a GBK CSV (with the bank's title line above the header)."""
    lines = ([TITLE] if title else []) + [",".join(HEADER)] + [",".join(_quote(c) for c in r) for r in ROWS]
    return ("\n".join(lines) + "\n").encode("gbk")


def branches_csv() -> bytes:
    return BRANCHES.encode("gbk")


def snapshots_xlsx() -> bytes:
    """The snapshot export as an Excel sheet: a merged title row and a merged note row above the header (row 3)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "贷款明细"
    sheet.append([TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.append(["金额单位：元", None, None, None, None, None, None, None, "制表：风险管理部"])
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=4)
    sheet.append(HEADER)
    for r in ROWS:
        sheet.append([float(c.replace(",", "")) if i in (3, 8) else int(c) if i == 4 else c for i, c in enumerate(r)])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
