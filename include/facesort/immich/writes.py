"""The face writes facesort sends to Immich, for carrying names (see
:mod:`facesort.immich.carry`): giving a detected face to a person and creating a face
with a person (:meth:`ImmichApi.assign_face`, :meth:`ImmichApi.create_face`), and, for
``facesort undo`` only, deleting a face facesort created (:meth:`delete_face`).

Nothing here deletes or merges people, and nothing un-assigns a face a person gave.
"""

from __future__ import annotations

from facesort.immich.api import ImmichApi

# What carrying names needs besides what a sorting pass needs.
CARRY_PERMISSIONS = ("face.read", "face.create", "face.update")


class ImmichFaceWrites(ImmichApi):
    """:class:`ImmichApi` with the one write only an undo needs."""

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
