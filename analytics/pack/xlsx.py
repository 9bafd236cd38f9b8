"""The board pack as an Excel workbook (xlsxwriter): one sheet per table, real number formats, native charts,
Chinese sheet names, widths that fit Chinese text. 万元 columns hold values already divided by 10,000."""

from __future__ import annotations

import io

import xlsxwriter

from analytics.core.export import neutralise_text
from analytics.core.months import month_label
from analytics.pack import tables
from analytics.pack.content import Summary, findings, title

SHEETS = {"zh": ("摘要", "逾期余额变动", "不良余额变动", "机构考核", "项目评估", "季度趋势", "清收效果", "口径"),
          "en": ("Summary", "Overdue bridge", "NPL bridge", "Branch assessment", "Programme", "Trend", "Collections",
                 "Definitions")}


def _width(text: object) -> float:
    s = str(text)
    return sum(2.1 if ord(ch) > 0x2E80 else 1.1 for ch in s) + 2


def _write_table(ws, row: int, head: list[str], rows: list[list[object]], formats: list, hfmt) -> int:
    widths = [_width(h) for h in head]
    for j, h in enumerate(head):
        ws.write(row, j, h, hfmt)
    for i, r in enumerate(rows, start=1):
        for j, v in enumerate(r):
            fmt = formats[j] if j < len(formats) else None
            if isinstance(v, str):
                ws.write_string(row + i, j, neutralise_text(v), fmt)
            elif v is None:
                ws.write_blank(row + i, j, None, fmt)
            else:
                ws.write_number(row + i, j, float(v), fmt)
            widths[j] = max(widths[j], min(_width(v), 40))
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    return row + len(rows) + 1


def render(s: Summary, lang: str) -> bytes:
    zh = lang == "zh"
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    head_fmt = wb.add_format({"bold": True, "bg_color": "#E8EEF5", "border": 1})
    money_fmt = wb.add_format({"num_format": "#,##0.00"})
    count_fmt = wb.add_format({"num_format": "#,##0"})
    pct_fmt = wb.add_format({"num_format": "0.00%"})
    score_fmt = wb.add_format({"num_format": "0.0"})
    names = SHEETS[lang]

    ws = wb.add_worksheet(names[0])
    ws.write(0, 0, title(s, lang), wb.add_format({"bold": True, "font_size": 14}))
    for i, f in enumerate(findings(s, lang), start=2):
        ws.write_string(i, 0, f)
    unit = "（万元 / %）" if zh else " (CNY 10k / %)"
    head = ["指标", "本季", "目标", "上季"] if zh else ["Measure", "This quarter", "Target", "Previous quarter"]
    rows, fmts = [], []
    import labels
    for r in s.tiles.iter_rows(named=True):
        scale = 1e4 if r["kind"] == "money" else 1.0
        rows.append([labels.label("exec_kpi", r["kpi"], lang) + unit] +
                    [None if r[c] is None else r[c] / scale for c in ("value", "target", "previous")])
    fmt_rows = 6
    ws.write_string(fmt_rows - 1, 0, "金额单位：万元" if zh else "Amounts in CNY 10k")
    end = _write_table(ws, fmt_rows, head, rows, [None, money_fmt, money_fmt, money_fmt], head_fmt)
    for i, r in enumerate(s.tiles.iter_rows(named=True), start=1):
        if r["kind"] == "pct":
            for j, c in enumerate(("value", "target", "previous"), start=1):
                if r[c] is not None:
                    ws.write_number(fmt_rows + i, j, r[c], pct_fmt)
    ws.set_column(0, 0, 36)
    del end

    for measure, name in (("overdue", names[1]), ("npl", names[2])):
        ws = wb.add_worksheet(name)
        head = ["变动", "笔数", "金额(万元)"] if zh else ["Movement", "Loans", "Amount (CNY 10k)"]
        rows = [[line, n, a / 1e4] for line, n, a in tables.bridge_rows(s.bridges[measure], lang)]
        _write_table(ws, 0, head, rows, [None, count_fmt, money_fmt], head_fmt)
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"name": head[2], "categories": [name, 1, 0, len(rows), 0],
                          "values": [name, 1, 2, len(rows), 2]})
        chart.set_title({"name": name})
        chart.set_legend({"none": True})
        ws.insert_chart(1, 4, chart, {"x_scale": 1.6, "y_scale": 1.3})

    ws = wb.add_worksheet(names[3])
    head = tables.league_head(lang)
    fmts = [count_fmt, None, None, count_fmt, score_fmt, None, None, *([score_fmt] * 5), pct_fmt, pct_fmt, None]
    rows = tables.league_rows(s, lang)
    _write_table(ws, 0, head, rows, fmts, head_fmt)
    chart = wb.add_chart({"type": "bar"})
    chart.add_series({"name": head[4], "categories": [names[3], 1, 1, len(rows), 1],
                      "values": [names[3], 1, 4, len(rows), 4]})
    chart.set_title({"name": names[3]})
    chart.set_legend({"none": True})
    ws.insert_chart(len(rows) + 3, 1, chart, {"x_scale": 1.5, "y_scale": 1.4})

    ws = wb.add_worksheet(names[4])
    head = ["目标", "当前值", "目标值", "状态", "样本(笔)"] if zh else ["Target", "Value", "Goal", "Status", "Sample (loans)"]
    rows = [[labels.label("programme", r["target"], lang), r["value"], r["goal"], labels.label("target_status", r["status"], lang),
             r["loans_count"]] for r in s.programme.iter_rows(named=True)]
    _write_table(ws, 0, head, rows, [None, pct_fmt, pct_fmt, None, count_fmt], head_fmt)

    ws = wb.add_worksheet(names[5])
    head = (["季末月份", "贷款余额(万元)", "逾期余额(万元)", "不良余额(万元)", "逾期率", "不良率"] if zh else
            ["Quarter end", "Loans (CNY 10k)", "Overdue (CNY 10k)", "NPL (CNY 10k)", "Overdue ratio", "NPL ratio"])
    rows = [[month_label(r["month"]), float(r["total_balance"]) / 1e4, float(r["overdue_balance"]) / 1e4,
             float(r["npl_balance"]) / 1e4, r["overdue_ratio_balance"], r["npl_ratio_balance"]]
            for r in s.trend.iter_rows(named=True)]
    _write_table(ws, 0, head, rows, [None, money_fmt, money_fmt, money_fmt, pct_fmt, pct_fmt], head_fmt)
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"name": head[3], "categories": [names[5], 1, 0, len(rows), 0], "values": [names[5], 1, 3, len(rows), 3]})
    line = wb.add_chart({"type": "line"})
    line.add_series({"name": head[5], "categories": [names[5], 1, 0, len(rows), 0], "values": [names[5], 1, 5, len(rows), 5],
                     "y2_axis": True, "marker": {"type": "circle"}})
    chart.combine(line)
    chart.set_title({"name": names[5]})
    line.set_y2_axis({"num_format": "0.00%"})
    ws.insert_chart(len(rows) + 3, 0, chart, {"x_scale": 1.6, "y_scale": 1.3})

    ws = wb.add_worksheet(names[6])
    _write_table(ws, 0, tables.collection_head(lang), tables.collection_rows(s, lang),
                 [None, count_fmt, pct_fmt, pct_fmt, pct_fmt, money_fmt, money_fmt, pct_fmt, pct_fmt, pct_fmt, count_fmt,
                  pct_fmt], head_fmt)

    ws = wb.add_worksheet(names[7])
    for i, text in enumerate(tables.DEFINITIONS[lang]):
        ws.write_string(i, 0, text)
    ws.set_column(0, 0, 160)
    wb.close()
    return buf.getvalue()
