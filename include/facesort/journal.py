"""Crash-safe file transfers, journaled in the state database.

Every move or copy is written to the ``transfer`` table (state ``planned``) *before*
the file is touched, with its source, destination, temporary name and what the file's
record becomes afterwards. Then:

- a move within one filesystem is ``link(src, dst)`` then ``unlink(src)``: ``link``
  never replaces an existing file, and at every instant the file exists under at least
  one of the two names;
- anything else (another filesystem, ``transfer_mode: copy``, hard links unsupported)
  copies into a hidden temporary file in the destination folder while hashing it,
  checks the hash, ``fsync``s, links it to the destination name, and only then removes
  the source (for a move) and the temporary name.

After the filesystem work, one transaction marks the transfer done, updates the file's
record and writes the audit event. A run killed at any instant leaves a ``planned``
row; :func:`recover` inspects the disk and either finishes the transfer or re-plans it,
so every file ends up present exactly once. Recovery only touches transfers whose owner
is gone: a process on this host that no longer runs, or any owner whose lease expired.

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
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from facesort.errors import FacesortError
from facesort.faults import crashpoint
from facesort.names import numbered
from facesort.state import State
from facesort.state.models import Event, MediaFile, Transfer, utcnow
from facesort.vocab import EventAction, FileStatus, TransferAction, TransferOp, TransferState

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
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


class TransferFailed(Exception):
    """The filesystem refused the transfer (full, read-only, no permission): the file is
    where it was, and the message says what was refused."""


def _remove_quietly(path: str) -> None:
    if not path:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove the temporary file %s: %s", path, exc)


@cache
def owner_token() -> str:
    """This process, in a form another process on the same host can check for liveness."""
    import psutil

    pid = os.getpid()
    started = int(psutil.Process(pid).create_time() * 100)
    return f"{socket.gethostname()}/{pid}/{started}"


def owner_alive(token: str | None) -> bool | None:
    """True/False for an owner on this host; None when unknown (elsewhere, or no owner)."""
    if not token:
        return None
    try:
        host, pid_text, started_text = token.rsplit("/", 2)
        pid, started = int(pid_text), int(started_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return None
    import psutil

    try:
        return int(psutil.Process(pid).create_time() * 100) == started
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True


def owner_gone(token: str | None, lease_until: datetime | None) -> bool:
    alive = owner_alive(token)
    if alive is False:
        return True
    if alive is None:
        return lease_until is None or lease_until < datetime.now(UTC)
    return False


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while read := handle.readinto(buffer):
            digest.update(view[:read])
    return digest.hexdigest()


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


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


@dataclass(frozen=True)
class TransferRequest:
    file_id: int
    src: str
    dest_dir: str
    name: str
    outcome: dict[str, Any]  # {"file": {...fields...} | None, "event": {...}}
    action: TransferAction = TransferAction.ROUTE
    op: TransferOp = TransferOp.MOVE
    expected_sha256: str | None = None
    expected_stat: tuple[int, int, int] | None = None  # size, mtime_ns, inode of src


class Journal:
    """Plans, performs and finalises transfers for one actor (a run, a user)."""

    def __init__(self, state: State, actor: str, group_id: str | None = None, lease_s: int = 900):
        self.state = state
        self.actor = actor
        self.group_id = group_id
        self.lease = timedelta(seconds=lease_s)

    # ------------------------------------------------------------------ public

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
        self._check_source(request)
        start = 0
        while True:
            row, start = self._plan(request, start)
            crashpoint("journal.planned")
            try:
                self._execute(row, request.expected_sha256)
            except FileExistsError:
                self._mark(row.id, TransferState.ABANDONED, "destination name taken meanwhile")
                start += 1
                continue
            except SourceChanged as exc:
                self._mark(row.id, TransferState.FAILED, str(exc))
                raise
            except OSError as exc:
                why = f"cannot {row.op} {row.src} to {row.dst}: {exc.strerror or exc}"
                self._mark(row.id, TransferState.FAILED, why)
                raise TransferFailed(why) from exc
            self._finalize(row.id, recovered=False)
            crashpoint("journal.done")
            return row.dst

    # ------------------------------------------------------------------ steps

    def _check_source(self, request: TransferRequest) -> None:
        try:
            st = os.stat(request.src, follow_symlinks=False)
        except FileNotFoundError:
            raise SourceChanged(f"{request.src} vanished before it could be moved") from None
        if (
            request.expected_stat
            and (st.st_size, st.st_mtime_ns, st.st_ino) != request.expected_stat
        ):
            raise SourceChanged(f"{request.src} changed after it was examined")

    def _plan(self, request: TransferRequest, start: int) -> tuple[Transfer, int]:
        previous = self._snapshot(request.file_id) if request.outcome.get("file") else None
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
                outcome={
                    **request.outcome,
                    "sha256": request.expected_sha256,
                    "previous": previous,
                },
                group_id=self.group_id,
                actor=self.actor,
                owner=owner_token(),
                lease_until=utcnow() + self.lease,
            )
            try:
                with self.state.session() as session:
                    session.add(row)
            except IntegrityError:
                continue  # another transfer in flight aims at this name
            return row, number
        raise RuntimeError(f"no free file name for {request.name} in {request.dest_dir}")

    def _snapshot(self, file_id: int) -> dict[str, Any] | None:
        """The file's record before the transfer, so that undo can restore it."""
        with self.state.session() as session:
            media = session.get(MediaFile, file_id)
            if media is None:
                return None
            return {name: getattr(media, name) for name in UNDOABLE_FIELDS}

    def _execute(self, row: Transfer, expected_sha256: str | None) -> None:
        """The filesystem steps. On an error the steps already taken are rolled back, so
        the file is only where it was (crashes are recovery's job, not this one's)."""
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
                _fsync_dir(os.path.dirname(dst))
                crashpoint("journal.linked")
                try:
                    os.unlink(src)
                except OSError:
                    os.unlink(dst)  # the same file under its new name: back to one name
                    raise
                _fsync_dir(os.path.dirname(src))
                crashpoint("journal.moved")
                return
        try:
            _copy_verified(src, tmp, expected_sha256)
            crashpoint("journal.copied")
            _link_no_replace(tmp, dst)
        except BaseException:
            _remove_quietly(tmp)
            raise
        _fsync_dir(os.path.dirname(dst))
        crashpoint("journal.linked")
        if row.op == TransferOp.MOVE:
            try:
                os.unlink(src)
            except OSError:
                _remove_quietly(dst)  # our copy; the original stays in place
                _remove_quietly(tmp)
                raise
            _fsync_dir(os.path.dirname(src))
        crashpoint("journal.moved")
        _remove_quietly(tmp)

    def _mark(self, transfer_id: int, state: TransferState, error: str | None) -> None:
        with self.state.session() as session:
            session.execute(
                sa.update(Transfer)
                .where(Transfer.id == transfer_id)
                .values(state=state, error=error, finished_at=utcnow())
            )

    def _finalize(self, transfer_id: int, *, recovered: bool) -> None:
        with self.state.session() as session:
            row = session.get(Transfer, transfer_id)
            if row is None or row.state != TransferState.PLANNED:
                return
            row.state = TransferState.DONE
            row.finished_at = utcnow()
            file_fields = row.outcome.get("file")
            if file_fields is not None:
                values = {**file_fields, "current_path": row.dst, "decided_at": utcnow()}
                session.execute(
                    sa.update(MediaFile).where(MediaFile.id == row.file_id).values(**values)
                )
            event = dict(row.outcome.get("event") or {})
            reason = dict(event.pop("reason", None) or {})
            if recovered:
                reason["recovered"] = "finished by recovery after an interrupted run"
            session.add(
                Event(
                    file_id=row.file_id,
                    action=event.pop("action", row.action),
                    from_path=row.src,
                    to_path=row.dst,
                    reason=reason or None,
                    actor=row.actor,
                    transfer_id=row.id,
                    **event,
                )
            )


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


# ---------------------------------------------------------------------- recovery


@dataclass
class RecoveryReport:
    finished: int = 0
    replanned: int = 0
    vanished: int = 0
    skipped_live: int = 0


def recover(state: State, *, force: bool = False) -> RecoveryReport:
    """Finish or re-plan every transfer left in flight by a process that is gone."""
    report = RecoveryReport()
    with state.session() as session:
        rows = list(
            session.scalars(sa.select(Transfer).where(Transfer.state == TransferState.PLANNED))
        )
    for row in rows:
        if not force and not owner_gone(row.owner, row.lease_until):
            report.skipped_live += 1
            continue
        journal = Journal(state, actor=row.actor, group_id=row.group_id)
        try:
            outcome = _recover_one(journal, row)
        except OSError as exc:
            log.error("cannot recover transfer %s (%s -> %s): %s", row.id, row.src, row.dst, exc)
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _recover_one(journal: Journal, row: Transfer) -> str:
    src, dst, tmp = row.src, row.dst, row.tmp or ""
    has_src, has_dst, has_tmp = os.path.lexists(src), os.path.lexists(dst), os.path.lexists(tmp)
    expected = row.outcome.get("sha256")
    log.warning("recovering interrupted %s of %s -> %s", row.op, src, dst)
    if has_dst:
        # While this row is planned no other transfer may aim at dst (unique index), so
        # a dst with the expected content can only be this transfer's work.
        ours = (
            (has_src and _same_file(src, dst))
            or (has_tmp and _same_file(tmp, dst))
            or (not has_tmp and expected is not None and _content_is(dst, expected))
            or (not has_tmp and expected is None and not has_src and row.op == TransferOp.MOVE)
        )
        if ours:
            if row.op == TransferOp.MOVE and has_src:
                os.unlink(src)
                _fsync_dir(os.path.dirname(src))
            if has_tmp:
                os.unlink(tmp)
            journal._finalize(row.id, recovered=True)
            return "finished"
    if has_tmp:
        os.unlink(tmp)  # an unfinished copy
    if not has_src:
        journal._mark(row.id, TransferState.FAILED, "source vanished before the transfer started")
        with journal.state.session() as session:
            session.execute(
                sa.update(MediaFile)
                .where(MediaFile.id == row.file_id, MediaFile.status != FileStatus.DONE)
                .values(
                    status=FileStatus.LEFT, last_error="vanished from staging before it was sorted"
                )
            )
            session.add(
                Event(
                    file_id=row.file_id, action=EventAction.VANISHED, from_path=src, actor=row.actor
                )
            )
        return "vanished"
    # Not started, or the name was taken by another file: do it again, maybe under a new name.
    journal._mark(row.id, TransferState.ABANDONED, "interrupted; transferred again by recovery")
    request = TransferRequest(
        file_id=row.file_id,
        src=src,
        dest_dir=os.path.dirname(dst),
        name=_base_name(dst),
        outcome={k: v for k, v in row.outcome.items() if k not in {"sha256", "previous"}},
        action=row.action,
        op=row.op,
        expected_sha256=expected,
    )
    journal.transfer(request)
    return "replanned"


def _base_name(dst: str) -> str:
    """``photo (2).jpg`` -> ``photo.jpg``, so a re-plan starts from the original name."""
    import re

    name = os.path.basename(dst)
    stem, ext = os.path.splitext(name)
    return re.sub(r" \(\d+\)$", "", stem) + ext


def _content_is(path: str, expected_sha256: str) -> bool:
    try:
        return sha256_file(path) == expected_sha256
    except OSError:
        return False


# ---------------------------------------------------------------------- undo


@dataclass
class UndoReport:
    group_id: str  # the group of the undo itself (undo it to redo)
    reverted: int = 0
    skipped: list[str] | None = None


def undo_group(state: State, group_id: str, actor: str) -> UndoReport:
    """Revert every transfer of ``group_id``, newest first, through the journal.

    Each file moves back to where it was and its record is restored. A file that moved
    again since is left where it is (reported in ``skipped``). Extra copies (``op:
    copy`` without a record change) are removed only when their content is still the
    copied content; nothing else is ever deleted. The undo is a group of its own, so
    it can be undone too.
    """
    undo_id = f"undo-{uuid.uuid4().hex[:12]}"
    report = UndoReport(group_id=undo_id, skipped=[])
    journal = Journal(state, actor=actor, group_id=undo_id)
    with state.session() as session:
        rows = list(
            session.scalars(
                sa.select(Transfer)
                .where(Transfer.group_id == group_id, Transfer.state == TransferState.DONE)
                .order_by(Transfer.id.desc())
            )
        )
    for row in rows:
        expected = row.outcome.get("sha256")
        file_fields = row.outcome.get("file")
        previous = dict(row.outcome.get("previous") or {})
        previous.pop("current_path", None)
        reason = {"summary": f"undo of {row.action} ({group_id})", "undo_of": group_id}
        if row.op == TransferOp.COPY and (file_fields is None or _content_is(row.src, expected)):
            # The original is still where it was copied from: drop the copy.
            if not _undo_copy(state, row, actor):
                report.skipped.append(f"{row.dst}: the copy changed or is gone; kept")
                continue
            if file_fields is not None:
                with state.session() as session:
                    session.execute(
                        sa.update(MediaFile)
                        .where(MediaFile.id == row.file_id)
                        .values(**previous, current_path=row.src)
                    )
            report.reverted += 1
            continue
        with state.session() as session:
            current = session.scalar(
                sa.select(MediaFile.current_path).where(MediaFile.id == row.file_id)
            )
        if current != row.dst or not os.path.lexists(row.dst):
            report.skipped.append(f"{row.dst}: moved again since; left where it is")
            continue
        journal.transfer(
            TransferRequest(
                file_id=row.file_id,
                src=row.dst,
                dest_dir=os.path.dirname(row.src),
                name=os.path.basename(row.src),
                outcome={
                    "file": previous,
                    "event": {
                        "action": EventAction.UNDO,
                        "place": previous.get("place"),
                        "category": previous.get("category"),
                        "people": previous.get("people"),
                        "reason": reason,
                    },
                },
                action=TransferAction.UNDO,
                op=TransferOp.MOVE,
                expected_sha256=expected,
            )
        )
        report.reverted += 1
    return report


def _undo_copy(state: State, row: Transfer, actor: str) -> bool:
    expected = row.outcome.get("sha256")
    if not os.path.lexists(row.dst) or (expected and not _content_is(row.dst, expected)):
        return False
    os.unlink(row.dst)
    _fsync_dir(os.path.dirname(row.dst))
    with state.session() as session:
        session.add(
            Event(
                file_id=row.file_id,
                action=EventAction.UNDO,
                from_path=row.dst,
                actor=actor,
                reason={"summary": f"copy removed by undo of {row.action} (the original is kept)"},
            )
        )
    return True


# ---------------------------------------------------------------------- groups


class UnknownGroup(FacesortError):
    """No transfer was ever made in the named group."""


@dataclass
class TransferGroup:
    """One run's (or one user action's) transfers, as listed by ``facesort undo``."""

    group_id: str
    actions: list[str]  # route, resort, review, undo, copy ...
    actors: list[str]
    files: int
    transfers: int
    first_at: datetime
    last_at: datetime
    undoes: str | None = None  # for an undo: the group it reverted
    undone_by: list[str] = field(default_factory=list)  # undo groups that reverted it

    def as_dict(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "actions": self.actions,
            "actors": self.actors,
            "files": self.files,
            "transfers": self.transfers,
            "first_at": self.first_at.isoformat(timespec="seconds"),
            "last_at": self.last_at.isoformat(timespec="seconds"),
            "undoes": self.undoes,
            "undone_by": self.undone_by,
        }


def _undone_groups(state: State) -> dict[str, str]:
    """undo group -> the group it reverted (from its transfers' recorded reason)."""
    import re

    with state.session() as session:
        first_ids = session.scalars(
            sa.select(sa.func.min(Transfer.id)).where(Transfer.action == TransferAction.UNDO)
            .group_by(Transfer.group_id)
        ).all()  # fmt: skip
        rows = session.execute(
            sa.select(Transfer.group_id, Transfer.outcome).where(Transfer.id.in_(first_ids))
        ).all()
    undone = {}
    for group_id, outcome in rows:
        reason = ((outcome or {}).get("event") or {}).get("reason") or {}
        target = reason.get("undo_of")
        if target is None:  # recorded before undo_of existed: "undo of resort (GROUP)"
            match = re.search(r"\((.+)\)$", reason.get("summary") or "")
            target = match.group(1) if match else None
        if group_id and target:
            undone[group_id] = target
    return undone


def recent_groups(state: State, limit: int = 20) -> list[TransferGroup]:
    """The groups with the newest finished transfers first."""
    with state.session() as session:
        rows = session.execute(
            sa.select(
                Transfer.group_id,
                sa.func.count(),
                sa.func.count(sa.distinct(Transfer.file_id)),
                sa.func.min(Transfer.created_at),
                sa.func.max(Transfer.finished_at),
            )
            .where(Transfer.state == TransferState.DONE, Transfer.group_id.is_not(None))
            .group_by(Transfer.group_id)
            .order_by(sa.func.max(Transfer.finished_at).desc(), Transfer.group_id)
            .limit(limit)
        ).all()
        ids = [row[0] for row in rows]
        kinds = session.execute(
            sa.select(Transfer.group_id, Transfer.action, Transfer.actor)
            .where(Transfer.group_id.in_(ids), Transfer.state == TransferState.DONE)
            .distinct()
        ).all()
    undone = _undone_groups(state)
    undone_by: dict[str, list[str]] = {}
    for undo_id, target in undone.items():
        undone_by.setdefault(target, []).append(undo_id)
    groups = []
    for group_id, transfers, files, first_at, last_at in rows:
        groups.append(
            TransferGroup(
                group_id=group_id,
                actions=sorted({a for g, a, _ in kinds if g == group_id}),
                actors=sorted({who for g, _, who in kinds if g == group_id}),
                files=files,
                transfers=transfers,
                first_at=_aware(first_at),
                last_at=_aware(last_at or first_at),
                undoes=undone.get(group_id),
                undone_by=sorted(undone_by.get(group_id, [])),
            )
        )
    return groups


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def undo_named_group(state: State, group_id: str, actor: str) -> UndoReport:
    """:func:`undo_group`, refusing a group that never existed with a clear message."""
    with state.session() as session:
        exists = session.scalar(
            sa.select(sa.func.count()).select_from(Transfer).where(Transfer.group_id == group_id)
        )
    if not exists:
        raise UnknownGroup(
            f"No transfers were made in group {group_id!r}: list the recent groups with "
            "`facesort undo` and copy the id from there."
        )
    return undo_group(state, group_id, actor)
