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
