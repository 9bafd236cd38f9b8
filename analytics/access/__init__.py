"""Who may see and do what: roles, branch scopes, the local users file and the audit log.

- Roles (``ROLES``): ``viewer`` (read its branches), ``branch_manager`` (its branches, exports), ``head_office``
  (all branches, exports), ``data_steward`` (import, undo, targets and rule edits; all branches), ``admin``
  (users and the audit log; all branches).
- A user's scope is the tuple of branches it may see (``None`` = all). ``restrict(requested, scope)`` is the one
  rule every read goes through (``app_data.run``): an empty request means "all I may see"; a request outside the
  scope yields nothing, never someone else's rows.
- Local users file (for banks without an identity provider; ``$OVERDUE_USERS_FILE``, default
  ``<project>/.access/users.json``): argon2id password hashes, role, branches, disabled flag, and a lockout
  after ``MAX_FAILURES`` failed sign-ins (for ``LOCKOUT_MINUTES``). OIDC users (``st.login``) are listed in
  the same file by e-mail, with role and branches: the identity provider says who someone is, this file says
  what they may see (an e-mail that is not listed gets nothing).
- Audit log (``<users file folder>/audit.jsonl``): one JSON line per sign-in, failed sign-in, import, undo,
  configuration change, export and user change: who, when, what. A torn last line is skipped when read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

USERS_ENV = "OVERDUE_USERS_FILE"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAX_FAILURES = 5
LOCKOUT_MINUTES = 15
NOTHING = ("\x00no-branch\x00",)  # a branch id that never exists: an empty scope must not read as "all"

PERMISSIONS = {
    "viewer": {"read"},
    "branch_manager": {"read", "export"},
    "head_office": {"read", "export", "all_branches"},
    "data_steward": {"read", "export", "all_branches", "import", "configure"},
    "admin": {"read", "export", "all_branches", "import", "configure", "manage_users", "audit"},
}
ROLES = tuple(PERMISSIONS)


class AccessError(Exception):
    """A refused access-management action, with a bilingual message."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


@dataclass
class User:
    username: str
    role: str
    branches: tuple[str, ...] = ()
    auth: str = "local"  # local | oidc
    password_hash: str = ""
    disabled: bool = False
    failures: int = 0
    locked_until: str = ""
    display_name: str = ""

    def can(self, permission: str) -> bool:
        return not self.disabled and permission in PERMISSIONS.get(self.role, set())

    @property
    def scope(self) -> tuple[str, ...] | None:
        """The branches this user may see; None = all."""
        return None if self.can("all_branches") else tuple(self.branches)


LOCAL_USER = User("local", "admin", display_name="本机单用户 / local single user")
"""The user of local single-user mode (no sign-in configured, bound to 127.0.0.1)."""


def restrict(requested: tuple[str, ...], scope: tuple[str, ...] | None) -> tuple[str, ...]:
    """The branches a query may read: ``requested`` (empty = all) limited to ``scope`` (None = all)."""
    if scope is None:
        return tuple(requested)
    allowed = [b for b in (requested or scope) if b in set(scope)]
    return tuple(allowed) or NOTHING


def users_file(path: str | os.PathLike | None = None) -> Path:
    if path is not None:
        return Path(path)
    env = os.environ.get(USERS_ENV)
    return Path(env) if env else PROJECT_ROOT / ".access" / "users.json"


def hasher(light: bool = False) -> PasswordHasher:
    """argon2id; ``light`` parameters only for tests (``OVERDUE_ARGON2_LIGHT=1``)."""
    if light or os.environ.get("OVERDUE_ARGON2_LIGHT") == "1":
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher()


@dataclass
class Directory:
    """The users file in memory; ``save`` writes it atomically."""

    path: Path
    users: dict[str, User] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> Directory:
        p = users_file(path)
        if not p.is_file():
            return cls(p)
        data = json.loads(p.read_text(encoding="utf-8"))
        return cls(p, {u["username"]: User(**{**u, "branches": tuple(u.get("branches", ()))})
                       for u in data.get("users", [])})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"users": [asdict(u) for u in self.users.values()]}, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        os.chmod(self.path, 0o600)

    def get(self, username: str) -> User | None:
        return self.users.get(username)

    def add(self, username: str, role: str, *, branches: tuple[str, ...] = (), password: str | None = None,
            auth: str = "local", display_name: str = "") -> User:
        if role not in ROLES:
            raise AccessError(f"未知角色 {role}（可选：{', '.join(ROLES)}）", f"unknown role {role} (one of {', '.join(ROLES)})")
        if username in self.users:
            raise AccessError(f"用户 {username} 已存在", f"user {username} exists already")
        if auth == "local" and not password:
            raise AccessError("本地用户需要密码", "a local user needs a password")
        user = User(username, role, tuple(branches), auth, hasher().hash(password) if password else "",
                    display_name=display_name)
        self.users[username] = user
        return user

    def _need(self, username: str) -> User:
        user = self.users.get(username)
        if user is None:
            raise AccessError(f"没有用户 {username}", f"no user {username}")
        return user

    def set_password(self, username: str, password: str) -> None:
        user = self._need(username)
        user.password_hash, user.failures, user.locked_until = hasher().hash(password), 0, ""

    def set_role(self, username: str, role: str) -> None:
        if role not in ROLES:
            raise AccessError(f"未知角色 {role}", f"unknown role {role}")
        self._need(username).role = role

    def set_branches(self, username: str, branches: tuple[str, ...]) -> None:
        self._need(username).branches = tuple(branches)

    def set_disabled(self, username: str, disabled: bool) -> None:
        self._need(username).disabled = disabled

    def verify(self, username: str, password: str, now: dt.datetime | None = None) -> User:
        """The user if the password is right; raises AccessError (and counts the failure) otherwise."""
        now = now or dt.datetime.now()
        user = self.users.get(username)
        refused = AccessError("用户名或密码不正确", "wrong user name or password")
        if user is None or user.auth != "local":
            raise refused
        if user.disabled:
            raise AccessError("该用户已停用", "this user is disabled")
        if user.locked_until and now < dt.datetime.fromisoformat(user.locked_until):
            raise AccessError(f"多次登录失败，已锁定至 {user.locked_until[:16]}",
                              f"locked after repeated failures until {user.locked_until[:16]}")
        try:
            hasher().verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            user.failures += 1
            if user.failures >= MAX_FAILURES:
                user.locked_until = (now + dt.timedelta(minutes=LOCKOUT_MINUTES)).isoformat(timespec="seconds")
                user.failures = 0
            self.save()
            raise refused from None
        if user.failures or user.locked_until:
            user.failures, user.locked_until = 0, ""
            self.save()
        return user

    def oidc_user(self, email: str) -> User | None:
        """The listed OIDC user for ``email`` (case-insensitive), or None."""
        for user in self.users.values():
            if user.auth == "oidc" and user.username.lower() == email.lower() and not user.disabled:
                return user
        return None


def audit_file(path: str | os.PathLike | None = None) -> Path:
    return users_file(path).with_name("audit.jsonl")


def audit(event: str, who: str, what: dict | None = None, *, path: str | os.PathLike | None = None) -> None:
    """Append one event to the audit log (fsync'd; starts on a new line even after a torn write)."""
    p = audit_file(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": dt.datetime.now().isoformat(timespec="seconds"), "who": who, "event": event,
                       "what": what or {}}, ensure_ascii=False, default=str)
    with open(p, "a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write(line.encode() + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_audit(path: str | os.PathLike | None = None) -> list[dict]:
    """Every readable audit line, newest first (a torn line is skipped)."""
    p = audit_file(path)
    if not p.is_file():
        return []
    out = []
    for raw in p.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            out.append(json.loads(raw))
        except ValueError:
            continue
    return out[::-1]


def audit_frame(events: tuple[str, ...] = (), path: str | os.PathLike | None = None, names: dict | None = None):
    """The audit log as a table (newest first), optionally only some events; ``what`` as "name: value" text
    (``names``: display names of the detail keys, e.g. from the UI's column catalogue)."""
    import polars as pl

    def what(details: dict) -> str:
        return "; ".join(f"{(names or {}).get(k, k)}: {v}" for k, v in details.items())

    rows = [{"at": r.get("at", ""), "who": r.get("who", ""), "event": r.get("event", ""),
             "what": what(r.get("what", {}))} for r in read_audit(path) if not events or r.get("event") in events]
    return pl.DataFrame(rows, schema={"at": pl.String, "who": pl.String, "event": pl.String, "what": pl.String})
