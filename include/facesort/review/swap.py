"""Keep this one instead, besides the moves: the duplicate and the file facesort kept
swap roles (:mod:`facesort.review.keep_instead`).

:func:`apply_swap` makes the duplicate the original later files are compared with,
points the kept file's other duplicates at it and copies the kept file's faces;
:func:`revert_swap` takes that back. The action does the first after its moves; undo
(:mod:`facesort.review.record`) does the second, and a redo the first again.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from facesort.dedupe import forget_original, register_original
from facesort.review.intent import note_details
from facesort.state.models import Face as FaceRow
from facesort.state.models import MediaFile

KEY = "keep_instead"  # the action's details: what was planned, and what the swap changed


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
                session.add(face.copied_to(duplicate_id))
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
