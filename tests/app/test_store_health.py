"""The app with a damaged store (issue 9 item 6) and the Host header allow-list (item 11)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analytics.core import store
from tests.conftest import ROOT


@pytest.fixture()
def damaged_store(demo_root, tmp_path, monkeypatch) -> tuple[Path, str]:
    root = tmp_path / "data"
    shutil.copytree(demo_root, root)
    rel = store.current_manifest(root)["tables"]["snapshots"][-2]
    path = root / rel
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # one truncated month file
    monkeypatch.setenv(store.DATA_ENV, str(root))
    return root, rel


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_one_truncated_month_names_the_file_and_keeps_the_import_page(app_test, damaged_store, lang):
    root, rel = damaged_store
    assert store.damaged_files(root) == [rel]
    at = app_test(lang=lang)
    assert not at.exception, at.exception
    message = " ".join(e.value for e in at.error)
    assert rel in message and ("数据导入" in message or "Data import" in message)
    # The import page (the repair) is the page shown, and the only one offered.
    assert at.title[0].value == ("数据导入" if lang == "zh" else "Data import")
    at.switch_page("pages/data_import.py").run()
    assert not at.exception, at.exception


def test_damaged_month_repaired_by_undoing_its_load_on_the_page(app_test, tmp_path, monkeypatch):
    from tests.ingest.files import APR_ROWS, BRANCHES_CSV, LOANS_CSV, SNAP_HEADER, SNAP_ROWS, load

    root = tmp_path / "data"
    load(root, BRANCHES_CSV, "b.csv", "branches")
    load(root, LOANS_CSV, "l.csv", "loans", encoding="gbk")
    load(root, SNAP_HEADER + SNAP_ROWS, "m3.csv", "snapshots")
    april = load(root, SNAP_HEADER + "\n".join(APR_ROWS) + "\n", "m4.csv", "snapshots")
    rel = store.current_manifest(root)["tables"]["snapshots"][-1]
    (root / rel).write_bytes(b"PAR1 truncated")
    monkeypatch.setenv(store.DATA_ENV, str(root))
    at = app_test(lang="en")
    assert any(rel in e.value for e in at.error)
    assert at.selectbox(key="imp_restore_id").value == april.change_id  # the latest change by default
    at.button(key="imp_restore").click().run()
    assert not at.exception, at.exception
    assert any(f"Restored {april.change_id}: table snapshots, months 2024-04" in s.value for s in at.success)
    assert store.damaged_files(root) == []
    at.run()
    assert not any(rel in e.value for e in at.error)


def test_store_with_damaged_file_raises_a_named_error_on_connect(damaged_store):
    root, rel = damaged_store
    try:
        con = store.connect(root)
        store.query(con, "SELECT count(*) FROM snapshots")
    except store.StoreDamaged as exc:
        assert exc.files == [rel]
    except Exception as exc:  # DuckDB reads footers lazily: a query error must still name the file
        assert Path(rel).parent.name in str(exc), exc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_refuses_other_host_names(demo_root):
    """DNS rebinding: a page of another name pointed at 127.0.0.1 must not get a session (server.allowedHosts
    in .streamlit/config.toml; Streamlit checks it on the WebSocket handshake)."""
    import asyncio

    import websockets

    port = _free_port()
    env = {**os.environ, store.DATA_ENV: str(demo_root)}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)

        async def handshake(host: str) -> bool:
            # The socket goes to 127.0.0.1 whatever the name: what a rebound DNS name does in a browser.
            sock = socket.create_connection(("127.0.0.1", port))
            try:
                async with websockets.connect(f"ws://{host}/_stcore/stream", sock=sock, open_timeout=20,
                                              origin=f"http://{host}", subprotocols=["streamlit"]):
                    return True
            except websockets.InvalidStatus as exc:
                assert exc.response.status_code == 403
                return False

        assert asyncio.run(handshake(f"127.0.0.1:{port}"))
        assert asyncio.run(handshake(f"localhost:{port}"))
        assert not asyncio.run(handshake(f"rebind.attacker.example:{port}"))
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_undo_box_follows_the_latest_change_and_refuses_broken_references(app_test, tmp_path, monkeypatch, lang):
    from tests.ingest.files import BRANCHES_CSV, LOANS_CSV, load

    root = tmp_path / "data"
    branches = load(root, BRANCHES_CSV, "b.csv", "branches")
    monkeypatch.setenv(store.DATA_ENV, str(root))
    at = app_test("pages/data_import.py", lang=lang)
    assert at.selectbox(key="imp_restore_id").value == branches.change_id
    loans = load(root, LOANS_CSV, "l.csv", "loans", encoding="gbk")  # meanwhile, another window
    at.run()
    assert at.selectbox(key="imp_restore_id").value == loans.change_id  # not stuck on the first load
    at.selectbox(key="imp_restore_id").select(branches.change_id).run()
    assert any("branch_id" in w.value for w in at.warning)  # the reason is shown before the click
    at.button(key="imp_restore").click().run()
    assert not at.exception, at.exception
    assert any("branches.branch_id" in e.value for e in at.error)
    assert store.has_table(root, "branches")


def test_browser_gets_no_tracebacks_and_only_local_host_names():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"  # no exception text, type or server paths
    assert config["server"]["address"] == "127.0.0.1"
    assert set(config["server"]["allowedHosts"]) == {"localhost", "127.0.0.1", "[::1]"}
