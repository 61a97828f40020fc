"""``facesort review ...``: the review actions on the command line.

    facesort review list [CATEGORY] [--json]          files in the queue, with ids and reasons
    facesort review approve PERSON FILE... [--add-reference] [--face N]
    facesort review reject FILE...                    to the trash (deleted after trash_days)
    facesort review add-reference PERSON FILE... [--face N] [--whole-photo]
    facesort review not-duplicate FILE...             sort a "duplicate" by its faces
    facesort review undo [GROUP...] [--last N]        undo review actions (default: the last)
    facesort review history [--limit N]               recent review actions and their groups
    facesort review recheck                           match the queue with today's references
    facesort review recluster                         cluster the unknown faces now
    facesort review clusters [--json]                 clusters of unknown faces
    facesort review name-cluster CLUSTER PERSON       name a cluster: references + routing
    facesort review purge-trash [--dry-run]           delete files past review.trash_days

A FILE is an id (``12`` or ``#12``, as ``list`` shows) or the file's current path.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

from facesort.config import REVIEW_CATEGORIES, Config
from facesort.words import plural

if TYPE_CHECKING:
    from facesort.review.results import ActionResult


def _actor() -> str:
    from facesort.cli.actor import command_actor

    return command_actor("review")


def resolve_files(state, refs: list[str]) -> list[int]:
    """Ids of the files named by id (``12``, ``#12``) or by current path."""
    import sqlalchemy as sa

    from facesort.review.results import ReviewError
    from facesort.state.models import MediaFile

    ids = []
    for ref in refs:
        text = ref.strip().lstrip("#")
        if text.isdigit():
            ids.append(int(text))
            continue
        path = os.path.abspath(ref)
        with state.session() as session:
            found = session.scalar(
                sa.select(MediaFile.id)
                .where(sa.or_(MediaFile.current_path == path, MediaFile.source_path == path))
                .order_by(MediaFile.id.desc())
                .limit(1)
            )
        if found is None:
            raise ReviewError(
                f"facesort has no record of {ref}: name files by the ids `facesort review "
                "list` shows, or by their path in the review folder."
            )
        ids.append(found)
    return ids


def _print_result(result: ActionResult, as_json: bool = False) -> None:
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    print(f"{result.summary}  [group {result.group_id}]")
    for moved in result.moved:
        print(f"  {os.path.basename(moved.source)} -> {moved.destination}")
    for reference in result.references:
        print(f"  reference photo added: {reference}")
    for skipped in result.skipped:
        print(f"  skipped: {skipped}")


def _to_person(verb, state, args: argparse.Namespace, **options) -> ActionResult:
    """``approve`` or ``add-reference``: PERSON FILE... [--face N] [--new-person], with
    the command's own ``options``."""
    files = resolve_files(state, args.files)
    return verb(files, args.person, face=args.face, confirm_new_person=args.new_person, **options)


def cmd_review(config: Config, args: argparse.Namespace) -> int:
    from facesort.review.actions import Reviewer
    from facesort.state import State

    state = State(config.database_url)
    try:
        reviewer = Reviewer(config, state, _actor())
        command = args.review_command
        if command == "list":
            return _list(state, args)
        if command == "approve":
            result = _to_person(reviewer.approve, state, args, add_reference=args.add_reference)
        elif command == "reject":
            result = reviewer.reject(resolve_files(state, args.files))
        elif command == "add-reference":
            result = _to_person(reviewer.add_reference, state, args, whole_photo=args.whole_photo)
        elif command == "not-duplicate":
            result = reviewer.not_duplicate(resolve_files(state, args.files))
        elif command == "keep-instead":
            (file_id,) = resolve_files(state, [args.file])
            result = reviewer.keep_instead(file_id)
        elif command == "name-cluster":
            result = reviewer.name_cluster(
                args.cluster, args.person, confirm_new_person=args.new_person
            )
        elif command == "undo":
            from facesort.people.undo import undo_last_listed, undo_listed

            results = (
                [undo_listed(reviewer, group) for group in args.groups]
                if args.groups
                else undo_last_listed(reviewer, args.last)
            )
            for one in results:
                _print_result(one, args.json)
            return 0
        elif command == "history":
            return _history(state, args)
        elif command == "recheck":
            from facesort.review.recheck import recheck_queue
            from facesort.review.results import new_group_id

            result = recheck_queue(state, config, actor=_actor(), group_id=new_group_id())
        elif command == "recluster":
            from facesort.review.clustering import recluster

            report = recluster(state, config)
            print(
                f"{plural(report.faces, 'unknown face')}: {plural(report.clusters, 'cluster')} "
                f"({report.kept} kept from before, {report.new} new, {report.dissolved} "
                f"dissolved), {plural(report.faces - report.clustered, 'face')} seen only once"
            )
            return 0
        elif command == "clusters":
            return _clusters(state, args)
        elif command == "purge-trash":
            from facesort.review.trash import purge_trash

            report = purge_trash(state, config, actor=_actor(), dry_run=args.dry_run)
            verb = "would delete" if args.dry_run else "deleted"
            print(
                f"{verb} {plural(report.deleted, 'file')} rejected more than "
                f"{plural(config.review.trash_days, 'day')} ago; {report.waiting} still kept"
            )
            for path in report.deleted:
                print(f"  {path}")
            for problem in report.problems:
                print(f"  left alone: {problem}")
            return 0
        else:  # pragma: no cover - argparse allows only the commands above
            raise AssertionError(f"unknown review command {command}")
        _print_result(result, args.json)
        return 0
    finally:
        state.dispose()


def _list(state, args: argparse.Namespace) -> int:
    from facesort.review.queue import queue_counts, queue_items

    items = queue_items(state, args.category, limit=args.limit)
    if args.json:
        print(json.dumps([i.as_dict() for i in items], indent=2))
        return 0
    counts = queue_counts(state)
    print(", ".join(f"{c}: {n}" for c, n in counts.items()))
    for item in items:
        print(f"#{item.id:<6} {item.folder:<24} {item.name}")
        print(f"{'':32}{item.summary}")
        if item.duplicate_of:
            print(f"{'':32}kept: {item.duplicate_of['path']}")
    return 0


def _history(state, args: argparse.Namespace) -> int:
    from facesort.review.queue import recent_actions

    for action in recent_actions(state, limit=args.limit):
        undone = f"  (undone by {action['undone_by']})" if action["undone_by"] else ""
        print(f"{action['at']}  {action['group_id']}  {action['kind']:<14} {action['actor']}")
        print(f"{'':22}{action['summary']}{undone}")
    return 0


def _clusters(state, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from facesort.cli.output import print_listing
    from facesort.review.queue import active_clusters

    print_listing(
        active_clusters(state),
        as_json=args.json,
        as_dict=asdict,
        empty="No clusters of unknown faces (run `facesort review recluster`).",
        line=lambda c: (
            f"cluster {c.id}: {c.face_count} faces in {c.file_count} files "
            f"({c.in_queue} in the review queue)"
        ),
    )
    return 0


def add_review_commands(commands) -> None:
    """Add ``facesort review ...`` to the main parser's subcommands."""
    review = commands.add_parser("review", help="the review queue: list, approve, reject, undo")
    sub = review.add_subparsers(dest="review_command", required=True)

    def files(parser, what="files"):
        parser.add_argument("files", nargs="+", help=f"{what}: ids (as `list` shows) or paths")

    listing = sub.add_parser("list", help="files in the review queue, with ids and reasons")
    listing.add_argument("category", nargs="?", choices=REVIEW_CATEGORIES, default=None)
    listing.add_argument("--limit", type=int, default=200)
    listing.add_argument("--json", action="store_true")

    approve = sub.add_parser("approve", help="move files to library/PERSON")
    approve.add_argument("person")
    files(approve)
    approve.add_argument(
        "--add-reference", action="store_true", help="also add the face as a reference photo"
    )
    approve.add_argument("--face", type=int, help="which face is PERSON (1, 2, ...)")

    reject = sub.add_parser("reject", help="move files to the trash folder")
    files(reject)

    reference = sub.add_parser("add-reference", help="add faces as reference photos")
    reference.add_argument("person")
    files(reference)
    reference.add_argument("--face", type=int, help="which face is PERSON (1, 2, ...)")
    reference.add_argument(
        "--whole-photo", action="store_true", help="copy the photo, not a crop of the face"
    )

    not_duplicate = sub.add_parser("not-duplicate", help="sort 'duplicates' by their faces")
    files(not_duplicate)

    keep = sub.add_parser(
        "keep-instead", help="keep a duplicate instead of the file kept (they swap places)"
    )
    keep.add_argument("file", help="the duplicate: its id (as `list` shows) or path")

    undo = sub.add_parser("undo", help="undo review actions (default: the last one)")
    undo.add_argument("groups", nargs="*", help="group ids (as `history` shows)")
    undo.add_argument("--last", type=int, default=1, help="undo the last N actions")

    history = sub.add_parser("history", help="recent review actions")
    history.add_argument("--limit", type=int, default=30)

    recheck = sub.add_parser("recheck", help="move queued files that now match to the library")
    sub.add_parser("recluster", help="cluster the unknown faces now")
    clusters = sub.add_parser("clusters", help="clusters of unknown faces")
    clusters.add_argument("--json", action="store_true")
    name = sub.add_parser("name-cluster", help="name a cluster of unknown faces")
    name.add_argument("cluster", type=int)
    name.add_argument("person")
    purge = sub.add_parser("purge-trash", help="delete files rejected long enough ago")
    purge.add_argument("--dry-run", action="store_true")

    for parser in (approve, reject, reference, not_duplicate, keep, undo, name, recheck):
        parser.add_argument("--json", action="store_true")
    for parser in (approve, reference, name):
        parser.add_argument(
            "--new-person",
            action="store_true",
            help="PERSON is new, even if the name is close to a known one (not a typo)",
        )
    review.set_defaults(handler=cmd_review)
