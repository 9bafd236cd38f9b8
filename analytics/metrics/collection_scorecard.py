"""催收员考核 / Collector scorecard: a weighted, configurable score per collector (DOMAIN.md §5 and §6.3, [ILLUS]).

The scheme (``Scheme``; every number is [ILLUS] and saved as versioned JSON under
``<data root>/_meta/config/``):

- KPIs in three groups, **result** (default 50%), **process** (30%), **quality** (20%); each KPI has a
  weight within its group, a target and a direction. Attainment = actual ÷ target (target ÷ actual when lower
  is better). Result KPIs are multiplied by the collector's **bucket difficulty coefficient** = Σ share of its
  cases in entry bucket k × coefficient_k (M1 1.0 … M7+ 1.4). Score = min(attainment [× coefficient], cap)
  × 100 (cap 120%). A group score is the weighted mean of its KPI scores over the KPIs that have a value (a
  collector without promises due is scored on the other process KPIs); total = Σ group weight × group score.
- Result KPIs: ``recovery_attainment`` = recovered entry balance ÷ Σ_k entry balance_k × recovery target_k
  (the bucket mix sets the collector's own target); ``cash_attainment`` = cash ÷ (weekly amount target of its
  peer group × working weeks). Process: coverage, RPC rate, PTP kept rate (count), ``contacts_attainment`` =
  contacts ÷ (daily contacts target × working days). Quality: ``compliance`` = share of worked cases with at
  most ``max_actions_per_case`` actions in the month (contact-frequency limit).
- **Veto** (一票否决): at least ``veto_violations`` over-contacted cases, or the collector is on the scheme's
  veto list (a confirmed complaint): total 0 and tier penalty.
- **Peer groups** by bucket mix: a collector belongs to the peer group (early M1-M2, mid M3-M6, late M7+) that
  holds most of its cases; rank = position by total within the peer group; **tier** = reward for the top
  ``reward_share`` with total ≥ ``pass_score``, penalty for a veto, a total below ``pass_score`` or the bottom
  ``penalty_share``, else pass.
- **Targets** per collector per working day (contacts) and per week (amount), by peer group, with
  attainment per day or week (``target_attainment``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import duckdb
import polars as pl

from analytics.core import store
from analytics.core.expr import safe_div
from analytics.core.schema import MONEY
from analytics.metrics import collections as coll

GROUPS = ("result", "process", "quality")
TIERS = ("reward", "pass", "penalty")
KPI_CODES = ("recovery_attainment", "cash_attainment", "coverage", "rpc_rate", "ptp_kept_rate_count",
             "contacts_attainment", "compliance", "cost_to_collect", "contact_rate", "ptp_rate", "cei")
CONFIG_NAME = "collection_scheme"


@dataclass(frozen=True)
class Kpi:
    code: str  # one of KPI_CODES
    group: str  # result | process | quality
    weight: float  # within its group
    target: float
    higher_is_better: bool = True


DEFAULT_KPIS = (
    Kpi("recovery_attainment", "result", .6, 1.0),
    Kpi("cash_attainment", "result", .4, 1.0),
    Kpi("coverage", "process", .3, .95),
    Kpi("rpc_rate", "process", .2, .6),
    Kpi("ptp_kept_rate_count", "process", .3, .6),
    Kpi("contacts_attainment", "process", .2, 1.0),
    Kpi("compliance", "quality", 1.0, 1.0),
)


@dataclass(frozen=True)
class Scheme:
    """A collector scoring scheme; frozen and hashable so it passes through the result cache."""

    version: int = 0  # 0 = the built-in default, never saved
    saved_at: str = ""
    group_weights: tuple[float, float, float] = (.5, .3, .2)  # result, process, quality
    kpis: tuple[Kpi, ...] = DEFAULT_KPIS
    bucket_coefficients: tuple[float, ...] = (1.0, 1.1, 1.2, 1.3, 1.3, 1.3, 1.4)  # entry bucket M1 .. M7+
    recovery_targets: tuple[float, ...] = (.5, .2, .1, .05, .05, .03, .05)  # recovered balance share, M1 .. M7+
    cap: float = 1.2
    max_actions_per_case: int = 8
    veto_violations: int = 3
    veto_collectors: tuple[str, ...] = ()
    peer_groups: tuple[tuple[str, tuple[int, ...]], ...] = (("early", (1, 2)), ("mid", (3, 4, 5, 6)), ("late", (7,)))
    daily_contacts: tuple[float, ...] = (2.0, 2.0, .5)  # per working day, by peer group (sized for the demo)
    weekly_amount: tuple[float, ...] = (20_000.0, 5_000.0, 20_000.0)  # yuan per working week, by peer group
    reward_share: float = .2
    penalty_share: float = .1
    pass_score: float = 60.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Scheme:
        kpis = tuple(Kpi(**k) for k in data.get("kpis", [asdict(k) for k in DEFAULT_KPIS]))
        peers = tuple((str(name), tuple(int(b) for b in buckets)) for name, buckets in data.get(
            "peer_groups", cls.peer_groups))
        tuples = {k: tuple(v) for k, v in data.items() if isinstance(v, list) and k not in ("kpis", "peer_groups")}
        scheme = cls(**{**data, **tuples, "kpis": kpis, "peer_groups": peers})
        validate(scheme)
        return scheme


DEFAULT_SCHEME = Scheme()


def validate(scheme: Scheme) -> None:
    """ValueError on an unusable scheme (unknown KPI or group, negative weight, wrong vector length)."""
    problems = []
    for k in scheme.kpis:
        if k.code not in KPI_CODES:
            problems.append(f"unknown KPI {k.code!r}")
        if k.group not in GROUPS:
            problems.append(f"unknown group {k.group!r}")
        if k.weight < 0 or k.target <= 0:
            problems.append(f"{k.code}: weight must be >= 0 and target > 0")
    if len(scheme.group_weights) != len(GROUPS) or min(scheme.group_weights) < 0 or sum(scheme.group_weights) <= 0:
        problems.append("group weights: three non-negative numbers, not all zero")
    n_buckets = len(coll.BUCKETS)
    if len(scheme.bucket_coefficients) != n_buckets or len(scheme.recovery_targets) != n_buckets:
        problems.append(f"bucket coefficients and recovery targets need {n_buckets} values (M1 .. M7+)")
    if len(scheme.daily_contacts) != len(scheme.peer_groups) or len(scheme.weekly_amount) != len(scheme.peer_groups):
        problems.append("one daily contacts and one weekly amount target per peer group")
    if scheme.cap <= 0 or not 0 <= scheme.reward_share <= 1 or not 0 <= scheme.penalty_share <= 1:
        problems.append("cap > 0, reward and penalty shares in [0, 1]")
    if problems:
        raise ValueError("; ".join(problems))


# --- saving: versioned JSON, written atomically ----------------------------------------------------------


def config_dir(root: str | os.PathLike | None = None) -> Path:
    return store.data_root(root) / "_meta" / "config"


def scheme_versions(*, root: str | os.PathLike | None = None) -> list[int]:
    """Saved versions, ascending."""
    found = []
    for path in config_dir(root).glob(f"{CONFIG_NAME}.v*.json"):
        number = path.stem.rsplit(".v", 1)[-1]
        if number.isdigit():
            found.append(int(number))
    return sorted(found)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_scheme(scheme: Scheme, *, root: str | os.PathLike | None = None, now: dt.datetime | None = None) -> Scheme:
    """Save ``scheme`` as the next version: ``collection_scheme.vNNNN.json`` (kept) and
    ``collection_scheme.json`` (the current one), each written to a temp file and renamed into place."""
    validate(scheme)
    versions = scheme_versions(root=root)
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    saved = replace(scheme, version=(versions[-1] if versions else 0) + 1, saved_at=stamp)
    text = json.dumps(saved.to_dict(), ensure_ascii=False, indent=2)
    folder = config_dir(root)
    _write_atomic(folder / f"{CONFIG_NAME}.v{saved.version:04d}.json", text)
    _write_atomic(folder / f"{CONFIG_NAME}.json", text)
    return saved


def load_scheme(*, root: str | os.PathLike | None = None, version: int | None = None) -> Scheme:
    """The current saved scheme (or ``version``); the built-in default when none is saved."""
    folder = config_dir(root)
    path = folder / (f"{CONFIG_NAME}.v{version:04d}.json" if version else f"{CONFIG_NAME}.json")
    if not path.is_file():
        if version:
            raise FileNotFoundError(path)
        return DEFAULT_SCHEME
    return Scheme.from_dict(json.loads(path.read_text(encoding="utf-8")))


# --- scoring -----------------------------------------------------------------------------------------------


def _peer_of_bucket(scheme: Scheme) -> dict[int, str]:
    return {b: name for name, buckets in scheme.peer_groups for b in buckets}


def _per_peer(scheme: Scheme, values: tuple[float, ...], name: str) -> pl.DataFrame:
    return pl.DataFrame({"peer_group": [p for p, _ in scheme.peer_groups], name: list(values)},
                        schema={"peer_group": pl.String, name: pl.Float64})


def collector_mix(case_rows: pl.DataFrame, scheme: Scheme) -> pl.DataFrame:
    """Per collector: bucket difficulty coefficient, peer group (the one holding most cases), the
    mix-weighted recovery target balance, and the over-contacted case count."""
    coef = pl.DataFrame({"entry_bucket": list(coll.BUCKETS), "coef": list(scheme.bucket_coefficients),
                         "rec_target": list(scheme.recovery_targets)},
                        schema={"entry_bucket": pl.Int8, "coef": pl.Float64, "rec_target": pl.Float64})
    peers = pl.DataFrame({"entry_bucket": list(_peer_of_bucket(scheme)),
                          "peer_group": list(_peer_of_bucket(scheme).values())},
                         schema={"entry_bucket": pl.Int8, "peer_group": pl.String})
    rows = case_rows.join(coef, on="entry_bucket", how="left").join(peers, on="entry_bucket", how="left")
    order = {name: i for i, (name, _) in enumerate(scheme.peer_groups)}
    main = (rows.group_by("collector_id", "peer_group").len()
            .with_columns(pl.col("peer_group").replace_strict(order, default=99).alias("_order"))
            .sort("collector_id", pl.col("len"), pl.col("_order"), descending=[False, True, False])
            .group_by("collector_id", maintain_order=True).first().select("collector_id", "peer_group"))
    mix = rows.group_by("collector_id").agg(
        pl.col("coef").mean().alias("difficulty"),
        (pl.col("entry_balance").cast(pl.Float64) * pl.col("rec_target")).sum().alias("recovery_target_balance"),
    )
    return mix.join(main, on="collector_id", how="left")


def _violations(acts: pl.DataFrame, scheme: Scheme) -> pl.DataFrame:
    per_case = acts.group_by("collector_id", "month", "loan_id").len()
    return per_case.group_by("collector_id").agg(
        pl.len().alias("worked_case_months"),
        (pl.col("len") > scheme.max_actions_per_case).sum().alias("violations"))


def _kpi_values(kpis: pl.DataFrame, mix: pl.DataFrame, viol: pl.DataFrame, scheme: Scheme,
                rules: coll.CollectionRules) -> pl.DataFrame:
    contacts = "rpc" if rules.contact_measure == "rpc" else "attempts"
    targets = _per_peer(scheme, scheme.daily_contacts, "daily_contacts_target").join(
        _per_peer(scheme, scheme.weekly_amount, "weekly_amount_target"), on="peer_group")
    return (
        kpis.join(mix, on="collector_id", how="left").join(viol, on="collector_id", how="left")
        .join(targets, on="peer_group", how="left")
        .with_columns(pl.col("violations", "worked_case_months").fill_null(0))
        .with_columns(
            safe_div("recovered_balance", "recovery_target_balance").alias("recovery_attainment"),
            (pl.col("daily_contacts_target") * pl.col("working_days")).alias("contacts_target"),
            (pl.col("weekly_amount_target") * pl.col("working_days") / 5).alias("amount_target"),
            safe_div(pl.col("worked_case_months") - pl.col("violations"), "worked_case_months").alias("compliance"),
        )
        .with_columns(
            safe_div(contacts, "contacts_target").alias("contacts_attainment"),
            safe_div("cash", "amount_target").alias("cash_attainment"),
        )
    )


def _kpi_score(k: Kpi, cap: float) -> pl.Expr:
    actual = pl.col(k.code).cast(pl.Float64)
    attain = actual / k.target if k.higher_is_better else pl.when(actual > 0).then(k.target / actual)
    if k.group == "result":
        attain = attain * pl.col("difficulty").fill_null(1.0)
    return (attain.clip(upper_bound=cap) * 100).alias(f"{k.code}_score")  # a missing value stays missing


def _group_score(kpis: tuple[Kpi, ...], group: str) -> pl.Expr:
    members = [k for k in kpis if k.group == group and k.weight > 0]
    if not members:
        return pl.lit(None, dtype=pl.Float64).alias(f"{group}_score")
    num = pl.sum_horizontal([(pl.col(f"{k.code}_score") * k.weight).fill_null(0) for k in members])
    den = pl.sum_horizontal([pl.when(pl.col(f"{k.code}_score").is_not_null()).then(k.weight).otherwise(0)
                             for k in members])
    return safe_div(num, den).alias(f"{group}_score")


def _total(scheme: Scheme) -> pl.Expr:
    total_w = sum(scheme.group_weights)
    parts = [(pl.col(f"{g}_score").fill_null(0) * (w / total_w)) for g, w in zip(GROUPS, scheme.group_weights,
                                                                               strict=True)]
    return pl.when(pl.col("veto")).then(0.0).otherwise(pl.sum_horizontal(parts)).alias("total")


def _tiers(df: pl.DataFrame, scheme: Scheme) -> pl.DataFrame:
    ranked = df.with_columns(
        pl.col("total").rank("min", descending=True).over("peer_group").cast(pl.Int64).alias("rank"),
        pl.len().over("peer_group").cast(pl.Int64).alias("peer_n"),
    )
    reward_n = (pl.col("peer_n") * scheme.reward_share).ceil()
    penalty_from = pl.col("peer_n") - (pl.col("peer_n") * scheme.penalty_share).floor()
    return ranked.with_columns(
        pl.when(pl.col("veto") | (pl.col("total") < scheme.pass_score) | (pl.col("rank") > penalty_from))
        .then(pl.lit("penalty"))
        .when(pl.col("rank") <= reward_n).then(pl.lit("reward"))
        .otherwise(pl.lit("pass")).alias("tier"))


def score_collectors(kpis: pl.DataFrame, case_rows: pl.DataFrame, acts: pl.DataFrame, *,
                     scheme: Scheme = DEFAULT_SCHEME, rules: coll.CollectionRules = coll.DEFAULT_RULES) -> pl.DataFrame:
    """The scorecard from the period's per-collector KPIs (``collection_kpis(by="collector")`` for one period),
    its cases and its actions. Pure Polars: the unit under test."""
    mix = collector_mix(case_rows, scheme)
    values = _kpi_values(kpis, mix, _violations(acts, scheme), scheme, rules)
    vetoed = pl.col("collector_id").is_in(list(scheme.veto_collectors))
    scored = (
        values.with_columns(_kpi_score(k, scheme.cap) for k in scheme.kpis)
        .with_columns(_group_score(scheme.kpis, g) for g in GROUPS)
        .with_columns(
            ((pl.col("violations") >= scheme.veto_violations) | vetoed).alias("veto"),
            pl.when(vetoed).then(pl.lit("listed"))
            .when(pl.col("violations") >= scheme.veto_violations).then(pl.lit("contact_frequency"))
            .alias("veto_reason"))
        .with_columns(_total(scheme))
    )
    return _tiers(scored, scheme).sort("peer_group", "rank", "collector_id")


def collector_scorecard(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
                        scheme: Scheme = DEFAULT_SCHEME, branches: tuple[str, ...] = (),
                        products: tuple[str, ...] = (), as_of: dt.date | None = None,
                        rules: coll.CollectionRules = coll.DEFAULT_RULES) -> pl.DataFrame:
    """The scorecard of every collector with cases in [month_from, month_to] (one period)."""
    freq = "month" if month_from == month_to else "quarter"
    frames = coll.base_frames(con, month_from=month_from, month_to=month_to, branches=branches, products=products,
                              as_of=as_of, rules=rules)
    kpis = coll.kpis_from_frames(frames, month_from=month_from, month_to=month_to, by="collector", freq=freq,
                                 rules=rules)
    kpis = kpis.group_by("collector_id", "collector_name", "team", "collector_branch").agg(
        pl.col(c).sum() for c in ("cases_assigned", "cases_worked", "entry_balance", "recovered_balance", "cash",
                                  "cost", "attempts", "connected", "rpc", "ptp", "ptp_due", "ptp_kept",
                                  "working_days", "cei_num", "cei_den"))
    kpis = kpis.with_columns(
        safe_div("cases_worked", "cases_assigned").alias("coverage"),
        safe_div("connected", "attempts").alias("contact_rate"),
        safe_div("rpc", "attempts").alias("rpc_rate"),
        safe_div("ptp", "rpc").alias("ptp_rate"),
        safe_div("ptp_kept", "ptp_due").alias("ptp_kept_rate_count"),
        safe_div("cost", "cash").alias("cost_to_collect"),
        (safe_div("cei_num", "cei_den") * 100).alias("cei"),
        pl.col("cash", "cost", "entry_balance", "recovered_balance").cast(MONEY),
    ).filter(pl.col("cases_assigned") > 0)
    return score_collectors(kpis, frames.cases, frames.actions, scheme=scheme, rules=rules)


def score_components(card: pl.DataFrame, *, scheme: Scheme = DEFAULT_SCHEME) -> pl.DataFrame:
    """Why each collector scores as it does: one row per collector and KPI with value, target, attainment,
    coefficient, score, the KPI's effective weight in the total and its points (Σ points = total unless vetoed)."""
    total_w = sum(scheme.group_weights)
    group_w = dict(zip(GROUPS, (w / total_w for w in scheme.group_weights), strict=True))
    rows = []
    for k in scheme.kpis:
        members = [m for m in scheme.kpis if m.group == k.group and m.weight > 0]
        present = pl.sum_horizontal([pl.when(pl.col(f"{m.code}_score").is_not_null()).then(m.weight).otherwise(0)
                                     for m in members]) if members else pl.lit(0.0)
        weight = safe_div(pl.when(pl.col(f"{k.code}_score").is_not_null()).then(k.weight).otherwise(0.0),
                          present) * group_w[k.group]
        rows.append(card.select(
            "collector_id", pl.lit(k.group).alias("group"), pl.lit(k.code).alias("kpi"),
            pl.col(k.code).cast(pl.Float64).alias("value"), pl.lit(k.target).alias("target"),
            pl.col("difficulty").fill_null(1.0).alias("coefficient") if k.group == "result"
            else pl.lit(1.0).alias("coefficient"),
            pl.col(f"{k.code}_score").alias("score"), weight.fill_null(0.0).alias("weight"),
            pl.col("veto"),
        ))
    out = pl.concat(rows).with_columns(
        pl.when(pl.col("veto")).then(0.0).otherwise(pl.col("score").fill_null(0) * pl.col("weight")).alias("points"),
        (pl.col("score") / 100).alias("attainment_capped"))
    return out.sort("collector_id", "group", "kpi")


def team_scores(card: pl.DataFrame, *, by: str = "team") -> pl.DataFrame:
    """Teams (or branches, ``by="collector_branch"``) ranked by their collectors' case-weighted total score."""
    return (card.group_by(by).agg(
        pl.len().alias("collectors"), pl.col("cases_assigned").sum(),
        safe_div((pl.col("total") * pl.col("cases_assigned")).sum(), pl.col("cases_assigned").sum()).alias("score"),
        (pl.col("tier") == "reward").sum().alias("reward"), (pl.col("tier") == "penalty").sum().alias("penalty"))
        .with_columns(pl.col("score").rank("min", descending=True).cast(pl.Int64).alias("rank"))
        .sort("rank", by))


# --- daily / weekly targets ------------------------------------------------------------------------------------


def target_attainment(con: duckdb.DuckDBPyConnection, *, month_from: dt.date, month_to: dt.date,
                      freq: str = "week", scheme: Scheme = DEFAULT_SCHEME, branches: tuple[str, ...] = (),
                      products: tuple[str, ...] = (), rules: coll.CollectionRules = coll.DEFAULT_RULES
                      ) -> pl.DataFrame:
    """Per collector and working day (``freq="day"``) or week (Monday, ``"week"``): contacts and cash against
    the peer group's daily contacts and weekly amount targets. Weekend days carry no target; a week's
    target counts its working days inside the period (so a week split by the period end is pro-rated)."""
    if freq not in ("day", "week"):
        raise ValueError("freq must be 'day' or 'week'")
    acts = coll.actions(con, month_from=month_from, month_to=month_to, branches=branches, products=products)
    case_rows = coll.cases(con, month_from=month_from, month_to=month_to, branches=branches, products=products)
    peers = collector_mix(case_rows, scheme).select("collector_id", "peer_group")
    contact = pl.col("channel").is_in(rules.contact_channels)
    hit = contact & pl.col("outcome").is_in(rules.rpc_outcomes) if rules.contact_measure == "rpc" else contact
    first, last = month_from, coll.month_end(month_to)
    days = pl.DataFrame({"day": pl.date_range(first, last, eager=True)}).with_columns(
        (pl.col("day").dt.weekday() <= 5).alias("working"))
    bucket = pl.col("day").dt.truncate("1w") if freq == "week" else pl.col("day")
    calendar = days.with_columns(bucket.alias("period")).group_by("period").agg(
        pl.col("working").sum().cast(pl.Int64).alias("working_days"))
    done = (acts.with_columns(pl.col("action_date").alias("day")).with_columns(bucket.alias("period"))
            .group_by("collector_id", "period").agg(hit.sum().alias("contacts"),
                                                     pl.col("amount_collected").sum().cast(MONEY).alias("cash")))
    targets = _per_peer(scheme, scheme.daily_contacts, "daily_contacts_target").join(
        _per_peer(scheme, scheme.weekly_amount, "weekly_amount_target"), on="peer_group")
    grid = peers.join(calendar, how="cross").join(targets, on="peer_group", how="left")
    out = (grid.join(done, on=["collector_id", "period"], how="left")
           .with_columns(pl.col("contacts").fill_null(0), pl.col("cash").fill_null(0).cast(MONEY))
           .with_columns((pl.col("daily_contacts_target") * pl.col("working_days")).alias("contacts_target"),
                         (pl.col("weekly_amount_target") * pl.col("working_days") / 5).alias("amount_target"))
           .with_columns(safe_div("contacts", "contacts_target").alias("contacts_attainment"),
                         safe_div("cash", "amount_target").alias("amount_attainment")))
    return out.select("collector_id", "peer_group", "period", "working_days", "contacts", "contacts_target",
                      "contacts_attainment", "cash", "amount_target", "amount_attainment").sort(
        "collector_id", "period")

