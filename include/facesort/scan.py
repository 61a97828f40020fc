"""Scanning staging folders: which files are complete, new, and photos or videos.

A file is taken when it is *stable*: nothing has modified it (content or metadata) for
``scan.stable_seconds``, or a previous scan saw the same size, mtime and inode at least
that long ago. Partial downloads and hidden files (``scan.ignore_patterns``) are never
taken, nor symbolic links (they could point anywhere outside the staging folder).

Rescans are incremental: each folder's index is loaded with one query, and a file whose
size, mtime and inode are unchanged since it was registered is skipped without being
opened or hashed.

What a file *is* comes from its content, not its name. A file that is not a photo or
video is left where it is, unless its name claims it is one (``holiday.jpg`` holding
garbage, a zero-byte ``video.mp4``): those are registered so they end in
``review/unreadable`` where the user sees them.
"""

from __future__ import annotations

import logging
import os
import stat as stat_module
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from facesort.config import Config, ScanSettings
from facesort.errors import StagingError
from facesort.faults import crashpoint
from facesort.media import IMAGE_TYPES, VIDEO_TYPES, sniff
from facesort.state import State
from facesort.state.events import record_event
from facesort.state.models import FileIndexEntry, MediaFile, utcnow
from facesort.vocab import EventAction, FileStatus, IndexState, Kind

log = logging.getLogger(__name__)

MEDIA_EXTENSIONS = {f".{e}" for e in IMAGE_TYPES | VIDEO_TYPES} | {".jpeg", ".tiff", ".jpe"}

WAITING, REGISTERED, IGNORED = IndexState.WAITING, IndexState.REGISTERED, IndexState.IGNORED

# What a scan needs to know of a file it saw before (rows of these act like the entry).
INDEX_COLUMNS = (
    FileIndexEntry.id,
    FileIndexEntry.path,
    FileIndexEntry.size,
    FileIndexEntry.mtime_ns,
    FileIndexEntry.inode,
    FileIndexEntry.state,
    FileIndexEntry.file_id,
    FileIndexEntry.first_seen_at,
    FileIndexEntry.note,
)
UNREADABLE_NOTE = "cannot be read"


@dataclass
class ScanReport:
    registered: int = 0  # new files taken this scan
    waiting: int = 0  # seen, not stable yet
    known: int = 0  # handled before and unchanged: skipped without hashing
    ignored: int = 0  # not photos or videos, symbolic links
    unsorted: int = 0  # registered before, not sorted yet (or back in staging): sorted now
    notes: list[str] = field(default_factory=list)

    def merge(self, other: ScanReport) -> None:
        self.registered += other.registered
        self.unsorted += other.unsorted
        self.waiting += other.waiting
        self.known += other.known
        self.ignored += other.ignored
        self.notes.extend(other.notes)


@dataclass
class Seen:
    path: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    symlink: bool = False


def check_staging_dirs(config: Config) -> None:
    for folder in config.staging_dirs:
        if not folder.is_dir():
            raise StagingError(
                f"Staging folder {folder} does not exist or is not a folder: create it, mount "
                "it, or fix staging_dirs in the config."
            )
        if not os.access(folder, os.R_OK | os.X_OK):
            raise StagingError(
                f"Staging folder {folder} is not readable by this user ({os.getuid()}): fix its "
                "permissions."
            )


def walk(root: str, settings: ScanSettings, notes: list[str]) -> Iterator[Seen]:
    """Every regular file and symbolic link under ``root``, never following links."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError as exc:
            notes.append(f"cannot read folder {folder}: {exc.strerror}")
            continue
        with entries:
            for entry in entries:
                if settings.ignored(entry.name):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue  # vanished between listing and stat
                if stat_module.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
                elif stat_module.S_ISREG(st.st_mode) or stat_module.S_ISLNK(st.st_mode):
                    yield Seen(
                        path=entry.path,
                        size=st.st_size,
                        mtime_ns=st.st_mtime_ns,
                        ctime_ns=st.st_ctime_ns,
                        inode=st.st_ino,
                        symlink=stat_module.S_ISLNK(st.st_mode),
                    )


def is_stable(
    seen: Seen, entry: FileIndexEntry | None, same: bool, now: float, wait: float
) -> bool:
    untouched_for = now - max(seen.mtime_ns, seen.ctime_ns) / 1e9
    if untouched_for >= wait:
        return True
    if same and entry is not None:
        return (now - entry.first_seen_at.timestamp()) >= wait
    return False


def classify(seen: Seen) -> tuple[str | None, str | None, str | None]:
    """(kind, file_type, note) for a stable file; kind None means leave it alone."""
    if seen.symlink:
        return None, None, "symbolic link: not followed, left in place"
    try:
        media = sniff(seen.path)
    except OSError as exc:
        return None, None, f"{UNREADABLE_NOTE} ({exc.strerror}): left in place"
    if media is not None:
        return media.kind, media.extension, None
    extension = os.path.splitext(os.fsencode(seen.path))[1].decode("ascii", "replace").lower()
    if extension in MEDIA_EXTENSIONS:
        # Named like a photo or video but is not one: show it to the user.
        what = "is empty (0 bytes)" if seen.size == 0 else "is not a photo or video by content"
        return Kind.UNKNOWN, extension.lstrip("."), what
    return None, None, "not a photo or video: left in place"


def scan_folder(state: State, root: str, settings: ScanSettings, actor: str) -> ScanReport:
    """Scan one staging folder and register its new stable files as pending."""
    for attempt in range(3):
        try:
            return _scan_folder_once(state, root, settings, actor)
        except IntegrityError:
            # Another scan registered the same path at the same moment; look again.
            if attempt == 2:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _scan_folder_once(state: State, root: str, settings: ScanSettings, actor: str) -> ScanReport:
    report = ScanReport()
    with state.session() as session:
        # Plain rows, not ORM objects: a folder can hold 100,000 files seen before, and
        # building an object per row would take most of a rescan's time.
        # The status of each registered file too: the record, not the index, says whether
        # a file was handled (one put back by an undo, or left when its folder dropped
        # away, is sorted again).
        query = (
            sa.select(*INDEX_COLUMNS, MediaFile.status.label("file_status"))
            .outerjoin(MediaFile, MediaFile.id == FileIndexEntry.file_id)
            .where(FileIndexEntry.root == root)
        )
        known = {e.path: e for e in session.execute(query)}
    now = time.time()
    seen_paths: set[str] = set()
    inserts: list[dict] = []
    updates: list[dict] = []
    registrations: list[tuple[Seen, FileIndexEntry | None, str, str, str | None]] = []
    ignores: list[tuple[Seen, FileIndexEntry | None, str]] = []
    comeback: list[int] = []
    for seen in walk(root, settings, report.notes):
        seen_paths.add(seen.path)
        entry = known.get(seen.path)
        same = entry is not None and (entry.size, entry.mtime_ns, entry.inode) == (
            seen.size,
            seen.mtime_ns,
            seen.inode,
        )
        if same and entry.state == REGISTERED:
            if entry.file_status == FileStatus.LEFT:
                comeback.append(entry.file_id)  # it is back: sort it after all
                report.unsorted += 1
            elif entry.file_status == FileStatus.PENDING:
                report.unsorted += 1
            else:
                report.known += 1
            continue
        if same and entry.state == IGNORED and not (entry.note or "").startswith(UNREADABLE_NOTE):
            report.known += 1
            continue  # an unreadable file is looked at again: it may be readable now
        if not is_stable(seen, entry, same, now, settings.stable_seconds):
            report.waiting += 1
            values = {"size": seen.size, "mtime_ns": seen.mtime_ns, "inode": seen.inode}
            if entry is None:
                inserts.append({"path": seen.path, **values})
            elif not same or entry.state != WAITING:
                updates.append({"id": entry.id, **values})
            continue
        kind, file_type, note = classify(seen)
        crashpoint("scan.classified")
        if kind is None:
            ignores.append((seen, entry, note or ""))
        else:
            registrations.append((seen, entry, kind, file_type or "", note))

    stamp = utcnow()
    with state.session() as session:
        if inserts:
            session.execute(
                sa.insert(FileIndexEntry),
                [{**i, "root": root, "state": WAITING, "first_seen_at": stamp} for i in inserts],
            )
        for u in updates:
            session.execute(
                sa.update(FileIndexEntry)
                .where(FileIndexEntry.id == u["id"])
                .values(
                    size=u["size"],
                    mtime_ns=u["mtime_ns"],
                    inode=u["inode"],
                    state=WAITING,
                    first_seen_at=stamp,
                    file_id=None,
                    note=None,
                )
            )
        if comeback:
            session.execute(
                sa.update(MediaFile)
                .where(MediaFile.id.in_(comeback), MediaFile.status == FileStatus.LEFT)
                .values(status=FileStatus.PENDING, batch_id=None)
            )
        for seen, entry, note in ignores:
            report.ignored += 1
            log.info("left in staging: %s (%s)", seen.path, note)
            if note.startswith(UNREADABLE_NOTE):
                report.notes.append(f"{seen.path} {note}; looked at again by the next run")
            _upsert_index(session, root, seen, entry, IGNORED, None, note, stamp)
        for seen, entry, kind, file_type, note in registrations:
            media = MediaFile(
                source_path=seen.path,
                staging_dir=root,
                size=seen.size,
                mtime_ns=seen.mtime_ns,
                kind=kind,
                file_type=file_type,
                status=FileStatus.PENDING,
                reason={"scan_note": note} if note else None,
            )
            session.add(media)
            session.flush()
            _upsert_index(session, root, seen, entry, REGISTERED, media.id, note, stamp)
            found = {"kind": kind, "type": file_type, "size": seen.size}
            record_event(session, media.id, EventAction.DISCOVERED, seen.path, actor, found)
            report.registered += 1
        vanished = [e.id for p, e in known.items() if p not in seen_paths]
        for start in range(0, len(vanished), 500):
            session.execute(
                sa.delete(FileIndexEntry).where(
                    FileIndexEntry.id.in_(vanished[start : start + 500])
                )
            )
    if report.registered:
        crashpoint("scan.registered")
    return report


def _upsert_index(
    session,
    root: str,
    seen: Seen,
    entry: FileIndexEntry | None,
    state: str,
    file_id: int | None,
    note: str | None,
    stamp: datetime,
) -> None:
    values = {
        "size": seen.size,
        "mtime_ns": seen.mtime_ns,
        "inode": seen.inode,
        "state": state,
        "file_id": file_id,
        "note": note,
    }
    if entry is None:
        session.execute(
            sa.insert(FileIndexEntry),
            [{"path": seen.path, "root": root, "first_seen_at": stamp, **values}],
        )
        return
    # Only the scan that still sees the row as we loaded it may register the file.
    result = session.execute(
        sa.update(FileIndexEntry)
        .where(
            FileIndexEntry.id == entry.id,
            FileIndexEntry.state == entry.state,
            FileIndexEntry.file_id.is_(None)
            if entry.file_id is None
            else FileIndexEntry.file_id == entry.file_id,
        )
        .values(**values)
    )
    if result.rowcount != 1:
        raise IntegrityError("file_index row changed by a concurrent scan", None, Exception())


def scan_staging(state: State, config: Config, actor: str) -> ScanReport:
    """Scan every staging folder; new stable files become pending media files."""
    check_staging_dirs(config)
    report = ScanReport()
    for folder in config.staging_dirs:
        report.merge(scan_folder(state, str(folder), config.scan, actor))
    return report


def forget_index_entry(session, path: str) -> None:
    """Make the next scan look at ``path`` afresh (it changed before it could be sorted)."""
    session.execute(
        sa.update(FileIndexEntry)
        .where(FileIndexEntry.path == path)
        .values(state=WAITING, file_id=None, first_seen_at=datetime.now(UTC), size=-1)
    )
