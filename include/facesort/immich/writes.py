"""The only face writes facesort ever sends to Immich, for carrying names (see
:mod:`facesort.immich.carry`): give a detected face to a person, create a face with a
person, and, for ``facesort undo`` only, delete a face facesort created.

Nothing here deletes or merges people, and nothing un-assigns a face a person gave.
"""

from __future__ import annotations

from typing import Any

from facesort.immich.api import ImmichApi

# What carrying names needs besides what a sorting pass needs.
CARRY_PERMISSIONS = ("face.read", "face.create", "face.update")


class ImmichFaceWrites(ImmichApi):
    """:class:`ImmichApi` with the face writes of v1.137 (``/api/faces``)."""

    def assign_face(self, face_id: str, person_id: str) -> None:
        """Give the face ``face_id`` to ``person_id``. The path names the PERSON and the
        body the face (v1.137.3 ``reassignFacesById``), the reverse of what it looks like."""
        self._request(
            "PUT",
            f"/faces/{person_id}",
            what=f"giving face {face_id} to person {person_id}",
            permission="face.update",
            json={"id": face_id},
        )

    def create_face(
        self, asset_id: str, person_id: str, box: tuple[float, float, float, float],
        size: tuple[int, int],
    ) -> None:  # fmt: skip
        """A face of ``person_id`` on ``asset_id`` at ``box`` (fractions), in the pixels of
        an image of ``size`` (Immich answers 201 without the new face's id)."""
        width, height = size
        left, top, right, bottom = box
        body: dict[str, Any] = {
            "assetId": asset_id,
            "personId": person_id,
            "imageWidth": width,
            "imageHeight": height,
            "x": round(left * width),
            "y": round(top * height),
            "width": max(1, round((right - left) * width)),
            "height": max(1, round((bottom - top) * height)),
        }
        self._request(
            "POST",
            "/faces",
            what=f"a face of person {person_id} on asset {asset_id}",
            permission="face.create",
            json=body,
        )

    def delete_face(self, face_id: str) -> bool:
        """Remove a face facesort created (undo); False when it is gone already."""
        response = self._request(
            "DELETE",
            f"/faces/{face_id}",
            what=f"removing face {face_id} that facesort created",
            permission="face.delete",
            json={"force": False},
            missing_ok=True,
        )
        return response is not None
