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

Both moves are journaled, so undo puts both back; what else changed (3., by
:mod:`facesort.review.swap`) is in the action's details (``keep_instead``) and is
reverted or done again by :func:`facesort.review.record.revert_effects` /
``apply_effects``. A killed try is continued by a retry: a file already moved is not
moved again.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from facesort.files.journal import SourceChanged
from facesort.policy import Decision
from facesort.resort import current_folder
from facesort.review.context import ReviewContext
from facesort.review.intent import continued, note_details
from facesort.review.record import ActionRecord, record_result, recorded_on_failure
from facesort.review.results import ActionResult, ReviewError, file_label
from facesort.review.swap import KEY, apply_swap
from facesort.sorting.route import Router
from facesort.state.models import MediaFile
from facesort.vocab import Category, Place, ReviewKind, TransferAction


def keep_instead(context: ReviewContext, file_id: int) -> ActionResult:
    """Keep the duplicate ``file_id`` instead of the file facesort kept."""
    state = context.state
    files, retry, _ = context.gate(
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
    router = Router(context.config, state, actor=context.actor, group_id=None)
    intent = context.begin(ReviewKind.KEEP_INSTEAD, None, files, retry)
    if not intent.adopted:
        with state.session() as session:
            note_details(session, intent.group_id, **{KEY: planned})  # before any move
    group = router.journal.group_id = intent.group_id
    result = continued(ActionResult(group, ReviewKind.KEEP_INSTEAD, ""), intent)
    record = ActionRecord(context.actor, result, None, files, {KEY: planned})
    with recorded_on_failure(state, record):
        moves = (
            (kept, _as_duplicate(kept, duplicate, context.actor)),
            (duplicate, _in_place_of(duplicate, kept, planned["decision"], context.actor)),
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
        swapped = apply_swap(state, planned, group)
    kept_name = os.path.basename(kept.current_path or kept.source_path)
    result.summary = (
        f"kept {file_label(duplicate)} instead of {kept_name}: they swapped places "
        f"({planned_folder(planned)} and review/duplicates)"
    )
    return record_result(state, replace(record, details={KEY: {**planned, **swapped}}))


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
