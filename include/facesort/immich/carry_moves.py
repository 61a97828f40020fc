"""Names carried over for moves made after the ingest run: review, re-sort, people page.

The ingest run records a file's named Immich faces before it moves (:func:`facesort.
immich.carry.prepare_for_run`). A file moved later (approved from review, re-sorted,
following a renamed, merged or split person) loses its names in Immich the same way:
its asset is trashed at the old path and a new one, without names, is made at the new
path. So every such move records the carry-over too, through one hook in the journal's
gate (:meth:`facesort.files.journal.Journal.finalize`): in the transaction that marks
the move done, so a crash leaves either the move undone and nothing recorded, or both
(recovery finishes the move through the same call). No Immich call is made here: the
names are what facesort already stored for the file:

- the faces facesort carried to the file's current asset last time (``immich_carry``
  rows done: carried, created, already there; or not carried because no library saw
  the previous place, whose names are still the user's);
- else the named faces Immich had on it when it was read (``immich_file``).

A file whose carry-over still waits needs nothing new: the pass looks for the asset at
wherever the file is now. The next ``facesort run`` (or ``immich_carry_names`` task)
rescans, then carries these as it carries the run's own; a destination no library
imports is closed there (``not_seen``), as for the run's files.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from facesort.config import Config
from facesort.state import State
from facesort.state.models import ImmichCarry, ImmichFile, Transfer
from facesort.vocab import CarryStatus, ImmichFileStatus, TransferAction, TransferOp

# The moves that carry names here. Not the ingest run's own (``route``: recorded before
# the run moves anything, with its config's checks), not undo (the old asset comes back
# with the names; carry_undo takes back what was written), not copies (the file stays).
CARRIED_ACTIONS = frozenset(
    {
        TransferAction.APPROVE,
        TransferAction.REJECT,
        TransferAction.NOT_DUPLICATE,
        TransferAction.RECHECK,
        TransferAction.RESORT,
        TransferAction.RENAME_PERSON,
        TransferAction.KEEP_INSTEAD,
    }
)
WAITING = (CarryStatus.PENDING, CarryStatus.WRITING)
# Rows whose names are still the file's: not a face someone else had, not taken back.
KEPT = (
    CarryStatus.CARRIED,
    CarryStatus.CREATED,
    CarryStatus.ALREADY,
    CarryStatus.NOT_SEEN,
    CarryStatus.NOT_MOVED,
)


def record_move(session: Session, transfer: Transfer) -> int:
    """Record the carry-over of a file facesort moved (the journal's hook); rows added."""
    if transfer.op != TransferOp.MOVE or transfer.action not in CARRIED_ACTIONS:
        return 0
    if transfer.src == transfer.dst:
        return 0
    rows = session.scalars(
        sa.select(ImmichCarry)
        .where(ImmichCarry.file_id == transfer.file_id)
        .order_by(ImmichCarry.id)
    ).all()
    if any(r.status in WAITING for r in rows):
        return 0  # the pass follows the file to where it is now
    faces = _last_carried(rows) if rows else []
    if not faces:
        faces = _read_faces(session.get(ImmichFile, transfer.file_id))
    group = transfer.group_id or transfer.actor
    for face in faces:
        session.add(
            ImmichCarry(
                file_id=transfer.file_id,
                group_id=group,
                status=CarryStatus.PENDING,
                quiet_polls=0,
                missing_polls=0,
                **face,
            )
        )
    return len(faces)


def _last_carried(rows: list[ImmichCarry]) -> list[dict[str, Any]]:
    """The names of the file's last carry-over that are still its own, on its asset."""
    last = rows[-1]
    same = [r for r in rows if (r.group_id, r.old_asset_id) == (last.group_id, last.old_asset_id)]
    faces = []
    for row in same:
        if row.status not in KEPT:
            continue
        on_new = row.status != CarryStatus.NOT_SEEN and row.new_asset_id
        faces.append(
            {
                "old_asset_id": row.new_asset_id if on_new else row.old_asset_id,
                "old_path": (row.new_path or row.old_path) if on_new else row.old_path,
                "person_id": row.person_id,
                "person_name": row.person_name,
                "box": list(row.box),
            }
        )
    return faces


def _read_faces(read: ImmichFile | None) -> list[dict[str, Any]]:
    """The named faces Immich had on the file when facesort read it."""
    from facesort.immich.faces import ImmichFace

    if read is None or read.status != ImmichFileStatus.FACES or not read.asset_id:
        return []
    faces = []
    for data in read.faces or []:
        face = ImmichFace.from_json(data)
        name = (face.name or "").strip()
        if face.person_id and name and face.box is not None:
            faces.append(
                {
                    "old_asset_id": read.asset_id,
                    "old_path": read.container_path,
                    "person_id": face.person_id,
                    "person_name": name,
                    "box": list(face.box),
                }
            )
    return faces


def moves_to_look_at(state: State, config: Config) -> int:
    """Files moved since the last carry pass looked (their new place needs a rescan);
    none while ``immich.carry_names`` is off (the pass would not look)."""
    if not config.immich.carry_names:
        return 0
    with state.session() as session:
        return int(
            session.scalar(
                sa.select(sa.func.count(sa.distinct(ImmichCarry.file_id))).where(
                    ImmichCarry.status == CarryStatus.PENDING,
                    ImmichCarry.quiet_polls == 0,
                    ImmichCarry.missing_polls == 0,
                )
            )
            or 0
        )
