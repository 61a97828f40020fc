"""Not this person: a face of a queued file is not ``person``, so they are not suggested
for it again and the re-check does not move it to them (:mod:`facesort.review.suggestions`;
:meth:`facesort.review.actions.Reviewer.not_person`)."""

from __future__ import annotations

from facesort.review.context import ReviewContext
from facesort.review.record import record_action
from facesort.review.reference_photos import file_faces
from facesort.review.results import ActionResult, ReviewError, file_label
from facesort.review.targets import person_name, pick_face
from facesort.vocab import ReviewKind


def not_person(context: ReviewContext, file_id: int, face: int | None, person: str) -> ActionResult:
    """Record that face ``face`` (1-based) of a queued file is not ``person``: they
    are not suggested for it again, and the re-check does not move it to them
    (:mod:`facesort.review.suggestions`). Nothing moves; undo takes it back."""
    person = person_name(context.state, context.config, person)
    files, _, _ = context.gate(ReviewKind.NOT_PERSON, person, [file_id])
    chosen = pick_face(files[0], file_faces(context.state, file_id), face, "say who it is not")
    if chosen is None:
        raise ReviewError(f"Say which face of {file_label(files[0])} is not {person}.")
    intent = context.begin(ReviewKind.NOT_PERSON, person, files, None)
    result = ActionResult(intent.group_id, ReviewKind.NOT_PERSON, "")
    result.summary = f"face {face or 1} of {file_label(files[0])} is not {person}"
    details = {"not_person_faces": [chosen.id], "person": person}
    record_action(context.state, result, context.actor, [file_id], person, details)
    return result
