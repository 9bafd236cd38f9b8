"""Long work off the script thread, with its progress on the page (LIBRARIES.md "Long work with progress").

A job runs in a worker thread (one ``ThreadPoolExecutor`` per server process, held in ``st.cache_resource``);
its state (stage, rows, start time, result or error) lives in a dict guarded by a lock, also in
``st.cache_resource``, keyed by the session and a job name. ``show_progress`` draws that state in a fragment
that reruns every second and reruns the whole page when the job is over. The worker never touches
``st.session_state``: it only calls the function it was given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import streamlit as st

BACKGROUND_ROWS = 20_000  # import files at least this long are checked and loaded in the worker, with progress


@dataclass
class Job:
    stage: str                      # a code the page turns into words ("check", "load" ...)
    rows: int                       # rows being worked on
    started: float = field(default_factory=time.monotonic)
    done: bool = False
    result: object = None
    error: BaseException | None = None
    ended: float | None = None


@st.cache_resource
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="overdue-job")


@st.cache_resource
def _registry() -> dict:
    return {"lock": threading.Lock(), "jobs": {}}


def _key(name: str) -> tuple[str, str]:
    session = st.session_state.setdefault("_job_session", f"{id(st.session_state):x}-{time.time_ns()}")
    return session, name


def start(name: str, stage: str, rows: int, fn: Callable, *args, **kwargs) -> Job:
    """Run ``fn(*args, **kwargs)`` in the worker; replaces a finished job of the same name."""
    reg, key = _registry(), _key(name)
    job = Job(stage=stage, rows=rows)

    def work():
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the page, shown there  # noqa: BLE001
            with reg["lock"]:
                job.error, job.done, job.ended = exc, True, time.monotonic()
        else:
            with reg["lock"]:
                job.result, job.done, job.ended = result, True, time.monotonic()

    with reg["lock"]:
        reg["jobs"][key] = job
    _pool().submit(work)
    return job


def get(name: str) -> Job | None:
    reg = _registry()
    with reg["lock"]:
        return reg["jobs"].get(_key(name))


def pop(name: str) -> Job | None:
    """The finished job (removed), or None while it runs or when there is none."""
    reg = _registry()
    with reg["lock"]:
        job = reg["jobs"].get(_key(name))
        if job is not None and job.done:
            return reg["jobs"].pop(_key(name))
    return None


def show_progress(name: str, describe: Callable[[Job, float], str]) -> None:
    """While job ``name`` runs: its stage, rows and elapsed time, redrawn every second; the page reruns when
    it is over."""

    @st.fragment(run_every="1s")
    def _progress():
        job = get(name)
        if job is None or job.done:
            st.rerun(scope="app")
        elapsed = time.monotonic() - job.started
        st.status(describe(job, elapsed), state="running")

    _progress()
