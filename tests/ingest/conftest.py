"""The importer tests' store: two branches and three loans imported from CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ingest.files import (
    BRANCHES_CSV,
    LOANS_CSV,
    load,
)


@pytest.fixture()
def base(tmp_path: Path) -> Path:
    """A store with two branches and three loans imported from CSV (Chinese headers)."""
    root = tmp_path / "data"
    load(root, BRANCHES_CSV, "机构.csv", "branches")
    load(root, LOANS_CSV, "借据.csv", "loans", encoding="gbk")
    return root
