"""The ``facesort`` command: the same logic as the DAGs, without Airflow.

    facesort run [--dry-run] [--workers N] [--json]   one full pass
    facesort status                                    counts by place
    facesort history FILE                              every decision about a file
    facesort references add NAME FILE... | list        reference photos
    facesort references sync-immich                    people named in Immich -> references
    facesort recover                                   finish interrupted moves
    facesort resort SCOPE [--apply] [thresholds]       re-sort sorted files (dry run first)
    facesort undo [GROUP]                              revert a run or re-sort; list groups
    facesort report [--week 2026-W05]                  write the weekly review-queue report
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
from pathlib import Path

from facesort.config import CONFIG_ENV, Config, load_config
from facesort.errors import FacesortError
from facesort.words import plural


def _print_results(results, *, as_json: bool, out=None, roots=()) -> None:
    from facesort.listing import print_results

    # stdout looked up now, not at import (tests capture stdout)
    print_results(results, as_json=as_json, out=out or sys.stdout, roots=roots)


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    from facesort.sorting.run import preview_run, run_once

    if args.dry_run:
        from facesort.scan import check_staging_dirs

        check_staging_dirs(config)  # as in a real run: a missing folder is an error
        results = preview_run(config)
        if not args.json:
            print(f"Dry run: {plural(results, 'file')}; nothing was moved or recorded.")
        _print_results(results, as_json=args.json, roots=config.staging_dirs)
        return 0
    from facesort.progress import progress_factory

    summary = run_once(config, workers=args.workers, progress=progress_factory(sys.stderr))
    if not args.json:
        scan = summary.scan
        recovered = plural(summary.recovered, "interrupted move")
        print(
            f"Run {summary.run_id}: {scan.registered} new, "
            + (f"{scan.unsorted} still to sort, " if scan.unsorted else "")
            + f"{scan.known} already handled, "
            f"{scan.waiting} not stable yet, {scan.ignored} not media"
            + (f", {recovered} recovered" if summary.recovered else "")
        )
        for note in scan.notes:
            print(f"note: {note}")
    _print_results(summary.results, as_json=args.json, roots=config.staging_dirs)
    return _report_immich(summary.immich)


def _report_immich(immich: dict | None) -> int:
    """One line about Immich. A setting to fix is a warning: the files were sorted
    locally all the same, so the run succeeded."""
    if not immich:
        return 0
    if immich["status"] == "error":
        print(f"facesort: warning: Immich was not used: {immich['message']}", file=sys.stderr)
        return 0
    if immich["status"] != "ok":
        print(f"facesort: Immich: {immich['message']}", file=sys.stderr)
        return 0
    files = ", ".join(f"{k}: {v}" for k, v in sorted(immich["files"].items()))
    print(
        f"Immich {immich['server_version']}: wait {immich['wait']}; files {files or 'none'}",
        file=sys.stderr,
    )
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
        f"{plural(report.saved, 'reference photo')} saved from Immich, {report.unchanged} "
        f"unchanged, {len(report.removed)} removed"
    )
    for name in report.saved:
        print(f"saved: {config.references_dir / name}")
    for why in report.skipped:
        print(f"skipped: {why}")
    return 0


def cmd_recover(config: Config, args: argparse.Namespace) -> int:
    from facesort.files.recovery import recover_transfers
    from facesort.state import State

    with State(config.database_url) as state:
        report = recover_transfers(state, lease_s=config.claim_lease_seconds, force=args.force)
    print(
        f"{report.finished} finished, {report.replanned} redone, {report.vanished} sources "
        f"vanished, {report.skipped_live} still owned by a running process"
    )
    return 0


def cmd_resort(config: Config, args: argparse.Namespace) -> int:
    from facesort.resort import (
        apply_resort,
        finish_resort_intent,
        plan_path,
        plan_resort,
        record_resort_intent,
        resort_request,
        summarize_plan,
        unfinished_resort,
        write_plan_csv,
    )
    from facesort.sorting.run import new_run_id
    from facesort.state import State

    state = State(config.database_url)
    try:
        request = resort_request(
            state,
            config,
            scope=args.scope,
            person=args.person,
            categories=args.category or (),
            folders=args.folder or (),
            dry_run=not args.apply,
            redetect=args.redetect,
            thresholds={k: getattr(args, k) for k in ("sure_distance", "review_distance",
                                                       "min_margin")},
        )  # fmt: skip
        effective = request.config(config)
        group_id = new_run_id("resort")
        if not request.dry_run:
            from facesort.files.recovery import recover_transfers

            recover_transfers(state, lease_s=config.claim_lease_seconds)  # plan on the truth
            unfinished = unfinished_resort(config, request)
            if unfinished is not None:
                return _continue_resort(state, config, request, unfinished, args)
        plan = plan_resort(state, effective, request.scope, redetect=request.redetect)
        csv_path = write_plan_csv(
            plan, Path(args.plan) if args.plan else plan_path(config, group_id)
        )
        rows = [m.as_row() for m in plan]
        if args.json and request.dry_run:
            print(json.dumps({"plan": str(csv_path), "moves": rows}, indent=2))
            return 0
        if not args.json:
            print(f"Re-sort of {request.describe()}: {plural(plan, 'file')} would move.")
            for folders, count in summarize_plan(plan).items():
                print(f"  {folders}: {count}")
            print(f"Plan: {csv_path}")
        if request.dry_run:
            print("Dry run: nothing was moved. Run again with --apply to move these files.")
            return 0
        intent = record_resort_intent(csv_path, group_id, request)
        results = apply_resort(state, effective, plan, actor="facesort resort", group_id=group_id)
        finish_resort_intent(intent)
        moved = [r for r in results if r.destination is not None]
        if args.json:
            print(json.dumps({"plan": str(csv_path), "group": group_id,
                              "results": [r.as_dict() for r in results]}, indent=2))  # fmt: skip
            return 0
        _print_results(results, as_json=False, roots=(config.library_dir, config.review_dir))
        print(f"Moved {len(moved)} of {plural(plan, 'planned file')} as group {group_id}.")
        for r in results:
            if r.destination is None:
                print(f"not moved: {r.source}: {r.summary}")
        print(f"Undo it with: facesort undo {group_id}")
        return 0
    finally:
        state.dispose()


def _continue_resort(state, config: Config, request, unfinished, args) -> int:
    """`resort --apply` again after it was killed: the same plan, in the same group."""
    import sqlalchemy as sa

    from facesort.resort import apply_plan_csv, finish_resort_intent
    from facesort.state.models import Transfer
    from facesort.vocab import TransferState

    group_id, csv_path, intent = unfinished
    applied = apply_plan_csv(
        state, config, request, csv_path, actor="facesort resort", group_id=group_id
    )
    finish_resort_intent(intent)
    with state.session() as session:
        moved = session.scalar(
            sa.select(sa.func.count(sa.distinct(Transfer.file_id))).where(
                Transfer.group_id == group_id, Transfer.state == TransferState.DONE
            )
        )
    if args.json:
        results = [r.as_dict() for r in applied.results]
        body = {"plan": str(csv_path), "group": group_id, "continued": True, "results": results}
        print(json.dumps(body, indent=2))
        return 0
    print(f"Continuing the interrupted re-sort {group_id} (plan: {csv_path}).")
    _print_results(applied.moved, as_json=False, roots=(config.library_dir, config.review_dir))
    print(f"Moved {plural(moved, 'file')} in all as group {group_id}.")
    print(f"Undo it with: facesort undo {group_id}")
    return 0


def cmd_undo(config: Config, args: argparse.Namespace) -> int:
    from facesort.files.undo import recent_groups, undo_named_group
    from facesort.state import State

    state = State(config.database_url)
    try:
        if args.group is None:
            groups = recent_groups(state, limit=args.limit)
            if args.json:
                print(json.dumps([g.as_dict() for g in groups], indent=2))
                return 0
            if not groups:
                print("No moves recorded yet.")
                return 0
            print("Recent groups of moves, newest first (undo one with `facesort undo GROUP`):")
            for g in groups:
                note = ""
                if g.undoes:
                    note = f"  (undid {g.undoes})"
                if g.undone_by:
                    note += f"  (undone by {', '.join(g.undone_by)})"
                print(
                    f"  {g.group_id}\n      {g.last_at:%Y-%m-%d %H:%M:%S} UTC  "
                    f"{'/'.join(g.actions)}: {plural(g.files, 'file')}  "
                    f"by {', '.join(g.actors)}{note}"
                )
            return 0
        from facesort.review.actions import Reviewer
        from facesort.review.record import is_review_group

        if is_review_group(state, args.group):
            # A review action: undo it with what it changed besides moves (face labels,
            # originals, a cluster's name), as `facesort review undo` does.
            result = Reviewer(config, state, f"facesort undo {args.group}").undo(args.group)
            if args.json:
                print(json.dumps(result.as_dict(), indent=2))
                return 0
            print(result.summary)
            for line in result.skipped:
                print(f"  skipped: {line}")
            print(
                f"This undo is group {result.group_id}: `facesort undo {result.group_id}` redoes."
            )
            return 0
        report = undo_named_group(
            state,
            args.group,
            actor=f"facesort undo {args.group}",
            lease_s=config.claim_lease_seconds,
        )
        skipped = report.skipped or []
        if args.json:
            print(json.dumps({"undo_group": report.group_id, "reverted": report.reverted,
                              "to_staging": report.to_staging, "skipped": skipped},
                             indent=2))  # fmt: skip
            return 0
        print(f"Reverted {plural(report.reverted, 'move')} of {args.group}.")
        if report.to_staging:
            print(
                f"{plural(report.to_staging, 'file is', 'files are')} back in staging and waiting "
                "to be sorted: "
                "the next run sorts them again, with the settings and references of then."
            )
        for line in skipped:
            print(f"  skipped: {line}")
        if report.reverted:
            print(
                f"This undo is group {report.group_id}: `facesort undo {report.group_id}` redoes."
            )
        return 0
    finally:
        state.dispose()


def cmd_report(config: Config, args: argparse.Namespace) -> int:
    from facesort.report import ReportWeek, make_report

    week = ReportWeek.parse(args.week, config.report.timezone) if args.week else None
    made = make_report(config, week)
    if args.json:
        print(json.dumps(made.as_dict(), indent=2, default=str))
        return 0
    s = made.summary
    print(f"Report of week {made.week}: {made.page}")
    rate = "-" if s["auto_sort_rate"] is None else f"{s['auto_sort_rate']:.0%}"
    print(
        f"  review queue: {s['queue_size']} ({s['queue_change']:+d}), {s['entered_queue']} in, "
        f"{s['left_queue']} out; auto-sort rate {rate}; {s['duplicates_caught']} duplicates"
    )
    if not s["complete"]:
        print("  (the week is not over yet: its numbers will still change)")
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


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from sqlalchemy.exc import DatabaseError

    from facesort.files.journal import TransferFailed

    config = None
    # -v is facesort's detail; the schema migrations' chatter only when something is wrong.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        config = load_config(args.config)
        code = args.handler(config, args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except BrokenPipeError:
        # The reader went away (`facesort status --files | head`): stop quietly. Python's
        # own flush at exit would fail again, so stdout goes to devnull (as the signal
        # module's documentation recommends).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except FacesortError as exc:
        print(f"facesort: {exc}", file=sys.stderr)
        return 2
    except TransferFailed as exc:
        # A full or read-only destination: the file is where it was, the action so far
        # recorded (undoable), and running the same command again continues it.
        print(
            f"facesort: {exc}. That file was not moved: free space there (or fix the "
            "folder's permissions), then run the same command again to continue.",
            file=sys.stderr,
        )
        return 2
    except DatabaseError as exc:
        # The state database went away mid-command (a PostgreSQL restart) or is damaged.
        from facesort.state import database_failure

        where = config.database_url if config else "(unknown)"
        print(f"facesort: {database_failure(_hide_password(where), exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("facesort: interrupted; run again to finish (nothing is lost).", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
