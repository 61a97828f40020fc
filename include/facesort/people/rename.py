"""Renaming a person, and merging two people into one.

A rename moves the person's library folder and reference folder with them, and their
records follow (:mod:`facesort.people.follow`). Renaming onto a name facesort already
knows is a *merge*: the two people become one, under the name chosen, and the result
says so. :func:`merge_people` is the same with the surviving name chosen explicitly.

Through the one gate, like every review action:

1. recover first (transfers a killed process left in flight are finished);
2. record the intent: the action's row is written open, with the plan for the files
   that have no record (reference photos, files in the folder no record points to);
3. then move: each file with a record through the journal (its record changes with its
   move, undoable with the group), the others as planned (:mod:`facesort.people.plain_moves`).

A retry of the same rename (or merge) left open by a killed process continues it: files
already moved are not moved again. Nothing is ever overwritten: a name taken in the
other person's folder gets a suffix (``photo (1).jpg``). :func:`facesort.people.undo.undo`
reverts the whole action.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from facesort.config import Config
from facesort.files.journal import (
    Journal,
    OutcomeEvent,
    SourceChanged,
    TransferOutcome,
    TransferRequest,
)
from facesort.files.recovery import recover_transfers
from facesort.names import UnsafeNameError, person_key, safe_file_name, safe_folder_name
from facesort.people import plain_moves
from facesort.people.follow import follow, renamed_list, renamed_reason
from facesort.people.intent import adopt, find_open, open_action
from facesort.people.known import immich_names, known_person
from facesort.people.plain_moves import PlainMove
from facesort.review.record import record_action
from facesort.review.results import ActionResult, ReviewError, count_files, file_label
from facesort.sorting.route import FileResult
from facesort.state import State
from facesort.state.models import MediaFile
from facesort.vocab import (
    EventAction,
    FileStatus,
    Place,
    ReviewKind,
    TransferAction,
    TransferOp,
)
from facesort.words import plural

KINDS = (ReviewKind.RENAME_PERSON, ReviewKind.MERGE_PEOPLE)


def target_name(state: State, config: Config, name: str) -> tuple[str, bool]:
    """The new name made safe, spelled like the person who has it already; and whether
    someone has it already (then the rename is a merge)."""
    from facesort.resort import known_people
    from facesort.review.actions import person_name

    safe = person_name(state, config, name)
    key = person_key(safe)
    existing = [p for p in known_people(state, config) if person_key(p) == key]
    return (existing[0] if existing else safe), bool(existing)


def rename_person(config: Config, state: State, actor: str, old: str, new: str) -> ActionResult:
    """Rename ``old`` to ``new``; a merge when ``new`` is someone already."""
    retry = _interrupted(state, old, new)
    if retry is not None:  # a killed try: continue it as it was planned
        details = retry.details or {}
        return _move_person(
            config, state, actor, details["from"], details["to"], merge=details["merge"]
        )
    old = known_person(state, config, old)
    target, exists = target_name(state, config, new)
    if person_key(target) == person_key(old):
        raise ReviewError(f"{old} is already called {target!r}: nothing to rename.")
    return _move_person(config, state, actor, old, target, merge=exists)


def merge_people(
    config: Config, state: State, actor: str, first: str, second: str, keep: str
) -> ActionResult:
    """``first`` and ``second`` are one person: keep the name ``keep`` (one of the two)."""
    for loser, kept in ((first, second), (second, first)):
        if _same_key(kept, keep) and (retry := _interrupted(state, loser, kept)) is not None:
            details = retry.details or {}
            return _move_person(config, state, actor, details["from"], details["to"], merge=True)
    first, second = known_person(state, config, first), known_person(state, config, second)
    if person_key(first) == person_key(second):
        raise ReviewError(f"{first} and {second} are one person already.")
    if keep not in {first, second}:
        keep = next((p for p in (first, second) if _same_key(p, keep)), keep)
    if keep not in {first, second}:
        raise ReviewError(f"Choose {first!r} or {second!r} as the name that stays.")
    loser = second if keep == first else first
    return _move_person(config, state, actor, loser, keep, merge=True)


def _interrupted(state: State, old: str, new: str):
    """The open rename (or merge) of ``old`` to ``new`` a killed process left, if any."""

    def same(row) -> bool:
        details = row.details or {}
        return _same_key(details.get("from", ""), old) and _same_key(details.get("to", ""), new)

    return find_open(state, KINDS, same)


def _same_key(name: str, other: str) -> bool:
    try:
        return person_key(name) == person_key(other)
    except UnsafeNameError:
        return False


def library_folder(config: Config, person: str) -> Path:
    return config.library_dir / safe_folder_name(person)


def _library_records(state: State, folder: Path) -> list[MediaFile]:
    """The files whose record says they are in ``folder`` (sorted files, by id)."""
    prefix = os.path.join(str(folder), "")
    with state.session() as session:
        rows = session.scalars(
            sa.select(MediaFile)
            .where(
                MediaFile.status == FileStatus.DONE,
                MediaFile.current_path.like(prefix.replace("%", "_") + "%"),
            )
            .order_by(MediaFile.id)
        ).all()
    return [m for m in rows if os.path.dirname(m.current_path or "") == str(folder)]


def _plan(config: Config, state: State, old: str, new: str) -> list[PlainMove]:
    """Moves of the files without a record: reference photos, then the library folder's
    files that no record points to."""
    taken: set[str] = set()
    references = config.references_dir
    moves = plain_moves.plan_folder(str(references / old), str(references / new), set(), taken)
    library = library_folder(config, old)
    recorded = {m.current_path for m in _library_records(state, library)}
    moves += plain_moves.plan_folder(
        str(library), str(library_folder(config, new)), {p for p in recorded if p}, taken
    )
    return moves


def _photo_labels(config: Config, moves: list[PlainMove]) -> dict[str, str]:
    """Old label -> new label (``Person/photo.jpg``) of each reference photo moved."""
    root = str(config.references_dir)
    labels = {}
    for move in moves:
        if os.path.dirname(os.path.dirname(move.src)) == root:
            labels[os.path.relpath(move.src, root)] = os.path.relpath(move.dst, root)
    return labels


def _move_person(
    config: Config, state: State, actor: str, old: str, new: str, *, merge: bool
) -> ActionResult:
    kind = ReviewKind.MERGE_PEOPLE if merge else ReviewKind.RENAME_PERSON
    recover_transfers(state, lease_s=config.claim_lease_seconds)
    retry = find_open(
        state,
        KINDS,
        lambda row: (row.details or {}).get("from") == old and (row.details or {}).get("to") == new,
    )
    if retry is not None:
        adopt(state, config, retry)
        group = retry.group_id
        moves = [PlainMove.from_json(m) for m in (retry.details or {}).get("plain_moves") or []]
        kind = retry.kind
    else:
        moves = _plan(config, state, old, new)
        files = [m.id for m in _library_records(state, library_folder(config, old))]
        details = {
            "from": old,
            "to": new,
            "merge": merge,
            "plain_moves": [m.as_json() for m in moves],
        }
        group = open_action(state, config, actor, kind, new, files, details)
    photos = _photo_labels(config, moves)
    journal = Journal(state, actor, group, lease_s=config.claim_lease_seconds)
    result = ActionResult(group, kind, "")
    moved_ids: set[int] = set()
    verb = "merged into" if merge else "renamed"
    summary = f"{old} {verb} {new} by {actor}"
    destination = str(library_folder(config, new))
    # Files with a record: through the journal, their record changing with the move.
    for media in _library_records(state, library_folder(config, old)):
        people = renamed_list(media.people, old, new)
        reason = renamed_reason(media.reason, old, new, photos)
        try:
            path = journal.transfer(
                TransferRequest(
                    file_id=media.id,
                    src=media.current_path or "",
                    dest_dir=destination,
                    name=safe_file_name(os.path.basename(media.current_path or "")),
                    outcome=TransferOutcome(
                        {"people": people, "reason": reason},
                        OutcomeEvent(
                            EventAction.PERSON_RENAMED,
                            place=Place.LIBRARY,
                            people=people,
                            reason={"summary": summary, "from": old, "to": new},
                        ),
                    ),
                    action=TransferAction.RENAME_PERSON,
                    op=TransferOp.MOVE,
                    expected_sha256=media.sha256,
                )
            )
        except SourceChanged as exc:
            result.skipped.append(f"{file_label(media)}: {exc}")
            continue
        moved_ids.add(media.id)
        folder = f"library/{os.path.basename(destination)}"
        result.moved.append(FileResult(media.id, media.current_path or "", path, folder, summary))
    # Files without a record: as planned when the action was recorded.
    photos_moved = plain_moves.finish_all(
        moves, result.skipped, "changed since it was planned; left where it is"
    )
    for folder in (config.references_dir / old, library_folder(config, old)):
        plain_moves.remove_empty(str(folder))
    done_before = _moved_by_earlier_try(state, group, moved_ids)
    counts = follow(state, group, old, new, photos, moved_ids | done_before)
    result.references = [
        m.dst
        for m in moves
        if os.path.dirname(os.path.dirname(m.dst)) == str(config.references_dir)
    ]
    head = (
        f"{old} merged into {new} (a merge: {new} was someone already)"
        if merge
        else f"{old} renamed {new}"
    )
    result.summary = (
        f"{head}: {count_files(result.moved)} in the library and "
        f"{plural(photos_moved, 'other file')} moved (reference photos included); "
        f"{plural(counts['faces'], 'face')}, {plural(counts['events'], 'event')}, "
        f"{plural(counts['clusters'], 'cluster')} follow"
        + (f" ({len(result.skipped)} skipped)" if result.skipped else "")
    )
    _policy_note(config, state, old, result)
    record_action(state, result, actor, sorted(moved_ids | done_before), new, None)
    return result


def _moved_by_earlier_try(state: State, group: str, moved: set[int]) -> set[int]:
    from facesort.state.models import Transfer
    from facesort.vocab import TransferState

    with state.session() as session:
        ids = session.scalars(
            sa.select(Transfer.file_id).where(
                Transfer.group_id == group, Transfer.state == TransferState.DONE
            )
        ).all()
    return set(ids) - moved


def _policy_note(config: Config, state: State, old: str, result: ActionResult) -> None:
    """The config (and Immich) are the user's: say where they still name the old name."""
    if person_key(old) in immich_names(state):
        result.skipped.append(
            f"Immich still calls them {old}: rename them there too, or the next "
            "`references sync-immich` brings a reference folder of that name back"
        )
    policy = config.policy
    for key in ("wanted_people", "unwanted_people"):
        names = getattr(policy, key, None) or []
        if any(person_key(n) == person_key(old) for n in names):
            result.skipped.append(f"policy.{key} in the config still names {old}: change it there")
