"""The people actions' records: written open before anything moves, continued by a retry.

The same gate as the review actions (:mod:`facesort.review.intent`), with one addition:
a people action's row is written *with its plan* (the moves of files that have no
record, :mod:`facesort.people.plain_moves`, and what it is about) in the one transaction
that creates it, so a process killed right after knows exactly what it was doing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.files.owners import lease_end, open_action_row, owner_gone, owner_token
from facesort.review.results import ReviewError, new_group_id
from facesort.state import State
from facesort.state.models import ReviewAction
from facesort.vocab import ActionState


def open_action(
    state: State,
    config: Config,
    actor: str,
    kind: str,
    person: str | None,
    file_ids: list[int],
    details: dict[str, Any],
    *,
    undo_of: str | None = None,
) -> str:
    """Record an action's intent (state ``open``, this process its owner); its group id."""
    group_id = new_group_id()
    with state.session() as session:
        lease = lease_end(config.claim_lease_seconds)
        session.add(
            open_action_row(
                group_id,
                kind,
                actor,
                person=person,
                file_ids=file_ids,
                details=details,
                undo_of=undo_of,
                lease_until=lease,
            )
        )
    return group_id


def find_open(
    state: State, kinds: tuple[str, ...], same: Callable[[ReviewAction], bool]
) -> ReviewAction | None:
    """The open action of one of ``kinds`` that ``same`` recognises, left by a process
    that is gone (a retry takes it over); refuses while a live process is doing it."""
    with state.session() as session:
        rows = list(
            session.scalars(
                sa.select(ReviewAction)
                .where(ReviewAction.state == ActionState.OPEN, ReviewAction.kind.in_(kinds))
                .order_by(ReviewAction.id)
            )
        )
    for row in rows:
        if not same(row):
            continue
        if not owner_gone(row.owner, row.lease_until):
            raise ReviewError(
                f"This {row.kind} ({row.group_id}) is being done right now by another facesort "
                f"process ({row.owner}): wait for it to finish. Nothing was changed."
            )
        return row
    return None


def adopt(state: State, config: Config, row: ReviewAction) -> None:
    """Take over an action a killed process left open."""
    with state.session() as session:
        session.execute(
            sa.update(ReviewAction)
            .where(ReviewAction.id == row.id)
            .values(owner=owner_token(), lease_until=lease_end(config.claim_lease_seconds))
        )


def get_action(state: State, group_id: str) -> ReviewAction | None:
    with state.session() as session:
        return session.scalar(sa.select(ReviewAction).where(ReviewAction.group_id == group_id))
