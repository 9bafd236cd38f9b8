"""Sign-in and branch scope through the app: every page as a branch-scoped user shows no other branch's loan."""

from __future__ import annotations

import pytest

from analytics import access
from analytics.core import store

PAGES = ("pages/overview.py", "pages/classification.py", "pages/aging.py", "pages/vintage.py", "pages/rollrate.py",
         "pages/trends.py", "pages/causes.py", "pages/drilldown.py", "pages/executive.py", "pages/collections.py",
         "pages/scenarios.py", "pages/customer.py")


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


def test_scenarios_recompute_on_the_users_branches_only(app_test, users, demo_root):
    """The scenario tables of a branch-scoped user: their branch and a total that is that branch's figure."""
    from analytics.metrics import portfolio

    at = _sign_in(app_test, "bm", "pw-bm")
    at.switch_page("pages/scenarios.py").run()
    assert not at.exception, at.exception
    npl_col = "不良余额·基准(元)"
    tables = [f.value for f in at.dataframe if "机构" in f.value.columns and npl_col in f.value.columns]
    assert len(tables) == 2  # provisioning and classification
    for df in tables:
        df = getattr(df, "data", df)  # a pandas Styler
        assert set(df["机构"]) == {"B03", "合计"}
        con = store.connect(demo_root)
        month = store.months(con)[-1]
        npl = float(portfolio.quality_by(con, branches=("B03",), month_from=month, month_to=month)["npl_balance"][0])
        con.close()
        total = df[df["机构"] == "合计"].iloc[0][npl_col]
        assert abs(float(str(total).replace(",", "")) - npl) < 1.0, (total, npl)

def test_branch_manager_sees_only_their_branchs_loans_of_a_customer(app_test, users, demo_root):
    # a customer whose loans are managed at B03 and at another branch: the B03 manager sees the B03 loan only,
    # and a customer with no loan at B03 is not found at all
    con = store.connect(demo_root)
    managed = store.query(con, """SELECT l.customer_id, l.loan_id, arg_max(s.branch_id, s.month) AS branch_id
                                   FROM loans l JOIN snapshots s USING (loan_id) GROUP BY ALL""")
    con.close()
    per = {}
    for customer, loan, branch in managed.iter_rows():
        per.setdefault(customer, {})[loan] = branch
    customer = next(c for c, loans in sorted(per.items()) if len(set(loans.values())) == 2
                    and "B03" in loans.values())
    other = next(c for c, loans in sorted(per.items()) if "B03" not in loans.values())
    at = _sign_in(app_test, "bm", "pw-bm")
    at.switch_page("pages/customer.py").run()
    at.text_input(key="cu_search").set_value(customer).run()
    assert not at.exception and at.selectbox(key="cu_customer").value == customer
    loans = next(d.value for d in at.dataframe if "借据号" in d.value.columns)
    assert set(loans["借据号"]) == {loan for loan, b in per[customer].items() if b == "B03"}
    at.text_input(key="cu_search").set_value(other).run()
    assert any("没有找到客户" in i.value for i in at.info)


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



@pytest.fixture()
def oidc_app(users, monkeypatch):
    """An AppTest of app.py with [auth] configured (OIDC) and ``at.user`` set before the first run."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1 import app_test as app_test_module

    from tests.conftest import APP

    class NavigationPagesManager(PagesManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    monkeypatch.setattr(app_test_module, "PagesManager", NavigationPagesManager)
    d = access.Directory.load(users)
    d.add("li.wei@bank.example", "viewer", branches=("B05",), auth="oidc")
    d.add("head@bank.example", "head_office", auth="oidc")
    d.save()

    def make(user: dict) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                              "client_id": "dashboard", "client_secret": "s",
                              "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
        at.user = user
        at.run()
        return at

    return make


def test_oidc_sign_in_maps_roles_and_scopes(oidc_app):
    out = oidc_app({"is_logged_in": False})
    assert out.button(key="auth_login") and not out.sidebar.multiselect
    viewer = oidc_app({"is_logged_in": True, "email": "Li.Wei@bank.example", "name": "李伟"})
    assert not viewer.exception
    assert [o.split()[0] for o in viewer.sidebar.multiselect(key="f_branches").options] == ["B05"]
    head = oidc_app({"is_logged_in": True, "email": "head@bank.example"})
    assert len(head.sidebar.multiselect(key="f_branches").options) > 5
    stranger = oidc_app({"is_logged_in": True, "email": "someone@else.example"})
    assert any("尚未获授权" in e.value for e in stranger.error)


def test_a_non_loopback_bind_address_needs_sign_in(app_test, monkeypatch):
    from streamlit import config

    monkeypatch.setattr(config, "get_option", lambda key, _real=config.get_option: "0.0.0.0"
                        if key == "server.address" else _real(key))
    import streamlit as st

    monkeypatch.setattr(st, "get_option", config.get_option)
    from streamlit.testing.v1 import AppTest

    from tests.conftest import APP

    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("尚未配置登录" in e.value for e in at.error)
    assert not at.sidebar.multiselect


def test_admin_manages_users_and_reads_the_audit_log(app_test, users):
    d = access.Directory.load(users)
    d.add("boss", "admin", password="pw-admin")
    d.save()
    at = _sign_in(app_test, "boss", "pw-admin")
    at.switch_page("pages/admin.py").run()
    assert not at.exception
    assert "bm" in at.dataframe[0].value.iloc[:, 0].tolist()
    at.selectbox(key="ad_edit_user").set_value("bm").run()
    at.multiselect(key="ad_edit_branches").set_value(["B03", "B04"]).run()
    at.button(key="ad_edit_save").click().run()
    assert access.Directory.load(users).get("bm").branches == ("B03", "B04")
    events = [e["event"] for e in access.read_audit(users)]
    assert "user_change" in events and "sign_in" in events
    assert any("审计" in s.value for s in at.subheader)
