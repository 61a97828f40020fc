"""``facesort references learnt | learn | forget``: reference photos learnt from sure
matches (:mod:`facesort.learning`)."""

from __future__ import annotations

import argparse

from facesort.cli.output import print_listing
from facesort.config import Config

ACTOR = "facesort references"


def cmd_learnt(config: Config, args: argparse.Namespace) -> int:
    from facesort.learning import forget_learnt_reference, learn_references, learnt_references
    from facesort.state import State

    with State(config.database_url) as state:
        if args.ref_command == "learn":
            if not config.matching.learning.enabled:
                print("Learning is off: set matching.learning.enabled: true in the config.")
                return 0
            learnt = learn_references(state, config, actor=ACTOR)
            print(f"Learnt {len(learnt)} reference photo(s).")
            for item in learnt:
                print(f"{item.person:<24} {item.path}  (undo: facesort undo {item.group_id})")
            return 0
        if args.ref_command == "forget":
            forget_learnt_reference(state, config, args.path, actor=ACTOR)
            print(f"Removed {args.path} (its photo stays in the library and is not learnt again).")
            return 0
        listed = learnt_references(state, config)
    print_listing(
        listed,
        as_json=args.json,
        as_dict=lambda item: item.as_dict(),
        empty="No learnt reference photos.",
        line=lambda item: (
            f"{item.person:<24} {item.path}  from file #{item.file_id} at {item.distance:.2f}; "
            f"remove: facesort references forget '{item.path}'"
        ),
    )
    return 0


def add_learning_commands(ref_commands) -> None:
    """The subcommands of ``facesort references`` about learnt reference photos."""
    learnt = ref_commands.add_parser("learnt", help="reference photos learnt from sure matches")
    learnt.add_argument("--json", action="store_true", help="as JSON")
    learnt.set_defaults(handler=cmd_learnt)
    learn = ref_commands.add_parser(
        "learn", help="learn reference photos from the library's sure matches now"
    )
    learn.set_defaults(handler=cmd_learnt)
    forget = ref_commands.add_parser("forget", help="remove a learnt reference photo (undoable)")
    forget.add_argument("path", help="the learnt photo, as `facesort references learnt` lists it")
    forget.set_defaults(handler=cmd_learnt)
