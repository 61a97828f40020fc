"""Who owns a claim (a batch of files, a transfer in flight), and whether they are gone.

A claim records its owner (host/pid/start time of the process) and a lease. Another
process may take it over only when the owner is gone: a process on this host that no
longer runs, or, for an owner elsewhere, a lease that has expired.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from facesort.state.models import ReviewAction, utcnow
from facesort.vocab import ActionState


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


def lease_end(lease_s: int) -> datetime:
    """When a lease taken now for ``lease_s`` seconds (``claim_lease_seconds``) expires."""
    return utcnow() + timedelta(seconds=lease_s)


def open_action_row(
    group_id: str,
    kind: str,
    actor: str,
    *,
    person: str | None,
    file_ids: list[int] | None,
    details: dict[str, Any] | None,
    undo_of: str | None,
    lease_until: datetime,
) -> ReviewAction:
    """A ``review_action`` row for an action's intent, written before its first move:
    state ``open``, this process its owner until ``lease_until`` (then a retry takes it
    over once this process is gone)."""
    return ReviewAction(
        group_id=group_id,
        kind=kind,
        actor=actor,
        person=person,
        file_ids=file_ids,
        summary=f"{kind} in progress (or interrupted)",
        details=details,
        undo_of=undo_of,
        state=ActionState.OPEN,
        owner=owner_token(),
        lease_until=lease_until,
    )
