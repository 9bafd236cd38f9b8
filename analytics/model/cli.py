"""``python -m analytics.model train | evaluate | score | fit-table``.

    train      fit both models on the store, validate out of time, write an artifact (default <data>/_models/)
    evaluate   re-validate the newest artifact on the store as it is now (metrics on newer months, PSI/CSI)
    score      score every loan on the book at a month into <out>/scores-YYYY-MM.parquet
    fit-table  fit the same pipeline on any CSV/Parquet with one row per observation
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time
from pathlib import Path

import polars as pl

from analytics.core import store
from analytics.model import artifact, scoring, training
from analytics.model import features as feat


def _month(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y-%m").date()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _print_metrics(report: dict) -> None:
    for name, m in report["metrics"].items():
        auc = "n/a" if m["auc"] is None else f"{m['auc']:.4f}"
        ks = "n/a" if m["ks"] is None else f"{m['ks']:.4f}"
        print(f"  {name:<20} n={m['n']:>9,} bads={m['bads']:>7,} AUC={auc} KS={ks} Brier={m['brier']:.4f} "
              f"mean PD={m['mean_pd']:.4f} observed={m['bad_rate']:.4f}")


def _models_out(args) -> Path:
    return Path(args.out) if args.out else artifact.models_dir(args.data)


def cmd_train(args) -> int:
    root = store.data_root(args.data)
    if not store.has_data(root):
        print(f"{root} holds no loan data", file=sys.stderr)
        return 1
    started = time.perf_counter()
    con = store.open_store(root)  # the configured engine ($OVERDUE_ENGINE)
    try:
        fitted = training.train_store(con, horizon=args.horizon, history=args.history, max_rows=args.max_rows,
                                      max_iter=args.max_iter)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        con.close()
    path = artifact.save(fitted, _models_out(args), contract=artifact.store_contract(),
                         data_version=store.data_version(root))
    (path / "report.md").write_text(training.markdown(fitted.report), encoding="utf-8")
    print(f"trained on {root} in {time.perf_counter() - started:.1f} s (peak memory {_peak_mb():.0f} MB)")
    warmed = time.perf_counter()
    month = scoring.warm_latest(root, artifact.load(path, contract=artifact.store_contract()))
    if month is not None:
        print(f"scored the book of {month:%Y-%m} for the app in {time.perf_counter() - warmed:.1f} s")
    print(f"windows {fitted.report['card']['windows']}; out-of-time test:")
    _print_metrics(fitted.report)
    print(f"wrote {path}")
    return 0


def _load(args, models: Path) -> artifact.Artifact:
    path = Path(args.model) if args.model else artifact.latest(models)
    if path is None:
        raise artifact.ArtifactError("missing", f"no model under {models}: run train first")
    return artifact.load(path, contract=artifact.store_contract())


def cmd_evaluate(args) -> int:
    root = store.data_root(args.data)
    try:
        model = _load(args, _models_out(args))
    except artifact.ArtifactError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    started = time.perf_counter()
    con = store.open_store(root)  # the configured engine ($OVERDUE_ENGINE)
    try:
        fitted = training.Fitted(model.model, model.calibrated, model.scorecard, model.report)
        result = training.evaluate_store(con, fitted)
    finally:
        con.close()
    result["data_version"] = store.data_version(root)
    out = model.path / f"evaluation-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    print(f"evaluated {model.version} on {root} in {time.perf_counter() - started:.1f} s; months {result['months']}")
    if result["metrics"]:
        _print_metrics(result)
    worst = sorted(result["stability"], key=lambda r: -r["psi"])[:5]
    for row in worst:
        print(f"  PSI/CSI {row['month']} {row['variable']:<24} {row['psi']:.4f} ({row['level']})")
    print(f"wrote {out}")
    return 0


def cmd_score(args) -> int:
    root = store.data_root(args.data)
    try:
        model = _load(args, artifact.models_dir(args.data))
    except artifact.ArtifactError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    started = time.perf_counter()
    con = store.open_store(root)  # the configured engine ($OVERDUE_ENGINE)
    try:
        month = args.month or store.months(con)[-1]
        scores = scoring.score_month(con, month=month, model=model, reason_min_pd=args.reason_min_pd)
        scored_in = time.perf_counter() - started
        by_branch = scoring.expected_defaults(con, scores, month=month)
    finally:
        con.close()
    out_dir = Path(args.out) if args.out else model.path
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"scores-{month:%Y-%m}.parquet"
    scores.write_parquet(out, compression="zstd")
    with_reasons = scores.height - scores["reason_1"].null_count()
    print(f"scored {scores.height:,} loans at {month:%Y-%m} in {scored_in:.1f} s, {with_reasons:,} with reasons "
          f"(PD >= {args.reason_min_pd}); total {time.perf_counter() - started:.1f} s, "
          f"peak memory {_peak_mb():.0f} MB; mean PD {scores['pd'].mean():.4f}")
    with pl.Config(tbl_rows=50, tbl_cols=10):
        print(by_branch.select("branch_id", "loans", "expected_default_share_count",
                               "expected_default_share_balance", "in_default_count"))
    print(f"wrote {out}")
    return 0


def _read_table(path: Path) -> pl.DataFrame:
    if path.suffix.lower() in (".parquet", ".pq"):
        return pl.read_parquet(path)
    if path.suffix.lower() in (".csv", ".txt"):
        return pl.read_csv(path, try_parse_dates=True, infer_schema_length=10_000)
    raise ValueError(f"{path.name}: give a .csv or .parquet file")


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip()) if text else ()


def cmd_fit_table(args) -> int:
    path = Path(args.file)
    started = time.perf_counter()
    try:
        df = _read_table(path)
        spec = training.table_spec(df, target=args.target, time=args.time, columns=_names(args.features),
                                   increasing=_names(args.increasing), max_iter=args.max_iter)
        fitted = training.train_table(df, spec)
    except (ValueError, pl.exceptions.PolarsError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else path.with_name(f"{path.stem}_model")
    saved = artifact.save(fitted, out, contract=artifact.table_contract(fitted))
    (saved / "report.md").write_text(training.markdown(fitted.report), encoding="utf-8")
    split = "out of time on " + args.time if args.time else "random 60/20/20 (no --time column)"
    print(f"fitted {df.height:,} rows x {len(spec.features)} features ({split}) in "
          f"{time.perf_counter() - started:.1f} s; test window:")
    _print_metrics(fitted.report)
    print(f"wrote {saved}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analytics.model", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def store_args(sp):
        sp.add_argument("--data", default=None, help=f"store folder (default ${store.DATA_ENV} or <project>/data)")
        sp.add_argument("--out", default=None, help="artifact folder (default <data>/_models)")

    t = sub.add_parser("train", help="fit and validate on the store")
    store_args(t)
    t.add_argument("--horizon", type=int, default=feat.HORIZON, help="performance window H in months (default 12)")
    t.add_argument("--history", type=int, default=feat.LOOKBACK,
                   help="months of history an observation month needs in the store (default 12)")
    t.add_argument("--max-rows", type=int, default=training.MAX_TRAIN_ROWS,
                   help="observations kept (loans sampled above it; default %(default)s)")
    t.add_argument("--max-iter", type=int, default=300, help="boosting iterations (default 300)")
    t.set_defaults(run=cmd_train)

    e = sub.add_parser("evaluate", help="re-validate the newest artifact on the store")
    store_args(e)
    e.add_argument("--model", default=None, help="artifact folder (default: the newest under --out)")
    e.set_defaults(run=cmd_evaluate)

    s = sub.add_parser("score", help="score the book at a month")
    s.add_argument("--data", default=None, help=f"store folder (default ${store.DATA_ENV} or <project>/data)")
    s.add_argument("--out", default=None, help="folder of the scores file (default: the model's folder)")
    s.add_argument("--model", default=None, help="artifact folder (default: the newest under <data>/_models)")
    s.add_argument("--month", type=_month, default=None, metavar="YYYY-MM", help="default: the latest month")
    s.add_argument("--reason-min-pd", type=float, default=scoring.REASON_MIN_PD,
                   help="work out reasons for loans at or above this PD (default %(default)s)")
    s.set_defaults(run=cmd_score)

    f = sub.add_parser("fit-table", help="fit the same pipeline on your own table")
    f.add_argument("file", help="CSV or Parquet, one row per observation")
    f.add_argument("--target", required=True, help="0/1 column: 1 = defaulted within your horizon")
    f.add_argument("--time", default=None, help="observation time column: the split is then out of time")
    f.add_argument("--features", default=None, help="comma-separated feature columns (default: all others)")
    f.add_argument("--increasing", default=None, help="comma-separated features whose rise never lowers risk")
    f.add_argument("--max-iter", type=int, default=300, help="boosting iterations (default 300)")
    f.add_argument("--out", default=None, help="artifact folder (default <file>_model next to the file)")
    f.set_defaults(run=cmd_fit_table)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)
