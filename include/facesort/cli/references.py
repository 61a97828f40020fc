"""``facesort references``: reference photos, added by hand or from Immich."""

from __future__ import annotations

import argparse
from pathlib import Path

from facesort.config import Config


def cmd_references(config: Config, args: argparse.Namespace) -> int:
    from facesort.references import add_reference_photos

    if args.ref_command == "add":
        folder, added = add_reference_photos(config, args.name, [Path(f) for f in args.files])
        print(f"Added {len(added)} photo(s) to {config.references_dir / folder}")
        if folder != args.name:
            print(f"(stored as {folder!r}: that is the library folder name for {args.name!r})")
    from facesort.status import reference_summary

    summary = reference_summary(config)
    if args.ref_command == "list" or args.ref_command == "add":
        if not summary["people"]:
            print(f"No reference photos in {config.references_dir}.")
        for person, info in summary["people"].items():
            print(f"{person:<30} {info['usable']} usable of {info['photos']} photo(s)")
        for problem in summary["problems"]:
            print(f"skipped: {problem}")
    return 0


def cmd_sync_immich(config: Config, args: argparse.Namespace) -> int:
    from facesort.errors import ImmichError
    from facesort.immich.endpoint import endpoint_from_config
    from facesort.immich.people import sync_references

    endpoint = endpoint_from_config(config)
    if endpoint is None:
        raise ImmichError(
            "Immich is not configured: set immich.url and immich.api_key in the config "
            "(README.md, section Immich)."
        )
    report = sync_references(config, endpoint)
    print(
        f"{len(report.saved)} reference photo(s) saved from Immich, {report.unchanged} "
        f"unchanged, {len(report.removed)} removed"
    )
    for name in report.saved:
        print(f"saved: {config.references_dir / name}")
    for why in report.skipped:
        print(f"skipped: {why}")
    return 0
