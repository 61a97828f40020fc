"""``facesort status`` and ``facesort history``: where files are and what happened to them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from facesort.config import Config


def cmd_status(config: Config, args: argparse.Namespace) -> int:
    from facesort.status import file_places, status_counts

    if args.files:
        places = file_places(config)
        if args.json:
            print(json.dumps(places, indent=2))
            return 0
        from facesort.cli.output import display_path

        names = [display_path(p["source_path"], config.staging_dirs) for p in places]
        width = max((len(name) for name in names), default=0)
        for name, place in sorted(
            zip(names, places, strict=True),
            key=lambda np: (np[1]["current_path"] or "", np[1]["source_path"]),
        ):
            where = place["current_path"] or f"(in staging: {place['status']})"
            print(f"{name:<{width}}  {where}")
        return 0
    counts = status_counts(config)
    if args.json:
        print(json.dumps(counts, indent=2))
        return 0
    print(f"library ({config.library_dir}):")
    for person, n in sorted(counts["library"].items()):
        print(f"  {person:<30} {n}")
    if not counts["library"]:
        print("  (empty)")
    print(f"review ({config.review_dir}):")
    for category, n in counts["review"].items():
        print(f"  {category:<30} {n}")
    print(
        f"trash ({config.trash_path}): {counts['trash']} rejected, deleted after "
        f"{config.review.trash_days} days; {counts['deleted']} deleted so far"
    )
    print("staging:")
    for what, n in counts["staging"].items():
        print(f"  {what:<30} {n}")
    if not counts["staging"]:
        print("  (nothing waiting)")
    return 0


def cmd_history(config: Config, args: argparse.Namespace) -> int:
    from facesort.status import file_history

    histories = file_history(config, Path(args.file))
    if not histories:
        print(f"facesort has no record of {args.file}.")
        return 1
    if args.json:
        print(json.dumps(histories, indent=2, default=str))
        return 0
    for history in histories:
        print(f"file #{history['id']}: {history['source_path']}")
        print(f"  now: {history['current_path'] or '(in staging)'}  [{history['status']}]")
        for event in history["events"]:
            line = f"  {event['at']}  {event['action']:<10}"
            if event["to_path"]:
                line += f" -> {event['to_path']}"
            print(line)
            summary = (event.get("reason") or {}).get("summary")
            if summary:
                print(f"{'':24}{summary}")
            print(f"{'':24}by {event['actor']}")
    return 0


def add_commands(commands) -> None:
    """``facesort status`` and ``facesort history``."""
    status = commands.add_parser("status", help="how many files are where")
    status.add_argument("--files", action="store_true", help="list every file and its place")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)

    history = commands.add_parser("history", help="every decision about a file")
    history.add_argument("file", help="its staging path, current path, or a copy of it")
    history.add_argument("--json", action="store_true")
    history.set_defaults(handler=cmd_history)
