"""Store integrity (issue 9): a kill at any point of a load, a restore or a derived rebuild leaves the
previous version or the new one, derived tables included, with no manual step; readers during loads
always see one consistent version; restores that would break the store are refused."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import derived, ingest
from analytics.core import manifest, schema, store
from analytics.derived import REGISTRY
from analytics.derived.builder import compute
from analytics.ingest import LoadRejected
from tests.ingest.files import APR_ROWS, BRANCHES_CSV, LOANS_CSV, SNAP_HEADER, SNAP_ROWS, load

NEW_MONTHS = SNAP_HEADER + SNAP_ROWS.replace("70.5", "33") + SNAP_ROWS.replace("2024/3/31", "2024/5/31")


def content(root: Path) -> dict[str, str]:
    """What a reader sees: every base and derived view's rows (sorted), hashed by name."""
    con = store.connect(root)
    try:
        out = {}
        for name in [*schema.TABLES, *REGISTRY]:
            if derived.has_view(con, name):
                rows = con.sql(f"SELECT * FROM {name} ORDER BY ALL").fetchall()  # noqa: S608 - known names
                out[name] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()


def assert_derived_match_base(root: Path) -> None:
    """Every derived table a reader sees equals the same table computed from the base tables it sees."""
    con = store.connect(root)
    try:
        for name, table in REGISTRY.items():
            if derived.has_view(con, name):
                view = store.query(con, f"SELECT * FROM {name}", schema=table.schema)  # noqa: S608
                assert_frame_equal(view.sort(pl.all()), compute(con, name).sort(pl.all()))
    finally:
        con.close()


def assert_clean(root: Path) -> None:
    """Nothing a crash can leave behind: temp files, unpublished versions, old-layout temp folders."""
    published = {m["change"].get("change_id") for m in manifest.published_versions(root)}
    folders = {p.name for p in (root / manifest.DATA_DIR).iterdir()} if (root / manifest.DATA_DIR).is_dir() else set()
    assert folders <= published
    cur = manifest.read_current(root)
    assert all(int(p.stem) <= cur["version"] for p in (root / "_meta" / "versions").glob("*.json"))
    assert not list((root / "_meta").rglob("*.tmp")) and not list(root.glob(".derived-*"))


@pytest.fixture(scope="module")
def old_store(tmp_path_factory) -> tuple[Path, str]:
    """Branches, loans, March loaded and replaced, April added. Returns (root, id of the March replacement)."""
    root = tmp_path_factory.mktemp("integrity") / "data"
    load(root, BRANCHES_CSV, "机构.csv", "branches")
    load(root, LOANS_CSV, "借据.csv", "loans", encoding="gbk")
    load(root, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    replaced = load(root, SNAP_HEADER + SNAP_ROWS.replace("70.5", "60"), "m3b.csv", "snapshots", replace=True)
    load(root, SNAP_HEADER + "\n".join(APR_ROWS) + "\n", "m4.csv", "snapshots")
    return root, replaced.change_id


def _without_derived(src: Path, root: Path) -> Path:
    shutil.copytree(src, root)
    with manifest.locked(root):
        cur = manifest.read_current(root)
        manifest.publish(root, cur, manifest.new_change_id(), cur["tables"], {}, {"kind": "derive"})
    return root


def _child(op: str, root: str, data: bytes | None, arg: str | None, kill_at: int, out: str) -> None:
    from tests.ingest import crash

    steps = crash.run_op(op, root, data, arg, kill_at)
    Path(out).write_text(json.dumps(steps), encoding="utf-8")


@pytest.fixture(scope="module")
def forkserver():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.ingest.crash"])  # polars, duckdb and the store imported once
    return ctx


def _run(ctx, op, root: Path, data, arg, kill_at: int, out: Path) -> int:
    proc = ctx.Process(target=_child, args=(op, str(root), data, arg, kill_at, str(out)))
    proc.start()
    proc.join(120)
    assert not proc.is_alive()
    return proc.exitcode


def _kill_points(steps: list[str], n: int = 5) -> list[int]:
    """About ``n`` points spread over the whole change, plus every step next to a manifest or log write."""
    total = len(steps)
    spread = {1 + round(i * (total - 1) / (n - 1)) for i in range(n)}
    near = {k for i, s in enumerate(steps, 1) if "current.json" in s or s == "log half" or "_meta/versions" in s
            for k in (i - 1, i, i + 1)}
    return sorted(k for k in spread | near if 1 <= k <= total)


@pytest.mark.parametrize("op", ["load", "restore", "derive"])
def test_kill_sweep_leaves_old_or_new_with_derived_tables_and_no_manual_step(op, old_store, forkserver, tmp_path):
    old_root, replaced_id = old_store
    if op == "derive":  # from a version without derived tables (a rebuild that failed): the rebuild adds them
        old_root = _without_derived(old_root, tmp_path / "no-derived")
    data = NEW_MONTHS.encode() if op == "load" else None
    arg = replaced_id if op == "restore" else None
    old = content(old_root)
    # The change run to its end: the NEW state, and the list of its steps.
    full = tmp_path / "full"
    shutil.copytree(old_root, full)
    assert _run(forkserver, op, full, data, arg, 0, tmp_path / "steps.json") == 0
    steps = json.loads((tmp_path / "steps.json").read_text(encoding="utf-8"))
    new = content(full)
    assert new != old and "loan_facts" in new
    # Derived tables agree with their base tables in both states; a killed copy whose every view hashes the
    # same as one of them (the check below) therefore agrees too.
    assert_derived_match_base(old_root)
    assert_derived_match_base(full)
    seen = set()
    points = _kill_points(steps)
    print(f"{op}: {len(steps)} steps, killed after {points}")
    for k in points:
        root = tmp_path / f"k{k}"
        shutil.copytree(old_root, root)
        assert _run(forkserver, op, root, data, arg, k, tmp_path / "unused.json") == 9, steps[k - 1]
        # A reader, with no recovery step run: exactly OLD or exactly NEW, derived tables matching.
        got = content(root)
        assert got in (old, new), f"killed after step {k}/{len(steps)}: {steps[k - 1]}"
        state = "new" if got == new else "old"
        seen.add(state)
        # The next operation (here ``recover``; every load and restore runs it first) cleans up.
        ingest.recover(root)
        assert content(root) == got
        assert_clean(root)
        if op != "derive":  # a published change is in the history even when its log line was cut off
            kinds = ingest.history(root)["kind"].to_list()
            want = {"load": 6, "restore": 6}[op] if state == "new" else 5
            assert len(kinds) == want, (k, steps[k - 1], kinds)
            log = (root / "_meta" / "import_log.jsonl").read_text(encoding="utf-8")
            assert all(json.loads(line) for line in log.splitlines())  # a torn line was ended, not continued
        shutil.rmtree(root)
    assert seen == {"old", "new"}


def test_first_change_of_an_old_layout_store_is_atomic_too(tmp_path, forkserver):
    """A store written in place (the demo generator's layout) becomes version 1 on its first change."""
    base = tmp_path / "base"
    load(base, BRANCHES_CSV, "机构.csv", "branches")
    load(base, LOANS_CSV, "借据.csv", "loans", encoding="gbk")
    legacy = tmp_path / "legacy"
    for name in ("branches", "loans"):
        store.write_table(legacy, name, store.query(store.connect(base), f"SELECT * FROM {name}"))  # noqa: S608
    store.write_table(legacy, "snapshots", store.query(store.connect(base), "SELECT * FROM snapshots"))
    old = content(legacy)
    data = (SNAP_HEADER + SNAP_ROWS).encode()
    full = tmp_path / "full"
    shutil.copytree(legacy, full)
    assert _run(forkserver, "load", full, data, None, 0, tmp_path / "steps.json") == 0
    steps = json.loads((tmp_path / "steps.json").read_text(encoding="utf-8"))
    new = content(full)
    points = _kill_points(steps, n=3)
    print(f"legacy load: {len(steps)} steps, killed after {points}")
    for k in points:
        root = tmp_path / f"k{k}"
        shutil.copytree(legacy, root)
        assert _run(forkserver, "load", root, data, None, k, tmp_path / "unused.json") == 9
        assert content(root) in (old, new)
        ingest.recover(root)
        assert_clean(root) if manifest.read_current(root) else None
        shutil.rmtree(root)


# --- restores that would break the store (issue 9 item 3, issue 8 item 19) -----------------------------------


def test_restore_that_would_orphan_rows_is_refused_with_the_reason(tmp_path):
    root = tmp_path / "data"
    load(root, BRANCHES_CSV, "机构.csv", "branches")
    loans = load(root, LOANS_CSV, "借据.csv", "loans", encoding="gbk")
    load(root, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    before = content(root)
    with pytest.raises(LoadRejected) as info:
        ingest.restore(root, loans.change_id)  # the loans the March snapshots use would disappear
    msg = info.value.message("en")
    assert "3 rows of snapshots" in msg and "loan_id" in msg and "L1, L2, L3" in msg
    assert "snapshots 表有 3 行" in info.value.message("zh")
    assert content(root) == before
    plan = ingest.committing.restore_plan(root, loans.change_id)
    assert plan["broken"][0]["table"] == "snapshots"


def test_undo_branches_while_loans_reference_them_is_refused(tmp_path):
    root = tmp_path / "data"
    branches = load(root, BRANCHES_CSV, "机构.csv", "branches")
    load(root, LOANS_CSV, "借据.csv", "loans", encoding="gbk")
    with pytest.raises(LoadRejected, match="rows of loans would have a branch_id with no branches.branch_id"):
        ingest.restore(root, branches.change_id)


def test_restoring_an_older_load_of_a_month_needs_confirmation(tmp_path):
    root = tmp_path / "data"
    load(root, BRANCHES_CSV, "机构.csv", "branches")
    load(root, LOANS_CSV, "借据.csv", "loans", encoding="gbk")
    first = load(root, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    second = load(root, SNAP_HEADER + SNAP_ROWS.replace("70.5", "60"), "m3b.csv", "snapshots", replace=True)
    before = content(root)
    with pytest.raises(LoadRejected, match=f"Newer changes of the same table and months follow.*{second.change_id}"):
        ingest.restore(root, first.change_id)
    assert content(root) == before
    ingest.restore(root, first.change_id, confirm=True)  # explicitly confirmed: March is removed
    assert store.query(store.connect(root), "SELECT count(*) AS n FROM snapshots")["n"][0] == 0


def test_restore_id_with_a_path_is_refused(tmp_path):
    root = tmp_path / "data"
    first = load(root, BRANCHES_CSV, "机构.csv", "branches")
    for bad in (f"x/../{first.change_id}", f"./{first.change_id}", f"{first.change_id}/"):
        with pytest.raises(LoadRejected, match="no restorable change"):
            ingest.restore(root, bad)
    ingest.restore(root, first.change_id)
    with pytest.raises(LoadRejected):
        ingest.restore(root, f"x/../{first.change_id}")


# --- the import log and profiles (item 7) ------------------------------------------------------------------


def test_torn_log_line_never_breaks_history_restore_or_the_next_load(tmp_path):
    root = tmp_path / "data"
    first = load(root, BRANCHES_CSV, "机构.csv", "branches")
    log = root / "_meta" / "import_log.jsonl"
    with open(log, "ab") as f:
        f.write(b'{"change_id": "20240101-000000-abcdef", "kind": "lo')  # cut off by a power loss
    assert ingest.history(root)["change_id"].to_list() == [first.change_id]
    second = load(root, LOANS_CSV, "借据.csv", "loans", encoding="gbk")
    lines = log.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["change_id"] == second.change_id  # on a line of its own
    assert ingest.history(root)["change_id"].to_list() == [second.change_id, first.change_id]
    ingest.restore(root, second.change_id)
    assert ingest.history(root)["kind"].to_list()[0] == "restore"


def test_truncated_profile_is_skipped_and_named(tmp_path):
    from analytics.ingest import mapping

    root = tmp_path / "data"
    load(root, BRANCHES_CSV, "机构.csv", "branches", save_as="机构方案")
    (root / "_meta" / "profiles" / "坏.json").write_text('{"name": "坏", "tab', encoding="utf-8")
    assert [p.name for p in mapping.list_profiles(root)] == ["机构方案"]
    with pytest.raises(mapping.ProfileError, match="坏"):
        mapping.load_profile(root, "坏")
    assert ingest.history(root).height == 1


# --- readers during loads (item 2) -------------------------------------------------------------------------


def _overview_total(con) -> tuple[list, list, list]:
    """The overview's balance per month (from the derived cube), the same computed inline from the snapshots
    of the same connection, and the months of the snapshots."""
    from analytics.metrics import portfolio

    shown = portfolio.quality_by(con, by=("month",))
    inline = portfolio.summarise(compute(con, "quality_cube"), by=("month",))
    months = store.months(con)
    return shown["total_balance"].to_list(), inline["total_balance"].to_list(), [months, shown["month"].to_list()]


def test_readers_during_repeated_loads_see_one_consistent_version(tmp_path):
    import threading

    root = tmp_path / "data"
    load(root, BRANCHES_CSV, "机构.csv", "branches")
    load(root, LOANS_CSV, "借据.csv", "loans", encoding="gbk")
    load(root, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    totals_by_version: dict[str, list] = {}
    errors: list[str] = []
    reads: list[int] = []
    done = threading.Event()

    def reader():
        while not done.is_set():
            try:
                version = store.data_version(root)
                con = store.connect(root)
                try:
                    shown, inline, (months, cube_months) = _overview_total(con)
                finally:
                    con.close()
                if shown != inline or months != cube_months:
                    errors.append(f"mixed state: {shown} vs {inline}, {months} vs {cube_months}")
                totals_by_version.setdefault(version, []).append(shown)
                reads.append(1)
            except Exception as exc:  # any error a user would see
                errors.append(repr(exc))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(8):  # March replaced again and again, April added and replaced
            text = SNAP_HEADER + SNAP_ROWS.replace("70.5", str(10 + i))
            if i % 2:
                text += "\n".join(APR_ROWS).replace("70.5", str(20 + i)) + "\n"
            load(root, text, f"m{i}.csv", "snapshots", replace=True)
            if i == 4:
                derived.build(root)
    finally:
        done.set()
        for t in threads:
            t.join(60)
    assert not errors, errors[:5]
    assert len(reads) >= 4
    # The version a reader saw before opening says nothing (a load may publish in between); but within one
    # connection the derived and base tables always agree, which ``errors`` checked on every read.


def test_old_derived_files_are_removed_after_the_grace_period_only(tmp_path, monkeypatch):
    root = tmp_path / "data"
    load(root, BRANCHES_CSV, "机构.csv", "branches")
    load(root, LOANS_CSV, "借据.csv", "loans", encoding="gbk")
    first = load(root, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    con = store.connect(root)  # a reader pinned on this version
    load(root, SNAP_HEADER + SNAP_ROWS.replace("70.5", "60"), "m3b.csv", "snapshots", replace=True)
    old_derived = root / manifest.DATA_DIR / first.change_id / "derived"
    assert any(old_derived.rglob("*.parquet"))  # within the grace period: the pinned reader still works
    assert store.query(con, "SELECT count(*) AS n FROM loan_facts")["n"][0] == 3
    con.close()
    monkeypatch.setenv(manifest.GRACE_ENV, "0")
    ingest.recover(root)
    assert not old_derived.exists()
    assert (root / manifest.DATA_DIR / first.change_id / "snapshots").is_dir()  # base files: the undo history
    ingest.restore(root, first.change_id, confirm=True)


def test_old_layout_derived_folder_goes_after_the_grace_period(tmp_path, monkeypatch, demo_root):
    root = tmp_path / "data"
    for name in ("branches", "loans", "collectors", "snapshots"):
        store.write_table(root, name, store.query(store.connect(demo_root), f"SELECT * FROM {name}"))  # noqa: S608
    (root / "derived").mkdir()
    store.query(store.connect(demo_root), "SELECT * FROM loan_facts").write_parquet(root / "derived" / "loan_facts.parquet")
    assert store.current_manifest(root)["derived"]["loan_facts"]["files"] == ["derived/loan_facts.parquet"]
    derived.build(root)  # version 1: its own derived set
    assert (root / "derived" / "loan_facts.parquet").exists()  # still within the grace period
    monkeypatch.setenv(manifest.GRACE_ENV, "0")
    ingest.recover(root)
    assert not (root / "derived").exists()
    assert content(root)["loan_facts"]
