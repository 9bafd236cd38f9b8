"""Sign-in and branch scope through the app: every page as a branch-scoped user shows no other branch's loan."""

from __future__ import annotations

import pytest

from analytics import access
from analytics.core import store

PAGES = ("pages/overview.py", "pages/classification.py", "pages/aging.py", "pages/vintage.py", "pages/rollrate.py",
         "pages/trends.py", "pages/causes.py", "pages/drilldown.py", "pages/executive.py", "pages/collections.py")


@pytest.fixture()
def users(tmp_path, monkeypatch):
    monkeypatch.setenv("OVERDUE_ARGON2_LIGHT", "1")
    path = tmp_path / "users.json"
    monkeypatch.setenv(access.USERS_ENV, str(path))
    d = access.Directory(path)
    d.add("bm", "branch_manager", branches=("B03",), password="pw-bm")
    d.add("viewer", "viewer", branches=("B05",), password="pw-v")
    d.add("steward", "data_steward", password="pw-ds")
    d.save()
    return path


def _sign_in(app_test, name: str, password: str):
    at = app_test()
    assert at.text_input(key="auth_username"), "the sign-in form is shown first"
    at.text_input(key="auth_username").input(name)
    at.text_input(key="auth_password").input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_wrong_password_is_refused_and_audited(app_test, users):
    at = _sign_in(app_test, "bm", "nope")
    assert any("密码不正确" in e.value for e in at.error)
    assert access.read_audit(users)[0]["event"] == "sign_in_failed"


def test_branch_manager_sees_only_their_branch_everywhere(app_test, users, demo_root):
    at = _sign_in(app_test, "bm", "pw-bm")
    assert at.sidebar.multiselect(key="f_branches").options == ["B03 " + _name(demo_root, "B03")]
    con = store.connect(demo_root)
    branch_of = dict(store.query(con, "SELECT loan_id, branch_id FROM loans").iter_rows())
    con.close()
    seen_loans = 0
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        for frame in at.dataframe:
            df = frame.value
            for col in df.columns:
                if col in ("借据号", "loan_id"):
                    branches = {branch_of[v] for v in df[col] if v in branch_of}
                    assert branches <= {"B03"}, (page, branches)
                    seen_loans += len(df)
                if col in ("机构号", "branch_id"):
                    assert set(df[col].dropna()) <= {"B03"}, (page, col, set(df[col]))
    assert seen_loans > 0


def test_viewer_cannot_import_or_export(app_test, users):
    at = _sign_in(app_test, "viewer", "pw-v")
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not offered in the navigation
        at.switch_page("pages/data_import.py")
    at.switch_page("pages/overview.py").run()
    assert not at.get("download_button")


def test_data_steward_can_open_the_import_page(app_test, users):
    at = _sign_in(app_test, "steward", "pw-ds")
    at.switch_page("pages/data_import.py").run()
    assert not at.exception and not any("没有此页面的权限" in w.value for w in at.warning)


def _name(root, branch):
    con = store.connect(root)
    try:
        return store.query(con, "SELECT branch_name FROM branches WHERE branch_id = $b", {"b": branch})["branch_name"][0]
    finally:
        con.close()

