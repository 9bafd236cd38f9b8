"""数据导入 / Data import: a bank's monthly exports from file to dashboard, with mapping, checks and undo.

Same code path as `python -m analytics.ingest`: read -> map (profile) -> check -> commit / restore.
Works on an empty data folder (no sidebar filters are used here).
"""

from __future__ import annotations

import streamlit as st

import app_data
import auth
import jobs
import ui
from analytics import access, ingest
from analytics.core import schema, store
from analytics.ingest import mapping, reading
from analytics.metrics import coverage

auth.require("import")

ROOT = store.data_root()
LANG = ui.lang()  # format_func closures must not read session state when they are called later


def tr(zh: str, en: str) -> str:
    return zh if LANG == "zh" else en





def progress_text(job: jobs.Job, elapsed: float) -> str:
    stage = {"check": tr("第 1 步（共 2 步）：读取映射并按数据契约检查", "Step 1 of 2: mapping and checking against the contract"),
             "load": tr("第 2 步（共 2 步）：写入数据并重建派生表", "Step 2 of 2: writing the data and rebuilding derived tables")}
    return tr(f"{stage[job.stage]} · {job.rows:,} 行 · 已用 {elapsed:,.0f} 秒",
              f"{stage[job.stage]} · {job.rows:,} rows · {elapsed:,.0f} s so far")


ingest.recover(ROOT)  # roll back a load that was interrupted (killed process, power loss)

st.title(ui.tr("数据导入", "Data import"))
st.caption(ui.tr(
    "按 机构 → 催收员 → 借据 → 月末快照 → 催收记录 → 压降目标 的顺序导入；每个文件先检查，确认后才写入，可随时撤销。",
    "Load branches → collectors → loans → month-end snapshots → collection actions → targets. Every file is "
    "checked before anything is written, and every load can be undone."))


def table_label(name: str) -> str:
    t = schema.TABLES[name]
    return tr(f"{t.zh}（{name}）", f"{t.en} ({name})")


def read_upload(raw: tuple[bytes, str], sheet: str | None, header_row: int | None) -> reading.Source | None:
    """The uploaded file (bytes, name) read into text columns (kept in the session); an error is shown, not raised.
    ``header_row`` None detects the header row (title rows above it are skipped)."""
    try:
        reading.check_size(len(raw[0]))
        return reading.read_source(raw[0], raw[1], sheet=sheet, header_row=header_row)
    except reading.IngestError as exc:
        st.error(exc.message(ui.lang()))
        return None


def base_profile(source: reading.Source, table: str, saved: str) -> mapping.Profile:
    if saved:
        profile = mapping.load_profile(ROOT, saved)
    else:
        profile = mapping.suggest_profile(source.columns, table, sample=source.frame.head(10_000))
    profile.value_maps = mapping.suggest_value_maps(profile, source.frame) | profile.value_maps
    return profile


def reset_widgets(profile: mapping.Profile) -> None:
    """Put the profile's choices into the mapping widgets (when the file, table or profile changes)."""
    for col, src in profile.columns.items():
        empty = profile.constants.get(col) == ""
        st.session_state[f"imp_map_{col}"] = mapping.ALL_EMPTY if empty else src or ""
    for col in mapping.SNAPSHOT_LOAN_FIELDS:
        st.session_state[f"imp_loanmap_{col}"] = profile.loan_columns.get(col) or ""
    for key in [k for k in st.session_state if str(k).startswith("imp_vmap_")]:
        del st.session_state[key]
    st.session_state["imp_unit"] = profile.unit
    st.session_state["imp_month"] = profile.constants.get("month", "")


def show_outcome(kind: str, result) -> None:
    """The message of a load: refused (nothing written) or done (audited; the rest of the run reads the new version)."""
    if kind == "refused":
        st.error(result.message(ui.lang()))
        return
    access.audit("import", auth.current().username, {"change_id": result.change_id, "table": result.table,
                                                    "rows": result.rows_accepted})
    app_data.begin_run()  # the rest of this run (history, coverage) reads the version just published
    st.success(ui.tr(f"已导入 {result.rows_accepted:,} 行，隔离 {result.rows_rejected:,} 行（{result.change_id}）。"
                     + (f"新建借据 {result.loans_created:,} 笔。" if result.loans_created else ""),
                     f"Loaded {result.rows_accepted:,} rows, quarantined {result.rows_rejected:,} "
                     f"({result.change_id})." + (f" Created {result.loans_created:,} loans."
                                                 if result.loans_created else "")))
    if result.vanished_by_quarantine:
        st.warning(ui.tr(f"因隔离而本月没有记录的贷款（迁徙矩阵中为“无记录”）：{', '.join(result.vanished_by_quarantine[:20])}",
                         "Loans without a row this month because their row was quarantined ('missing' in the "
                         f"migration matrix): {', '.join(result.vanished_by_quarantine[:20])}"))
    if result.warning:
        st.warning(result.warning)


# --- 1. file ---------------------------------------------------------------------------------------------

st.subheader(ui.tr("1. 选择文件", "1. Choose a file"))
c1, c2 = st.columns(2)
table = c1.selectbox(ui.tr("导入到表", "Load into table"), ingest.LOAD_ORDER, key="imp_table", format_func=table_label)
profiles = [p.name for p in mapping.list_profiles(ROOT, table)]
saved = c2.selectbox(ui.tr("映射方案", "Mapping profile"), ["", *profiles], key="imp_profile",
                     format_func=lambda n: n or tr("（自动建议）", "(suggest one)"))
limit_mb = reading.max_bytes() / 1024 / 1024
upload = st.file_uploader(ui.tr(f"CSV（UTF-8/GBK）、Excel .xlsx 或 Parquet，最大 {limit_mb:,.0f} MB",
                                f"CSV (UTF-8/GBK), Excel .xlsx or Parquet, up to {limit_mb:,.0f} MB"),
                          type=["csv", "txt", "xlsx", "parquet"], key="imp_file")
if upload is not None and st.session_state.get("imp_file_id") != upload.file_id:  # a new file: detect its header
    st.session_state["imp_file_id"] = upload.file_id
    st.session_state["imp_bytes"] = (upload.getvalue(), upload.name)
    st.session_state["imp_read_key"] = None
    st.session_state.pop("imp_header_row", None)
    st.session_state.pop("imp_sheet_read", None)
raw = st.session_state.get("imp_bytes")
if raw is not None:
    header_choice = st.session_state.get("imp_header_row")  # None: detect
    sheet_read, sheet_now = st.session_state.get("imp_sheet_read"), st.session_state.get("imp_sheet")
    if sheet_read is not None and sheet_now is not None and sheet_read != sheet_now:
        header_choice = None  # another sheet: detect its header again
    read_key = (raw[1], len(raw[0]), st.session_state.get("imp_sheet"), header_choice)
    if st.session_state.get("imp_read_key") != read_key:
        read = read_upload(raw, st.session_state.get("imp_sheet"), header_choice)
        st.session_state["imp_source"] = read
        if read is not None and read.header_row:
            st.session_state["imp_header_row"] = read.header_row  # the detected (or chosen) row shows in the input
            st.session_state["imp_sheet_read"] = read.sheet
        st.session_state["imp_read_key"] = (*read_key[:3], read.header_row if read is not None else header_choice)

source: reading.Source | None = st.session_state.get("imp_source")
if source is None:
    st.info(ui.tr("请上传一个文件。", "Upload a file."))
else:
    h1, h2 = st.columns(2)
    if source.sheets:
        h1.selectbox(ui.tr("工作表", "Sheet"), source.sheets, key="imp_sheet")
    if raw is not None:  # the header row: detected (title rows above it skipped), or chosen here
        h2.number_input(ui.tr("表头所在行（自动识别，可修改）", "Header row (detected; change it if wrong)"), min_value=1,
                        max_value=10_000, step=1, key="imp_header_row")
    st.caption(ui.tr(f"{source.name}：{source.frame.height:,} 行，{len(source.columns)} 列"
                     + (f"，编码 {source.encoding}" if source.encoding else ""),
                     f"{source.name}: {source.frame.height:,} rows, {len(source.columns)} columns"
                     + (f", encoding {source.encoding}" if source.encoding else "")))

    # --- 2. mapping -------------------------------------------------------------------------------------
    signature = (source.sha256, source.sheet, source.header_row, table, saved)
    if st.session_state.get("imp_signature") != signature:
        st.session_state["imp_signature"] = signature
        st.session_state["imp_base"] = base_profile(source, table, saved)
        reset_widgets(st.session_state["imp_base"])
    base: mapping.Profile = st.session_state["imp_base"]

    st.subheader(ui.tr("2. 列与取值映射", "2. Map columns and values"))
    u1, u2 = st.columns(2)
    unit = u1.radio(ui.tr("金额单位", "Amount unit"), list(mapping.UNITS), key="imp_unit", horizontal=True)
    month = u2.text_input(ui.tr("文件没有月份列时：数据月份（如 2024-03）", "If the file has no month column: month (e.g. 2024-03)"),
                          key="imp_month") if schema.TABLES[table].partition else ""
    options = ["", *source.columns]
    columns_map: dict[str, str | None] = {}
    constants = {"month": month} if month else {}
    cols = st.columns(3)
    for i, column in enumerate(schema.TABLES[table].columns):
        # A nullable column the file lacks can be loaded as empty, but only when the user says so.
        choices = ["", mapping.ALL_EMPTY, *source.columns] if column.nullable else options
        if st.session_state.get(f"imp_map_{column.name}") not in choices:
            st.session_state[f"imp_map_{column.name}"] = ""
        none_label = tr("（无）", "(none)") if column.required else tr("（未提供）", "(not provided)")
        chosen = cols[i % 3].selectbox(
            f"{column.zh} / {column.name}", choices, key=f"imp_map_{column.name}",
            format_func=lambda s, none_label=none_label: tr("（全部为空）", "(all empty)") if s == mapping.ALL_EMPTY
            else s or none_label)
        if chosen == mapping.ALL_EMPTY:
            constants[column.name] = ""
        columns_map[column.name] = chosen if chosen and chosen != mapping.ALL_EMPTY else None
    loan_map: dict[str, str | None] = {}
    if table == "snapshots":  # loan fields: one snapshot file also creates the loans it names
        with st.expander(ui.tr("借据信息（可选）：由本快照文件同时建立仓库中尚无的借据",
                               "Loan fields (optional): this snapshot file also creates the loans the store lacks"),
                         expanded=any(base.loan_columns.values())):
            st.caption(ui.tr("放款日期可为日期或放款月份（YYYY-MM，按当月1日）；未映射放款机构时取借据首月快照的管理机构。",
                             "The origination date may be a date or a month (YYYY-MM, read as its first day); without "
                             "an origination branch column, the managing branch of the loan's first month is used."))
            lcols = st.columns(3)
            for i, name in enumerate(mapping.SNAPSHOT_LOAN_FIELDS):
                column = schema.LOANS.column(name)
                if st.session_state.get(f"imp_loanmap_{name}") not in options:
                    st.session_state[f"imp_loanmap_{name}"] = ""
                loan_map[name] = lcols[i % 3].selectbox(
                    f"{column.zh} / loans.{name}", options, key=f"imp_loanmap_{name}",
                    format_func=lambda s: s or tr("（不建立）", "(not used)")) or None
    profile = mapping.Profile(name=base.name, table=table, columns=columns_map, unit=unit, units=dict(base.units),
                              value_maps={}, constants=constants, loan_columns={k: v for k, v in loan_map.items() if v})
    def same_source(key: str) -> bool:
        if key.startswith("loans."):
            return profile.loan_columns.get(key[6:]) == base.loan_columns.get(key[6:])
        return columns_map.get(key) == base.columns.get(key)

    profile.value_maps = mapping.suggest_value_maps(profile, source.frame) | {
        k: v for k, v in base.value_maps.items() if same_source(k)}
    coded = ingest.coded_columns(table) + ([f"loans.{c}" for c in ingest.coded_columns("loans")]
                                           if table == "snapshots" else [])
    with st.expander(ui.tr("取值映射（类别、状态、是/否）", "Value maps (classes, statuses, yes/no)")):
        for column in coded:
            if column in profile.value_maps:
                spec = schema.LOANS.column(column[6:]) if column.startswith("loans.") else \
                    schema.TABLES[table].column(column)
                codes = [str(a) for a in (spec.allowed or ("true", "false"))]
                st.caption(f"{spec.zh} / {column}: {', '.join(codes)}")
                edited = st.data_editor(ingest.value_map_frame(profile, column), key=f"imp_vmap_{column}",
                                        hide_index=True, disabled=["source"], width="stretch",
                                        column_config={"source": ui.tr("文件中的取值", "Value in the file"),
                                                       "code": ui.tr("契约代码", "Contract code")})
                profile.value_maps[column] = ingest.value_map_from_frame(edited)

    # --- 3. checks ----------------------------------------------------------------------------------------
    # Checking a large file takes seconds: do it again only when the file, the mapping or the store changed,
    # not on every click on this page.
    # A large load runs in a worker thread: its progress (or its outcome) comes first on the page.
    if jobs.get("imp_load") is not None:
        finished = jobs.pop("imp_load")
        if finished is None:
            jobs.show_progress("imp_load", progress_text)
            st.stop()
        if isinstance(finished.error, (ingest.LoadRejected, ingest.IngestError)):
            show_outcome("refused", finished.error)
        elif finished.error is not None:
            raise finished.error
        else:
            show_outcome("ok", finished.result)

    # A large file is checked in a worker thread while the page shows the stage, the rows and the time so far.
    check_key = (source.sha256, source.sheet, source.header_row, table, profile.to_json(),
                 store.data_version(ROOT))
    if st.session_state.get("imp_check_key") != check_key:
        st.session_state["imp_check_key"] = check_key
        st.session_state.pop("imp_prepared", None)
        if source.frame.height >= jobs.BACKGROUND_ROWS:
            jobs.start("imp_check", "check", source.frame.height, ingest.prepare_source, ROOT, source, table, profile)
        else:
            st.session_state["imp_prepared"] = ingest.prepare_source(ROOT, source, table, profile)
    if "imp_prepared" not in st.session_state:
        finished = jobs.pop("imp_check")
        if finished is None:
            jobs.show_progress("imp_check", progress_text)
            st.stop()
        if finished.error is not None:
            st.session_state.pop("imp_check_key", None)
            raise finished.error
        st.session_state["imp_prepared"] = finished.result
    prepared = st.session_state["imp_prepared"]
    st.subheader(ui.tr("3. 检查结果", "3. Checks"))
    m1, m2, m3 = st.columns(3)
    m1.metric(ui.tr("总行数", "Rows"), f"{prepared.n_rows:,}")
    m2.metric(ui.tr("通过", "Valid"), f"{prepared.n_good:,}")
    m3.metric(ui.tr("有问题", "With problems"), f"{prepared.n_bad:,}")
    if prepared.n_rounded:
        st.info(ui.tr(f"{prepared.n_rounded:,} 个金额是浮点数写法（如 825.2900000000001），已按两位小数读取。",
                      f"{prepared.n_rounded:,} amounts were written as binary floats (e.g. 825.2900000000001) and "
                      "read as 2-decimal amounts."))
    with st.expander(ui.tr("预览（前 20 行，已转换为契约格式）", "Preview (first 20 rows, as the contract reads them)")):
        preview, _ = ui.table_view(ingest.preview(prepared))
        st.dataframe(preview, key="imp_preview", hide_index=True, width="stretch", placeholder="—")
    for note in prepared.notes(LANG):  # columns not loaded / not provided / derived, loans the file creates
        st.info(note)
    if not prepared.file_problems.is_empty():
        st.error(tr("整个文件无法导入：", "The file cannot be loaded: ") + prepared.file_problem_text(LANG))
    if prepared.problems.is_empty():
        st.success(ui.tr("所有行都符合数据契约。", "Every row meets the data contract."))
    else:
        summary = prepared.summary().drop("message_en" if ui.lang() == "zh" else "message_zh")
        ui.show_table(summary, "imp_summary", name="import_check_summary",
                      headers={"column": ui.tr("字段", "Field"), "count": ui.tr("行数", "Rows")})
        st.caption(ui.tr("错误报告（文件、行号、列、值、规则、说明）：", "Error report (file, row, column, value, rule, message):"))
        ui.download_buttons(ingest.error_report(prepared, ui.lang()), "import_errors", "imp_report")
    if not prepared.warnings.is_empty():  # continuity: a warning to check, never a reason to reject rows
        st.warning(prepared.warning_text(LANG))
        ui.show_table(ingest.continuity_report(prepared, LANG), "imp_continuity", name="import_continuity")

    # --- 4. load ----------------------------------------------------------------------------------------
    st.subheader(ui.tr("4. 导入", "4. Load"))
    on_bad = st.radio(ui.tr("有问题的行", "Rows with problems"), ingest.ON_BAD, key="imp_on_bad", horizontal=True,
                      format_func=lambda v: tr("拒绝整个文件", "Reject the whole file") if v == "reject"
                      else tr("导入有效行，问题行隔离并注明原因", "Load valid rows, quarantine the others with reasons"))
    if on_bad == "quarantine" and prepared.quarantine_warning_text(LANG):  # loans the quarantine makes vanish
        st.warning(prepared.quarantine_warning_text(LANG))
    replace = False
    if prepared.existing_months:
        months = ", ".join(f"{m:%Y-%m}" for m in prepared.existing_months)
        st.warning(ui.tr(f"月份 {months} 已有数据。替换后旧版本会保留，可在下方撤销。",
                         f"Months {months} already exist. The previous version is kept and can be restored below."))
        replace = st.checkbox(ui.tr("确认替换这些月份", "Confirm replacing these months"), key="imp_replace")
    save_as = st.text_input(ui.tr("保存映射方案为（可选）", "Save the mapping profile as (optional)"), key="imp_save_as")
    load_args = {"on_bad": on_bad, "replace": replace, "save_as": save_as.strip() or None}
    outcome = None
    if st.button(ui.tr("导入", "Load"), key="imp_load", type="primary"):
        if prepared.n_rows >= jobs.BACKGROUND_ROWS:  # loading writes and rebuilds the derived tables: seconds
            jobs.start("imp_load", "load", prepared.n_rows, ingest.commit, ROOT, prepared, **load_args)
        else:
            try:
                outcome = ("ok", ingest.commit(ROOT, prepared, **load_args))
            except (ingest.LoadRejected, ingest.IngestError) as exc:  # refused, or a bad name: nothing written
                outcome = ("refused", exc)
    if outcome is not None:
        show_outcome(*outcome)
        if outcome[0] == "ok":
            st.session_state["imp_check_key"] = None  # the store changed: check again on the next run

# --- history ---------------------------------------------------------------------------------------------

st.subheader(ui.tr("导入记录", "Import history"))
if app_data.has_data():  # what the stored snapshots do not provide (not asked of a damaged store)
    missing = app_data.run(coverage.not_provided)
    if missing:
        names = [f"{schema.SNAPSHOTS.column(c).zh}（{c}）" if LANG == "zh" else c for c in missing]
        st.caption(tr("仓库中的快照未提供：", "Not provided by the stored snapshots: ")
                   + ("、" if LANG == "zh" else ", ").join(names)
                   + tr("（页面上显示为“未提供”）。", " (shown as 'not provided')."))
log = ingest.history(ROOT)
if log.is_empty():
    st.info(ui.tr("还没有导入记录。", "Nothing has been imported yet."))
else:
    ui.show_table(log, "imp_history", name="import_log", codes={"status": "log_status", "kind": "log_kind"})
    # The choices stay the same when a change is restored (here or elsewhere), so the selection can never slide
    # onto another change; restoring one already restored is refused with a message. A new change (a load or a
    # restore, here or elsewhere) moves the selection to it: the default is always the latest change.
    done = {r["change_id"]: r["restorable"] for r in log.iter_rows(named=True) if r["status"] in ("loaded", "restored")}
    if any(done.values()):
        latest = next(iter(done))
        clicked = st.session_state.get("imp_restore", False)  # never move the selection under a click
        if not clicked and (st.session_state.get("imp_restore_latest") != latest
                            or st.session_state.get("imp_restore_id") not in done):
            st.session_state["imp_restore_latest"] = latest
            st.session_state["imp_restore_id"] = latest
        r1, r2 = st.columns([3, 1])
        change_id = r1.selectbox(ui.tr("撤销这次导入（恢复它替换前的数据）", "Undo this load (put back what it replaced)"),
                                 list(done), key="imp_restore_id",
                                 format_func=lambda c: c if done[c] else c + tr("（已恢复）", " (restored)"))
        try:
            plan = ingest.restore_plan(ROOT, change_id)
        except (ingest.LoadRejected, store.StoreDamaged, OSError) as exc:
            plan = None
            st.caption(exc.message(ui.lang()) if isinstance(exc, ingest.LoadRejected) else str(exc))
        confirm = False
        if plan is not None:
            months = ", ".join(m[:7] for m in plan["months"]) or "—"
            st.caption(ui.tr(f"将恢复表 {plan['table']}（月份 {months}）在 {change_id} 之前的内容。",
                             f"Puts back table {plan['table']} (months {months}) as it was before {change_id}."))
            for b in plan["broken"]:
                st.warning(ui.tr(f"不能恢复：{b['table']} 表有 {b['rows']} 行的 {b['column']} 将找不到对应的 {b['target']}"
                                 f"（例如 {', '.join(b['examples'])}）。",
                                 f"Cannot restore: {b['rows']} rows of {b['table']} would have a {b['column']} with no "
                                 f"{b['target']} (e.g. {', '.join(b['examples'])})."))
            if plan["later"]:
                confirm = st.checkbox(ui.tr(f"同时撤销之后的导入 {', '.join(plan['later'])}（同一表和月份）",
                                            f"Also undo the newer changes {', '.join(plan['later'])} (same table and "
                                            "months)"), key="imp_restore_confirm")
        if r2.button(ui.tr("恢复", "Restore"), key="imp_restore"):
            try:
                result = ingest.restore(ROOT, change_id, confirm=confirm)
            except ingest.LoadRejected as exc:  # e.g. restored meanwhile from another window or the command line
                st.error(exc.message(ui.lang()))
                st.stop()
            access.audit("undo", auth.current().username, {"restored": change_id, "change_id": result.change_id})
            months = ", ".join(f"{m:%Y-%m}" for m in result.months) or "—"
            st.session_state["imp_restored"] = (
                ui.tr(f"已恢复 {change_id}：表 {result.table}，月份 {months}（记录为 {result.change_id}，同样可以撤销）。",
                      f"Restored {change_id}: table {result.table}, months {months} (logged as {result.change_id}; "
                      "this can be undone too)."), result.warning)
            st.rerun()
if "imp_restored" in st.session_state:  # the confirmation survives the rerun that shows the new history
    message, warning = st.session_state.pop("imp_restored")
    st.success(message)
    if warning:
        st.warning(warning)
