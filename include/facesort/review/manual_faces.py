"""Faces the detector missed, marked by a person: a box drawn on the picture, then named.

The box becomes a face row of the file (``source`` ``manual``, confidence
``confirmed``, the person named) with an encoding computed at that box, so that it can
be a reference photo, and matching and clustering see it like any face. Naming it
approves the file as that person (:meth:`facesort.review.actions.Reviewer.approve`
with ``manual_box``): one review action, whose record lists the face it made, so that
undo removes the row again and a redo makes it again.
"""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.review.intent import note_details
from facesort.review.results import ReviewError, file_label
from facesort.state import State
from facesort.state.models import Face as FaceRow
from facesort.state.models import MediaFile
from facesort.vocab import Confidence, FaceSource, Kind

KEY = "manual_faces"  # in review_action.details: [[file id, box, encoding base64 or None]]
MIN_SIDE = 0.01  # of the picture: a smaller box is a slip of the mouse, not a face


def check_box(media: MediaFile, box: list[float]) -> list[float]:
    """The box as (left, top, right, bottom) fractions of the picture, in order."""
    if media.kind != Kind.IMAGE:
        raise ReviewError(
            f"{file_label(media)} is not a photo: faces can be drawn on photos only. "
            "Nothing was changed."
        )
    if len(box) != 4:
        raise ReviewError("A face's box is four numbers: left, top, right, bottom.")
    left, top, right, bottom = (min(1.0, max(0.0, float(v))) for v in box)
    left, right = sorted((left, right))
    top, bottom = sorted((top, bottom))
    if right - left < MIN_SIDE or bottom - top < MIN_SIDE:
        raise ReviewError("The box drawn is too small to be a face. Nothing was changed.")
    return [round(v, 5) for v in (left, top, right, bottom)]


def encode_box(config: Config, media: MediaFile, box: list[float]) -> bytes | None:
    """The face encoding at ``box`` of the photo (None when it cannot be computed)."""
    import numpy as np

    from facesort.faces import encoding_to_bytes, face_encodings
    from facesort.media import UnreadableMedia, open_image

    try:
        picture = open_image(
            media.current_path,
            max_side=config.matching.encode_max_side,
            max_pixels=config.limits.max_image_pixels,
        ).image
    except (UnreadableMedia, OSError):
        return None
    rgb = np.asarray(picture.convert("RGB"))
    height, width = rgb.shape[:2]
    left, top, right, bottom = box
    location = (
        round(top * height),
        round(right * width),
        round(bottom * height),
        round(left * width),
    )
    (encoding,) = face_encodings(rgb, [location], config.matching.num_jitters, config.matching)
    return encoding_to_bytes(encoding)


def manual_face(
    state: State, config: Config, media: MediaFile, box: list[float], person: str, group_id: str
) -> FaceRow:
    """The face drawn at ``box`` (made now, or by the killed try of this action), named
    ``person``; made in the transaction that notes it in the action's record."""
    with state.session() as session:
        for row in session.scalars(_manual_rows(media.id)):
            if list(row.box) == box:
                return row
    encoding = encode_box(config, media, box)
    with state.session() as session:
        row = FaceRow(
            file_id=media.id,
            frame=None,
            box=box,
            encoding=encoding,
            person=person,
            confidence=Confidence.CONFIRMED,
            distance=None,
            source=FaceSource.MANUAL,
        )
        session.add(row)
        entry = [media.id, box, base64.b64encode(encoding).decode() if encoding else None]
        note_details(session, group_id, **{KEY: [entry]})
        session.flush()
        session.expunge(row)
    return row


def _manual_rows(file_id: int):
    return (
        sa.select(FaceRow)
        .where(FaceRow.file_id == file_id, FaceRow.source == FaceSource.MANUAL)
        .order_by(FaceRow.id)
    )


def remove_manual_faces(session, entries: list[list[Any]]) -> None:
    """Undo: the face rows an action made from drawn boxes are removed."""
    for file_id, box, _ in entries:
        for row in session.scalars(_manual_rows(file_id)).all():
            if list(row.box) == list(box):
                session.delete(row)


def restore_manual_faces(session, entries: list[list[Any]], person: str | None) -> None:
    """Redo: the drawn faces are made again."""
    for file_id, box, encoding in entries:
        rows = session.scalars(_manual_rows(file_id)).all()
        if any(list(row.box) == list(box) for row in rows):
            continue
        session.add(
            FaceRow(
                file_id=file_id,
                frame=None,
                box=list(box),
                encoding=base64.b64decode(encoding) if encoding else None,
                person=person,
                confidence=Confidence.CONFIRMED,
                distance=None,
                source=FaceSource.MANUAL,
            )
        )
