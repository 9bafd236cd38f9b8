"""Per-change time of each scenario function (``python -m analytics.tools.benchmark_scenarios --data DIR``).

A change on the scenario page recomputes one scenario function (the page caches every result): this times each
of them, on the whole book and on one branch, median of ``--repeat`` runs after a warm-up run. Figures go to
docs/benchmarks.md with the machine load (``os.getloadavg``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import polars as pl

from analytics.core import store
from analytics.metrics.provisioning import MOF_2012
from analytics.scenario import capacity, classification, disposal, projection
from analytics.scenario import provisioning as sp
from analytics.scenario import warning as sw
from analytics.warning import rules as R


def cases(con, month, branch: tuple[str, ...]) -> list[tuple[str, callable, dict]]:
    changed = R.default_rules()
    changed["signals"]["cross_91"]["days"] = 45
    s = {"branches": branch}
    return [
        ("provisioning (MoF 2012 rates)", sp.compare_rates, {"month": month, "scenario": MOF_2012, **s}),
        ("classification (NPL at 60 DPD, cards at 30)", classification.compare,
         {"month": month, "npl_dpd": 60, "product_dpd": (("credit_card", 30),), **s}),
        ("projection (4 quarters, levers)", projection.compare,
         {"month": month, "cure_pp": 0.05, "current_m1_cut": 0.1, "new_lending": 1e8, **s}),
        ("projection backtest (6 origins x 3 months)", projection.backtest, s),
        ("capacity (3 months of cases)", capacity.compare, {"month": month, "collectors": ((1, 50.0),), **s}),
        ("disposal: read the secured NPLs (once per slice)", disposal.secured_npls, {"month": month, **s}),
        ("disposal: observed restructuring cure (once per slice)", disposal.observed_cure, {"month": month, **s}),
        ("disposal: evaluate the routes (per change)", lambda con, **kw: disposal.evaluate(**kw),
         {"loans": disposal.secured_npls(con, month=month, **s), "seen": {"restructured": 0, "cured": 0},
          "assumptions": disposal.Assumptions(transfer_price=0.5)}),
        ("warning thresholds (1 backtest x 6 months)", sw.trade_off, {"rules": R.dumps(changed), "months": 6, **s}),
        ("warning thresholds (1 backtest x 12 months)", sw.trade_off, {"rules": R.dumps(changed), "months": 12, **s}),
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    con = store.connect(args.data)
    month = store.months(con)[-1]
    first = store.query(con, "SELECT min(branch_id) AS b FROM branches")["b"][0]
    print(f"load before: {os.getloadavg()}")
    for scope, branch in (("all branches", ()), (f"branch {first}", (first,))):
        for name, fn, kwargs in cases(con, month, branch):
            fn(con, **kwargs)
            runs = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                fn(con, **kwargs)
                runs.append(time.perf_counter() - t)
            print(f"| {name} | {scope} | {statistics.median(runs):.2f} s |", flush=True)
    ecl(con, month, args.data)
    print(f"load after: {os.getloadavg()}")


def ecl(con, month, root: Path) -> None:
    """ECL needs a trained model (``python -m analytics.model train --data DIR``); skipped without one.

    The app scores a month's whole book once per model and data version (training does it for the newest month)
    and keeps it in a file next to the model (``scoring.cached_book_scores``); a slice or an LGD change then costs
    a filter, one query and a pure recomputation. Timed here: the scoring, the file read, and per change."""
    import tempfile

    from analytics.model import artifact, scoring

    path = artifact.latest(artifact.models_dir(root))
    if path is None:
        print("| ECL | (no model under <data>/_models: skipped) | |")
        return
    model = artifact.load(path, contract=artifact.store_contract())
    t = time.perf_counter()
    book = scoring.book_scores(con, month=month, model=model)
    print(f"| provisioning ECL: score the whole book (once per month, model and data version) | all branches | "
          f"{time.perf_counter() - t:.2f} s |", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "book.parquet"
        book.write_parquet(file)
        t = time.perf_counter()
        book = pl.read_parquet(file)
        print(f"| provisioning ECL: read the scored book from its file (after a restart) | all branches | "
              f"{time.perf_counter() - t:.2f} s |", flush=True)
    first = store.query(con, "SELECT min(branch_id) AS b FROM branches")["b"][0]
    lgd = (("credit", 0.7), ("guarantee", 0.5), ("mortgage", 0.3), ("pledge", 0.4))
    for scope, branch in (("all branches", ()), (f"branch {first}", (first,))):
        def change(branch=branch):
            base = sp.rates_by_branch(con, month=month, branches=branch)
            inputs = sp.ecl_inputs_of(con, book, month=month, branches=branch)
            return base, inputs
        _median("provisioning ECL: a slice change (the slice's loans joined to the book)", scope, change)
        base, inputs = change()
        _median("provisioning ECL: an LGD change (per change)", scope,
                lambda base=base, inputs=inputs: sp.compare_ecl_frames(base, inputs, lgd=lgd))


def _median(name: str, scope: str, fn, repeat: int = 3) -> None:
    fn()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    print(f"| {name} | {scope} | {statistics.median(runs):.2f} s |", flush=True)


if __name__ == "__main__":
    main()
