"""The gate every review action goes through before it moves a file.

1. Recover first: transfers a killed process left in flight are finished or rolled back
   (:func:`facesort.files.recovery.recover_transfers`), so the files the action will
   touch are each under one name and their records say where.
2. Record the intent: the ``review_action`` row is written (state ``open``, with this
   process as its owner) before the first move, and what the action changes besides
   moves (face labels, originals, a cluster) is added to it in the transaction that
   changes it. A killed action is therefore known: ``review undo`` undoes exactly it.
3. A retry continues: the same action (same kind, person and files, or the same group
   for the Airflow re-check) left open by a process that is gone is taken over; the
   files it already moved count as done and are not moved again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.files.journal import TransferOutcome
from facesort.files.owners import lease_end, open_action_row, owner_gone, owner_token
from facesort.files.recovery import recover_transfers
from facesort.review.results import ActionResult, ReviewError, new_group_id
from facesort.sorting.route import FileResult
from facesort.state import State
from facesort.state.models import MediaFile, ReviewAction, Transfer, utcnow
from facesort.vocab import ActionState, Place, TransferAction, TransferOp, TransferState


@dataclass
class Intent:
    """An action's recorded intent: its group, and what an earlier, killed try did."""

    group_id: str
    adopted: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    moved: dict[int, FileResult] = field(default_factory=dict)  # file id -> its move
    references: dict[int, list[str]] = field(default_factory=dict)  # file id -> photos


@dataclass(frozen=True)
class ActionKey:
    """Which action this is: its kind, and its person and files, or its group (the
    nightly re-check's, given by Airflow), or the action it undoes. A retry is found by
    it (:func:`find_retry`) and the open record is written with it (:func:`begin`)."""

    kind: str
    person: str | None = None
    file_ids: list[int] | None = None
    group_id: str | None = None
    undo_of: str | None = None


def recover_first(state: State, config: Config) -> None:
    recover_transfers(state, lease_s=config.claim_lease_seconds)


def find_retry(state: State, key: ActionKey) -> ReviewAction | None:
    """The open action this one retries (left by a process that is gone), or None.
    Refuses while a live process is doing the same action."""
    kind, group_id, undo_of = key.kind, key.group_id, key.undo_of
    query = sa.select(ReviewAction).where(
        ReviewAction.state == ActionState.OPEN, ReviewAction.kind == kind
    )
    if group_id is not None:
        query = sa.select(ReviewAction).where(ReviewAction.group_id == group_id)
    elif undo_of is not None:
        query = query.where(ReviewAction.undo_of == undo_of)
    with state.session() as session:
        rows = list(session.scalars(query.order_by(ReviewAction.id)))
    for row in rows:
        same = (
            group_id is not None
            or undo_of is not None
            or (
                row.person == key.person
                and sorted(row.file_ids or []) == sorted(key.file_ids or [])
            )
        )
        if not same:
            continue
        if row.state == ActionState.OPEN and not owner_gone(row.owner, row.lease_until):
            raise ReviewError(
                f"This {kind} ({row.group_id}) is being done right now by another facesort "
                f"process ({row.owner}): wait for it to finish. Nothing was changed."
            )
        return row
    return None


def begin(
    state: State, config: Config, actor: str, key: ActionKey, *, retry: ReviewAction | None = None
) -> Intent:
    """Record the action's intent before anything moves (or take over ``retry``)."""
    lease = lease_end(config.claim_lease_seconds)
    with state.session() as session:
        if retry is not None:
            session.execute(
                sa.update(ReviewAction)
                .where(ReviewAction.id == retry.id)
                .values(state=ActionState.OPEN, owner=owner_token(), lease_until=lease)
            )
            intent = Intent(retry.group_id, adopted=True, details=dict(retry.details or {}))
        else:
            intent = Intent(key.group_id or new_group_id())
            session.add(
                open_action_row(
                    intent.group_id,
                    key.kind,
                    actor,
                    person=key.person,
                    file_ids=key.file_ids,
                    details=None,
                    undo_of=key.undo_of,
                    lease_until=lease,
                )
            )
    if intent.adopted:
        _done_so_far(state, intent)
    return intent


def done_so_far(state: State, retry: ReviewAction | None) -> Intent:
    """What the earlier try ``retry`` finished (nothing when this is no retry)."""
    intent = Intent(retry.group_id if retry else "")
    if retry is not None:
        _done_so_far(state, intent)
    return intent


def _done_so_far(state: State, intent: Intent) -> None:
    """The moves and reference photos an earlier try of the action finished."""
    from facesort.resort import current_folder

    with state.session() as session:
        rows = list(
            session.scalars(
                sa.select(Transfer)
                .where(Transfer.group_id == intent.group_id, Transfer.state == TransferState.DONE)
                .order_by(Transfer.id)
            )
        )
        records = {
            m.id: m
            for m in session.scalars(
                sa.select(MediaFile).where(MediaFile.id.in_({r.file_id for r in rows}))
            )
        }
    for row in rows:
        outcome = TransferOutcome.from_json(row.outcome)
        if row.action == TransferAction.ADD_REFERENCE and row.op == TransferOp.COPY:
            intent.references.setdefault(row.file_id, []).append(row.dst)
        elif outcome.file is not None and row.file_id in records:
            media = records[row.file_id]
            folder = Place.TRASH if media.place == Place.TRASH else current_folder(media)
            summary = (outcome.event.reason or {}).get("summary", "")
            intent.moved[row.file_id] = FileResult(row.file_id, row.src, row.dst, folder, summary)


def continued(result: ActionResult, intent: Intent) -> ActionResult:
    """The result of an action, with what its killed try already did."""
    result.moved.extend(intent.moved.values())
    for file_id, photos in intent.references.items():
        result.references.extend(photos)
        result.reference_sources.extend([file_id, None] for _ in photos)
    return result


def note_details(session, group_id: str, **changes: Any) -> None:
    """Add to an open action's record, in the caller's transaction (the one that makes
    the change), what undoing it must put back. Earlier values of a key are kept: they
    are what was there before the action."""
    action = session.scalar(sa.select(ReviewAction).where(ReviewAction.group_id == group_id))
    if action is None:
        return
    details = dict(action.details or {})
    for key, value in changes.items():
        if isinstance(value, dict):
            details[key] = {**value, **(details.get(key) or {})}
        elif isinstance(value, list):
            known = details.get(key) or []
            details[key] = known + [v for v in value if v not in known]
        else:
            details.setdefault(key, value)
    action.details = details


def close_undo(state: State, group_id: str, undo_id: str, summary: str) -> None:
    """Mark ``group_id`` undone by ``undo_id`` and the undo itself done, with its summary."""
    with state.session() as session:
        session.execute(
            sa.update(ReviewAction)
            .where(ReviewAction.group_id == group_id)
            .values(undone_by=undo_id, state=ActionState.DONE, owner=None)
        )
        session.execute(
            sa.update(ReviewAction)
            .where(ReviewAction.group_id == undo_id)
            .values(
                summary=summary, at=utcnow(), state=ActionState.DONE, owner=None,
                lease_until=None,
            )
        )  # fmt: skip


def abandon(state: State, group_id: str) -> None:
    """An action that did nothing at all leaves no record."""
    with state.session() as session:
        moved = session.scalar(
            sa.select(sa.func.count())
            .select_from(Transfer)
            .where(Transfer.group_id == group_id, Transfer.state == TransferState.DONE)
        )
        if not moved:
            session.execute(sa.delete(ReviewAction).where(ReviewAction.group_id == group_id))


def exists_on_disk(result: FileResult) -> bool:
    return bool(result.destination) and os.path.lexists(result.destination)
