"""``facesort recover``, ``resort`` and ``undo``: commands that move sorted files again."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from facesort.cli.output import print_results
from facesort.config import Config
from facesort.words import plural


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
        print_results(results, as_json=False, roots=(config.library_dir, config.review_dir))
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
    print_results(applied.moved, as_json=False, roots=(config.library_dir, config.review_dir))
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
            from facesort.people.undo import is_people_action, undo

            who = f"facesort undo {args.group}"
            if is_people_action(state, args.group):  # a rename, merge...: facesort.people
                result = undo(config, state, who, args.group)
            else:
                result = Reviewer(config, state, who).undo(args.group)
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
            config=config,
        )
        skipped = report.skipped or []
        if args.json:
            print(json.dumps({"undo_group": report.group_id, "reverted": report.reverted,
                              "to_staging": report.to_staging, "skipped": skipped,
                              "immich": report.immich},
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
        for line in report.immich:
            print(f"  {line}")
        if report.reverted:
            print(
                f"This undo is group {report.group_id}: `facesort undo {report.group_id}` redoes."
            )
        return 0
    finally:
        state.dispose()


def add_commands(commands) -> None:
    """``facesort recover``, ``resort`` and ``undo``."""
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
