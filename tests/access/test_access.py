"""Roles, branch scopes, the local users file (argon2id, lockout), the audit log and the command."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from analytics import access

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def light_hashes(monkeypatch):
    monkeypatch.setenv("OVERDUE_ARGON2_LIGHT", "1")


def test_restrict_is_the_one_scope_rule():
    assert access.restrict((), None) == ()  # all branches for a head-office user
    assert access.restrict((), ("B01", "B02")) == ("B01", "B02")  # "all" = all I may see
    assert access.restrict(("B02", "B03"), ("B01", "B02")) == ("B02",)
    assert access.restrict(("B03",), ("B01",)) == access.NOTHING  # never "everything"
    assert access.restrict((), ()) == access.NOTHING  # a scoped user with no branch sees nothing


def test_roles_and_scopes():
    bm = access.User("bm", "branch_manager", ("B01",))
    assert bm.can("export") and not bm.can("import") and bm.scope == ("B01",)
    steward = access.User("ds", "data_steward")
    assert steward.can("import") and steward.scope is None and not steward.can("manage_users")
    assert access.User("v", "viewer", ("B02",)).can("read") and not access.User("v", "viewer").can("export")
    assert not access.User("x", "admin", disabled=True).can("read")


def test_users_file_sign_in_and_lockout(tmp_path):
    d = access.Directory.load(tmp_path / "users.json")
    d.add("bm", "branch_manager", branches=("B01",), password="s3cret!")
    d.save()
    d = access.Directory.load(tmp_path / "users.json")
    assert d.get("bm").password_hash.startswith("$argon2id$")
    assert d.verify("bm", "s3cret!").branches == ("B01",)
    now = dt.datetime(2026, 12, 1, 9, 0)
    for _ in range(access.MAX_FAILURES):
        with pytest.raises(access.AccessError, match="wrong"):
            d.verify("bm", "guess", now=now)
    with pytest.raises(access.AccessError, match="locked"):
        d.verify("bm", "s3cret!", now=now + dt.timedelta(minutes=1))  # even the right password, while locked
    assert d.verify("bm", "s3cret!", now=now + dt.timedelta(minutes=access.LOCKOUT_MINUTES + 1)).username == "bm"
    d.set_disabled("bm", True)
    with pytest.raises(access.AccessError, match="disabled"):
        d.verify("bm", "s3cret!")
    with pytest.raises(access.AccessError):
        d.add("bm", "viewer", password="x")
    with pytest.raises(access.AccessError, match="unknown role"):
        d.add("z", "superuser", password="x")


def test_oidc_users_are_listed_by_email(tmp_path):
    d = access.Directory(tmp_path / "users.json")
    d.add("Li.Wei@bank.example", "viewer", branches=("B03",), auth="oidc")
    assert d.oidc_user("li.wei@bank.example").branches == ("B03",)
    assert d.oidc_user("someone@else.example") is None
    with pytest.raises(access.AccessError):
        d.verify("Li.Wei@bank.example", "")  # an OIDC user has no local password


def test_audit_log_survives_a_torn_line(tmp_path):
    path = tmp_path / "users.json"
    access.audit("sign_in", "bm", {"via": "users file"}, path=path)
    with open(access.audit_file(path), "ab") as fh:
        fh.write(b'{"at": "2026-12-01", "who": "x", "ev')  # torn: no newline, not JSON
    access.audit("export", "bm", {"table": "loans_behind", "rows": 3}, path=path)
    events = access.read_audit(path)
    assert [e["event"] for e in events] == ["export", "sign_in"]
    frame = access.audit_frame(("export",), path=path)
    assert frame.height == 1 and "rows: 3" in frame["what"][0]


def test_command_adds_lists_and_disables(tmp_path):
    users = tmp_path / "users.json"
    env = {"OVERDUE_ARGON2_LIGHT": "1", "PATH": "/usr/bin:/bin"}

    def run(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "analytics.access", "--users", str(users), *args], cwd=ROOT,
                              input=stdin, capture_output=True, text=True, env=env)

    assert run("add", "bm", "--role", "branch_manager", "--branches", "B01,B02", "--password-stdin",
               stdin="pw1\n").returncode == 0
    assert run("add", "ops@bank.example", "--role", "head_office", "--oidc").returncode == 0
    assert run("disable", "bm").returncode == 0
    listing = run("list").stdout
    assert "bm\tbranch_manager\tB01,B02\tlocal\tdisabled" in listing and "ops@bank.example\thead_office" in listing
    assert run("set-role", "nobody", "viewer").returncode == 1
    assert [e["event"] for e in access.read_audit(users)].count("user_change") == 3


def test_a_download_built_on_click_is_audited_with_the_user(tmp_path, monkeypatch):
    import ui

    monkeypatch.setenv(access.USERS_ENV, str(tmp_path / "users.json"))
    data = ui._export_file(lambda: b"a,b\n1,2\n", "loans_behind", "csv", 1, "bm")
    assert data == b"a,b\n1,2\n"
    events = access.audit_frame(("export",), path=tmp_path / "users.json")
    assert events.height == 1 and events["who"][0] == "bm"
