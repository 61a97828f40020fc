"""Undoing a group of transfers (a run, a re-sort, a review action), and listing groups.

An undo moves each file of the group back through the journal and restores its record;
it is a group of its own, so undoing the undo does the group again.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from facesort.errors import FacesortError
from facesort.files.hashing import content_is
from facesort.files.journal import (
    Journal,
    OutcomeEvent,
    TransferOutcome,
    TransferRequest,
    fsync_dir,
)
from facesort.state import State
from facesort.state.events import record_event
from facesort.state.models import MediaFile, Transfer
from facesort.vocab import EventAction, FileStatus, TransferAction, TransferOp, TransferState

if TYPE_CHECKING:
    from facesort.config import Config


@dataclass
class UndoReport:
    group_id: str  # the group of the undo itself (undo it to redo)
    reverted: int = 0
    skipped: list[str] | None = None
    to_staging: int = 0  # files back in staging, pending again
    immich: list[str] = field(default_factory=list)  # names taken back in Immich


class UnknownGroup(FacesortError):
    """No transfer was ever made in the named group."""


def undo_group(
    state: State,
    group_id: str,
    actor: str,
    *,
    lease_s: int,
    undo_id: str | None = None,
    config: Config | None = None,
) -> UndoReport:
    """Revert every transfer of ``group_id``, newest first, through the journal.

    Each file moves back to where it was and its record is restored. A file that moved
    again since is left where it is (reported in ``skipped``). Extra copies (``op:
    copy`` without a record change) are removed only when their content is still the
    copied content; nothing else is ever deleted. The undo is a group of its own, so
    it can be undone too. ``lease_s``: ``claim_lease_seconds``.

    It recovers first (transfers a killed process left in flight are finished or rolled
    back), and a file already back where the group took it from counts as reverted: an
    undo that was killed and is run again finishes the job instead of moving files
    twice. ``undo_id`` names the undo's group (a retried review undo keeps its own).
    A file put back into staging is pending again: the next run sorts it. With
    ``config``, the names facesort carried onto Immich assets for the group are taken
    back too (:mod:`facesort.immich.carry_undo`).
    """
    from facesort.files.recovery import recover_transfers

    recover_transfers(state, lease_s=lease_s)
    undo_id = undo_id or f"undo-{uuid.uuid4().hex[:12]}"
    report = UndoReport(group_id=undo_id, skipped=[])
    journal = Journal(state, actor=actor, group_id=undo_id, lease_s=lease_s)
    with state.session() as session:
        rows = list(
            session.scalars(
                sa.select(Transfer)
                .where(Transfer.group_id == group_id, Transfer.state == TransferState.DONE)
                .order_by(Transfer.id.desc())
            )
        )
    for row in rows:
        outcome = TransferOutcome.from_json(row.outcome)
        previous = _as_before(outcome.previous)
        if row.op == TransferOp.COPY and (
            outcome.file is None or content_is(row.src, outcome.sha256)
        ):
            # The original is still where it was copied from: drop the copy.
            if not _undo_copy(state, row, outcome, actor):
                report.skipped.append(f"{row.dst}: the copy changed or is gone; kept")
                continue
            if outcome.file is not None:
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
        if current == row.src and os.path.lexists(row.src) and not os.path.lexists(row.dst):
            report.reverted += 1  # back already: an earlier try of this undo moved it
            if previous.get("status") == FileStatus.PENDING:
                report.to_staging += 1
                _forget_sorting(state, row.file_id)
            continue
        if current != row.dst or not os.path.lexists(row.dst):
            report.skipped.append(f"{row.dst}: moved again since; left where it is")
            continue
        event = OutcomeEvent(
            action=EventAction.UNDO,
            place=previous.get("place"),
            category=previous.get("category"),
            people=previous.get("people"),
            reason={"summary": f"undo of {row.action} ({group_id})", "undo_of": group_id},
        )
        journal.transfer(
            TransferRequest(
                file_id=row.file_id,
                src=row.dst,
                dest_dir=os.path.dirname(row.src),
                name=os.path.basename(row.src),
                outcome=TransferOutcome(previous, event),
                action=TransferAction.UNDO,
                op=TransferOp.MOVE,
                expected_sha256=outcome.sha256,
            )
        )
        report.reverted += 1
        if previous.get("status") == FileStatus.PENDING:
            report.to_staging += 1
            _forget_sorting(state, row.file_id)
    if config is not None:
        from facesort.immich.carry_undo import undo_carried_names

        report.immich = undo_carried_names(state, config, group_id, actor)
    return report


def _as_before(previous: dict[str, Any] | None) -> dict[str, Any]:
    """The record fields an undo restores. A file that goes back to staging is pending
    (not the ``claimed`` it was while being sorted): the next run sorts it again, with
    the settings and references of that time."""
    fields = dict(previous or {})
    fields.pop("current_path", None)
    if fields.get("status") in {FileStatus.CLAIMED, FileStatus.PENDING}:
        fields.update(status=FileStatus.PENDING, batch_id=None, attempts=0)
    return fields


def _forget_sorting(state: State, file_id: int) -> None:
    """A file back in staging is no longer an original: sorting it again must not find
    it a duplicate of itself."""
    from facesort.dedupe import forget_original

    with state.session() as session:
        forget_original(session, file_id)


def undo_named_group(
    state: State, group_id: str, actor: str, *, lease_s: int, config: Config | None = None
) -> UndoReport:
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
    return undo_group(state, group_id, actor, lease_s=lease_s, config=config)


def _undo_copy(state: State, row: Transfer, outcome: TransferOutcome, actor: str) -> bool:
    expected = outcome.sha256
    if not os.path.lexists(row.dst) or (expected and not content_is(row.dst, expected)):
        return False
    os.unlink(row.dst)
    fsync_dir(os.path.dirname(row.dst))
    with state.session() as session:
        why = f"copy removed by undo of {row.action} (the original is kept)"
        record_event(session, row.file_id, EventAction.UNDO, row.dst, actor, {"summary": why})
    return True


# ---------------------------------------------------------------------- groups


@dataclass
class TransferGroup:
    """One run's (or one user action's) transfers, as listed by ``facesort undo``."""

    group_id: str
    actions: list[str]  # route, resort, approve, undo, copy ...
    actors: list[str]
    files: int
    transfers: int
    first_at: datetime
    last_at: datetime
    undoes: str | None = None  # for an undo: the group it reverted
    undone_by: list[str] = field(default_factory=list)  # undo groups that reverted it

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "first_at": self.first_at.isoformat(timespec="seconds"),
            "last_at": self.last_at.isoformat(timespec="seconds"),
        }


def _undone_groups(state: State) -> dict[str, str]:
    """undo group -> the group it reverted (from its transfers' recorded reason)."""
    with state.session() as session:
        first_ids = session.scalars(
            sa.select(sa.func.min(Transfer.id)).where(Transfer.action == TransferAction.UNDO)
            .group_by(Transfer.group_id)
        ).all()  # fmt: skip
        rows = session.execute(
            sa.select(Transfer.group_id, Transfer.outcome).where(Transfer.id.in_(first_ids))
        ).all()
    undone = {}
    for group_id, stored in rows:
        reason = TransferOutcome.from_json(stored).event.reason or {}
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
    return [
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
        for group_id, transfers, files, first_at, last_at in rows
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
