"""Not a duplicate: a file in ``review/duplicates`` becomes an original and is sorted by
its faces like a new file (:meth:`facesort.review.actions.Reviewer.not_duplicate`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from facesort.dedupe import register_original
from facesort.files.journal import SourceChanged
from facesort.policy import Decision
from facesort.review.context import ReviewContext
from facesort.review.intent import continued, note_details
from facesort.review.record import ActionRecord, record_result, recorded_on_failure
from facesort.review.results import ActionResult, file_label, summary_of
from facesort.sorting.evaluate import Evaluator
from facesort.sorting.route import Router
from facesort.vocab import Category, ReviewKind, TransferAction
from facesort.words import form


def not_duplicate(context: ReviewContext, file_ids: Iterable[int]) -> ActionResult:
    """Files in ``review/duplicates`` become originals and are sorted by their faces,
    like new files (they move to wherever matching decides)."""
    files, retry, _ = context.gate(
        ReviewKind.NOT_DUPLICATE, None, file_ids, categories=(Category.DUPLICATES,)
    )
    intent = context.begin(ReviewKind.NOT_DUPLICATE, None, files, retry)
    group = intent.group_id
    evaluator = Evaluator(context.config, context.state)
    router = Router(context.config, context.state, actor=context.actor, group_id=group)
    result = continued(ActionResult(group, ReviewKind.NOT_DUPLICATE, ""), intent)
    originals = list(intent.details.get("originals") or [])
    details = {"originals": originals}  # grows as files are registered
    record = ActionRecord(context.actor, result, None, files, details)
    with recorded_on_failure(context.state, record):
        for media in files:
            if media.id in intent.moved:
                continue  # moved by the try that was killed
            # Decode, detect and match like a new file; duplicates are not compared again.
            evaluation = evaluator.reevaluate(media, redetect=True)
            decision = _with_note(
                evaluation.decision, f"not a duplicate (said in review by {context.actor}); "
            )
            try:
                result.moved.append(
                    router.route_decision(
                        media, decision, action=TransferAction.NOT_DUPLICATE, found=evaluation
                    )
                )
            except SourceChanged as exc:
                result.skipped.append(f"{file_label(media)}: {exc}")
                continue
            phash = evaluation.phash or media.phash
            with context.state.session() as session:
                context.state.lock_for_dedupe(session)
                register_original(session, media.id, media.sha256, phash)
                note_details(session, group, originals=[[media.id, media.sha256, phash]])
            originals.append([media.id, media.sha256, phash])
    verb = form(result.moved, "is not a duplicate", "are not duplicates")
    result.summary = summary_of(f"{verb}: sorted by their faces", result)
    return record_result(context.state, record)


def _with_note(decision: Decision, note: str) -> Decision:
    return replace(decision, summary=note + decision.summary)
