"""Whom does facesort suggest for a queued face, and whom has a person said it is not?

The "is this X?" review asks about one face at a time: for a file in
``review/low_confidence`` (an uncertain match) or ``review/unidentified`` (a nearest
person too far to be sure), the nearest person, or the runner-up when a person said
the face is not the nearest. *Yes* approves the file as X; *no* is recorded as a review
action of kind ``not_person`` (person X, the face in its details), so that:

- X is not suggested for that face again (the runner-up is, when close enough);
- the nightly re-check does not move the file to X's folder (:func:`keep_said_not`);
- naming a cluster X leaves that face out (:func:`said_not`).

The record is an ordinary review action: undoing it makes X a suggestion again,
undoing that undo says "not X" once more.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from facesort.config import Config
from facesort.review.queue import QueueItem, queue_items
from facesort.state import State
from facesort.state.models import ReviewAction
from facesort.vocab import Category, Confidence, ReviewKind

if TYPE_CHECKING:
    from facesort.resort import PlannedMove

ASKED_CATEGORIES = (Category.LOW_CONFIDENCE, Category.UNIDENTIFIED)
# How much farther than matching.review_distance a nearest person may be and still be
# asked about: an unidentified face's nearest person is beyond review_distance by
# definition, and a little beyond it is often the right person seen from a new angle.
SUGGEST_SLACK = 0.15


@dataclass
class Suggestion:
    """ "Is face ``face_number`` of this file ``person``?"."""

    item: QueueItem
    face_id: int
    face_number: int  # 1-based among the file's faces (what approve is sent)
    person: str
    distance: float

    def as_dict(self) -> dict:
        return {
            "file_id": self.item.id,
            "name": self.item.name,
            "folder": self.item.folder,
            "face_id": self.face_id,
            "face": self.face_number,
            "person": self.person,
            "distance": round(self.distance, 4),
        }


def said_not(state: State) -> dict[int, set[str]]:
    """Face id -> the people a person said the face is not (records in effect: not
    undone, or undone and redone)."""
    with state.session() as session:
        records = session.execute(
            sa.select(ReviewAction.group_id, ReviewAction.person, ReviewAction.details).where(
                ReviewAction.kind == ReviewKind.NOT_PERSON
            )
        ).all()
        if not records:
            return {}
        undone_by = dict(
            session.execute(
                sa.select(ReviewAction.group_id, ReviewAction.undone_by).where(
                    ReviewAction.undone_by.is_not(None)
                )
            ).all()
        )
    found: dict[int, set[str]] = {}
    for group_id, person, details in records:
        if person and _in_effect(group_id, undone_by):
            for face_id in (details or {}).get("not_person_faces") or []:
                found.setdefault(int(face_id), set()).add(person)
    return found


def _in_effect(group_id: str, undone_by: dict[str, str]) -> bool:
    """An action is in effect unless undone by an undo that is itself in effect."""
    seen = set()
    effect = True
    while group_id in undone_by and group_id not in seen:
        seen.add(group_id)
        group_id = undone_by[group_id]
        effect = not effect
    return effect


def suggestions(
    state: State, config: Config, category: str, *, limit: int = 200
) -> list[Suggestion]:
    """One question per queued file of ``category`` (oldest first): its face closest to
    a person it has not been said not to be, within the slack."""
    bound = config.matching.review_distance + SUGGEST_SLACK
    rejected = said_not(state)
    asked = []
    for item in queue_items(state, category, limit=limit):
        best: Suggestion | None = None
        for face in item.faces:
            if face.confidence == Confidence.CONFIRMED:
                continue
            for person, distance in (
                (face.person, face.distance),
                (face.runner_up, face.runner_up_distance),
            ):
                if person is None or distance is None or distance > bound:
                    continue
                if person in rejected.get(face.id, ()):
                    continue
                if best is None or distance < best.distance:
                    best = Suggestion(item, face.id, face.number, person, distance)
                break  # the runner-up only when the nearest was said not to be it
        if best is not None:
            asked.append(best)
    return asked


def best_reference(state: State, config: Config, face_id: int, person: str) -> Path | None:
    """The reference photo of ``person`` nearest to the face (what to show beside it)."""
    import numpy as np

    from facesort.faces import encoding_from_bytes
    from facesort.references import ReferenceLoader
    from facesort.review.queue import get_face

    found = get_face(state, face_id)
    if found is None or found[0].encoding is None:
        return None
    references = ReferenceLoader(state, config).load()
    if person not in references.people:
        return None
    rows = np.flatnonzero(references.owners == references.people.index(person))
    if not len(rows):
        return None
    encoding = encoding_from_bytes(found[0].encoding)
    distances = np.linalg.norm(references.encodings[rows] - encoding, axis=1)
    return config.references_dir / references.sources[int(rows[int(np.argmin(distances))])]


def keep_said_not(state: State, moves: list[PlannedMove]) -> list[PlannedMove]:
    """The planned moves that do not put a file in the folder of a person one of its
    faces was said not to be (the re-check respects "not X")."""
    rejected = said_not(state)
    if not rejected:
        return moves
    from facesort.review.reference_photos import file_faces

    kept = []
    for move in moves:
        faces = file_faces(state, move.media.id)
        said = set().union(*(rejected.get(face.id, set()) for face in faces))
        if not said.intersection(move.decision.people or ()):
            kept.append(move)
    return kept
