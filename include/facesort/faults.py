"""Fault injection for crash tests.

``FACESORT_CRASH_AT="journal.linked#3"`` makes the process kill itself with SIGKILL the
third time execution reaches ``crashpoint("journal.linked")`` (``#n`` defaults to 1).
Several points may be given, separated by commas. Without the variable a crashpoint
is a dictionary lookup and nothing else. The tests use it to stop ``facesort run`` at
exact instants (between link and unlink, after a copy, before the journal is updated)
and check that the next run finishes the job.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "FACESORT_CRASH_AT"

POINTS = (
    "scan.classified",  # a new stable file was identified by content (nothing written yet)
    "scan.registered",  # new files registered, not yet claimed
    "sort.hashed",  # SHA-256 computed
    "sort.detected",  # faces found in a photo, not yet matched
    "sort.decided",  # faces matched, decision made, nothing moved yet
    "journal.planned",  # intent committed, file untouched
    "journal.copied",  # temporary copy written and synced (cross-filesystem / copy mode)
    "journal.linked",  # file exists under both names
    "journal.moved",  # source removed, journal entry not yet marked done
    "journal.done",  # journal entry done and record updated
    "references.copied",  # `references add`: a photo's copy synced under its hidden name
    "references.added",  # `references add`: the copy has its real name
)


def _parse(value: str | None) -> dict[str, int]:
    targets: dict[str, int] = {}
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, _, count = item.partition("#")
        targets[name] = int(count or 1)
    return targets


_targets = _parse(os.environ.get(ENV))
_hits: Counter[str] = Counter()


def read_environment() -> None:
    """Read ``FACESORT_CRASH_AT`` again, as a fresh process would: a worker forked from a
    server that imported this module earlier takes the variable as its parent has it now."""
    global _targets
    _targets = _parse(os.environ.get(ENV))
    _hits.clear()


def crashpoint(name: str) -> None:
    if not _targets or name not in _targets:
        return
    _hits[name] += 1
    if _hits[name] == _targets[name]:
        os.kill(os.getpid(), signal.SIGKILL)
