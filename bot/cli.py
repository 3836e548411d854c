"""Command line: run / demo / doctor / policy check / audit export / audit verify / db copy.

Each command lives in its own module; this file only parses arguments and turns a settings
error into one line on stderr with exit code 2 (never a traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from importlib.metadata import entry_points

from pydantic import ValidationError

from bot import __version__
from bot.config import SettingsError
from bot.config import _describe as describe_settings_error
from bot.policy_file import PolicyError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="immybot-slack",
        description="Slack chat-ops for ImmyBot: request, approve, run and audit software deployments.",
    )
    parser.add_argument("--version", action="version", version=f"immybot-slack {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="start the bot (Socket Mode when SLACK_APP_TOKEN is set, else HTTP)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--http", action="store_true", help="force HTTP mode")
    mode.add_argument("--socket", action="store_true", help="force Socket Mode")

    demo = sub.add_parser("demo", help="run the whole loop against bundled local fakes: no credentials")
    demo.add_argument("--quiet", action="store_true", help="print the outcome only")
    demo.add_argument("--immy-shape", choices=("full", "sparse", "int_enums"), default="full",
                      help="how the fake ImmyBot answers: every property with nulls (default), nulls left out, "
                           "enums as integers")  # fmt: skip

    sub.add_parser("doctor", help="check every setting and dependency for real, with the fix for each")

    policy = sub.add_parser("policy", help="check a policy file (SPEC §6)")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = policy_sub.add_parser("check", help="validate a policy file and print its scopes and rules in words")
    check.add_argument("file", nargs="?", metavar="FILE", help="policy file (default: POLICY_FILE)")

    audit = sub.add_parser("audit", help="export or verify the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    export = audit_sub.add_parser("export", help="stream the audit log to stdout")
    export.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    export.add_argument("--since", metavar="ISO", help="only rows at or after this UTC time (ISO 8601)")
    export.add_argument("--request", metavar="ID", type=int, help="only rows of this request")
    export.add_argument("--db", metavar="PATH", help="database file (default: AUDIT_DB)")
    verify = audit_sub.add_parser(
        "verify", help="recompute the hash chain and compare the checkpoints in Slack; exit 1 naming what is wrong"
    )
    verify.add_argument("--db", metavar="PATH", help="database file (default: AUDIT_DB)")
    where = verify.add_mutually_exclusive_group()
    where.add_argument("--checkpoint", metavar="ID:HASH", action="append", default=[],
                       help="compare this checkpoint instead of reading Slack's (repeatable)")
    where.add_argument("--offline", action="store_true", help="check the chain alone, no checkpoints")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    copy = db_sub.add_parser("copy", help="copy all state from SQLite to PostgreSQL (or back) and verify the copy")
    copy.add_argument("--from", dest="source", required=True, metavar="SRC",
                      help="sqlite:///path, a plain path, or postgresql://…")  # fmt: skip
    copy.add_argument("--to", dest="destination", required=True, metavar="DST",
                      help="an empty database: sqlite:///path, a plain path, or postgresql://…")  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except SettingsError as error:
        print(f"immybot-slack: settings error: {error}", file=sys.stderr)
        return 2
    except ValidationError as error:  # a settings class read directly (offline commands): one line, no value
        print(f"immybot-slack: settings error: {describe_settings_error(error)}", file=sys.stderr)
        return 2
    except PolicyError as error:  # POLICY_FILE broken at start-up: its one line (file, place, problem)
        print(f"immybot-slack: policy error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _sandbox_demo() -> Callable[..., Awaitable[int]] | None:
    """The demo ships with the sandbox distribution, found through its entry point: the product
    never imports the fakes (an import-linter contract)."""
    found = entry_points(group="immybot_slack", name="demo")
    return next((point.load() for point in found), None)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        from bot.runner import run

        socket = True if args.socket else False if args.http else None
        return run(socket=socket)
    if args.command == "demo":
        run_demo = _sandbox_demo()
        if run_demo is None:
            print("immybot-slack: the demo needs the sandbox: pip install ./sandbox (README, command 1)",
                  file=sys.stderr)
            return 2
        return asyncio.run(run_demo(quiet=args.quiet, immy_shape=args.immy_shape))
    if args.command == "doctor":
        from bot.doctor import run_doctor

        return asyncio.run(run_doctor())
    if args.command == "policy":
        from bot.policy_check import run_check

        return run_check(args.file)
    if args.command == "db":
        from bot.store.dbcopy import run_copy

        return asyncio.run(run_copy(args.source, args.destination))
    if args.command == "audit":
        from bot.store import audit_cli

        if args.audit_command == "export":
            return asyncio.run(
                audit_cli.export(fmt=args.format, since=args.since, request_id=args.request, db=args.db)
            )
        from bot.audit_verify import run_verify

        return asyncio.run(run_verify(args.db, offline=args.offline, checkpoints=args.checkpoint))
    raise AssertionError(args.command)  # pragma: no cover - argparse guarantees a command
