"""The trash: where rejected files wait before they are deleted.

Rejecting a file moves it (journaled, undoable) to ``trash_dir``; nothing is deleted on
the spot. The nightly ``facesort_recluster`` run (or ``facesort review purge-trash``)
deletes the files rejected more than ``review.trash_days`` days ago, and only when the
file in the trash is still the one rejected (same SHA-256): anything else found under
its name is left alone and reported. A purged file's record stays (place ``deleted``,
with a ``purged`` event), and it stops being an original that new files are compared
against.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from facesort.config import Config
from facesort.dedupe import forget_original
from facesort.files.hashing import sha256_file
from facesort.files.journal import Journal, OutcomeEvent, TransferOutcome, TransferRequest
from facesort.names import safe_file_name
from facesort.resort import current_folder
from facesort.sorting.route import FileResult
from facesort.state import State
from facesort.state.models import Event, MediaFile, utcnow
from facesort.vocab import EventAction, FileStatus, Place, TransferAction, TransferOp
from facesort.words import plural


@dataclass
class PurgeReport:
    deleted: list[str] = field(default_factory=list)
    waiting: int = 0  # rejected too recently
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"deleted": len(self.deleted), "waiting": self.waiting, "problems": self.problems}


def move_to_trash(config: Config, journal: Journal, media: MediaFile, actor: str) -> FileResult:
    """Reject a file: move it (journaled, undoable) to the trash folder."""
    source = media.current_path or ""
    days = config.review.trash_days
    reason = {
        "rule": "rejected",
        "summary": f"rejected in review by {actor}; deleted after {plural(days, 'day')} "
        "unless the rejection is undone",
        "was": current_folder(media),
    }
    fields = {"place": Place.TRASH, "category": None, "people": [], "reason": reason}
    destination = journal.transfer(
        TransferRequest(
            file_id=media.id,
            src=source,
            dest_dir=str(config.trash_path),
            name=safe_file_name(os.path.basename(source)),
            outcome=TransferOutcome(
                {"status": FileStatus.DONE, "last_error": None, **fields},
                OutcomeEvent(EventAction.REJECTED, **fields),
            ),
            action=TransferAction.REJECT,
            op=TransferOp.MOVE,
            expected_sha256=media.sha256,
        )
    )
    return FileResult(media.id, source, destination, Place.TRASH, reason["summary"])


def purge_trash(
    state: State,
    config: Config,
    *,
    actor: str,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    """Delete the files rejected at least ``review.trash_days`` days before ``now``
    (after finishing what a killed process left in flight: no file under two names is
    deleted under one of them)."""
    if not dry_run:
        from facesort.files.recovery import recover_transfers

        recover_transfers(state, lease_s=config.claim_lease_seconds)
    cutoff = (now or utcnow()) - timedelta(days=config.review.trash_days)
    report = PurgeReport()
    with state.session() as session:
        rows = session.scalars(
            sa.select(MediaFile)
            .where(MediaFile.status == FileStatus.DONE, MediaFile.place == Place.TRASH)
            .order_by(MediaFile.id)
        ).all()
    for media in rows:
        if media.decided_at is None or media.decided_at > cutoff:
            report.waiting += 1
            continue
        path = media.current_path or ""
        exists = os.path.lexists(path)
        if exists and (not os.path.isfile(path) or os.path.islink(path)):
            report.problems.append(f"{path}: not a plain file any more; left alone")
            continue
        if exists and media.sha256 and sha256_file(path) != media.sha256:
            report.problems.append(f"{path}: changed since it was rejected; left alone")
            continue
        report.deleted.append(path)
        if dry_run:
            continue
        if exists:
            os.unlink(path)
        days = config.review.trash_days
        with state.session() as session:
            session.execute(
                sa.update(MediaFile)
                .where(MediaFile.id == media.id, MediaFile.place == Place.TRASH)
                .values(place=Place.DELETED, current_path=None, decided_at=utcnow())
            )
            forget_original(session, media.id)
            session.add(
                Event(
                    file_id=media.id,
                    action=EventAction.PURGED,
                    from_path=path,
                    place=Place.DELETED,
                    actor=actor,
                    reason={
                        "summary": f"deleted from the trash {plural(days, 'day')} after it was "
                        "rejected"
                        if exists
                        else "was already gone from the trash"
                    },
                )
            )
    return report
