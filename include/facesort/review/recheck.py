"""The nightly re-check of the review queue against today's references.

References grow with every approval, every named cluster and every name given in
Immich, so a photo nobody could name last week may be a sure match today. Every file in
``review/unidentified`` and ``review/low_confidence`` is matched again from the faces
stored when it was sorted (:mod:`facesort.resort`), each person's face judged by their
own sure/review distances where they have them (``matching.people``, the people page:
:mod:`facesort.thresholds`), and the ones that are now a sure match **move to the
library**. A file whose new decision is another review category
stays where it is: moving it between queues would only reshuffle what a person still has
to look at. All moves of one re-check are one journal group (a review action of kind
``recheck``), so a re-check can be undone like any review action.
"""

from __future__ import annotations

from facesort.config import Config
from facesort.resort import Scope, apply_resort, plan_resort
from facesort.review.results import ActionResult
from facesort.state import State
from facesort.vocab import Category, ReviewKind, TransferAction
from facesort.words import plural

RECHECKED_CATEGORIES = (Category.UNIDENTIFIED, Category.LOW_CONFIDENCE)


def recheck_queue(state: State, config: Config, *, actor: str, group_id: str) -> ActionResult:
    """Move the queued files that are now a sure match to the library.

    Through the review gate (:mod:`facesort.review.intent`): in-flight transfers are
    recovered first, the action is recorded before its first move, and a retry with the
    same ``group_id`` (Airflow's retry of the nightly task) continues it."""
    from facesort.review.intent import ActionKey, abandon, begin, find_retry, recover_first
    from facesort.review.record import record_action
    from facesort.review.suggestions import keep_said_not

    recover_first(state, config)
    key = ActionKey(ReviewKind.RECHECK, group_id=group_id)
    retry = find_retry(state, key)
    plan = plan_resort(state, config, Scope(review=RECHECKED_CATEGORIES))
    into_library = [move for move in plan if move.decision.category is None]
    into_library = keep_said_not(state, into_library)  # "this face is not X" holds
    result = ActionResult(group_id, ReviewKind.RECHECK, "")
    if not into_library and retry is None:
        result.summary = _summary(0)
        return result
    intent = begin(state, config, actor, key, retry=retry)
    result.moved = list(intent.moved.values())
    if into_library:
        result.moved += apply_resort(
            state,
            config,
            into_library,
            actor=actor,
            group_id=group_id,
            action=TransferAction.RECHECK,
        )
    result.summary = _summary(len(result.moved))
    if not result.moved:
        abandon(state, group_id)
        return result
    record_action(state, result, actor, [r.file_id for r in result.moved])
    return result


def _summary(count: int) -> str:
    return (
        f"re-check: {plural(count, 'file')} of review/unidentified and "
        "review/low_confidence now a sure match, moved to the library"
    )
