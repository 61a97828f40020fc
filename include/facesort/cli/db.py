"""``facesort db``: the state database's schema."""

from __future__ import annotations

import argparse

from facesort.config import Config


def cmd_db(config: Config, args: argparse.Namespace) -> int:
    from facesort.state import State, head_revision

    if args.db_command == "upgrade":
        state = State(config.database_url)
        print(f"{state.describe()} is at schema {state.current_revision()}")
    else:
        state = State(config.database_url, upgrade=False, readonly=True)
        current = state.current_revision()
        print(f"{state.describe()}: schema {current or 'none'} (facesort needs {head_revision()})")
    return 0


def add_commands(commands) -> None:
    """``facesort db upgrade | current``."""
    db = commands.add_parser("db", help="state database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate to the newest schema")
    db_commands.add_parser("current", help="show the schema version")
    db.set_defaults(handler=cmd_db)
