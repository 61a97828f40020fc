"""Names carried over: which write carries each name to a ready asset, sent and recorded.

For one file whose new asset is ready (:mod:`facesort.immich.carry_pass`), each recorded
name is matched to a face of the asset (:mod:`facesort.immich.carry_match`) and then:
the face already has the person (nothing to do), it is unassigned or in an unnamed
cluster Immich made (it is given the person: ``PUT /api/faces/{personId}``, the cluster
remembered for an undo), it belongs to a named or hidden person (left as it is), or no
face is there (one is created: ``POST /api/faces``). Nothing is deleted, no people are
merged.

Each write is recorded before it is sent (status ``writing``) and journaled after (an
``immich_named`` event, :func:`carry_event`, whose shape the undo's ``immich_unnamed``
shares); a retry after a crash finds the write that arrived on the asset and only
records it, so nothing is sent or created twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from facesort.errors import ImmichError
from facesort.faults import crashpoint
from facesort.immich.carry_match import MATCH_IOU, asset_faces, iou, match_faces
from facesort.immich.writes import ImmichFaceWrites
from facesort.state import State
from facesort.state.models import Event, ImmichCarry
from facesort.vocab import CarryOp, CarryStatus, EventAction


class CarryWriter:
    """Writes a file's names onto its new asset and records every outcome; ``files``:
    the files a name was written to."""

    def __init__(self, state: State, actor: str):
        self.state = state
        self.actor = actor
        self.files: set[int] = set()

    def carry_file(
        self,
        api: ImmichFaceWrites,
        rows: list[ImmichCarry],
        asset_id: str,
        known_size: tuple[int, int] | None,
        counts: dict[str, int],
    ) -> None:
        """Each of the file's waiting ``rows`` onto the ready asset ``asset_id``
        (``known_size``: the picture's size as facesort read it, for a created face)."""
        faces = asset_faces(api, asset_id)
        size = next((f["size"] for f in faces if f["size"]), None) or known_size or (1000, 1000)
        matched = match_faces(rows, faces)
        used = {face["id"] for face in matched.values()}
        for row in rows:
            face = matched.get(row.id)
            if face is None:
                # The person may be on the asset elsewhere already (named by hand).
                face = next(
                    (f for f in faces if f["person_id"] == row.person_id and f["id"] not in used),
                    None,
                )
                if face is not None:
                    used.add(face["id"])
                    self.close(row, CarryStatus.ALREADY, "Immich has the person there", counts)
                    continue
                new_face = self._create(api, row, asset_id, size)
                self._written(row, CarryStatus.CREATED, new_face, counts)
                continue
            if face["person_id"] == row.person_id:
                if row.status == CarryStatus.WRITING:  # it arrived before a crash
                    created = row.op == CarryOp.CREATE
                    status = CarryStatus.CREATED if created else CarryStatus.CARRIED
                    self._written(row, status, face["id"], counts)
                else:
                    self.close(row, CarryStatus.ALREADY, "Immich has the person there", counts)
            elif face["person_id"] is None or face["unnamed"]:
                self._assign(api, row, asset_id, face)
                self._written(row, CarryStatus.CARRIED, face["id"], counts)
            else:
                self.close(
                    row,
                    CarryStatus.CONFLICT,
                    f"the face there is {face['person_name'] or 'a hidden person'}'s in Immich: "
                    "left as it is",
                    counts,
                )

    def _assign(
        self, api: ImmichFaceWrites, row: ImmichCarry, asset_id: str, face: dict[str, Any]
    ) -> None:
        """Gives ``face`` (unassigned, or in an unnamed cluster) the row's person."""
        previous = face["person_id"]
        if row.status == CarryStatus.WRITING and row.previous_person_id:
            previous = row.previous_person_id  # the cluster it was in before the first try
        with self._sending(row, CarryOp.ASSIGN, asset_id, face["id"], previous):
            api.assign_face(row.person_id, face["id"])

    def _create(
        self, api: ImmichFaceWrites, row: ImmichCarry, asset_id: str, size: tuple[int, int]
    ) -> str | None:
        """Creates the row's face on the asset; the new face's id, where it is found."""
        with self._sending(row, CarryOp.CREATE, asset_id, None, None):
            width, height = size
            left, top, right, bottom = row.box
            pixels = (round(left * width), round(top * height), round(right * width),
                      round(bottom * height))  # fmt: skip
            api.create_face(asset_id, row.person_id, pixels, size)
        # Immich answers without the face's id: find it (ours, at that place).
        created = [
            f
            for f in asset_faces(api, asset_id)
            if f["person_id"] == row.person_id and f["box"] and iou(row.box, f["box"]) >= MATCH_IOU
        ]
        return created[-1]["id"] if created else None

    # ------------------------------------------------------------------ records

    @contextmanager
    def _sending(
        self, row: ImmichCarry, op: CarryOp, asset_id: str, face_id: str | None,
        previous: str | None,
    ) -> Iterator[None]:  # fmt: skip
        """One write, recorded (``writing``) before it is sent. A write Immich refused
        (4xx: a permission, an unknown face) did not happen: the row waits again. One
        that may have arrived (a timeout) stays ``writing``."""
        self._intent(row, op, asset_id, face_id, previous)
        crashpoint("immich.carry.planned")
        try:
            yield
        except ImmichError:
            with self.state.session() as session:
                stored = session.get(ImmichCarry, row.id)
                assert stored is not None
                stored.status = CarryStatus.PENDING
            row.status = CarryStatus.PENDING
            raise
        crashpoint("immich.carry.sent")

    def _intent(
        self, row: ImmichCarry, op: CarryOp, asset_id: str, face_id: str | None,
        previous: str | None,
    ) -> None:  # fmt: skip
        with self.state.session() as session:
            stored = session.get(ImmichCarry, row.id)
            assert stored is not None
            stored.status = CarryStatus.WRITING
            stored.op = op
            stored.new_asset_id = asset_id
            stored.face_id = face_id
            stored.previous_person_id = previous
        row.status, row.op, row.previous_person_id = CarryStatus.WRITING, op, previous

    def _written(
        self, row: ImmichCarry, status: CarryStatus, face_id: str | None, counts: dict[str, int]
    ) -> None:
        how = (
            "the face Immich found at the same place was given"
            if status == CarryStatus.CARRIED
            else "a face was created at the same place for"
        )
        summary = (
            f"Immich: {how} {row.person_name} on the new asset {row.new_asset_id} "
            f"(the name the file had in Immich before facesort moved it)"
        )
        with self.state.session() as session:
            stored = session.get(ImmichCarry, row.id)
            assert stored is not None
            stored.status = status
            stored.face_id = face_id or stored.face_id
            stored.detail = summary
            immich = {
                "op": stored.op,
                "asset_id": stored.new_asset_id,
                "face_id": stored.face_id,
                "person_id": row.person_id,
                "previous_person_id": stored.previous_person_id,
                "carry_id": row.id,
            }
            session.add(carry_event(row, EventAction.IMMICH_NAMED, self.actor, summary, immich))
        counts[status] = counts.get(status, 0) + 1
        self.files.add(row.file_id)

    def close(
        self, row: ImmichCarry, status: CarryStatus, detail: str, counts: dict[str, int]
    ) -> None:
        with self.state.session() as session:
            stored = session.get(ImmichCarry, row.id)
            assert stored is not None
            stored.status = status
            stored.detail = detail
        counts[status] = counts.get(status, 0) + 1


def carry_event(
    row: ImmichCarry, action: EventAction, actor: str, summary: str, immich: dict[str, Any]
) -> Event:
    """The event in the file's history for a name carried onto Immich, or taken back."""
    return Event(
        file_id=row.file_id,
        action=action,
        people=[row.person_name],
        actor=actor,
        reason={"summary": summary, "immich": immich},
    )
