"""The `switchboard` command (docs/DESIGN.md §6)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys

from models.db import close_database, migrate, open_database
from resolvers.ids import to_api_id
from settings import get_settings


def _migrate() -> None:
    asyncio.run(migrate(get_settings().database_url))


def cmd_migrate(args: argparse.Namespace) -> None:
    _migrate()
    print("migrations applied")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app import server_options

    _migrate()
    uvicorn.run(
        "app:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        **server_options(get_settings()),
    )


def _password(given: str | None, prompt: str, *, required: bool) -> str | None:
    """`given`, else asked on a terminal (twice, not echoed); None when there is no terminal and
    none is required (the account's admin then signs in with the printed token, or after a reset)."""
    if given is not None:
        return given
    if not sys.stdin.isatty():
        if required:
            print("error: no terminal to ask the password on: pass it with --password", file=sys.stderr)
            raise SystemExit(2)
        return None
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass(f"{prompt} again: ") != first:
        print("error: the two passwords differ", file=sys.stderr)
        raise SystemExit(2)
    return first


def cmd_create_account(args: argparse.Namespace) -> None:
    from resolvers.errors import InboxError
    from resolvers.text import clean
    from resolvers.users import create_account

    password = _password(args.admin_password, "The admin's password (10 characters at least)", required=False)

    async def run() -> dict[str, str]:
        await migrate(get_settings().database_url)
        await open_database(get_settings().database_url)
        try:
            # arguments are outside input too (bytes that are not UTF-8 arrive as lone surrogates)
            account, admin = await create_account(
                *clean((args.name, args.admin_name, args.admin_email)), admin_password=password
            )
        finally:
            await close_database()
        return {
            "account_id": to_api_id("Account", account.id),
            "user_id": to_api_id("User", admin.user.id),
            "token": admin.token,
        }

    try:
        print(json.dumps(asyncio.run(run())))
    except InboxError as error:
        print(f"error: {error.message}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_set_password(args: argparse.Namespace) -> None:
    from resolvers.errors import InboxError
    from resolvers.ids import pk_of
    from resolvers.signin import set_password
    from resolvers.text import clean

    password = _password(args.password, f"New password of {args.email}", required=True)
    assert password is not None

    async def run() -> str:
        await migrate(get_settings().database_url)
        await open_database(get_settings().database_url)
        try:
            account = pk_of("Account", args.account) if args.account else None
            user = await set_password(clean(args.email), password, account_id=account)
        finally:
            await close_database()
        return to_api_id("User", user.id)

    try:
        print(json.dumps({"user_id": asyncio.run(run())}))
    except InboxError as error:
        print(f"error: {error.message}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_export_schema(args: argparse.Namespace) -> None:
    from schema import build_schema

    print(build_schema().as_str())


def cmd_demo(args: argparse.Namespace) -> None:
    from providers.sandbox.demo import run_demo

    run_demo(host=args.host, port=args.port)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="switchboard", description="The messaging inbox of a CRM.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply pending migrations, serve HTTP + WebSocket")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("migrate", help="apply pending migrations and exit").set_defaults(run=cmd_migrate)

    account = commands.add_parser("create-account", help="create an account and its first admin")
    account.add_argument("--name", required=True)
    account.add_argument("--admin-name", required=True)
    account.add_argument("--admin-email", required=True)
    account.add_argument("--admin-password", help="asked on the terminal when left out (R-SIGNIN)")
    account.set_defaults(run=cmd_create_account)

    password = commands.add_parser("set-password", help="set a user's password (for operators)")
    password.add_argument("email")
    password.add_argument("--password", help="asked on the terminal when left out")
    password.add_argument("--account", help="the account's id, when users of several accounts have this email")
    password.set_defaults(run=cmd_set_password)

    demo = commands.add_parser("demo", help="a fresh demo database with simulated customers, then serve")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(run=cmd_demo)

    commands.add_parser("export-schema", help="print the served schema as SDL").set_defaults(run=cmd_export_schema)

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
