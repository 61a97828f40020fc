"""What a carry-over pass did, in words: its result, the run's line, a missing permission.

:class:`CarryResult` is what :mod:`facesort.immich.carry_pass` returns (and the
``immich_carry_names`` task's XCom); :func:`summary_line` is its line in ``facesort
run``; :func:`permission_message` tells the user once what the API key lacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from facesort.errors import ImmichPermissionError
from facesort.immich.writes import CARRY_PERMISSIONS
from facesort.vocab import CarryStatus


@dataclass
class CarryResult:
    """What one pass (or the whole wait) did; ``finished``: nothing more to wait for now."""

    finished: bool
    detail: str
    counts: dict[str, int] = field(default_factory=dict)
    waiting: int = 0
    message: str | None = None  # a problem to tell the user once (missing permission)
    files: set[int] = field(default_factory=set)  # the files a name was written to

    def as_dict(self) -> dict[str, Any]:
        return {
            "finished": self.finished,
            "detail": self.detail,
            "counts": dict(self.counts),
            "waiting": self.waiting,
            "message": self.message,
            "files": len(self.files),
        }


def summary_line(carried: dict[str, Any] | None) -> str | None:
    """One line for ``facesort run``: what was carried, and what still waits (None:
    nothing either way)."""
    from facesort.words import plural

    counts = (carried or {}).get("counts") or {}
    waiting = int((carried or {}).get("waiting") or 0)
    files = int((carried or {}).get("files") or 0)
    if not files and not waiting:
        return None
    how = [
        f"{counts[status]} {word}"
        for status, word in ((CarryStatus.CARRIED, "assigned"), (CarryStatus.CREATED, "created"))
        if counts.get(status)
    ]
    line = f"Immich: names carried to {plural(files, 'file')}"
    line += f" ({', '.join(how)})" if how else ""
    return line + (f", {waiting} waiting" if waiting else "")


def _missing_permission(exc: ImmichPermissionError) -> str:
    if getattr(exc, "permission", None):
        return str(exc.permission)  # type: ignore[attr-defined]
    text = str(exc)
    for pattern in (r"Missing required permission: ([\w.]+)", r"permission '([\w.]+)'"):
        match = re.search(pattern, text)
        if match:
            return match.group(1)
    return "a face permission"


def permission_message(exc: ImmichPermissionError, waiting: int) -> str:
    missing = _missing_permission(exc)
    why = "" if missing in CARRY_PERMISSIONS else " (to know when Immich's face detection ran)"
    return (
        f"Immich names were not carried over: the API key lacks the permission '{missing}'"
        f"{why}. Carrying names onto moved files needs {', '.join(CARRY_PERMISSIONS)}: add them to "
        "the key in Immich (Account Settings > API Keys), or set immich.carry_names: false. "
        f"Files are sorted as before; {waiting} name(s) wait to be carried."
    )
