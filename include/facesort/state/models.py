"""Tables of the state database.

Changes to these tables go through a new Alembic migration in ``migrations/versions``;
``tests/unit/test_state.py`` checks that the migrations and these models agree.

- ``media_file``: one row per file facesort took from a staging folder, with where it is
  now, why, and whether it is an original that later files are compared against.
- ``file_index``: what a scan saw at each path (size, mtime, inode): rescans skip files
  already handled without hashing them; reference photos are cached here too.
- ``batch``: a claimed group of files, with a lease, so concurrent runs never take the
  same file.
- ``transfer``: the journal. Intent is written before a file moves; recovery finishes
  or rolls back whatever was in flight when a run died.
- ``event``: the audit trail, one row per decision or action, with its reason.
- ``reference_encoding``: face encodings of reference photos, cached by content hash.
- ``face``: faces found in sorted files (for re-checks and clustering).
- ``original_hash``: perceptual hashes of originals, for near-duplicate checks.
- ``immich_run``: what Immich did for one run (probe, scan, wait progress, outcome).
- ``immich_file``: who Immich says is in each file of a run, read once per run so that
  sorting never calls Immich per file.
- ``immich_carry``: each named Immich face of a file facesort moves, recorded before the
  move, until the same person is on the file's new asset (``facesort.immich.carry``).
- ``review_action``: each review decision (approve, reject, ...) with its journal group,
  so the last ones can be listed and undone.
- ``face_cluster``: groups of similar unknown faces, kept stable from night to night.
- ``person_threshold``: a person's own sure/review distances set on the people page
  (:mod:`facesort.thresholds`).
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from facesort.vocab import (
    ActionState,
    BatchStatus,
    CarryStatus,
    ClusterStatus,
    FaceSource,
    FileStatus,
    TransferState,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_BYTES_PREFIX = "b64:"


def utcnow() -> datetime:
    return datetime.now(UTC)


def path_to_db(path: str | os.PathLike[str] | bytes) -> str:
    """Paths are stored as text; names that are not UTF-8 survive as base64.

    Stored paths are absolute, so they start with '/', never with the prefix.
    """
    raw = os.fsencode(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return _BYTES_PREFIX + base64.b64encode(raw).decode("ascii")


def path_from_db(value: str) -> str:
    if value.startswith(_BYTES_PREFIX):
        return os.fsdecode(base64.b64decode(value[len(_BYTES_PREFIX) :]))
    return value


class PathText(TypeDecorator[str]):
    """A filesystem path (str, possibly with surrogate escapes) stored as text."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else path_to_db(value)

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else path_from_db(value)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class MediaFile(Base):
    __tablename__ = "media_file"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    source_path: Mapped[str] = mapped_column(PathText, index=True)
    staging_dir: Mapped[str] = mapped_column(PathText)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    mtime_ns: Mapped[int] = mapped_column(sa.BigInteger)
    kind: Mapped[str] = mapped_column(sa.String(16))  # vocab.Kind: image | video | unknown
    file_type: Mapped[str] = mapped_column(sa.String(16))  # real type: jpg, png, mp4 ...
    sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    phash: Mapped[str | None] = mapped_column(sa.String(16))
    width: Mapped[int | None] = mapped_column(sa.Integer)
    height: Mapped[int | None] = mapped_column(sa.Integer)
    # vocab.FileStatus: pending -> claimed -> done; or left (vanished/changed in staging)
    status: Mapped[str] = mapped_column(sa.String(16), index=True, default=FileStatus.PENDING)
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batch.id"), index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # An original: not a duplicate; later files are compared against it.
    is_original: Mapped[bool] = mapped_column(sa.Boolean, default=False, index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("media_file.id"))
    current_path: Mapped[str | None] = mapped_column(PathText, index=True)
    # vocab.Place: library | review | trash | deleted (purged from the trash)
    place: Mapped[str | None] = mapped_column(sa.String(16))
    category: Mapped[str | None] = mapped_column(sa.String(32), index=True)  # vocab.Category
    people: Mapped[list[str] | None] = mapped_column(sa.JSON)
    reason: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    discovered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class OriginalHash(Base):
    """Perceptual hashes of originals, in the order they were registered.

    Rows are appended under the duplicate-check lock, so ``seq`` grows in registration
    order and a worker's cache can refresh with ``seq > last seen``; on SQLite with
    AUTOINCREMENT, so that a deleted top row's ``seq`` is never given again.
    """

    __tablename__ = "original_hash"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("media_file.id"), unique=True)
    phash: Mapped[int] = mapped_column(sa.BigInteger)  # 64 bits, signed


class FileIndexEntry(Base):
    __tablename__ = "file_index"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    path: Mapped[str] = mapped_column(PathText, unique=True)
    root: Mapped[str] = mapped_column(PathText, index=True)  # the staging/references folder
    size: Mapped[int] = mapped_column(sa.BigInteger)
    mtime_ns: Mapped[int] = mapped_column(sa.BigInteger)
    inode: Mapped[int] = mapped_column(sa.BigInteger)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # vocab.IndexState: waiting (not stable yet) | registered | ignored (not media) | reference
    state: Mapped[str] = mapped_column(sa.String(16))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("media_file.id"), index=True)
    note: Mapped[str | None] = mapped_column(sa.Text)


class Batch(Base):
    __tablename__ = "batch"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(sa.String(250))
    status: Mapped[str] = mapped_column(
        sa.String(16), default=BatchStatus.OPEN, index=True
    )  # vocab.BatchStatus: open | done | expired
    owner: Mapped[str | None] = mapped_column(sa.String(250))  # host/pid/start of the worker
    file_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Transfer(Base):
    __tablename__ = "transfer"
    __table_args__ = (
        # Two transfers in flight can never aim at the same destination name.
        sa.Index(
            "uq_transfer_dst_planned",
            "dst",
            unique=True,
            sqlite_where=sa.text("state = 'planned'"),
            postgresql_where=sa.text("state = 'planned'"),
        ),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("media_file.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(32))  # vocab.TransferAction
    op: Mapped[str] = mapped_column(sa.String(8))  # vocab.TransferOp: move | copy
    src: Mapped[str] = mapped_column(PathText)
    dst: Mapped[str] = mapped_column(PathText)
    tmp: Mapped[str | None] = mapped_column(PathText)
    # vocab.TransferState: planned -> done | abandoned (name taken, re-planned) | failed
    state: Mapped[str] = mapped_column(sa.String(16), default=TransferState.PLANNED, index=True)
    # What the file's row becomes once the transfer is done (files.journal.TransferOutcome).
    outcome: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    group_id: Mapped[str | None] = mapped_column(sa.String(250), index=True)
    actor: Mapped[str] = mapped_column(sa.String(250))
    owner: Mapped[str | None] = mapped_column(sa.String(250))  # host/pid/start of the process
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Event(Base):
    __tablename__ = "event"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("media_file.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(sa.String(32), index=True)
    from_path: Mapped[str | None] = mapped_column(PathText)
    to_path: Mapped[str | None] = mapped_column(PathText)
    place: Mapped[str | None] = mapped_column(sa.String(16))
    category: Mapped[str | None] = mapped_column(sa.String(32))
    people: Mapped[list[str] | None] = mapped_column(sa.JSON)
    reason: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    actor: Mapped[str] = mapped_column(sa.String(250))
    transfer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("transfer.id"))


class ReferenceEncoding(Base):
    __tablename__ = "reference_encoding"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16))  # vocab.ReferenceStatus
    encoding: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    box: Mapped[list[float] | None] = mapped_column(sa.JSON)
    face_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    detail: Mapped[str | None] = mapped_column(sa.Text)
    settings_key: Mapped[str] = mapped_column(sa.String(64))  # detector settings used
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Face(Base):
    __tablename__ = "face"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("media_file.id"), index=True)
    frame: Mapped[int | None] = mapped_column(sa.Integer)
    box: Mapped[list[float]] = mapped_column(sa.JSON)  # left, top, right, bottom fractions
    encoding: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    person: Mapped[str | None] = mapped_column(sa.String(250), index=True)
    # vocab.Confidence: sure | uncertain | unknown (matching), or confirmed (named in review)
    confidence: Mapped[str] = mapped_column(sa.String(16))
    distance: Mapped[float | None] = mapped_column(sa.Float)
    source: Mapped[str] = mapped_column(sa.String(16), default=FaceSource.LOCAL)  # vocab
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The cluster of similar unknown faces this face was put in by the last clustering.
    cluster_id: Mapped[int | None] = mapped_column(sa.ForeignKey("face_cluster.id"), index=True)

    # What a face found in one file says of the same picture in another (a kept copy's
    # faces given to the copy that takes its place); not its id, time or cluster.
    _COPIED = ("frame", "box", "encoding", "person", "confidence", "distance", "source")

    def copied_to(self, file_id: int) -> Face:
        """A new row for this face in file ``file_id``."""
        values = {name: getattr(self, name) for name in self._COPIED}
        return Face(file_id=file_id, **{**values, "box": list(self.box)})


class FaceCluster(Base):
    """Similar unknown faces, probably one person. Ids stay the same from night to night
    while most of the members do."""

    __tablename__ = "face_cluster"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    # vocab.ClusterStatus: active (shown for naming) | named (faces given a person) | dissolved
    status: Mapped[str] = mapped_column(sa.String(16), index=True, default=ClusterStatus.ACTIVE)
    person: Mapped[str | None] = mapped_column(sa.String(250))
    face_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    file_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    representative_face_ids: Mapped[list[int] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ImmichRun(Base):
    """Immich's part in one run: kept in the state DB, so every task and poke can see it.

    ``status``: ok | disabled | unavailable (unreachable, 5xx) | error (key, permission,
    library: the user must act) | no_face_recognition. The wait's progress (quiet polls in
    a row) lives here too, because a sensor in reschedule mode starts afresh each poke.
    """

    __tablename__ = "immich_run"

    run_id: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(32))
    message: Mapped[str | None] = mapped_column(sa.Text)
    server_version: Mapped[str | None] = mapped_column(sa.String(32))
    library_ids: Mapped[list[str] | None] = mapped_column(sa.JSON)
    scan_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    wait_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    polls: Mapped[int] = mapped_column(sa.Integer, default=0)
    quiet_streak: Mapped[int] = mapped_column(sa.Integer, default=0)
    # waiting | ready | timeout | unavailable | skipped
    wait_outcome: Mapped[str | None] = mapped_column(sa.String(16))
    wait_detail: Mapped[str | None] = mapped_column(sa.Text)
    names_read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rescanned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ImmichFile(Base):
    """Immich's faces for one file, as read for the run that claimed it.

    ``status``: faces | no_face | not_ready (face data not final) | stale (the asset
    describes an older file at that path) | no_asset | unavailable (Immich not asked).
    ``faces``: [{"box": [l, t, r, b] fractions or null, "person_id", "name", "hidden"}].
    """

    __tablename__ = "immich_file"

    file_id: Mapped[int] = mapped_column(sa.ForeignKey("media_file.id"), primary_key=True)
    run_id: Mapped[str] = mapped_column(sa.String(250), index=True)
    container_path: Mapped[str] = mapped_column(PathText)
    asset_id: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    detail: Mapped[str | None] = mapped_column(sa.Text)
    faces: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    source: Mapped[str | None] = mapped_column(sa.String(8))  # db | api
    read_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ImmichCarry(Base):
    """One named Immich face of a file facesort moves, and carrying it to the new asset.

    An external-library asset is its path: after a move Immich trashes the old asset with
    the user's names on it and makes a new one without. The face (``box``: left, top,
    right, bottom fractions; the person) is recorded before the move; once Immich knows
    the new asset and has run its face detection, the same person is given to the face
    at the same place, or a face is created there. ``status``: vocab.CarryStatus.
    """

    __tablename__ = "immich_carry"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("media_file.id"), index=True)
    # The journal group of the move (the run): undoing it takes these writes back.
    group_id: Mapped[str] = mapped_column(sa.String(250), index=True)
    old_asset_id: Mapped[str] = mapped_column(sa.String(64))
    old_path: Mapped[str] = mapped_column(PathText)  # as Immich's container saw it
    person_id: Mapped[str] = mapped_column(sa.String(64))
    person_name: Mapped[str] = mapped_column(sa.String(250))
    box: Mapped[list[float]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(16), default=CarryStatus.PENDING, index=True)
    op: Mapped[str | None] = mapped_column(sa.String(16))  # vocab.CarryOp
    new_path: Mapped[str | None] = mapped_column(PathText)
    new_asset_id: Mapped[str | None] = mapped_column(sa.String(64))
    face_id: Mapped[str | None] = mapped_column(sa.String(64))  # the face given or created
    # Who Immich had put on that face before (an unnamed cluster), for undo.
    previous_person_id: Mapped[str | None] = mapped_column(sa.String(64))
    # Looks in a row at which the face queues were idle and the new asset existed; and
    # at which they were idle and it did not (a file Immich leaves out: stop waiting).
    quiet_polls: Mapped[int] = mapped_column(sa.Integer, default=0)
    missing_polls: Mapped[int] = mapped_column(sa.Integer, default=0)
    detail: Mapped[str | None] = mapped_column(sa.Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ReviewAction(Base):
    """One review decision; its file moves are the journal transfers of ``group_id``."""

    __tablename__ = "review_action"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    group_id: Mapped[str] = mapped_column(sa.String(250), unique=True)
    # vocab.ReviewKind: approve | reject | add_reference | not_duplicate | name_cluster | ...
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    actor: Mapped[str] = mapped_column(sa.String(250))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    person: Mapped[str | None] = mapped_column(sa.String(250))
    file_ids: Mapped[list[int] | None] = mapped_column(sa.JSON)
    summary: Mapped[str] = mapped_column(sa.Text)
    # What the action changed besides moving files (face labels, originals, a cluster),
    # so that undoing it can put that back too.
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    undo_of: Mapped[str | None] = mapped_column(sa.String(250))  # for undo and redo
    undone_by: Mapped[str | None] = mapped_column(sa.String(250))
    # vocab.ActionState: the row is written (open) before the action moves anything, so
    # a killed action is known, undoable, and continued when the same action is retried.
    state: Mapped[str] = mapped_column(sa.String(16), default=ActionState.DONE, index=True)
    owner: Mapped[str | None] = mapped_column(sa.String(250))  # while open: who does it
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PersonThreshold(Base):
    """A person's own sure/review distances, set on the people page (over the config's
    ``matching.people``); NULL: the shared value."""

    __tablename__ = "person_threshold"

    person_key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    person: Mapped[str] = mapped_column(sa.String(250))
    sure_distance: Mapped[float | None] = mapped_column(sa.Float)
    review_distance: Mapped[float | None] = mapped_column(sa.Float)
    set_by: Mapped[str | None] = mapped_column(sa.String(250))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
