"""Sign-in for the app: Streamlit's own ``st.login`` (OIDC), a local users file, or local single-user mode.

- OIDC: configured in ``.streamlit/secrets.toml`` (``[auth]``, see README "Run it for a team"); the identity
  provider says who someone is, the users file (``analytics.access``) says their role and branches.
- Local users file (``python -m analytics.access add ...``): a sign-in form with argon2id hashes and lockout.
- Neither: local single-user mode, shown as such in the sidebar, and only while the server listens on the
  loopback address; any other bind address without sign-in configured is refused with instructions.

``gate()`` runs in app.py before anything else is drawn and stops the run until someone is signed in; the
user's scope is kept in ``st.session_state["auth_scope"]`` for ``app_data.run``, which applies it to every read.
"""

from __future__ import annotations

import streamlit as st

from analytics import access
from analytics.access import LOCAL_USER, AccessError, Directory, User

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _tr(zh: str, en: str) -> str:
    return zh if st.session_state.get("lang", "zh") == "zh" else en


def mode() -> str:
    """``oidc`` when ``[auth]`` is configured, ``users`` when a users file exists, else ``single``."""
    try:
        if "auth" in st.secrets:
            return "oidc"
    except FileNotFoundError:  # no secrets.toml at all
        pass
    return "users" if access.users_file().is_file() else "single"


def _remember(user: User) -> User:
    st.session_state["auth_user"] = user.username
    st.session_state["auth_role"] = user.role
    st.session_state["auth_scope"] = user.scope
    return user


def _signed_in_sidebar(user: User, how: str) -> None:
    role = {"viewer": "查看", "branch_manager": "机构负责人", "head_office": "总行", "data_steward": "数据管理员",
            "admin": "管理员"}.get(user.role, user.role)
    st.sidebar.caption(_tr(f"已登录：{user.display_name or user.username}（{role}）",
                           f"Signed in: {user.display_name or user.username} ({user.role})"))
    if st.sidebar.button(_tr("退出登录", "Sign out"), key="auth_logout"):
        access.audit("sign_out", user.username)
        for key in ("auth_user", "auth_role", "auth_scope"):
            st.session_state.pop(key, None)
        if how == "oidc":
            st.logout()
        st.rerun()


def _single_user() -> User:
    address = str(st.get_option("server.address") or "127.0.0.1")
    if address not in LOOPBACK:
        st.error(_tr(f"服务监听在 {address}，但尚未配置登录：请配置 .streamlit/secrets.toml 的 [auth]（OIDC）"
                     "或用 `python -m analytics.access add` 建立用户文件后再启动。",
                     f"The server listens on {address} but no sign-in is configured: configure [auth] (OIDC) in "
                     ".streamlit/secrets.toml or create a users file with `python -m analytics.access add`."))
        st.stop()
    st.sidebar.caption(_tr("本机单用户模式（未启用登录，仅限本机访问）", "Local single-user mode (no sign-in, this computer only)"))
    return _remember(LOCAL_USER)


def _oidc() -> User:
    if not st.user.is_logged_in:
        st.title(_tr("逾期贷款分析驾驶舱", "Overdue Loan Analytics"))
        if st.button(_tr("使用单位账号登录", "Sign in with your organisation account"), key="auth_login"):
            st.login()
        st.stop()
    email = str(st.user.get("email", ""))
    user = Directory.load().oidc_user(email)
    if user is None:
        st.error(_tr(f"{email} 尚未获授权，请联系管理员。", f"{email} is not authorised yet; ask an administrator."))
        if st.button(_tr("退出登录", "Sign out"), key="auth_logout_unlisted"):
            st.logout()
        st.stop()
    if st.session_state.get("auth_user") != user.username:
        access.audit("sign_in", user.username, {"via": "oidc"})
    _signed_in_sidebar(user, "oidc")
    return _remember(user)


def _local_form() -> User:
    directory = Directory.load()
    current = directory.get(st.session_state.get("auth_user", ""))
    if current is not None and not current.disabled:
        _signed_in_sidebar(current, "users")
        return _remember(current)
    st.title(_tr("逾期贷款分析驾驶舱 · 登录", "Overdue Loan Analytics · Sign in"))
    with st.form("auth_form"):
        username = st.text_input(_tr("用户名", "User name"), key="auth_username")
        password = st.text_input(_tr("密码", "Password"), type="password", key="auth_password")
        submitted = st.form_submit_button(_tr("登录", "Sign in"))
    if submitted:
        try:
            user = directory.verify(username.strip(), password)
        except AccessError as exc:
            access.audit("sign_in_failed", username.strip(), {"reason": exc.en})
            st.error(_tr(exc.zh, exc.en))
        else:
            access.audit("sign_in", user.username, {"via": "users file"})
            _remember(user)
            st.rerun()
    st.stop()


def gate() -> User:
    """The signed-in user (stops the run with a sign-in screen until there is one)."""
    how = mode()
    if how == "oidc":
        return _oidc()
    if how == "users":
        return _local_form()
    return _single_user()


def current() -> User:
    """The user of this session (after ``gate``)."""
    name = st.session_state.get("auth_user")
    if name in (None, LOCAL_USER.username):
        return LOCAL_USER
    user = Directory.load().get(name)
    return user if user is not None else User(name, st.session_state.get("auth_role", "viewer"),
                                              tuple(st.session_state.get("auth_scope") or ()), auth="oidc")


def can(permission: str) -> bool:
    return current().can(permission)


def require(permission: str) -> None:
    """Stop the page with a clear message when the user lacks ``permission``."""
    import ui

    ui.through_app()
    if not can(permission):
        st.warning(_tr("您的角色没有此页面的权限。", "Your role does not allow this page."))
        st.stop()
