"""Page speed in a real browser: first visit, warm revisit and a sidebar filter change, per analysis page.

    python -m browserbench --data DIR [--rounds 3] [--branch B03]

Starts the app on a free 127.0.0.1 port over ``--data`` (a fresh server: every first visit is a cache miss),
opens it in Debian's Chromium through Playwright, and times, from the click to the end of the script run with
nothing stale on the page (what a user waits for, rendering included):

- first visit: each of the eight analysis pages opened once from the navigation;
- warm revisit: the same pages again (everything cached);
- filter change: on each page, the sidebar branch filter set to ``--branch`` and then cleared again.

``--rounds`` repeats the revisit and filter rounds; the table (Markdown, for docs/benchmarks.md) shows the p50
and the worst of each, and the CPU time the Streamlit server and Chromium spent per run in each phase (from
/proc: where a run's time goes, the server's script or the browser's drawing). Lives at the top level (like loadtest.py) because it drives the Streamlit app.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The analysis pages and their navigation titles (app.PAGES; not imported: importing app.py runs the router).
PAGES = {"pages/overview.py": "资产质量总览", "pages/classification.py": "五级分类与迁徙", "pages/aging.py": "账龄分析",
         "pages/vintage.py": "Vintage 分析", "pages/rollrate.py": "滚动率", "pages/trends.py": "逾期趋势",
         "pages/causes.py": "逾期原因", "pages/drilldown.py": "借据明细"}


def _cpu() -> dict[str, float]:
    """CPU seconds used so far by the Streamlit server and by Chromium's processes (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {"server": 0.0, "chromium": 0.0}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        who = "server" if b"streamlit run" in cmd else "chromium" if b"chrom" in cmd else None
        if who:
            out[who] += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return out


def _settle(page) -> None:
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=300_000)
    page.wait_for_function("document.querySelectorAll('[data-stale=true]').length === 0", timeout=300_000)


# Marks the start of a script run as it happens (a MutationObserver on the app's run state), so a run shorter than
# Playwright's polling is still seen to have started, and the timer never waits for a "running" it missed.
_WATCH = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  window.__ran = false;
  if (window.__watch) window.__watch.disconnect();
  window.__watch = new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'running') window.__ran = true;
  });
  window.__watch.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def _timed(page, action) -> float:
    """Seconds from ``action()`` to the end of the run it starts, rendering included."""
    page.evaluate(_WATCH)
    start = time.perf_counter()
    action()
    try:
        page.wait_for_function("window.__ran === true", timeout=3_000)
    except Exception:  # noqa: BLE001 - no run started (Playwright's TimeoutError): nothing to wait for
        pass
    _settle(page)
    return time.perf_counter() - start


def _open(page, title: str):
    def go():
        page.get_by_role("link", name=title).first.click()
    return go


def _set_branch(page, text: str | None):
    """Type ``text`` into the sidebar branch filter and pick the match; None removes the selection again."""
    box = page.locator(".st-key-f_branches input").first

    def go():
        box.click()
        if text is None:
            page.keyboard.press("Backspace")
        else:
            box.fill(text)
            page.keyboard.press("Enter")
        page.keyboard.press("Escape")
    return go


def measure(url: str, rounds: int, branch_label: str) -> dict[str, dict[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    titles = PAGES
    out: dict[str, dict[str, list[float]]] = {p: {"first": [], "warm": [], "filter": []} for p in PAGES}
    cpu: dict[str, dict[str, float]] = {}

    def phase(name: str, before: dict[str, float], runs: int) -> None:
        after = _cpu()
        cpu[name] = {k: (after[k] - before[k]) / runs for k in after}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(url)
        _settle(page)
        before = _cpu()
        for path in PAGES:  # first visit: a fresh server, so each page's data is a cache miss
            out[path]["first"].append(_timed(page, _open(page, titles[path])))
        phase("first", before, len(PAGES))
        before = _cpu()
        for _ in range(rounds):
            for path in PAGES:
                out[path]["warm"].append(_timed(page, _open(page, titles[path])))
        phase("warm", before, rounds * len(PAGES))
        for _ in range(rounds):
            for path in PAGES:
                _timed(page, _open(page, titles[path]))
                before = _cpu()
                out[path]["filter"].append(_timed(page, _set_branch(page, branch_label)))
                out[path]["filter"].append(_timed(page, _set_branch(page, None)))
                after = _cpu()
                for k in after:
                    cpu.setdefault("filter", {}).setdefault(k, 0.0)
                    cpu["filter"][k] += (after[k] - before[k]) / (2 * rounds * len(PAGES))
        browser.close()
    return out, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--branch", default="B03", help="branch id set in the sidebar filter")
    args = parser.parse_args(argv)
    from analytics.core import store
    from tests.browser.conftest import serve

    root = store.data_root(args.data)
    con = store.connect(root)
    con.close()
    label = args.branch
    with tempfile.TemporaryDirectory() as tmp, serve(root, Path(tmp) / "server.log") as url:
        results, cpu = measure(url, args.rounds, label)
    print(f"store {root}; load average {os.getloadavg()[0]:.1f}; {args.rounds} rounds\n")
    print("| page | first visit (s) | warm revisit p50 (s) | warm worst (s) | filter change p50 (s) | filter worst (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for path, r in results.items():
        print(f"| {Path(path).stem} | {r['first'][0]:.2f} | {statistics.median(r['warm']):.2f} | {max(r['warm']):.2f} | "
              f"{statistics.median(r['filter']):.2f} | {max(r['filter']):.2f} |")
    every = {k: [v for r in results.values() for v in r[k]] for k in ("first", "warm", "filter")}
    print("\n" + "; ".join(f"{k}: p50 {statistics.median(v):.2f} s, worst {max(v):.2f} s" for k, v in every.items()))
    print("\nCPU per run (s): " + "; ".join(f"{k}: server {v['server']:.2f}, Chromium {v['chromium']:.2f}"
                                          for k, v in cpu.items()))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
