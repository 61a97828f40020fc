"""Faces and people of :class:`~facesort.immich.api.ImmichApi` (``face.*``, ``person.*``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from facesort.immich.transport import ImmichTransport

PEOPLE_PAGE_SIZE = 500


class ImmichFacesApi(ImmichTransport):
    """The face and person calls; :class:`~facesort.immich.api.ImmichApi` adds the rest."""

    def faces(self, asset_id: str) -> list[dict[str, Any]]:
        what = f"the faces of asset {asset_id}"
        faces = self._json(
            self._request(
                "GET", "/faces", what=what, permission="face.read", params={"id": asset_id}
            ),
            what,
        )
        return faces if isinstance(faces, list) else []

    def assign_face(self, person_id: str, face_id: str) -> dict[str, Any]:
        """Give a face to a person (``face.update``); answers with the person.

        v1.137.3's ``PUT /api/faces/{id}`` names the PERSON in its path and the face in its
        body (``reassignFacesById``), the reverse of what the route suggests."""
        what = f"giving face {face_id} to person {person_id}"
        answer = self._json(
            self._request(
                "PUT", f"/faces/{person_id}", what=what, permission="face.update",
                json={"id": face_id},
            ),
            what,
        )  # fmt: skip
        return answer if isinstance(answer, dict) else {}

    def create_face(
        self, asset_id: str, person_id: str, box: tuple[int, int, int, int], size: tuple[int, int]
    ) -> None:
        """A face of a person on an asset (``face.create``; ``sourceType: manual``).

        ``box`` is pixels of the preview (x1, y1, x2, y2), ``size`` its width and height."""
        x1, y1, x2, y2 = box
        body = {
            "assetId": asset_id, "personId": person_id,
            "imageWidth": int(size[0]), "imageHeight": int(size[1]),
            "x": int(x1), "y": int(y1), "width": int(x2 - x1), "height": int(y2 - y1),
        }  # fmt: skip
        self._request(
            "POST", "/faces", what=f"a face of person {person_id} on asset {asset_id}",
            permission="face.create", json=body,
        )  # fmt: skip

    # ------------------------------------------------------------------ people

    def person(self, person_id: str) -> dict[str, Any] | None:
        """One person by id, listed or not (None: gone, or not the key's user's)."""
        what = f"person {person_id}"
        response = self._request(
            "GET", f"/people/{person_id}", what=what, permission="person.read", missing_ok=True
        )
        if response is None:
            return None
        answer = self._json(response, what)
        return answer if isinstance(answer, dict) else None

    def people(self) -> Iterator[dict[str, Any]]:
        """Every person of the key's user that is not hidden, page by page."""
        page = 1
        while True:
            what = f"the list of people (page {page})"
            body = self._json(
                self._request(
                    "GET",
                    "/people",
                    what=what,
                    permission="person.read",
                    params={"page": page, "size": PEOPLE_PAGE_SIZE, "withHidden": "false"},
                ),
                what,
            )
            people = (body or {}).get("people") or []
            yield from (p for p in people if isinstance(p, dict))
            more = (body or {}).get("hasNextPage")
            if more is None:  # before v1.110: a short page is the last one
                more = len(people) == PEOPLE_PAGE_SIZE
            if not more or not people:
                return
            page += 1

    def person_thumbnail(self, person_id: str) -> bytes | None:
        """The person's feature-face thumbnail; None while they have none (404)."""
        response = self._request(
            "GET",
            f"/people/{person_id}/thumbnail",
            what=f"the thumbnail of person {person_id}",
            permission="person.read",
            missing_ok=True,
        )
        return response.content if response is not None else None
