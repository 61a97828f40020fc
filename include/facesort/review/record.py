"""The record of review actions: what each did besides moving files, and undoing or
redoing one.

Every action is one journal group; ``review_action`` holds it with what else it changed
(face labels, originals, a cluster's name), so that :func:`undo_action` can revert the
group with :func:`facesort.files.undo.undo_group` and put those changes back. An undo is
an action of its own, so undoing it does the action again (a *redo*).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.dedupe import forget_original, register_original
from facesort.files.journal import Journal, SourceChanged
from facesort.files.owners import owner_gone
from facesort.files.undo import undo_group
from facesort.review.intent import (
    ActionKey,
    abandon,
    begin,
    close_undo,
    find_retry,
    note_details,
    recover_first,
)
from facesort.review.pictures import NoPicture
from facesort.review.queue import newest_actions
from facesort.review.reference_photos import ReferencePhotos
from facesort.review.results import ActionResult, ReviewError, count_files, file_label
from facesort.review.swap import apply_swap, revert_swap
from facesort.state import State
from facesort.state.models import Face as FaceRow
from facesort.state.models import FaceCluster, MediaFile, ReviewAction, utcnow
from facesort.vocab import ActionState, ClusterStatus, Confidence, FaceSource, ReviewKind
from facesort.words import plural


@dataclass(frozen=True)
class ActionRecord:
    """What an action's record says: who did it (``actor``), what it did (``result``:
    its group, kind and moves), for whom (``person``), on which files, and what else it
    changed (``details``, a dict the action may fill as it goes). Built once per action
    and given to :func:`recorded_on_failure` and :func:`record_result`."""

    actor: str
    result: ActionResult
    person: str | None
    files: list[MediaFile]
    details: dict[str, Any]


def record_result(state: State, record: ActionRecord) -> ActionResult:
    """The action is done: its record (written open before the first move, see
    :mod:`facesort.review.intent`) gets its summary and what it changed."""
    result, person, details = record.result, record.person, record.details
    if not result.moved and not result.references:
        abandon(state, result.group_id)
        raise ReviewError(
            "Nothing was done: " + "; ".join(result.skipped or ["no file could be changed"])
        )
    if result.reference_sources:
        details = {**details, "references": result.reference_sources}
    if person and details:
        details = {**details, "person": person}
    record_action(state, result, record.actor, [m.id for m in record.files], person, details)
    return result


@contextmanager
def recorded_on_failure(state: State, record: ActionRecord) -> Iterator[None]:
    """An action that fails halfway is still recorded with what it did, so that
    what it did can be undone like a whole action."""
    result = record.result
    try:
        yield
    except BaseException as exc:
        if result.moved or result.references:
            result.summary = (
                f"{result.kind} stopped by an error after {count_files(result.moved)} and "
                f"{plural(result.references, 'reference photo')}: {exc}"
            )
            record_result(state, record)
        else:
            abandon(state, result.group_id)  # it did nothing: no record
        raise


def record_action(
    state: State,
    result: ActionResult,
    actor: str,
    file_ids: list[int],
    person: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record an action (done by :class:`~facesort.review.actions.Reviewer`, or outside
    it: the nightly re-check) as done, with what else it changed (``details``), for undo.
    Its row was written open before its first move (:mod:`facesort.review.intent`);
    what that row already holds, an earlier killed try recorded: it is what was there
    before, and is kept."""
    with state.session() as session:
        action = session.scalar(
            sa.select(ReviewAction).where(ReviewAction.group_id == result.group_id)
        )
        if action is None:
            action = ReviewAction(group_id=result.group_id, kind=result.kind, actor=actor)
            session.add(action)
        recorded = dict(action.details or {})
        for key, value in (details or {}).items():
            if isinstance(value, dict) and isinstance(recorded.get(key), dict):
                value = {**value, **recorded[key]}
            recorded[key] = value
        action.at = utcnow()
        action.person = person
        action.file_ids = file_ids
        action.summary = result.summary
        action.details = recorded or None
        action.state, action.owner, action.lease_until = ActionState.DONE, None, None


def is_review_group(state: State, group_id: str) -> bool:
    """Whether a journal group is a review action (undo it with :meth:`Reviewer.undo`)."""
    with state.session() as session:
        return (
            session.scalar(sa.select(ReviewAction.id).where(ReviewAction.group_id == group_id))
            is not None
        )


def confirm_faces(
    state: State, faces: list[FaceRow], person: str, group_id: str | None = None
) -> dict[str, list[Any]]:
    """Label faces with the person; returns their previous labels (for undo), which are
    also added to the action ``group_id``'s record in the same transaction."""
    previous: dict[str, list[Any]] = {}
    with state.session() as session:
        for face in faces:
            row = session.get(FaceRow, face.id)
            if row is None:
                continue
            previous[str(row.id)] = [row.person, row.confidence, row.source]
            row.person, row.confidence, row.source = (
                person,
                Confidence.CONFIRMED,
                FaceSource.REVIEW,
            )
        if group_id is not None:
            note_details(session, group_id, faces=previous, person=person)
    return previous


# Effects besides file moves, recorded in review_action.details: reverted on undo, done
# again (apply_effects) when the undo itself is undone.


def revert_effects(state: State, details: dict[str, Any]) -> None:
    with state.session() as session:
        for face_id, (person, confidence, source) in (details.get("faces") or {}).items():
            row = session.get(FaceRow, int(face_id))
            if row is not None:
                row.person, row.confidence, row.source = person, confidence, source
        cluster = details.get("cluster")
        if cluster:
            row = session.get(FaceCluster, cluster["id"])
            if row is not None:
                row.status = cluster["previous"]["status"]
                row.person = cluster["previous"]["person"]
        for file_id, _sha, _phash in details.get("originals") or []:
            forget_original(session, file_id)
        if details.get("keep_instead"):
            revert_swap(session, details["keep_instead"])
        if details.get("manual_faces"):
            from facesort.review.manual_faces import remove_manual_faces

            remove_manual_faces(session, details["manual_faces"])


def apply_effects(
    state: State,
    photos: ReferencePhotos,
    details: dict[str, Any],
    journal: Journal,
    result: ActionResult,
) -> None:
    """Do an action's effects besides file moves again (when its undo is undone)."""
    person = details.get("person")
    with state.session() as session:
        if person:
            for face_id in details.get("faces") or {}:
                row = session.get(FaceRow, int(face_id))
                if row is not None:
                    row.person, row.confidence, row.source = (
                        person,
                        Confidence.CONFIRMED,
                        FaceSource.REVIEW,
                    )
        cluster = details.get("cluster")
        if cluster:
            row = session.get(FaceCluster, cluster["id"])
            if row is not None:
                row.status, row.person = ClusterStatus.NAMED, person
        originals = details.get("originals") or []
        if originals:
            state.lock_for_dedupe(session)
        for file_id, sha, phash in originals:
            register_original(session, file_id, sha, phash)
        if details.get("manual_faces"):
            from facesort.review.manual_faces import restore_manual_faces

            restore_manual_faces(session, details["manual_faces"], person)
    if details.get("keep_instead"):
        apply_swap(state, details["keep_instead"])
    # Reference photos removed by the undo are made again from their files.
    for file_id, face_id in details.get("references") or []:
        with state.session() as session:
            media = session.get(MediaFile, file_id)
            face = session.get(FaceRow, face_id) if face_id is not None else None
        if media is None or not media.current_path or not person:
            continue
        try:
            if face is not None:
                photos.add_face(journal, media, face, person, result)
            elif face_id is None:
                photos.copy(journal, media, media.current_path, person, result)
        except (OSError, NoPicture, SourceChanged) as exc:
            result.skipped.append(f"{file_label(media)}: reference photo not made again ({exc})")


def undo_action(
    config: Config, state: State, actor: str, photos: ReferencePhotos, group_id: str
) -> ActionResult:
    """Revert one review action. Undoing an undo does the action again (a *redo*);
    undoing a redo undoes it once more."""
    with state.session() as session:
        action = session.scalar(sa.select(ReviewAction).where(ReviewAction.group_id == group_id))
        if action is None:
            raise ReviewError(
                f"No review action {group_id!r}: `facesort review history` lists them."
            )
        if action.undone_by:
            raise ReviewError(f"Review action {group_id} was already undone ({action.undone_by}).")
        kind, file_ids = action.kind, action.file_ids or []
        base = action
        while base is not None and base.kind in {ReviewKind.UNDO, ReviewKind.REDO} and base.undo_of:
            base = session.scalar(
                sa.select(ReviewAction).where(ReviewAction.group_id == base.undo_of)
            )
        base_kind = base.kind if base is not None else kind
        base_group = base.group_id if base is not None else group_id
        base_details = dict(base.details or {}) if base is not None else {}
    recover_first(state, config)
    redo = kind == ReviewKind.UNDO
    undo_kind = ReviewKind.REDO if redo else ReviewKind.UNDO
    key = ActionKey(undo_kind, file_ids=file_ids, undo_of=group_id)
    intent = begin(state, config, actor, key, retry=find_retry(state, key))
    report = undo_group(
        state, group_id, actor, lease_s=config.claim_lease_seconds, undo_id=intent.group_id,
        config=config,  # names facesort carried to Immich for the action go back too
    )  # fmt: skip
    result = ActionResult(report.group_id, undo_kind, "", skipped=list(report.skipped or []))
    if redo:
        journal = Journal(state, actor, report.group_id, lease_s=config.claim_lease_seconds)
        apply_effects(state, photos, base_details, journal, result)
    else:
        revert_effects(state, base_details)
    remove_emptied_person_folders(config, state, group_id)
    result.summary = (
        f"{result.kind} of {base_kind} ({base_group}): "
        f"{plural(report.reverted + len(result.references), 'change')}"
        + (f", {len(result.skipped)} left as they are" if result.skipped else "")
    )
    close_undo(state, group_id, report.group_id, result.summary)
    return result


def remove_emptied_person_folders(config: Config, state: State, group_id: str) -> None:
    """Person folders (in the library or the references) that the undone group filled
    and its undo emptied again: removed, so that an undone typo ("obma") leaves no
    folder behind that would become a person of its own. Only empty folders directly
    under those two roots are removed (``rmdir`` refuses anything else)."""
    import os

    from facesort.state.models import Transfer
    from facesort.vocab import TransferState

    roots = {os.path.realpath(config.library_dir), os.path.realpath(config.references_dir)}
    with state.session() as session:
        targets = set(
            session.scalars(
                sa.select(Transfer.dst).where(
                    Transfer.group_id == group_id, Transfer.state == TransferState.DONE
                )
            )
        )
    for folder in {os.path.dirname(path) for path in targets}:
        if os.path.realpath(os.path.dirname(folder)) not in roots:
            continue
        try:
            os.rmdir(folder)  # only when empty
        except OSError:
            pass  # not empty (or gone): it stays


def last_actions(state: State, count: int = 1) -> list[str]:
    """The ``count`` most recent review actions (or redos) not undone yet, newest first.
    Undos themselves are skipped: undoing twice undoes two actions."""
    actions = newest_actions(
        state, ReviewAction.undone_by.is_(None), ReviewAction.kind != ReviewKind.UNDO
    )
    # An open action whose process is gone was killed halfway: it is an action like any
    # other (its record says what it did). One still being done is not undone under it.
    groups = [
        action.group_id
        for action in actions
        if action.state != ActionState.OPEN or owner_gone(action.owner, action.lease_until)
    ][:count]
    if not groups:
        raise ReviewError("There is no review action to undo.")
    return groups
