"""Keep this one instead: a duplicate and the file facesort kept swap places.

When the copy sent to ``review/duplicates`` is the better one (larger, or the
original), a person says "keep this one instead". In one review action, through the
same gate as the others (recover first, record the intent, then move):

1. the file kept moves to ``review/duplicates``, a duplicate of this one now;
2. this one moves to where the kept file was (``library/<person>/`` or its review
   folder) with the kept file's decision and a copy of its face rows (the same picture,
   so the boxes, fractions of it, line up);
3. this one becomes the original later files are compared with, and the other
   duplicates of the kept file point at it.

Both moves are journaled, so undo puts both back; what else changed is in the action's
details (``keep_instead``) and is reverted or done again by
:func:`facesort.review.record.revert_effects` / ``apply_effects``. A killed try is
continued by a retry: a file already moved is not moved again.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from facesort.dedupe import forget_original, register_original
from facesort.files.journal import SourceChanged
from facesort.policy import Decision
from facesort.resort import current_folder
from facesort.review.intent import continued, note_details
from facesort.review.record import record_result, recorded_on_failure
from facesort.review.results import ActionResult, ReviewError, file_label
from facesort.sorting.route import Router
from facesort.state.models import Face as FaceRow
from facesort.state.models import MediaFile
from facesort.vocab import Category, Place, ReviewKind, TransferAction

if TYPE_CHECKING:
    from facesort.review.actions import Reviewer

KEY = "keep_instead"


def keep_instead(reviewer: Reviewer, file_id: int) -> ActionResult:
    """Keep the duplicate ``file_id`` instead of the file facesort kept."""
    state = reviewer.state
    files, retry, _ = reviewer.gate(
        ReviewKind.KEEP_INSTEAD, None, [file_id], categories=(Category.DUPLICATES,)
    )
    (duplicate,) = files
    planned = dict((retry.details or {}).get(KEY) or {}) if retry is not None else {}
    kept_id = planned.get("kept") or duplicate.duplicate_of_id
    with state.session() as session:
        kept = session.get(MediaFile, kept_id) if kept_id is not None else None
    if kept is None:
        raise ReviewError(
            f"{file_label(duplicate)} is not the duplicate of a file facesort has a record "
            "of: choose 'not a duplicate' to sort it. Nothing was changed."
        )
    if not planned:
        _check_kept(duplicate, kept)
        planned = {
            "kept": kept.id,
            "duplicate": duplicate.id,
            "kept_original": [kept.id, kept.sha256, kept.phash],
            "decision": {
                "category": kept.category,
                "people": list(kept.people or []),
                "reason": dict(kept.reason or {}),
            },
        }
    router = Router(reviewer.config, state, actor=reviewer.actor, group_id=None)
    intent = reviewer.begin(ReviewKind.KEEP_INSTEAD, None, files, retry)
    if not intent.adopted:
        with state.session() as session:
            note_details(session, intent.group_id, **{KEY: planned})  # before any move
    group = router.journal.group_id = intent.group_id
    result = continued(ActionResult(group, ReviewKind.KEEP_INSTEAD, ""), intent)
    details: dict[str, Any] = {KEY: planned}
    with recorded_on_failure(state, reviewer.actor, result, None, files, details):
        moves = (
            (kept, _as_duplicate(kept, duplicate, reviewer.actor)),
            (duplicate, _in_place_of(duplicate, kept, planned["decision"], reviewer.actor)),
        )
        for media, decision in moves:
            if media.id in intent.moved:
                continue  # moved by the try that was killed
            try:
                result.moved.append(
                    router.route_decision(media, decision, action=TransferAction.KEEP_INSTEAD)
                )
            except SourceChanged as exc:
                raise ReviewError(f"{file_label(media)}: {exc}") from None
        details = {KEY: {**planned, **apply_swap(state, planned, group)}}
    kept_name = os.path.basename(kept.current_path or kept.source_path)
    result.summary = (
        f"kept {file_label(duplicate)} instead of {kept_name}: they swapped places "
        f"({planned_folder(planned)} and review/duplicates)"
    )
    return record_result(state, reviewer.actor, result, None, files, details)


def planned_folder(planned: dict[str, Any]) -> str:
    decision = planned["decision"]
    if decision["category"]:
        return f"review/{decision['category']}"
    return f"library/{decision['people'][0]}"


def _check_kept(duplicate: MediaFile, kept: MediaFile) -> None:
    problem = None
    if kept.place not in {Place.LIBRARY, Place.REVIEW} or not kept.current_path:
        problem = f"the file kept ({file_label(kept)}) is in {kept.place or 'staging'}"
    elif not os.path.isfile(kept.current_path):
        problem = f"the file kept ({file_label(kept)}) is not on disk"
    elif kept.category == Category.DUPLICATES:
        problem = f"the file kept ({file_label(kept)}) is itself in review/duplicates"
    elif len(kept.people or []) > 1:
        problem = (
            f"the file kept ({file_label(kept)}) is in {len(kept.people)} people's folders: "
            "keep one copy per person by hand"
        )
    if problem:
        raise ReviewError(
            f"Cannot keep {file_label(duplicate)} instead: {problem}. Nothing was changed."
        )


def _as_duplicate(kept: MediaFile, duplicate: MediaFile, actor: str) -> Decision:
    name = os.path.basename(duplicate.current_path or duplicate.source_path)
    return Decision(
        category=Category.DUPLICATES,
        rule="kept_instead",
        summary=f"a duplicate of {name}, kept instead of this file in review by {actor}",
        details={"was": current_folder(kept), "kept_instead": duplicate.id},
        duplicate_of=duplicate.id,
    )


def _in_place_of(
    duplicate: MediaFile, kept: MediaFile, decision: dict[str, Any], actor: str
) -> Decision:
    reason = dict(decision["reason"])
    name = os.path.basename(kept.source_path)
    summary = f"kept instead of {name} in review by {actor}; " + reason.pop("summary", "")
    rule = reason.pop("rule", "kept_instead")
    return Decision(
        category=decision["category"],
        rule=rule,
        summary=summary,
        people=tuple(decision["people"]),
        details={**reason, "was": current_folder(duplicate), "instead_of": kept.id},
    )


def apply_swap(state, planned: dict[str, Any], group_id: str | None = None) -> dict[str, Any]:
    """The swap's changes besides the moves, in one transaction: this file the original,
    the other duplicates pointed at it, the kept file's faces copied. Returns what undo
    needs (the duplicates re-pointed, whether faces were copied), also noted in the
    action ``group_id``'s record in the same transaction. Safe to run twice."""
    kept_id, duplicate_id = planned["kept"], planned["duplicate"]
    with state.session() as session:
        state.lock_for_dedupe(session)
        forget_original(session, kept_id)
        media = session.get(MediaFile, duplicate_id)
        register_original(session, duplicate_id, media.sha256, media.phash)
        others = list(
            session.scalars(
                sa.select(MediaFile.id).where(
                    MediaFile.duplicate_of_id == kept_id, MediaFile.id != duplicate_id
                )
            )
        )
        session.execute(
            sa.update(MediaFile)
            .where(MediaFile.id.in_(others))
            .values(duplicate_of_id=duplicate_id)
        )
        had_faces = session.scalar(sa.select(FaceRow.id).where(FaceRow.file_id == duplicate_id))
        if had_faces is None:
            for face in session.scalars(
                sa.select(FaceRow).where(FaceRow.file_id == kept_id).order_by(FaceRow.id)
            ):
                row = FaceRow(
                    file_id=duplicate_id,
                    frame=face.frame,
                    box=list(face.box),
                    encoding=face.encoding,
                    person=face.person,
                    confidence=face.confidence,
                    distance=face.distance,
                    source=face.source,
                )
                session.add(row)
        done = {"repointed": others, "copied_faces": had_faces is None}
        if group_id is not None:
            note_details(session, group_id, **{KEY: done})
    return done


def revert_swap(session, planned: dict[str, Any]) -> None:
    """Undo the swap's changes besides the moves (the journal moves the files back)."""
    kept_id, sha, phash = planned["kept_original"]
    duplicate_id = planned["duplicate"]
    forget_original(session, duplicate_id)
    register_original(session, kept_id, sha, phash)
    repointed = planned.get("repointed") or []
    if repointed:
        session.execute(
            sa.update(MediaFile).where(MediaFile.id.in_(repointed)).values(duplicate_of_id=kept_id)
        )
    if planned.get("copied_faces"):  # it had no faces of its own before
        session.execute(sa.delete(FaceRow).where(FaceRow.file_id == duplicate_id))
