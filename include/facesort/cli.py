"""The ``facesort`` command: the same logic as the DAGs, without Airflow.

    facesort run [--dry-run] [--workers N] [--json]   one full pass
    facesort status                                    counts by place
    facesort history FILE                              every decision about a file
    facesort references add NAME FILE... | list        reference photos
    facesort recover                                   finish interrupted moves
    facesort review list | approve | reject | undo ... the review queue (review/cli.py)
    facesort db upgrade | current                      state database schema

Every command takes ``--config FILE`` (or ``$FACESORT_CONFIG``). Errors a user can
act on are printed as one message, without a traceback, and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path

from facesort.config import CONFIG_ENV, Config, load_config
from facesort.errors import FacesortError


def _print_results(results, *, as_json: bool, out=sys.stdout) -> None:
    if as_json:
        json.dump([r.as_dict() for r in results], out, indent=2)
        out.write("\n")
        return
    width = max((len(os.path.basename(r.source)) for r in results), default=0)
    for r in sorted(results, key=lambda r: (r.folder, r.source)):
        name = os.path.basename(r.source)
        where = r.destination if r.destination else f"left in {r.folder}"
        out.write(f"{name:<{width}}  -> {where}\n{'':<{width}}     {r.summary}\n")
    counts = Counter(r.folder for r in results)
    if counts:
        out.write("\n" + ", ".join(f"{folder}: {n}" for folder, n in sorted(counts.items())) + "\n")


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    from facesort.pipeline import dry_run, run_once

    if args.dry_run:
        results = dry_run(config)
        if not args.json:
            print(f"Dry run: {len(results)} files; nothing was moved or recorded.")
        _print_results(results, as_json=args.json)
        return 0
    summary = run_once(config, workers=args.workers)
    if not args.json:
        scan = summary.scan
        print(
            f"Run {summary.run_id}: {scan.registered} new, {scan.known} already handled, "
            f"{scan.waiting} not stable yet, {scan.ignored} not media"
            + (f", {summary.recovered} interrupted moves recovered" if summary.recovered else "")
        )
        for note in scan.notes:
            print(f"note: {note}")
    _print_results(summary.results, as_json=args.json)
    return 0


def cmd_status(config: Config, args: argparse.Namespace) -> int:
    from facesort.status import file_places, status_counts

    if args.files:
        places = file_places(config)
        if args.json:
            print(json.dumps(places, indent=2))
            return 0
        width = max((len(os.path.basename(p["source_path"])) for p in places), default=0)
        for place in sorted(places, key=lambda p: (p["current_path"] or "", p["source_path"])):
            name = os.path.basename(place["source_path"])
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


def cmd_recover(config: Config, args: argparse.Namespace) -> int:
    from facesort.journal import recover
    from facesort.state import State

    state = State(config.database_url)
    report = recover(state, force=args.force)
    print(
        f"{report.finished} finished, {report.replanned} redone, {report.vanished} sources "
        f"vanished, {report.skipped_live} still owned by a running process"
    )
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facesort",
        description="Sort downloaded photos and videos by the people in them.",
    )
    parser.add_argument(
        "--config", help=f"path of the YAML config (default: ${CONFIG_ENV})", default=None
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
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
    refs.set_defaults(handler=cmd_references)

    recover = commands.add_parser("recover", help="finish moves an interrupted run left")
    recover.add_argument(
        "--force", action="store_true", help="also transfers whose owner may still run"
    )
    recover.set_defaults(handler=cmd_recover)

    from facesort.review.cli import add_review_commands

    add_review_commands(commands)

    db = commands.add_parser("db", help="state database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate to the newest schema")
    db_commands.add_parser("current", help="show the schema version")
    db.set_defaults(handler=cmd_db)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config(args.config)
        return args.handler(config, args)
    except FacesortError as exc:
        print(f"facesort: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("facesort: interrupted; run again to finish (nothing is lost).", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
