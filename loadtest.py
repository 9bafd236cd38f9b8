"""A bounded load test of the dashboard: N concurrent browser-like sessions on 127.0.0.1.

    python -m loadtest --sessions 1,5,10 [--reruns 6] [--data DIR] [--port 8765] [--url ws://127.0.0.1:8501]

Each session opens Streamlit's WebSocket (``/_stcore/stream``, what the browser does), then asks for a
page run after run (overview, classification, aging, vintage, roll rates, trends, causes, drill-down in
turn) and times each rerun from the request to Streamlit's ``script_finished`` message: the server-side
page latency a user waits for (rendering in the browser not included). Sessions of one level run at the
same time; levels run one after the other. Bounded: ``--reruns`` reruns per session (default 6), at most
``--timeout`` seconds per rerun (default 120), at most 20 sessions. Without ``--url`` it starts its own server
on ``--port`` over ``--data`` (default ``$OVERDUE_DATA_DIR``) and stops it at the end.

Lives at the top level (like app.py) because it speaks Streamlit's protocol: ``analytics`` never imports
streamlit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

# "" is the default page (the overview), which a browser opens first: a first run naming a page of pages/
# would take Streamlit's legacy multipage path (see app.py).
PAGES = ("", "classification", "aging", "vintage", "rollrate", "trends", "causes", "drilldown", "overview")
MAX_SESSIONS = 20


async def _session(url: str, reruns: int, timeout: float, out: list[tuple[str, float]], errors: list[str]) -> None:
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async with websockets.connect(url + "/_stcore/stream", subprotocols=["streamlit"], max_size=None,
                                  open_timeout=timeout) as ws:
        for i in range(reruns):
            msg = BackMsg()
            page = PAGES[i % len(PAGES)]
            msg.rerun_script.page_name = page
            msg.rerun_script.query_string = ""
            started = time.perf_counter()
            await ws.send(msg.SerializeToString())
            deadline = started + timeout
            while True:
                raw = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.perf_counter()))
                fwd = ForwardMsg()
                fwd.ParseFromString(raw)
                kind = fwd.WhichOneof("type")
                if kind == "delta" and fwd.delta.new_element.WhichOneof("type") == "exception":
                    errors.append(fwd.delta.new_element.exception.message[:200])
                if kind == "script_finished":
                    break
            out.append((page or "(default)", time.perf_counter() - started))


async def _level(url: str, sessions: int, reruns: int, timeout: float) -> tuple[list[tuple[str, float]], list[str]]:
    out: list[tuple[str, float]] = []
    errors: list[str] = []
    await asyncio.gather(*(_session(url, reruns, timeout, out, errors) for _ in range(sessions)))
    return out, errors


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(port: int, data: str | None) -> subprocess.Popen:
    env = dict(os.environ)
    if data:
        env["OVERDUE_DATA_DIR"] = data
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true", "--server.address", "127.0.0.1"],
                            cwd=Path(__file__).parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the Streamlit server did not start")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", default="1,5,10", help="concurrent sessions per level, comma-separated")
    p.add_argument("--reruns", type=int, default=6, help="page reruns per session")
    p.add_argument("--timeout", type=float, default=120, help="seconds allowed per rerun")
    p.add_argument("--url", help="a running server (ws://127.0.0.1:8501); else one is started")
    p.add_argument("--port", type=int, help="port of the started server (default: a free one)")
    p.add_argument("--data", help="data folder of the started server (default $OVERDUE_DATA_DIR)")
    p.add_argument("--by-page", action="store_true", help="also print p50/p95 per page for each level")
    args = p.parse_args(argv)
    levels = [int(x) for x in args.sessions.split(",") if x.strip()]
    if any(n < 1 or n > MAX_SESSIONS for n in levels):
        p.error(f"sessions must be between 1 and {MAX_SESSIONS}")
    proc = None
    url = args.url
    if url is None:
        port = args.port or _free_port()
        proc = _start_server(port, args.data)
        url = f"ws://127.0.0.1:{port}"
    try:
        asyncio.run(_level(url, 1, 2, args.timeout))  # warm-up: imports and first caches, not measured
        print("sessions  reruns  p50_s  p95_s  max_s  errors")
        for n in levels:
            runs, errors = asyncio.run(_level(url, n, args.reruns, args.timeout))
            times = [t for _, t in runs]
            print(f"{n:8d}  {len(times):6d}  {statistics.median(times):5.2f}  {_p(times, 0.95):5.2f}  "
                  f"{max(times):5.2f}  {len(errors)}")
            if args.by_page:
                for page in dict.fromkeys(name for name, _ in runs):
                    t = [x for name, x in runs if name == page]
                    print(f"          {page:<15} n={len(t):3d}  p50 {statistics.median(t):5.2f}  "
                          f"p95 {_p(t, 0.95):5.2f}  max {max(t):5.2f}")
            for e in errors[:3]:
                print("   error:", e)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
