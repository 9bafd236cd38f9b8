"""``python -m analytics.access``: manage the local users file (add, disable, enable, reset, set-role,
set-branches, list). Passwords are read from the terminal (or one line of stdin with --password-stdin)."""

from __future__ import annotations

import argparse
import getpass
import sys

from analytics.access import ROLES, AccessError, Directory, audit


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise AccessError("两次输入的密码不一致", "the passwords do not match")
    return first


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analytics.access", description=__doc__.splitlines()[0])
    p.add_argument("--users", default=None, help="users file (default $OVERDUE_USERS_FILE or .access/users.json)")
    sub = p.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--branches", default="", help="comma-separated branch ids (viewer / branch_manager)")
    add.add_argument("--oidc", action="store_true", help="an identity-provider user (username = e-mail, no password)")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--password-stdin", action="store_true")
    for name in ("disable", "enable"):
        sub.add_parser(name).add_argument("username")
    reset = sub.add_parser("reset", help="set a new password (clears a lockout)")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true")
    role = sub.add_parser("set-role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    br = sub.add_parser("set-branches")
    br.add_argument("username")
    br.add_argument("branches", help="comma-separated branch ids")
    sub.add_parser("list")
    args = p.parse_args(argv)
    directory = Directory.load(args.users)
    try:
        if args.cmd == "list":
            for u in directory.users.values():
                state = "disabled" if u.disabled else ("locked" if u.locked_until else "active")
                print(f"{u.username}\t{u.role}\t{','.join(u.branches) or '*'}\t{u.auth}\t{state}")
            return 0
        if args.cmd == "add":
            branches = tuple(b.strip() for b in args.branches.split(",") if b.strip())
            directory.add(args.username, args.role, branches=branches, auth="oidc" if args.oidc else "local",
                          password=None if args.oidc else _password(args), display_name=args.name)
        elif args.cmd in ("disable", "enable"):
            directory.set_disabled(args.username, args.cmd == "disable")
        elif args.cmd == "reset":
            directory.set_password(args.username, _password(args))
        elif args.cmd == "set-role":
            directory.set_role(args.username, args.role)
        elif args.cmd == "set-branches":
            directory.set_branches(args.username, tuple(b.strip() for b in args.branches.split(",") if b.strip()))
        directory.save()
        audit("user_change", "command line", {"command": args.cmd, "username": args.username}, path=args.users)
    except AccessError as exc:
        print(exc.en, file=sys.stderr)
        return 1
    print(f"{args.cmd}: {args.username} ({directory.path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
