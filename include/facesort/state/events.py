"""The audit trail: one row in ``event`` for each thing that happened to a file, as
``facesort history`` and the weekly report read them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from facesort.state.models import Event

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from facesort.vocab import EventAction


def record_event(
    session: Session,
    file_id: int | None,
    action: EventAction,
    from_path: str | None,
    actor: str,
    reason: dict[str, Any] | None = None,
) -> None:
    """Add one event (``from_path``: where the file was when it happened)."""
    session.add(
        Event(file_id=file_id, action=action, from_path=from_path, actor=actor, reason=reason)
    )
