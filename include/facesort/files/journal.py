"""The journal's one gate for moving a file: record the intent, move, then record the result.

Every move or copy is written to the ``transfer`` table (state ``planned``) *before*
the file is touched, with its source, destination, temporary name and what the file's
record becomes afterwards (a :class:`TransferOutcome`). Then:

- a move within one filesystem is ``link(src, dst)`` then ``unlink(src)``: ``link``
  never replaces an existing file, and at every instant the file exists under at least
  one of the two names;
- anything else (another filesystem, ``transfer_mode: copy``, hard links unsupported)
  copies into a hidden temporary file in the destination folder while hashing it,
  checks the hash, ``fsync``s, links it to the destination name, and only then removes
  the source (for a move) and the temporary name.

After the filesystem work, one transaction marks the transfer done, updates the file's
record and writes the audit event (:meth:`Journal.finalize`). A run killed at any
instant leaves a ``planned`` row, which :mod:`facesort.files.recovery` finishes or
re-plans.

Destination names never collide: a partial unique index forbids two planned transfers
to one name, and ``link`` fails rather than overwrite a file that appeared meanwhile;
either way the next free name (``photo (1).jpg``) is taken.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from facesort.errors import TransferFailed
from facesort.faults import crashpoint
from facesort.files.hashing import CHUNK
from facesort.files.owners import lease_end, owner_token
from facesort.immich.carry_moves import record_move
from facesort.names import numbered
from facesort.state import State
from facesort.state.models import Event, MediaFile, Transfer, utcnow
from facesort.vocab import TransferAction, TransferOp, TransferState

log = logging.getLogger(__name__)

MAX_NAME_TRIES = 10_000
# What a transfer may change in a file's record (and undo restores).
UNDOABLE_FIELDS = (
    "status",
    "place",
    "category",
    "people",
    "reason",
    "duplicate_of_id",
    "current_path",
)


class SourceChanged(Exception):
    """The source file changed or vanished after it was examined; it was not moved."""


@dataclass(frozen=True)
class OutcomeEvent:
    """The audit event a transfer writes when it is done (``event`` row fields)."""

    action: str | None = None  # an EventAction; None: the transfer's action
    place: str | None = None
    category: str | None = None
    people: list[str] | None = None
    reason: dict[str, Any] | None = None


@dataclass(frozen=True)
class TransferOutcome:
    """What a transfer changes once it is done, as stored in ``transfer.outcome``.

    ``file``: the file record's new fields (None: the record stays, as for an extra
    copy); ``sha256``: the content moved; ``previous``: the record's fields before the
    transfer (:data:`UNDOABLE_FIELDS`), so that undo can restore them.
    """

    file: dict[str, Any] | None
    event: OutcomeEvent = field(default_factory=OutcomeEvent)
    sha256: str | None = None
    previous: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        event = {k: v for k, v in asdict(self.event).items() if v is not None}
        return {"file": self.file, "event": event, "sha256": self.sha256, "previous": self.previous}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> TransferOutcome:
        data = data or {}
        event = OutcomeEvent(**(data.get("event") or {}))
        return cls(data.get("file"), event, data.get("sha256"), data.get("previous"))


@dataclass(frozen=True)
class TransferRequest:
    file_id: int
    src: str
    dest_dir: str
    name: str
    outcome: TransferOutcome
    action: TransferAction = TransferAction.ROUTE
    op: TransferOp = TransferOp.MOVE
    expected_sha256: str | None = None
    expected_stat: tuple[int, int, int] | None = None  # size, mtime_ns, inode of src


class Journal:
    """Plans, performs and finalises transfers for one actor (a run, a user).

    ``lease_s`` (``claim_lease_seconds``): how long a planned transfer stays this
    process's before another may take it over when its owner cannot be checked.
    """

    def __init__(self, state: State, actor: str, group_id: str | None = None, *, lease_s: int):
        self.state = state
        self.actor = actor
        self.group_id = group_id
        self.lease_s = lease_s

    def transfer(self, request: TransferRequest) -> str:
        """Move or copy a file as requested; returns its final path.

        Raises SourceChanged when the source is not what was examined, and
        TransferFailed when the filesystem refuses (full, read-only, permissions): then
        the file is exactly where it was and the journal entry says why.
        """
        try:
            os.makedirs(request.dest_dir, exist_ok=True)
        except OSError as exc:
            raise TransferFailed(
                f"cannot create the folder {request.dest_dir}: {exc.strerror or exc}"
            ) from exc
        _check_source(request)
        start = 0
        while True:
            row, start = self._plan(request, start)
            crashpoint("journal.planned")
            try:
                _execute(row, request.expected_sha256)
            except FileExistsError:
                self.mark(row.id, TransferState.ABANDONED, "destination name taken meanwhile")
                start += 1
                continue
            except SourceChanged as exc:
                self.mark(row.id, TransferState.FAILED, str(exc))
                raise
            except OSError as exc:
                why = f"cannot {row.op} {row.src} to {row.dst}: {exc.strerror or exc}"
                self.mark(row.id, TransferState.FAILED, why)
                raise TransferFailed(why) from exc
            self.finalize(row.id, recovered=False)
            crashpoint("journal.done")
            return row.dst

    def mark(self, transfer_id: int, state: TransferState, error: str | None) -> None:
        """End a transfer that did not happen (abandoned or failed), saying why."""
        with self.state.session() as session:
            session.execute(
                sa.update(Transfer)
                .where(Transfer.id == transfer_id)
                .values(state=state, error=error, finished_at=utcnow())
            )

    def finalize(self, transfer_id: int, *, recovered: bool) -> None:
        """The file is at its destination: mark the transfer done, update the file's
        record and write the audit event, in one transaction."""
        with self.state.session() as session:
            row = session.get(Transfer, transfer_id)
            if row is None or row.state != TransferState.PLANNED:
                return
            row.state = TransferState.DONE
            row.finished_at = utcnow()
            outcome = TransferOutcome.from_json(row.outcome)
            if outcome.file is not None:
                values = {**outcome.file, "current_path": row.dst, "decided_at": utcnow()}
                session.execute(
                    sa.update(MediaFile).where(MediaFile.id == row.file_id).values(**values)
                )
            event = outcome.event
            reason = dict(event.reason or {})
            if recovered:
                reason["recovered"] = "finished by recovery after an interrupted run"
            session.add(
                Event(
                    file_id=row.file_id,
                    action=event.action or row.action,
                    from_path=row.src,
                    to_path=row.dst,
                    place=event.place,
                    category=event.category,
                    people=event.people,
                    reason=reason or None,
                    actor=row.actor,
                    transfer_id=row.id,
                )
            )
            record_move(session, row)  # names in Immich follow the file (immich.carry_moves)

    def _plan(self, request: TransferRequest, start: int) -> tuple[Transfer, int]:
        for number in range(start, MAX_NAME_TRIES):
            dst = os.path.join(request.dest_dir, numbered(request.name, number))
            if os.path.lexists(dst):
                continue
            tmp = os.path.join(request.dest_dir, f".facesort-{uuid.uuid4().hex}.part")
            row = Transfer(
                file_id=request.file_id,
                action=request.action,
                op=request.op,
                src=request.src,
                dst=dst,
                tmp=tmp,
                state=TransferState.PLANNED,
                group_id=self.group_id,
                actor=self.actor,
                owner=owner_token(),
                lease_until=lease_end(self.lease_s),
            )
            try:
                # the record's fields before the transfer (for undo) are read in the
                # transaction that plans it: one transaction, and no change between
                with self.state.session() as session:
                    previous = _snapshot(session, request.file_id) if request.outcome.file else None
                    row.outcome = TransferOutcome(
                        request.outcome.file,
                        request.outcome.event,
                        request.expected_sha256,
                        previous,
                    ).as_json()
                    session.add(row)
            except IntegrityError:
                continue  # another transfer in flight aims at this name
            return row, number
        raise RuntimeError(f"no free file name for {request.name} in {request.dest_dir}")


def _snapshot(session, file_id: int) -> dict[str, Any] | None:
    """The file's record before the transfer, so that undo can restore it."""
    media = session.get(MediaFile, file_id)
    if media is None:
        return None
    return {name: getattr(media, name) for name in UNDOABLE_FIELDS}


# ---------------------------------------------------------------- filesystem steps


def _check_source(request: TransferRequest) -> None:
    try:
        st = os.stat(request.src, follow_symlinks=False)
    except FileNotFoundError:
        raise SourceChanged(f"{request.src} vanished before it could be moved") from None
    if request.expected_stat and (st.st_size, st.st_mtime_ns, st.st_ino) != request.expected_stat:
        raise SourceChanged(f"{request.src} changed after it was examined")


def _execute(row: Transfer, expected_sha256: str | None) -> None:
    """The filesystem steps. On an error the steps already taken are rolled back, so the
    file is only where it was (crashes are recovery's job, not this one's)."""
    src, dst, tmp = row.src, row.dst, row.tmp or ""
    if row.op == TransferOp.MOVE and _same_device(src, os.path.dirname(dst)):
        try:
            os.link(src, dst)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in {errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}:
                raise
        else:
            fsync_dir(os.path.dirname(dst))
            crashpoint("journal.linked")
            try:
                os.unlink(src)
            except OSError:
                os.unlink(dst)  # the same file under its new name: back to one name
                raise
            fsync_dir(os.path.dirname(src))
            crashpoint("journal.moved")
            return
    try:
        _copy_verified(src, tmp, expected_sha256)
        crashpoint("journal.copied")
        _link_no_replace(tmp, dst)
    except BaseException:
        _remove_quietly(tmp)
        raise
    fsync_dir(os.path.dirname(dst))
    crashpoint("journal.linked")
    if row.op == TransferOp.MOVE:
        try:
            os.unlink(src)
        except OSError:
            _remove_quietly(dst)  # our copy; the original stays in place
            _remove_quietly(tmp)
            raise
        fsync_dir(os.path.dirname(src))
    crashpoint("journal.moved")
    _remove_quietly(tmp)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename or an unlink in ``folder`` durable (the folder's entry, not the file)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    if not path:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove the temporary file %s: %s", path, exc)


def _copy_verified(src: str, tmp: str, expected_sha256: str | None) -> None:
    """Copy ``src`` to a new file ``tmp``, hash while copying, fsync; keep mtime."""
    digest = hashlib.sha256()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with open(src, "rb", buffering=0) as source, os.fdopen(fd, "wb", closefd=False) as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(fd)
    finally:
        os.close(fd)
    if expected_sha256 and digest.hexdigest() != expected_sha256:
        os.unlink(tmp)
        raise SourceChanged(f"{src} changed while it was being copied")
    shutil.copystat(src, tmp, follow_symlinks=False)


def _same_device(path: str, folder: str) -> bool:
    try:
        return os.stat(path).st_dev == os.stat(folder).st_dev
    except OSError:
        return False


def _link_no_replace(tmp: str, dst: str) -> None:
    try:
        os.link(tmp, dst)
    except FileExistsError:
        os.unlink(tmp)
        raise
    except OSError as exc:
        if exc.errno not in {errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK}:
            raise
        # No hard links on this filesystem: rename, after checking the name is free.
        if os.path.lexists(dst):
            os.unlink(tmp)
            raise FileExistsError(dst) from None
        os.rename(tmp, dst)
