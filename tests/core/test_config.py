"""Saved, versioned configurations."""

import pytest

from analytics.core import config


def test_versions_are_kept_and_loaded(tmp_path):
    assert config.load(tmp_path, "scheme", {"a": 1}) == (0, {"a": 1})
    assert config.save(tmp_path, "scheme", {"a": 2}, note="first") == 1
    assert config.save(tmp_path, "scheme", {"a": 3}) == 2
    assert config.load(tmp_path, "scheme", {}) == (2, {"a": 3})
    assert config.load(tmp_path, "scheme", {}, version=1) == (1, {"a": 2})
    assert [h["version"] for h in config.history(tmp_path, "scheme")] == [2, 1]


def test_a_torn_version_falls_back_to_the_previous_one(tmp_path):
    config.save(tmp_path, "scheme", {"a": 2})
    config.save(tmp_path, "scheme", {"a": 3})
    (tmp_path / "_meta" / "config" / "scheme" / "v0002.json").write_text('{"data": {"a"', encoding="utf-8")
    assert config.load(tmp_path, "scheme", {}) == (1, {"a": 2})


def test_names_cannot_leave_the_folder(tmp_path):
    with pytest.raises(ValueError):
        config.save(tmp_path, "../x", {})
