"""Mapping a bank's columns and values onto the contract, and saved mapping profiles.

A ``Profile`` says which source column feeds each contract column, the amount unit (元 or 万元,
per column if needed), value maps (a bank's class labels, status words ... to contract codes)
and explicit constants for columns the file does not have (e.g. the month of a one-month file).
``normalise`` turns the mapped text into canonical text (ISO dates, plain numbers in yuan,
contract codes) column by column with vectorised Polars. A cell it cannot normalise is left
exactly as it was, so the validator reports it with its original value: nothing is guessed,
coerced or dropped silently.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from analytics.core import schema
from analytics.core.months import month_start_expr
from analytics.core.schema import TABLES, Column, Table
from analytics.ingest.problems import FILE, ROW
from analytics.ingest.reading import IngestError

UNITS = {"元": 1, "万元": 10_000}
ALL_EMPTY = "<all empty>"  # page choice for a nullable column the file lacks: constants[column] = ""
PROFILE_DIR = ("_meta", "profiles")


@dataclass
class Profile:
    name: str
    table: str
    columns: dict[str, str | None] = field(default_factory=dict)  # contract column -> source column
    unit: str = "元"  # default amount unit
    units: dict[str, str] = field(default_factory=dict)  # per contract column override
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)  # contract column -> {source: code}
    constants: dict[str, str] = field(default_factory=dict)  # contract column -> text for every row
    month_any_day: bool = True  # a date within the month (e.g. month end 2024-03-31) means that month
    # snapshots only: loans columns -> source column, so that one snapshot file also creates the loans it names
    loan_columns: dict[str, str | None] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> Profile:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


# --- profiles on disk --------------------------------------------------------------------------------

_SAFE_NAME = re.compile(r"^[\w\-\u4e00-\u9fff .]{1,64}$")


def _profile_dir(root: Path) -> Path:
    return root.joinpath(*PROFILE_DIR)


class ProfileError(IngestError, ValueError):
    """A profile name that is not allowed, or a profile that does not exist."""


def check_profile_name(name: str) -> str:
    """The name if it is a safe file name (letters, digits, Chinese, space, - _ .), else ``ProfileError``."""
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or name.strip(". ") != name or ".." in name:
        raise ProfileError("profile_name", f"映射方案名称「{name}」无效：只能使用中文、字母、数字、空格和 - _ .，最长 64 个字符，"
                           "不能以点或空格开头或结尾。",
                           f"Invalid profile name '{name}': use Chinese, letters, digits, spaces and - _ . only, at "
                           "most 64 characters, not starting or ending with a dot or a space.")
    return name


def _profile_path(root: Path, name: str) -> Path:
    return _profile_dir(root) / f"{check_profile_name(name)}.json"


def save_profile(root: Path, profile: Profile) -> Path:
    path = _profile_path(root, profile.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(profile.to_json(), encoding="utf-8")
    tmp.replace(path)
    return path


def load_profile(root: Path, name: str) -> Profile:
    path = _profile_path(root, name)
    if not path.is_file():
        raise ProfileError("profile_missing", f"映射方案「{name}」不存在。", f"There is no mapping profile '{name}'.")
    try:
        return Profile.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError, AttributeError):  # truncated or edited by hand
        raise ProfileError("profile_damaged", f"映射方案「{name}」的文件已损坏（{path.name}），请重新保存该方案。",
                           f"The mapping profile '{name}' is damaged ({path.name}); save it again.") from None


def list_profiles(root: Path, table: str | None = None) -> list[Profile]:
    """The saved profiles; a damaged file (truncated, edited by hand) is left out (``load_profile`` names it)."""
    folder = _profile_dir(root)
    profiles = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            profiles.append(Profile.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    return [p for p in profiles if table is None or p.table == table]


def _option_error(option: str, text: str, zh: str, en: str) -> ProfileError:
    return ProfileError("mapping_option", f"{option} {text}：{zh}", f"{option} {text}: {en}")


def _target(profile: Profile, column: str, option: str, text: str) -> tuple[str, bool]:
    """(column, is a loan field) of ``column`` or ``loans.<column>`` (loan fields only on a snapshot file)."""
    table = TABLES[profile.table]
    if column.startswith("loans.") and profile.table == "snapshots":
        name = column.removeprefix("loans.")
        if name in SNAPSHOT_LOAN_FIELDS:
            return name, True
    elif column in table.names:
        return column, False
    elif profile.table == "snapshots" and column in SNAPSHOT_LOAN_FIELDS:
        return column, True
    fields = ", ".join(table.names) + (", loans.<" + "|".join(SNAPSHOT_LOAN_FIELDS) + ">"
                                       if profile.table == "snapshots" else "")
    raise _option_error(option, text, f"表 {profile.table} 没有字段「{column}」（可用：{fields}）",
                        f"table {profile.table} has no column '{column}' (columns: {fields})")


def apply_options(profile: Profile, source_columns: list[str], *, maps: list[str] = (),
                  value_maps: list[str] = ()) -> Profile:
    """The command line's mapping options applied to ``profile`` (the same choices as the page's widgets).

    ``maps``: ``column=source`` (the source column feeding a contract column; ``loans.<column>=source`` for a loan
    field of a snapshot file), ``column=`` (not mapped: not provided) or ``column=<empty>`` (loaded empty on every
    row, for a nullable column). ``value_maps``: ``column:source value=code``. Unknown columns or source columns and
    malformed options raise ``ProfileError``.
    """
    for text in maps:
        column, sep, src = text.partition("=")
        column, src = column.strip(), src.strip()
        if not sep or not column:
            raise _option_error("--map", text, "格式应为 字段=源列", "expected COLUMN=SOURCE")
        name, loan = _target(profile, column, "--map", text)
        if src and src != ALL_EMPTY and src not in source_columns:
            raise _option_error("--map", text, f"文件中没有列「{src}」（现有：{', '.join(source_columns)}）",
                                f"the file has no column '{src}' (columns: {', '.join(source_columns)})")
        target = profile.loan_columns if loan else profile.columns
        if src == ALL_EMPTY and not loan:
            profile.constants[name] = ""
            target[name] = None
        else:
            target[name] = src or None
            if not loan:
                profile.constants.pop(name, None)
            unit = header_unit(src) if src else None
            key = f"loans.{name}" if loan else name
            if unit:
                profile.units[key] = unit
            else:
                profile.units.pop(key, None)
    for text in value_maps:
        column, sep, rest = text.partition(":")
        value, eq, code = rest.rpartition("=")
        if not sep or not eq or not column.strip() or not value.strip():
            raise _option_error("--value-map", text, "格式应为 字段:源取值=代码", "expected COLUMN:SOURCE_VALUE=CODE")
        name, loan = _target(profile, column.strip(), "--value-map", text)
        key = f"loans.{name}" if loan else name
        profile.value_maps.setdefault(key, {})[value.strip()] = code.strip()
    return profile


# --- suggestions ------------------------------------------------------------------------------------

SYNONYMS: dict[str, tuple[str, ...]] = {
    "loan_id": ("借据号", "借据编号", "贷款编号", "贷款账号", "借据id", "loanid", "loanno", "loannumber"),
    "customer_id": ("客户号", "客户编号", "客户id", "custid", "customerno"),
    "branch_id": ("机构号", "机构", "机构代码", "机构编号", "网点", "网点号", "网点代码", "网点编号", "branch",
                  "branchcode", "orgid", "机构/网点"),
    "branch_name": ("机构名称", "网点名称", "支行名称", "branch"),
    "region": ("区域", "地区", "片区", "分行"),
    "product": ("产品", "产品类型", "贷款产品", "贷款品种", "业务品种"),
    "origination_date": ("放款日期", "发放日期", "放款日", "贷款发放日", "起息日", "startdate", "disbursementdate"),
    "maturity_date": ("到期日期", "到期日", "贷款到期日", "enddate"),
    "principal": ("放款金额", "发放金额", "贷款金额", "合同金额", "授信额度", "loanamount"),
    "annual_rate": ("年利率", "执行利率", "利率", "interestrate", "rate"),
    "term_months": ("期限(月)", "期限", "贷款期限", "期数", "term"),
    "repayment_method": ("还款方式",),
    "guarantee_type": ("担保方式", "主要担保方式"),
    "collateral_value": ("押品价值", "押品价值(放款时)", "押品现值", "抵押物价值", "押品评估价值"),
    "borrower_age": ("借款人年龄", "年龄", "age"),
    "annual_income": ("年收入", "income"),
    "industry": ("职业/行业", "行业", "职业"),
    "internal_rating": ("内部评级", "评级", "信用评级", "rating"),
    "month": ("数据月份", "数据日期", "月份", "统计日期", "报表日期", "快照日期", "asof", "asofdate", "reportdate",
              "month"),
    "outstanding_principal": ("本金余额", "贷款余额", "余额", "剩余本金", "当前余额", "balance", "outstanding"),
    "origination_month": ("放款月份", "发放月份", "放款年月"),
    "overdue_principal": ("逾期本金", "逾期金额"),
    "overdue_interest": ("逾期利息", "欠息"),
    "dpd": ("逾期天数", "dayspastdue", "dpd", "overduedays"),
    "booked_class": ("五级分类", "五级分类结果", "风险分类", "贷款分类", "classification", "riskclass"),
    "status": ("状态", "贷款状态", "借据状态"),
    "tech_overdue": ("技术性短期逾期", "技术性逾期"),
    "overdue_cause": ("逾期原因",),
    "collector_id": ("催收员", "催收员编号", "催收人员", "collector"),
    "restructured": ("重组标识", "是否重组", "重组"),
    "amount_due": ("本月应还", "应还金额"),
    "amount_paid": ("本月实还", "实还金额"),
    "disposed_principal": ("处置本金", "核销本金"),
    "collector_name": ("催收员姓名", "姓名"),
    "team": ("团队", "小组"),
    "action_id": ("记录号", "催收记录号"),
    "action_date": ("催收日期",),
    "channel": ("催收方式", "催收渠道"),
    "outcome": ("催收结果",),
    "promised_amount": ("承诺金额",),
    "promised_date": ("承诺日期", "承诺还款日"),
    "amount_collected": ("回收金额", "回款金额"),
    "cost": ("催收成本", "成本"),
    "quarter": ("季度",),
    "visit_id": ("回访记录号", "回访编号", "问卷编号"),
    "visit_date": ("回访日期", "调查日期"),
    "visit_channel": ("回访方式", "回访渠道"),
    "visit_outcome": ("回访结果",),
    "satisfaction_score": ("满意度评分", "满意度", "评分", "satisfaction"),
    "complaint": ("是否投诉", "投诉"),
}

_UNIT_IN_HEADER = re.compile(r"[（(]\s*(万元|元)\s*[)）]")

BOOLEAN_WORDS = {"true": "true", "false": "false", "1": "true", "0": "false", "y": "true", "n": "false",
                 "yes": "true", "no": "false", "是": "true", "否": "false", "t": "true", "f": "false"}
EXTRA_WORDS: dict[str, dict[str, str]] = {
    "status": {"正常": "active", "存续": "active", "已结清": "paid_off", "已核销": "written_off", "抵债": "foreclosed",
               "已转让": "transferred", "open": "active", "closed": "paid_off"},
    "booked_class": {"1.0": "1", "2.0": "2", "3.0": "3", "4.0": "4", "5.0": "5"},
}


def _norm(header: str) -> str:
    text = _UNIT_IN_HEADER.sub("", str(header)).lower()
    return re.sub(r"[\s_\-（）()]", "", text)


_KNOWN_HEADERS: set[str] = set()


def is_known_header(text: object) -> bool:
    """Whether ``text`` is a header the importer recognises (a contract name, its 中文/English label or a synonym)."""
    if not _KNOWN_HEADERS:
        for t in TABLES.values():
            for c in t.columns:
                _KNOWN_HEADERS.update(_candidates(c))
        _KNOWN_HEADERS.update(_norm(w) for words in SYNONYMS.values() for w in words)
        _KNOWN_HEADERS.update(_norm(w) for w in ORIGINATION_BRANCH_WORDS)
    return isinstance(text, str) and _norm(text) in _KNOWN_HEADERS


def header_unit(header: str) -> str | None:
    m = _UNIT_IN_HEADER.search(str(header))
    return m.group(1) if m else None


def _candidates(c: Column) -> list[str]:
    words = [c.name, c.zh, c.en, *SYNONYMS.get(c.name, ())]
    return [_norm(w) for w in words]


def builtin_value_map(column: Column) -> dict[str, str]:
    """Codes, their zh/en labels (lower-cased) and common words -> the contract code."""
    if column.dtype == pl.Boolean:
        return dict(BOOLEAN_WORDS)
    if column.allowed is None:
        return {}
    out = {str(a).lower(): str(a) for a in column.allowed}
    for code, (zh, en) in schema.LABELS.get(column.name, {}).items():
        out[zh.lower()] = code
        out[en.lower()] = code
    out |= EXTRA_WORDS.get(column.name, {})
    return out


# Loan fields a snapshot file may carry (to create its loans); loan_id is the snapshot's own, and the
# origination branch comes from a column of its own or else the managing branch at the loan's first month.
SNAPSHOT_LOAN_FIELDS = tuple(c.name for c in schema.LOANS.columns if c.name not in ("loan_id", "collateral_value"))
ORIGINATION_BRANCH_WORDS = ("放款机构", "发放机构", "放款网点", "经办机构", "originationbranch")


def _suggest(columns: tuple[Column, ...], by_norm: dict[str, str], used: set[str]) -> dict[str, str | None]:
    mapping: dict[str, str | None] = {}
    for c in columns:
        words = _candidates(c) + ([_norm(w) for w in SYNONYMS["origination_month"]] if c.name == "origination_date"
                                  else [])
        hit = next((by_norm[w] for w in words if w in by_norm and by_norm[w] not in used), None)
        mapping[c.name] = hit
        if hit:
            used.add(hit)
    return mapping


def suggest_profile(source_columns: list[str], table_name: str, *, name: str = "",
                    sample: pl.DataFrame | None = None) -> Profile:
    """A first mapping: header synonyms first, then value patterns for code columns still unmapped.

    For snapshots, the source columns left over are also matched to loan fields (``Profile.loan_columns``):
    e.g. 放款日期 / 放款金额 / 产品 let the snapshot file create the loans it names.
    """
    table = TABLES[table_name]
    by_norm = {}
    for src in source_columns:
        by_norm.setdefault(_norm(src), src)
    used: set[str] = set()
    # an explicit origination-branch header is never the managing branch
    origination_branch = next((by_norm[_norm(w)] for w in ORIGINATION_BRANCH_WORDS if _norm(w) in by_norm), None)
    if table_name == "snapshots" and origination_branch:
        used.add(origination_branch)
    mapping = _suggest(table.columns, by_norm, used)
    if sample is not None:
        _match_by_values(table, mapping, used, sample)
    units = {c: header_unit(src) for c, src in mapping.items() if src and header_unit(src)}
    profile = Profile(name=name or table_name, table=table_name, columns=mapping, units=units)
    if table_name == "snapshots":
        loan_fields = tuple(c for c in schema.LOANS.columns if c.name in SNAPSHOT_LOAN_FIELDS and c.name != "branch_id")
        loans = {k: v for k, v in _suggest(loan_fields, by_norm, used).items() if v}
        if origination_branch:
            loans["branch_id"] = origination_branch
        profile.loan_columns = loans
        profile.units |= {f"loans.{c}": header_unit(src) for c, src in loans.items() if header_unit(src)}
    if sample is not None:
        profile.value_maps = suggest_value_maps(profile, sample)
    return profile


def _match_by_values(table: Table, mapping: dict, used: set, sample: pl.DataFrame) -> None:
    for c in table.columns:
        if mapping.get(c.name) or c.allowed is None:
            continue
        words = builtin_value_map(c)
        for src in sample.columns:
            if src in used or src in (ROW, FILE):
                continue
            values = sample[src].drop_nulls().str.strip_chars().str.to_lowercase().unique().to_list()
            if values and all(v in words for v in values):
                mapping[c.name] = src
                used.add(src)
                break


def suggest_value_maps(profile: Profile, frame: pl.DataFrame, *, max_values: int = 50) -> dict[str, dict[str, str]]:
    """For each mapped code/boolean column: the distinct source values and the code each would become.

    Loan fields of a snapshot file are keyed ``loans.<column>`` (e.g. ``loans.product``)."""
    table = TABLES[profile.table]
    maps: dict[str, dict[str, str]] = {}
    pairs = [(c.name, c, profile.columns.get(c.name)) for c in table.columns]
    if profile.table == "snapshots":
        pairs += [(f"loans.{c.name}", c, profile.loan_columns.get(c.name)) for c in schema.LOANS.columns]
    for key, c, src in pairs:
        if not src or src not in frame.columns or (c.allowed is None and c.dtype != pl.Boolean):
            continue
        words = builtin_value_map(c)
        values = frame[src].drop_nulls().str.strip_chars().unique().sort().head(max_values).to_list()
        given = profile.value_maps.get(key, {})
        maps[key] = {v: given.get(v, words.get(v.lower(), "")) for v in values if v != ""}
    return maps


# --- normalisation ---------------------------------------------------------------------------------


def _clean_number(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.replace_all(r"[,，\s元¥￥]", "")


def money_text(expr: pl.Expr, unit: str) -> pl.Expr:
    """Amounts to plain yuan text with at most 2 decimals; 万元 scaled exactly (Decimal, not float).

    A binary-float rendering of such an amount (pandas writes 825.29 as ``825.2900000000001`` or
    ``825.2899999999999``: five or more 0s or 9s after the allowed decimals, then noise) is rounded to the
    allowed decimals; a real third decimal (``12.345``) is still reported, never rounded.
    """
    s = _clean_number(expr)
    factor = UNITS[unit]
    places = 2 if factor == 1 else 6
    noise = s.str.contains(rf"^-?\d+\.\d{{{places}}}(0{{5,}}|9{{5,}})\d*$")
    exact = pl.when(noise).then(s.cast(pl.Float64, strict=False).round(places).cast(pl.Decimal(38, places))
                                 .cast(pl.String)).otherwise(s)
    if factor == 1:
        ok = s.str.contains(r"^-?\d+(\.\d{1,2})?$") | noise
        return pl.when(ok).then(exact).otherwise(expr)
    ok = s.str.contains(r"^-?\d+(\.\d{1,6})?$") | noise
    scaled = (exact.cast(pl.Decimal(38, 6), strict=False) * pl.lit(factor).cast(pl.Decimal(38, 0))).cast(
        pl.Decimal(38, 2), strict=False).cast(pl.String)
    return pl.when(ok).then(scaled).otherwise(expr)


def integer_text(expr: pl.Expr) -> pl.Expr:
    s = _clean_number(expr)
    ok = s.str.contains(r"^-?\d+(\.0+)?$")
    return pl.when(ok).then(s.str.replace(r"\.0+$", "")).otherwise(expr)


def float_text(expr: pl.Expr) -> pl.Expr:
    s = _clean_number(expr)
    pct = s.str.contains(r"^-?\d+(\.\d+)?%$")
    as_pct = (s.str.strip_chars_end("%").cast(pl.Float64, strict=False) / 100).cast(pl.String)
    return pl.when(pct).then(as_pct).otherwise(pl.when(s.str.contains(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$"))
                                                .then(s).otherwise(expr))


_EXCEL_EPOCH = pl.lit(dt.date(1899, 12, 30))
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")


def date_expr(expr: pl.Expr, month: bool = False) -> pl.Expr:
    """Parse the accepted date shapes; null where none fits.

    2024-03-31, 2024/3/31, 20240331, 2024.3.31, 2024年3月31日 (with an optional 00:00:00 time),
    Excel serial numbers of the 1900 date system (61..2958465); for months also 2024-03, 202403, 2024年3月.
    """
    s = expr.str.strip_chars().str.replace(r"[ T]00:00(:00(\.0+)?)?$", "")
    parts = [s.str.to_date(f, strict=False) for f in _DATE_FORMATS]
    serial = s.str.contains(r"^\d{2,5}(\.0+)?$")
    days = s.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)
    parts.append(pl.when(serial & days.is_between(61, 2_958_465)).then(
        _EXCEL_EPOCH + pl.duration(days=days)).cast(pl.Date))
    if month:
        for fmt, pattern in (("%Y-%m-%d", r"^\d{4}-\d{1,2}$"), ("%Y%m%d", r"^\d{6}$"), ("%Y年%m月%d日", r"^\d{4}年\d{1,2}月$"),
                             ("%Y/%m/%d", r"^\d{4}/\d{1,2}$")):
            suffix = "1日" if "年" in fmt else ("01" if fmt == "%Y%m%d" else "-01" if "-" in fmt else "/01")
            parts.append(pl.when(s.str.contains(pattern)).then((s + pl.lit(suffix)).str.to_date(fmt, strict=False)))
    return pl.coalesce(parts)


def date_text(expr: pl.Expr, *, month: bool = False, any_day: bool = True) -> pl.Expr:
    parsed = date_expr(expr, month)
    if month and any_day:
        parsed = month_start_expr(parsed)
    return pl.when(parsed.is_not_null()).then(parsed.dt.strftime("%Y-%m-%d")).otherwise(expr)


def coded_text(expr: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    """Value-mapped (case-insensitive on the trimmed text); unmapped values stay as they are."""
    if not mapping:
        return expr
    low = {k.strip().lower(): v for k, v in mapping.items() if v not in (None, "")}
    key = expr.str.strip_chars().str.to_lowercase()
    return key.replace_strict(low, default=expr, return_dtype=pl.String)


def _column_text(c: Column, profile: Profile, key: str | None = None) -> pl.Expr:
    key = key or c.name  # the value-map / unit key: the column, or loans.<column> for a snapshot file's loan fields
    expr = pl.col(c.name)
    blank = expr.str.strip_chars() == ""
    expr = pl.when(blank).then(None).otherwise(expr)
    if c.allowed is not None or c.dtype == pl.Boolean:
        mapping = builtin_value_map(c) | {k.lower(): v for k, v in profile.value_maps.get(key, {}).items()}
        return coded_text(expr, mapping)
    if isinstance(c.dtype, pl.Decimal):
        return money_text(expr, profile.units.get(key) or profile.unit)
    if c.dtype == pl.Date:
        # an origination MONTH (2024-03, 202403, 2024年3月) is read as the first day of that month; a full date keeps
        # its day
        month = c.name in ("month", "quarter", "origination_date")
        return date_text(expr, month=month, any_day=profile.month_any_day and c.name == "month")
    if c.dtype.is_integer():
        return integer_text(expr)
    if c.dtype.is_float():
        return float_text(expr)
    return expr.str.strip_chars()


def apply_mapping(frame: pl.DataFrame, profile: Profile) -> pl.DataFrame:
    """The source frame renamed to contract columns (plus constants), still raw text; __row__/__file__ kept."""
    table = TABLES[profile.table]
    exprs = [pl.col(ROW), pl.col(FILE)]
    for c in table.columns:
        src = profile.columns.get(c.name)
        if src and src in frame.columns:
            exprs.append(pl.col(src).cast(pl.String).alias(c.name))
        elif c.name in profile.constants:
            exprs.append(pl.lit(profile.constants[c.name], dtype=pl.String).alias(c.name))
    return frame.select(exprs)


def normalise(mapped: pl.DataFrame, profile: Profile) -> pl.DataFrame:
    """Canonical text for every mapped column (see module doc); unparseable cells keep their raw text."""
    table = TABLES[profile.table]
    return mapped.with_columns(_column_text(c, profile).alias(c.name) for c in table.columns if c.name in mapped.columns)


def loan_fields(frame: pl.DataFrame, profile: Profile) -> pl.DataFrame:
    """The loan fields a snapshot file carries (``Profile.loan_columns``) as canonical text in loans columns,
    one row per source row (+ __row__/__file__); empty when none is mapped."""
    srcs = {c: s for c, s in profile.loan_columns.items() if s and s in frame.columns and c in schema.LOANS.names}
    if not srcs:
        return pl.DataFrame()
    mapped = frame.select(pl.col(ROW), pl.col(FILE), *[pl.col(s).cast(pl.String).alias(c) for c, s in srcs.items()])
    return mapped.with_columns(_column_text(schema.LOANS.column(c), profile, f"loans.{c}").alias(c) for c in srcs)


def used_sources(profile: Profile) -> set[str]:
    """The source columns the profile reads (contract columns and, for snapshots, loan fields)."""
    return {s for s in (*profile.columns.values(), *profile.loan_columns.values()) if s}


def unknown_targets(profile: Profile) -> dict[str, str]:
    """Mappings of ``profile`` onto columns the contract does not have (e.g. a profile saved for an older contract or
    edited by hand): target -> source. Such a source column is not loaded, so it is reported as unused."""
    table = TABLES[profile.table]
    out = {k: v for k, v in profile.columns.items() if v and k not in table.names}
    out |= {f"loans.{k}": v for k, v in profile.loan_columns.items() if v and k not in SNAPSHOT_LOAN_FIELDS}
    return out


def unused_columns(source_columns: list[str], profile: Profile) -> list[str]:
    """Source columns the contract has no place for under ``profile`` (they are not loaded: reported, not dropped
    silently), including those a profile maps onto a column the contract does not have."""
    unknown = set(unknown_targets(profile).values())
    used = used_sources(profile) - unknown
    return [c for c in source_columns if c not in used]
