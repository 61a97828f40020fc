"""The ``facesort`` command line: the options every command takes, and the commands (each
command group's module adds its own, with its arguments and handler)."""

from __future__ import annotations

import argparse

from facesort.cli import db, moves, references, report, run, status
from facesort.config import CONFIG_ENV


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facesort",
        description="Sort downloaded photos and videos by the people in them.",
    )
    _add_common_options(parser, default=None)
    commands = parser.add_subparsers(dest="command", required=True)

    for group in (run, status, references, moves, report):
        group.add_commands(commands)
    from facesort.review.cli import add_review_commands

    add_review_commands(commands)

    from facesort.people.cli import add_people_commands

    add_people_commands(commands)
    db.add_commands(commands)
    _accept_common_options_everywhere(parser)
    return parser


def _add_common_options(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument(
        "--config", help=f"path of the YAML config (default: ${CONFIG_ENV})", default=default
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if default is None else default,
        help="log what facesort does",
    )


def _accept_common_options_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--config`` and ``-v`` after any subcommand too (``facesort run --config FILE``).

    On subcommands their default is SUPPRESS, so a value given before the subcommand is not
    overwritten by the subcommand's default. argparse has no public way to list
    subcommands, hence ``_actions``."""
    seen: set[int] = set()
    stack = [parser]
    while stack:
        for action in stack.pop()._actions:
            if not isinstance(action, argparse._SubParsersAction):
                continue
            for sub in action.choices.values():
                if id(sub) not in seen:  # aliases map to the same parser
                    seen.add(id(sub))
                    _add_common_options(sub, default=argparse.SUPPRESS)
                    stack.append(sub)
