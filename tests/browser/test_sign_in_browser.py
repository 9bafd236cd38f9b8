"""Sign-in in a real browser: the local users file, and OIDC against a mock identity provider on 127.0.0.1."""

from __future__ import annotations

import pytest

from analytics import access
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, require_chromium, serve, settle

pytestmark = pytest.mark.browser


@pytest.fixture()
def users(tmp_path, monkeypatch):
    path = tmp_path / "users.json"
    monkeypatch.setenv("OVERDUE_ARGON2_LIGHT", "1")
    d = access.Directory(path)
    d.add("bm", "branch_manager", branches=("B03",), password="pw-bm")
    d.add("li.wei@bank.example", "viewer", branches=("B05",), auth="oidc")
    d.save()
    return path


def _sidebar_branches(page) -> list[str]:
    box = page.locator("[data-testid=stSidebar] [data-testid=stMultiSelect]").first
    box.scroll_into_view_if_needed()
    box.click()
    page.locator("[role=option]").first.wait_for()
    options = page.locator("[role=option]").all_inner_texts()
    page.keyboard.press("Escape")
    return options


def test_local_users_file_sign_in(demo_root, users, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    env = {access.USERS_ENV: str(users), "OVERDUE_ARGON2_LIGHT": "1"}
    with serve(demo_root, tmp_path / "server.log", env=env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(url)
        settle(page)
        page.get_by_label("用户名").fill("bm")
        page.get_by_label("密码").fill("wrong")
        page.get_by_role("button", name="登录").click()
        page.get_by_text("用户名或密码不正确").wait_for()
        page.get_by_label("密码").fill("pw-bm")
        page.get_by_role("button", name="登录").click()
        page.get_by_role("heading", name="资产质量总览").wait_for(timeout=60_000)
        settle(page)
        assert [o.split()[0] for o in _sidebar_branches(page)] == ["B03"]
        page.screenshot(path=str(tmp_path / "signed_in.png"))
        browser.close()
    assert [e["event"] for e in access.read_audit(users)][:2] == ["sign_in", "sign_in_failed"]


def test_oidc_sign_in_against_a_mock_provider(demo_root, users, tmp_path):
    require_chromium()
    from oidc_provider_mock import User, run_server_in_thread
    from playwright.sync_api import sync_playwright

    port = free_port()
    with run_server_in_thread(port=0, user_claims=[User(sub="li.wei", claims={"email": "li.wei@bank.example",
                                                                              "name": "Li Wei"})]) as idp:
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{"c" * 32}"\n'
            'client_id = "dashboard"\nclient_secret = "not-a-secret"\n'
            f'server_metadata_url = "http://127.0.0.1:{idp.server_port}/.well-known/openid-configuration"\n',
            encoding="utf-8")
        env = {access.USERS_ENV: str(users)}
        with serve(demo_root, tmp_path / "server.log", port=port, env=env,
                   args=("--secrets.files", str(secrets))) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(url)
            settle(page)
            page.get_by_role("button", name="使用单位账号登录").click()
            page.get_by_role("button", name="li.wei").click()  # the mock provider's predefined user
            page.get_by_role("heading", name="资产质量总览").wait_for(timeout=60_000)
            settle(page)
            assert [o.split()[0] for o in _sidebar_branches(page)] == ["B05"]
            browser.close()
    assert access.read_audit(users)[0]["event"] == "sign_in"
