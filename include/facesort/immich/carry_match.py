"""Which face on the new asset is the one the user named on the old: boxes that overlap.

Immich detects the same face of the same file at the same pixels, so a recorded box
(fractions of the picture) and a face of the new asset are the same face when they
overlap enough (:func:`iou` >= :data:`MATCH_IOU`); :func:`match_faces` pairs them best
overlap first, each face at most once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from facesort.immich.writes import ImmichFaceWrites
from facesort.state.models import ImmichCarry

# Two boxes are the same face when they overlap this much (intersection over union).
# Immich detects the same face of the same file at the same pixels; a manual face
# drawn by hand overlaps less, so the bar is not higher.
MATCH_IOU = 0.5
Box = tuple[float, float, float, float]


def iou(a: Iterable[float], b: Iterable[float]) -> float:
    """Overlap of two (left, top, right, bottom) boxes: intersection over union."""
    l1, t1, r1, b1 = a
    l2, t2, r2, b2 = b
    width = min(r1, r2) - max(l1, l2)
    height = min(b1, b2) - max(t1, t2)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (r1 - l1) * (b1 - t1) + (r2 - l2) * (b2 - t2) - inter
    return inter / union if union > 0 else 0.0


def match_faces(rows: list[ImmichCarry], faces: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Row id -> the asset's face at the same place, each face given to one row at most.
    The best overlaps are paired first, so two faces side by side each get their own."""
    used: set[str] = set()
    pairs = sorted(
        (
            (iou(row.box, face["box"]), row.id, face["id"])
            for row in rows
            for face in faces
            if face["box"] is not None
        ),
        reverse=True,
    )
    matched: dict[int, dict[str, Any]] = {}
    by_id = {f["id"]: f for f in faces}
    for overlap, row_id, face_id in pairs:
        if overlap < MATCH_IOU or row_id in matched or face_id in used:
            continue
        matched[row_id] = by_id[face_id]
        used.add(face_id)
    return matched


def asset_faces(api: ImmichFaceWrites, asset_id: str) -> list[dict[str, Any]]:
    """The asset's faces: id, box (fractions), image size, and their person."""
    from facesort.immich.faces import _box

    faces = []
    for face in api.faces(asset_id):
        person = face.get("person") or None
        name = str((person or {}).get("name") or "").strip()
        hidden = bool((person or {}).get("isHidden"))
        width, height = face.get("imageWidth"), face.get("imageHeight")
        faces.append(
            {
                "id": str(face.get("id")),
                "box": _box(face),
                "size": (int(width), int(height)) if width and height else None,
                "person_id": str(person["id"]) if person and person.get("id") else None,
                "person_name": name,
                # A cluster Immich made and nobody named: facesort may take the face over.
                "unnamed": bool(person) and not name and not hidden,
            }
        )
    return faces
