"""Fixtures of the model tests: a small generated store and a model trained on it once per session."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from analytics.model import cli

# Small and short: 16 months, so the models use a 3-month history and a 3-month horizon (fast to train).
SMALL = {"n_loans": 1_500, "n_months": 16, "seed": 11, "end_month": dt.date(2026, 10, 1)}
TRAIN_ARGS = ["--horizon", "3", "--history", "3", "--max-iter", "40"]


@pytest.fixture(scope="session")
def small_root(tmp_path_factory) -> Path:
    from analytics.tools import demo

    root = tmp_path_factory.mktemp("small") / "data"
    demo.write_demo(root, demo.generate(**SMALL))
    return root


@pytest.fixture(scope="session")
def trained(small_root) -> Path:
    """The artifact folder of a model trained on ``small_root`` through the command line."""
    from analytics.model import artifact

    assert cli.main(["train", "--data", str(small_root), *TRAIN_ARGS]) == 0
    return artifact.latest(artifact.models_dir(small_root))
