"""``facesort people ...``: the people page's actions on the command line.

facesort people list [--json]                  everyone, with their counts
facesort people rename OLD NEW                 rename (a name someone has: a merge)
facesort people merge A B --keep NAME          A and B are one person, called NAME
facesort people undo [GROUP]                   undo a people action (default: the last)
"""

from __future__ import annotations

import argparse
import json

from facesort.config import Config


def _actor() -> str:
    from facesort.cli.actor import command_actor

    return command_actor("people")


def cmd_people(config: Config, args: argparse.Namespace) -> int:
    from facesort.state import State

    state = State(config.database_url)
    try:
        if args.people_command == "list":
            from facesort.people.overview import people_overview

            people = people_overview(state, config)
            if args.json:
                print(json.dumps([p.as_dict() for p in people], indent=2))
                return 0
            for p in people:
                when = p.last_sorted.strftime("%Y-%m-%d") if p.last_sorted else "never"
                immich = "  (Immich)" if p.in_immich else ""
                print(
                    f"{p.name:<30} {p.references:>3} reference(s) {p.library:>5} in library "
                    f"{p.in_review:>4} in review  last sorted {when}{immich}"
                )
            return 0
        if args.people_command == "rename":
            from facesort.people.rename import rename_person

            result = rename_person(config, state, _actor(), args.old, args.new)
        elif args.people_command == "merge":
            from facesort.people.rename import merge_people

            result = merge_people(config, state, _actor(), args.first, args.second, args.keep)
        else:
            from facesort.people.undo import last_undoable, undo

            result = undo(config, state, _actor(), args.group or last_undoable(state))
        print(f"{result.summary}  [group {result.group_id}]")
        for skipped in result.skipped:
            print(f"  skipped: {skipped}")
        return 0
    finally:
        state.dispose()


def add_people_commands(commands) -> None:
    """Add ``facesort people ...`` to the main parser's subcommands."""
    people = commands.add_parser("people", help="people: list, rename, merge, undo")
    sub = people.add_subparsers(dest="people_command", required=True)
    listing = sub.add_parser("list", help="everyone facesort knows, with their counts")
    listing.add_argument("--json", action="store_true")
    rename = sub.add_parser("rename", help="rename a person (onto someone who exists: a merge)")
    rename.add_argument("old")
    rename.add_argument("new")
    merge = sub.add_parser("merge", help="two people are one: keep one of the two names")
    merge.add_argument("first")
    merge.add_argument("second")
    merge.add_argument("--keep", required=True, help="the name that stays (FIRST or SECOND)")
    undo = sub.add_parser("undo", help="undo a people action (default: the last one)")
    undo.add_argument("group", nargs="?")
    people.set_defaults(handler=cmd_people)
