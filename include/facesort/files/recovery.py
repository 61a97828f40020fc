"""Finishing what a dead run left in flight, so every file ends up present exactly once.

A run killed at any instant leaves its transfer ``planned``. Recovery looks at the disk:
a destination holding this transfer's file is finished (record and event written as
if the run had not died); a source that vanished is recorded as such; anything else
is transferred again, maybe under a new name. Recovery only touches transfers whose
owner is gone (see :mod:`facesort.files.owners`), unless forced.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

import sqlalchemy as sa

from facesort.files.hashing import content_is
from facesort.files.journal import Journal, TransferOutcome, TransferRequest, fsync_dir
from facesort.files.owners import owner_gone
from facesort.state import State
from facesort.state.events import record_event
from facesort.state.models import MediaFile, Transfer
from facesort.vocab import EventAction, FileStatus, TransferOp, TransferState

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    finished: int = 0
    replanned: int = 0
    vanished: int = 0
    skipped_live: int = 0

    @property
    def recovered(self) -> int:
        return self.finished + self.replanned + self.vanished


def recover_transfers(state: State, *, lease_s: int, force: bool = False) -> RecoveryReport:
    """Finish or re-plan every transfer left in flight by a process that is gone.

    ``lease_s`` (``claim_lease_seconds``) is the lease of the transfers it plans again.
    """
    report = RecoveryReport()
    with state.session() as session:
        rows = list(
            session.scalars(sa.select(Transfer).where(Transfer.state == TransferState.PLANNED))
        )
    for row in rows:
        if not force and not owner_gone(row.owner, row.lease_until):
            report.skipped_live += 1
            continue
        journal = Journal(state, actor=row.actor, group_id=row.group_id, lease_s=lease_s)
        try:
            outcome = _recover_one(journal, row)
        except OSError as exc:
            log.error("cannot recover transfer %s (%s -> %s): %s", row.id, row.src, row.dst, exc)
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    if report.recovered:
        log.warning(
            "recovered interrupted transfers: %d finished, %d redone, %d sources vanished",
            report.finished,
            report.replanned,
            report.vanished,
        )
    return report


def _recover_one(journal: Journal, row: Transfer) -> str:
    src, dst, tmp = row.src, row.dst, row.tmp or ""
    has_src, has_dst, has_tmp = os.path.lexists(src), os.path.lexists(dst), os.path.lexists(tmp)
    outcome = TransferOutcome.from_json(row.outcome)
    expected = outcome.sha256
    log.warning("recovering interrupted %s of %s -> %s", row.op, src, dst)
    if has_dst:
        # While this row is planned no other transfer may aim at dst (unique index), so
        # a dst with the expected content can only be this transfer's work.
        ours = (
            (has_src and _same_file(src, dst))
            or (has_tmp and _same_file(tmp, dst))
            or (not has_tmp and expected is not None and content_is(dst, expected))
            or (not has_tmp and expected is None and not has_src and row.op == TransferOp.MOVE)
        )
        if ours:
            if row.op == TransferOp.MOVE and has_src:
                os.unlink(src)
                fsync_dir(os.path.dirname(src))
            if has_tmp:
                os.unlink(tmp)
            journal.finalize(row.id, recovered=True)
            _drop_temporary_source(row)
            return "finished"
    if has_tmp:
        os.unlink(tmp)  # an unfinished copy
    if not has_src:
        journal.mark(row.id, TransferState.FAILED, "source vanished before the transfer started")
        with journal.state.session() as session:
            session.execute(
                sa.update(MediaFile)
                .where(MediaFile.id == row.file_id, MediaFile.status != FileStatus.DONE)
                .values(
                    status=FileStatus.LEFT, last_error="vanished from staging before it was sorted"
                )
            )
            record_event(session, row.file_id, EventAction.VANISHED, src, row.actor)
        return "vanished"
    # Not started, or the name was taken by another file: do it again, maybe under a new name.
    journal.mark(row.id, TransferState.ABANDONED, "interrupted; transferred again by recovery")
    journal.transfer(
        TransferRequest(
            file_id=row.file_id,
            src=src,
            dest_dir=os.path.dirname(dst),
            name=_base_name(dst),
            outcome=TransferOutcome(outcome.file, outcome.event),
            action=row.action,
            op=row.op,
            expected_sha256=expected,
        )
    )
    _drop_temporary_source(row)
    return "replanned"


def _drop_temporary_source(row: Transfer) -> None:
    """A copy made from a hidden temporary file (a face crop made in review) leaves that
    file behind when its process is killed: it is facesort's own, and no longer needed."""
    if row.op == TransferOp.COPY and os.path.basename(row.src).startswith(".facesort-"):
        try:
            os.unlink(row.src)
        except FileNotFoundError:
            pass


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _base_name(dst: str) -> str:
    """``photo (2).jpg`` -> ``photo.jpg``, so a re-plan starts from the original name."""
    name = os.path.basename(dst)
    stem, ext = os.path.splitext(name)
    return re.sub(r" \(\d+\)$", "", stem) + ext
