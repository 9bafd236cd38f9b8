"""The quarterly balance bridge (余额变动桥 / 压降来源与去向, DOMAIN.md §6.2): where the overdue and the NPL
balance came from and went, per branch, reconciled to the cent.

口径 [CONV] — for a period (a quarter, or any month range): the opening snapshot is the month end before the
period, the closing snapshot the period's last month end. The group is the measure's loans (``overdue``:
DPD ≥ 1; ``npl``: booked class 次级/可疑/损失) on book at a snapshot, at their outstanding principal. Every loan
in the group at the opening or at the closing snapshot falls in exactly ONE movement, by this precedence:

1. ``new`` (新增): not in the group at the opening, in it at the closing: + closing balance.
2. a disposal exit in the period, the first exit row's status: ``written_off`` (核销), ``transferred`` (转让),
   ``foreclosed`` (以物抵债): − the disposed principal;
3. ``repaid`` (结清): paid off in the period: − the opening balance (all of it was paid in cash);
4. ``cured`` (逾期: 回正常 / 不良: 上迁): on book at the closing but out of the group: − its closing balance;
5. ``stayer`` (存续余额变动): in the group at both: ± closing − opening balance;
6. ``no_record`` (无记录): in the group at the opening, neither on book at the closing nor exited (a continuity
   gap the importer warns about): − the opening balance.

A disposed or cured loan usually paid something before it left: that principal (opening balance − the balance
it left with) is its ``cash_recovered`` (现金回收) line, so the movement line shows the amount written off /
transferred / foreclosed / cured and the cash is not hidden in it. Loans managed by another branch at the
closing (or at their exit) than at the opening move as ``transfer_out`` (调出) of the opening branch and
``transfer_in`` (调入) of the new one, at the opening balance; their movement is then booked in the new branch,
so the bank's transfers add up to zero. Loans in neither snapshot are not in the bridge (their in-period flows
net out). For every branch: opening + Σ lines = closing, exactly (Decimal arithmetic; tests prove it on the whole
demo book).

Post-write-off recoveries (核销后收回) are off-balance: cash collected in the period on loans written off
before the action month (``collection_actions``), shown next to the bridge, never inside it.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from analytics.core.measures import MEASURES
from analytics.core.months import add_months, previous_quarter_end, quarter_end, quarter_start
from analytics.core.schema import DISPOSAL_STATUSES, MONEY
from analytics.core.store import months, query

BRIDGE_MEASURES = ("overdue", "npl")
LINES = ("new", "transfer_in", "cured", "repaid", "cash_recovered", "written_off", "transferred", "foreclosed",
         "transfer_out", "stayer", "no_record")
"""Bridge lines between the opening and the closing balance, in display order."""
OUTFLOWS = ("cured", "repaid", "cash_recovered", "written_off", "transferred", "foreclosed")

# The branch that manages a loan in a snapshot row (the managing branch of that month).
BRANCH_SQL = "s.branch_id"


def _loans_sql(condition: str) -> str:
    # Three month slices of the snapshots (partition pruning), no join until the few members are known.
    return """
WITH o AS (
    SELECT s.loan_id, """ + BRANCH_SQL + """ AS branch_id, s.outstanding_principal AS bal, (""" + condition + """) AS in_group
    FROM snapshots s WHERE s.month = $open_month AND s.status = 'active'
),
c AS (
    SELECT s.loan_id, """ + BRANCH_SQL + """ AS branch_id, s.outstanding_principal AS bal, (""" + condition + """) AS in_group
    FROM snapshots s WHERE s.month = $close_month AND s.status = 'active'
),
members AS (
    SELECT loan_id FROM o WHERE in_group UNION SELECT loan_id FROM c WHERE in_group
),
x AS (
    SELECT s.loan_id, arg_min(s.status, s.month) AS exit_status, arg_min(s.disposed_principal, s.month) AS exit_bal,
           arg_min(""" + BRANCH_SQL + """, s.month) AS exit_branch
    FROM snapshots s
    WHERE s.month > $open_month AND s.month <= $close_month AND s.status <> 'active'
      AND s.loan_id IN (SELECT loan_id FROM members)
    GROUP BY s.loan_id
)
SELECT m.loan_id, l.product, o.branch_id AS open_branch,
       coalesce(c.branch_id, x.exit_branch, o.branch_id) AS close_branch,
       coalesce(o.in_group, FALSE) AS open_in, coalesce(c.in_group, FALSE) AS close_in,
       o.bal AS open_bal, c.bal AS close_bal, x.exit_status, x.exit_bal
FROM members m
JOIN loans l ON l.loan_id = m.loan_id
LEFT JOIN o ON o.loan_id = m.loan_id
LEFT JOIN c ON c.loan_id = m.loan_id
LEFT JOIN x ON x.loan_id = m.loan_id
ORDER BY m.loan_id
"""  # noqa: S608 (constant SQL fragments only; every value is a bound parameter)


MEMBERS_SCHEMA = {"loan_id": pl.String, "product": pl.String, "open_branch": pl.String, "close_branch": pl.String,
                  "open_in": pl.Boolean, "close_in": pl.Boolean, "open_bal": MONEY, "close_bal": MONEY,
                  "exit_status": pl.String, "exit_bal": MONEY}
LOAN_LINES_SCHEMA = {"loan_id": pl.String, "branch_id": pl.String, "product": pl.String, "line": pl.String,
                     "amount": MONEY}


def period_months(quarter: dt.date) -> tuple[dt.date, dt.date]:
    """(opening snapshot, closing snapshot) of the quarter that contains ``quarter``."""
    return previous_quarter_end(quarter), quarter_end(quarter)


def _lines(members: pl.DataFrame) -> pl.DataFrame:
    """One row per (loan, line) with the signed amount, by the module's precedence."""
    open_bal = pl.col("open_bal").fill_null(0).cast(MONEY)
    close_bal = pl.col("close_bal").fill_null(0).cast(MONEY)
    exit_bal = pl.col("exit_bal").fill_null(0).cast(MONEY)
    opened, closed = pl.col("open_in"), pl.col("close_in")
    disposed = pl.col("exit_status").is_in(list(DISPOSAL_STATUSES)).fill_null(False)
    on_book_out = pl.col("close_bal").is_not_null() & ~closed
    category = (
        pl.when(~opened).then(pl.lit("new"))
        .when(disposed).then(pl.col("exit_status"))
        .when(pl.col("exit_status") == "paid_off").then(pl.lit("repaid"))
        .when(on_book_out).then(pl.lit("cured"))
        .when(closed).then(pl.lit("stayer"))
        .otherwise(pl.lit("no_record"))
    )
    amount = (
        pl.when(~opened).then(close_bal)
        .when(disposed).then(-exit_bal)
        .when(pl.col("exit_status") == "paid_off").then(-open_bal)
        .when(on_book_out).then(-close_bal)
        .when(closed).then(close_bal - open_bal)
        .otherwise(-open_bal)
    )
    cash = pl.when(opened & disposed).then(exit_bal - open_bal).when(opened & on_book_out & ~disposed).then(
        close_bal - open_bal).otherwise(None)
    moved = opened & (pl.col("open_branch") != pl.col("close_branch"))
    keys = ["loan_id", "product"]
    base = members.with_columns(category.alias("line"), amount.cast(MONEY).alias("amount"), cash.cast(MONEY).alias("cash"))
    main = base.select(*keys, pl.col("close_branch").alias("branch_id"), "line", "amount")
    cash_rows = base.filter(pl.col("cash").is_not_null()).select(
        *keys, pl.col("close_branch").alias("branch_id"), pl.lit("cash_recovered").alias("line"),
        pl.col("cash").alias("amount"))
    out_rows = base.filter(moved).select(*keys, pl.col("open_branch").alias("branch_id"),
                                         pl.lit("transfer_out").alias("line"), (-open_bal).cast(MONEY).alias("amount"))
    in_rows = base.filter(moved).select(*keys, pl.col("close_branch").alias("branch_id"),
                                        pl.lit("transfer_in").alias("line"), open_bal.alias("amount"))
    return pl.concat([main, cash_rows, out_rows, in_rows]).select(
        [pl.col(c).cast(t) for c, t in LOAN_LINES_SCHEMA.items()])


def _members(con: duckdb.DuckDBPyConnection, measure: str, open_month: dt.date, close_month: dt.date) -> pl.DataFrame:
    if measure not in BRIDGE_MEASURES:
        raise ValueError(f"measure must be one of {BRIDGE_MEASURES}, not {measure!r}")
    return query(con, _loans_sql(MEASURES[measure].sql), {"open_month": open_month, "close_month": close_month},
                 MEMBERS_SCHEMA)


def _keep(df: pl.DataFrame, branch: str, branches: tuple[str, ...], products: tuple[str, ...]) -> pl.DataFrame:
    if branches:
        df = df.filter(pl.col(branch).is_in(list(branches)))
    if products:
        df = df.filter(pl.col("product").is_in(list(products)))
    return df


def bridge_loans(con: duckdb.DuckDBPyConnection, *, measure: str, open_month: dt.date, close_month: dt.date,
                 branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> pl.DataFrame:
    """Every (loan, line) of the bridge with its signed amount; the branch is the line's branch (the opening
    branch for ``transfer_out``, the closing/exit branch otherwise). Filters apply to that branch and the
    loan's product."""
    lines = _lines(_members(con, measure, open_month, close_month))
    return _keep(lines, "branch_id", branches, products).sort("line", "amount", "loan_id")


BRIDGE_SCHEMA = {"branch_id": pl.String, "line": pl.String, "loans_count": pl.Int64, "amount": MONEY}


def bridge(con: duckdb.DuckDBPyConnection, *, measure: str, open_month: dt.date, close_month: dt.date,
           branches: tuple[str, ...] = (), products: tuple[str, ...] = (), by_branch: bool = False) -> pl.DataFrame:
    """The bridge as rows ``opening``, every line of ``LINES``, ``closing`` (per branch when ``by_branch``,
    else ``branch_id`` = "*"), with the number of loans and the signed amount; opening + lines = closing."""
    members = _members(con, measure, open_month, close_month)
    lines = _keep(_lines(members), "branch_id", branches, products)
    group = [pl.col("branch_id")] if by_branch else [pl.lit("*").alias("branch_id")]
    ends = []
    for name, flag, branch, bal in (("opening", "open_in", "open_branch", "open_bal"),
                                    ("closing", "close_in", "close_branch", "close_bal")):
        rows = _keep(members.filter(pl.col(flag)).rename({branch: "branch_id"}), "branch_id", branches, products)
        ends.append(rows.group_by(group).agg(pl.len().cast(pl.Int64).alias("loans_count"),
                                             pl.col(bal).sum().cast(MONEY).alias("amount"))
                    .with_columns(pl.lit(name).alias("line")))
    moves = lines.group_by([*group, "line"]).agg(pl.len().cast(pl.Int64).alias("loans_count"),
                                                 pl.col("amount").sum().cast(MONEY))
    branch_ids = pl.concat([e.select("branch_id") for e in ends] + [moves.select("branch_id")]).unique()
    order = ["opening", *LINES, "closing"]
    grid = branch_ids.join(pl.DataFrame({"line": order}), how="cross")
    out = grid.join(pl.concat([e.select(list(BRIDGE_SCHEMA)) for e in ends] + [moves.select(list(BRIDGE_SCHEMA))]),
                    on=["branch_id", "line"], how="left")
    return (out.with_columns(pl.col("loans_count").fill_null(0), pl.col("amount").fill_null(0).cast(MONEY),
                             pl.col("line").replace_strict({v: i for i, v in enumerate(order)}).alias("_o"))
            .sort("branch_id", "_o").select(list(BRIDGE_SCHEMA)))


def reconciliation_gap(bridge_frame: pl.DataFrame) -> pl.DataFrame:
    """Per branch: opening + Σ lines − closing (zero, to the cent, when the bridge reconciles)."""
    signed = (pl.when(pl.col("line") == "closing").then(-pl.col("amount")).otherwise(pl.col("amount")))
    return bridge_frame.group_by("branch_id").agg(signed.sum().cast(MONEY).alias("gap")).sort("branch_id")


WRITEOFF_RECOVERY_SQL = """
WITH w AS (
    SELECT s.loan_id, min(s.month) AS wo_month, arg_min(""" + BRANCH_SQL + """, s.month) AS branch_id
    FROM snapshots s
    WHERE s.status = 'written_off'
    GROUP BY s.loan_id
)
SELECT w.branch_id, l.product, count(DISTINCT a.loan_id)::BIGINT AS loans_count,
       coalesce(sum(a.amount_collected), 0) AS amount
FROM collection_actions a JOIN w ON w.loan_id = a.loan_id JOIN loans l ON l.loan_id = a.loan_id
WHERE a.month > w.wo_month AND a.month BETWEEN $month_from AND $month_to
GROUP BY ALL
"""  # noqa: S608 (constant SQL fragments only)


def writeoff_recoveries(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
                        branches: tuple[str, ...] = (), products: tuple[str, ...] = ()) -> pl.DataFrame:
    """核销后收回: cash collected in [month_from, month_to] on loans written off before the action month, per
    branch (the branch that wrote the loan off)."""
    df = query(con, WRITEOFF_RECOVERY_SQL, {"month_from": month_from, "month_to": month_to},
               {"branch_id": pl.String, "product": pl.String, "loans_count": pl.Int64, "amount": MONEY})
    if branches:
        df = df.filter(pl.col("branch_id").is_in(list(branches)))
    if products:
        df = df.filter(pl.col("product").is_in(list(products)))
    return df.group_by("branch_id").agg(pl.col("loans_count").sum(), pl.col("amount").sum().cast(MONEY)).sort(
        "branch_id")


def quarter_status(con: duckdb.DuckDBPyConnection, *, quarter: dt.date) -> dict[str, object]:
    """Whether the quarter's snapshots are complete: its opening and closing months, the last month present,
    and ``complete`` (the closing month exists)."""
    present = months(con)
    open_month, close_month = period_months(quarter)
    last = max((m for m in present if m <= close_month), default=None)
    return {"quarter": quarter_start(quarter), "open_month": open_month, "close_month": close_month,
            "last_month": last, "complete": close_month in present, "has_opening": open_month in present}


def available_quarters(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """Quarters whose opening snapshot exists (latest first); the newest may be incomplete."""
    present = months(con)
    if not present:
        return []
    quarters = sorted({quarter_start(m) for m in present}, reverse=True)
    return [q for q in quarters if previous_quarter_end(q) in present]


def month_range(month_from: dt.date, month_to: dt.date) -> tuple[dt.date, dt.date]:
    """(opening, closing) snapshot of any month range [month_from, month_to]."""
    return add_months(month_from, -1), month_to


def loans_of_line(lines: pl.DataFrame, line: str) -> pl.DataFrame:
    """The loans of one bridge line (largest amount first); their total is the line's amount."""
    return lines.filter(pl.col("line") == line).sort(pl.col("amount").abs(), descending=True)


def bank_total(by_branch: pl.DataFrame) -> pl.DataFrame:
    """A ``bridge(..., by_branch=True)`` frame summed over branches (``branch_id`` = "*"): the bank's bridge."""
    order = ["opening", *LINES, "closing"]
    return (by_branch.group_by("line").agg(pl.col("loans_count").sum().cast(pl.Int64),
                                           pl.col("amount").sum().cast(MONEY))
            .with_columns(pl.lit("*").alias("branch_id"),
                          pl.col("line").replace_strict({v: i for i, v in enumerate(order)}).alias("_o"))
            .sort("_o").select(list(BRIDGE_SCHEMA)))
