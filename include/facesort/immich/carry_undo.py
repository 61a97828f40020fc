"""Taking back the names facesort carried onto Immich assets, when their move is undone.

For each write of the undone group (:mod:`facesort.immich.carry`):

- a face facesort *created* is removed (``DELETE /api/faces/{id}``, permission
  ``face.delete``); no other face is ever removed;
- a face facesort took over from an unnamed cluster goes back to that cluster, if it
  is still with the person facesort gave it to (the user may have changed it since);
- a face Immich had detected without anyone on it stays with the person: Immich's API
  cannot take a face back from a person, and the asset goes offline anyway when the
  file moves back (its old asset, with the user's names, comes back at the old path).

Carry-overs of the group still waiting are closed: their file is going back.
Every change is an ``immich_unnamed`` event in the file's history.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from facesort.config import Config
from facesort.errors import ImmichError, ImmichUnavailable
from facesort.immich.carry_write import carry_event
from facesort.immich.writes import ImmichFaceWrites
from facesort.state import State
from facesort.state.models import ImmichCarry
from facesort.vocab import CarryOp, CarryStatus, EventAction

log = logging.getLogger(__name__)


def undo_carried_names(state: State, config: Config, group_id: str, actor: str) -> list[str]:
    """Take back the Immich writes facesort made for ``group_id``; lines saying what."""
    from facesort.immich.carry_match import asset_faces as _asset_faces
    from facesort.immich.carry_pass import WAITING
    from facesort.immich.carry_record import _endpoint

    with state.session() as session:
        waiting = session.scalars(
            sa.select(ImmichCarry).where(
                ImmichCarry.group_id == group_id, ImmichCarry.status.in_(WAITING)
            )
        ).all()
        for row in waiting:
            row.status = CarryStatus.NOT_MOVED
            row.detail = f"the move was undone ({actor}) before the name was carried"
        written = session.scalars(
            sa.select(ImmichCarry)
            .where(
                ImmichCarry.group_id == group_id,
                ImmichCarry.status.in_((CarryStatus.CARRIED, CarryStatus.CREATED)),
            )
            .order_by(ImmichCarry.id)
        ).all()
        session.expunge_all()
    if not written:
        return []
    endpoint = _endpoint(config, None)
    if endpoint is None:
        return [
            f"Immich: {len(written)} name(s) facesort wrote were not taken back: Immich is "
            "not configured here"
        ]
    lines: list[str] = []
    try:
        with ImmichFaceWrites(endpoint) as api:
            for row in written:
                line = _undo_one(state, api, row, actor, _asset_faces)
                if line:
                    lines.append(line)
    except (ImmichUnavailable, ImmichError) as exc:
        lines.append(f"Immich: names facesort wrote were not all taken back: {exc}")
    return lines


def _undo_one(state: State, api: ImmichFaceWrites, row: ImmichCarry, actor: str, faces_of):
    if row.op == CarryOp.CREATE and row.face_id:
        api.delete_face(row.face_id)
        what = f"the face facesort created for {row.person_name} on asset {row.new_asset_id}"
        return _undone(state, row, actor, f"{what} was removed")
    if row.op == CarryOp.ASSIGN and row.previous_person_id and row.new_asset_id:
        face = next((f for f in faces_of(api, row.new_asset_id) if f["id"] == row.face_id), None)
        if face is None or face["person_id"] != row.person_id:
            return f"Immich: face {row.face_id} changed since facesort named it; left as it is"
        api.assign_face(row.previous_person_id, row.face_id)
        what = f"face {row.face_id} on asset {row.new_asset_id}"
        return _undone(state, row, actor, f"{what} went back to the unnamed person it was in")
    return (
        f"Immich: face {row.face_id} on asset {row.new_asset_id} keeps {row.person_name}: "
        "Immich's API cannot take a face back from a person (the asset goes offline when "
        "the file moves back)"
    )


def _undone(state: State, row: ImmichCarry, actor: str, summary: str) -> str:
    line = f"Immich: {summary}"
    with state.session() as session:
        stored = session.get(ImmichCarry, row.id)
        assert stored is not None
        stored.status = CarryStatus.UNDONE
        stored.detail = summary
        session.add(carry_event(row, EventAction.IMMICH_UNNAMED, actor, line, {"carry_id": row.id}))
    return line
