"""``facesort references``: reference photos, added by hand or from Immich."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from facesort.config import Config
from facesort.words import plural


def cmd_references(config: Config, args: argparse.Namespace) -> int:
    from facesort.references import add_reference_photos

    if args.ref_command == "add":
        folder, added = add_reference_photos(config, args.name, [Path(f) for f in args.files])
        print(f"Added {plural(added, 'photo')} to {config.references_dir / folder}")
        if folder != args.name:
            print(f"(stored as {folder!r}: that is the library folder name for {args.name!r})")
    from facesort.status import reference_summary

    summary = reference_summary(config)
    if args.ref_command == "list" or args.ref_command == "add":
        if not summary["people"]:
            print(f"No reference photos in {config.references_dir}.")
        for person, info in summary["people"].items():
            print(f"{person:<30} {info['usable']} usable of {plural(info['photos'], 'photo')}")
        _listed("skipped", summary["problems"])
    return 0


def cmd_sync_immich(config: Config, args: argparse.Namespace) -> int:
    from facesort.errors import ImmichError
    from facesort.immich.endpoint import endpoint_from_config
    from facesort.immich.people import sync_references
    from facesort.immich.runs import reference_lines

    endpoint = endpoint_from_config(config)
    if endpoint is None:
        raise ImmichError(
            "Immich is not configured: set immich.url and immich.api_key in the config "
            "(README.md, section Immich)."
        )
    report = sync_references(config, endpoint)
    print(
        f"{plural(report.saved, 'reference photo')} saved from Immich, {report.unchanged} "
        f"unchanged, {len(report.moved)} moved, {len(report.removed)} removed, "
        f"{len(report.skipped)} skipped"
    )
    _listed("saved", [config.references_dir / name for name in report.saved])
    for line in reference_lines({**report.as_dict(), "saved": []}):  # moved, removed, skipped
        print(line)
    _listed("kept", report.kept)
    return 0


def _listed(label: str, items: Iterable[object]) -> None:
    """One line per item: ``label: item``."""
    for item in items:
        print(f"{label}: {item}")


def add_commands(commands) -> None:
    """``facesort references add | list | sync-immich``."""
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
    from facesort.cli.learning import add_learning_commands

    add_learning_commands(ref_commands)  # learnt | learn | forget
    refs.set_defaults(handler=cmd_references)
