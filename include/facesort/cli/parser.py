"""The ``facesort`` command line: every command, its arguments and its handler."""

from __future__ import annotations

import argparse

from facesort.cli.db import cmd_db
from facesort.cli.moves import cmd_recover, cmd_resort, cmd_undo
from facesort.cli.references import cmd_references, cmd_sync_immich
from facesort.cli.report import cmd_report
from facesort.cli.run import cmd_run
from facesort.cli.status import cmd_history, cmd_status
from facesort.config import CONFIG_ENV


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facesort",
        description="Sort downloaded photos and videos by the people in them.",
    )
    _add_common_options(parser, default=None)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="one full pass: recover, scan, sort")
    run.add_argument("--dry-run", action="store_true", help="print decisions, touch nothing")
    run.add_argument("--workers", type=int, default=None, help="processes (default: config)")
    run.add_argument("--json", action="store_true", help="machine-readable output")
    run.set_defaults(handler=cmd_run)

    status = commands.add_parser("status", help="how many files are where")
    status.add_argument("--files", action="store_true", help="list every file and its place")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)

    history = commands.add_parser("history", help="every decision about a file")
    history.add_argument("file", help="its staging path, current path, or a copy of it")
    history.add_argument("--json", action="store_true")
    history.set_defaults(handler=cmd_history)

    refs = commands.add_parser("references", help="reference photos of people")
    ref_commands = refs.add_subparsers(dest="ref_command", required=True)
    add = ref_commands.add_parser("add", help="add photos of a person")
    add.add_argument("name", help="the person's name (their folder in the library)")
    add.add_argument("files", nargs="+", help="photos showing that person")
    ref_commands.add_parser("list", help="people and their usable photos")
    sync = ref_commands.add_parser(
        "sync-immich", help="save the feature face of each person named in Immich"
    )
    sync.set_defaults(handler=cmd_sync_immich)
    refs.set_defaults(handler=cmd_references)

    recover = commands.add_parser("recover", help="finish moves an interrupted run left")
    recover.add_argument(
        "--force", action="store_true", help="also transfers whose owner may still run"
    )
    recover.set_defaults(handler=cmd_recover)

    resort = commands.add_parser(
        "resort",
        help="re-sort sorted files with today's references and settings (dry run unless --apply)",
    )
    resort.add_argument(
        "scope",
        choices=["library", "person", "review", "folders"],
        help="the whole library, one person's folder, the review queue, or given folders",
    )
    resort.add_argument("--person", help="with scope person: whose folder")
    resort.add_argument(
        "--category",
        action="append",
        help="with scope review: a review category (repeat; default: all but duplicates)",
    )
    resort.add_argument("--folder", action="append", help="with scope folders: a folder (repeat)")
    resort.add_argument("--apply", action="store_true", help="move the files (default: dry run)")
    resort.add_argument(
        "--redetect", action="store_true", help="detect faces again (slow; default: stored faces)"
    )
    for name in ("sure-distance", "review-distance", "min-margin"):
        resort.add_argument(
            f"--{name}", type=float, help=f"override matching.{name.replace('-', '_')}"
        )
    resort.add_argument("--plan", help="write the plan CSV here (default: under reports_dir)")
    resort.add_argument("--json", action="store_true")
    resort.set_defaults(handler=cmd_resort)

    undo = commands.add_parser(
        "undo", help="revert every move of a group (a run, a re-sort); without GROUP: list them"
    )
    undo.add_argument("group", nargs="?", help="the group id (a run id); omit to list groups")
    undo.add_argument("--limit", type=int, default=20, help="groups listed (default 20)")
    undo.add_argument("--json", action="store_true")
    undo.set_defaults(handler=cmd_undo)

    report = commands.add_parser("report", help="write the weekly review-queue report")
    report.add_argument("--week", help="ISO week, like 2026-W05 (default: the last complete week)")
    report.add_argument("--json", action="store_true")
    report.set_defaults(handler=cmd_report)

    from facesort.review.cli import add_review_commands

    add_review_commands(commands)

    db = commands.add_parser("db", help="state database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate to the newest schema")
    db_commands.add_parser("current", help="show the schema version")
    db.set_defaults(handler=cmd_db)
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
