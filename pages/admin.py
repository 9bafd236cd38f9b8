"""用户与审计 / Users & audit: manage who may see which branches (the local users file and the OIDC user list)
and read the audit log of sign-ins, imports, undos, configuration changes and exports."""

from __future__ import annotations

import polars as pl
import streamlit as st

import app_data
import auth
import ui
from analytics import access
from analytics.metrics import portfolio

auth.require("manage_users")
st.title(ui.tr("用户与审计", "Users & audit"))
me = auth.current().username
directory = access.Directory.load()
st.caption(ui.tr(f"用户文件：{directory.path}（登录方式：{auth.mode()}）",
                 f"Users file: {directory.path} (sign-in: {auth.mode()})"))
role_names = {"viewer": ui.tr("查看（本机构）", "Viewer (own branches)"),
              "branch_manager": ui.tr("机构负责人（本机构，可导出）", "Branch manager (own branches, export)"),
              "head_office": ui.tr("总行（全部机构）", "Head office (all branches)"),
              "data_steward": ui.tr("数据管理员（导入、撤销、目标与规则）", "Data steward (import, undo, targets, rules)"),
              "admin": ui.tr("管理员（用户与审计）", "Administrator (users, audit)")}

users = pl.DataFrame([{"username": u.username, "role": role_names.get(u.role, u.role),
                       "branches": ", ".join(u.branches) or ui.tr("全部/不适用", "all / n.a."), "auth": u.auth,
                       "state": ui.tr("停用", "disabled") if u.disabled else (
                           ui.tr("锁定", "locked") if u.locked_until else ui.tr("正常", "active"))}
                      for u in directory.users.values()],
                     schema={"username": pl.String, "role": pl.String, "branches": pl.String, "auth": pl.String,
                             "state": pl.String})
st.dataframe(users.rename({"username": ui.tr("用户", "User"), "role": ui.tr("角色", "Role"),
                           "branches": ui.tr("机构", "Branches"), "auth": ui.tr("登录方式", "Sign-in"),
                           "state": ui.tr("状态", "State")}), key="ad_users", hide_index=True, width="stretch")

branch_ids = [b for b, _ in app_data.run(portfolio.dimensions)["branches"]] if app_data.has_data() else []
with st.form("ad_add"):
    st.markdown(ui.tr("**新增用户**", "**Add a user**"))
    a1, a2, a3 = st.columns(3)
    username = a1.text_input(ui.tr("用户名（OIDC 用户填邮箱）", "User name (e-mail for OIDC users)"), key="ad_new_name")
    role = a2.selectbox(ui.tr("角色", "Role"), list(access.ROLES), key="ad_new_role", format_func=ui.options(role_names))
    kind = a3.radio(ui.tr("登录方式", "Sign-in"), ["local", "oidc"], key="ad_new_auth", horizontal=True,
                    format_func=ui.options({"local": ui.tr("本地密码", "Local password"), "oidc": "OIDC"}))
    branches = st.multiselect(ui.tr("可查看的机构（查看/机构负责人）", "Branches (viewer / branch manager)"), branch_ids,
                              key="ad_new_branches")
    password = st.text_input(ui.tr("初始密码（本地用户）", "Initial password (local users)"), type="password",
                             key="ad_new_password")
    if st.form_submit_button(ui.tr("新增", "Add")):
        try:
            directory.add(username.strip(), role, branches=tuple(branches), auth=kind,
                          password=password if kind == "local" else None)
            directory.save()
            access.audit("user_change", me, {"command": "add", "username": username.strip(), "role": role,
                                             "branches": list(branches)})
            st.success(ui.tr(f"已新增 {username}。", f"Added {username}."))
            st.rerun()
        except access.AccessError as exc:
            st.error(ui.tr(exc.zh, exc.en))

names = list(directory.users)
if names:
    st.markdown(ui.tr("**修改用户**", "**Change a user**"))
    e1, e2, e3 = st.columns(3)
    who = e1.selectbox(ui.tr("用户", "User"), names, key="ad_edit_user")
    user = directory.users[who]
    new_role = e2.selectbox(ui.tr("角色", "Role"), list(access.ROLES), index=list(access.ROLES).index(user.role),
                            key="ad_edit_role", format_func=ui.options(role_names))
    new_branches = e3.multiselect(ui.tr("机构", "Branches"), sorted(set(branch_ids) | set(user.branches)),
                                  default=list(user.branches), key="ad_edit_branches")
    b1, b2, b3 = st.columns(3)
    if b1.button(ui.tr("保存角色与机构", "Save role and branches"), key="ad_edit_save"):
        directory.set_role(who, new_role)
        directory.set_branches(who, tuple(new_branches))
        directory.save()
        access.audit("user_change", me, {"command": "set", "username": who, "role": new_role,
                                         "branches": list(new_branches)})
        st.rerun()
    if b2.button(ui.tr("启用" if user.disabled else "停用", "Enable" if user.disabled else "Disable"),
                 key="ad_edit_toggle", disabled=who == me):
        directory.set_disabled(who, not user.disabled)
        directory.save()
        access.audit("user_change", me, {"command": "enable" if user.disabled else "disable", "username": who})
        st.rerun()
    new_password = b3.text_input(ui.tr("重置密码", "Reset password"), type="password", key="ad_edit_password")
    if new_password and b3.button(ui.tr("重置", "Reset"), key="ad_edit_reset"):
        directory.set_password(who, new_password)
        directory.save()
        access.audit("user_change", me, {"command": "reset", "username": who})
        st.rerun()

st.subheader(ui.tr("审计日志", "Audit log"))
log = access.audit_frame()
if log.is_empty():
    st.info(ui.tr("还没有审计记录。", "The audit log is empty."))
else:
    events = sorted(set(log["event"].to_list()))
    chosen = st.multiselect(ui.tr("事件（空 = 全部）", "Events (empty = all)"), events, key="ad_events")
    detail_names = {k: ui.column_name(k) for k in ("change_id", "table", "rows", "format", "config", "version",
                                                     "command", "username", "role", "branches", "restored", "via",
                                                     "reason", "customer_id")}
    events_zh = {"sign_in": ("登录", "Sign-in"), "sign_in_failed": ("登录失败", "Failed sign-in"),
                 "sign_out": ("退出", "Sign-out"), "import": ("导入", "Import"), "undo": ("撤销", "Undo"),
                 "config_change": ("配置修改", "Configuration change"), "export": ("导出", "Export"),
                 "user_change": ("用户修改", "User change"), "blacklist_add": ("列入黑名单", "Blacklist: added"),
                 "blacklist_remove": ("移出黑名单", "Blacklist: removed")}
    audit = access.audit_frame(tuple(chosen), names=detail_names)
    audit = ui.with_label_column(audit, "event", {k: ui.tr(*v) for k, v in events_zh.items()}, "event_name")
    ui.show_table(audit.drop("event"), "ad_audit", name="audit_log",
                  headers={"at": ui.tr("时间", "When"), "who": ui.tr("用户", "Who"), "event_name": ui.tr("事件", "Event"),
                           "what": ui.tr("内容", "What")})
