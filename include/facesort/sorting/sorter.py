"""Sorting one claimed file: evaluate it, then route it; or, when that cannot be done
now, leave it in staging (it changed or vanished) or postpone it (the filesystem refused).
"""

from __future__ import annotations

import logging
import os

import sqlalchemy as sa

from facesort.dedupe import forget_original
from facesort.faults import crashpoint
from facesort.files.journal import SourceChanged, TransferFailed
from facesort.immich.resolve import StoredImmichNames
from facesort.scan import forget_index_entry
from facesort.sorting.evaluate import Evaluator
from facesort.sorting.route import FileResult, Router
from facesort.state import State
from facesort.state.events import record_event
from facesort.state.models import MediaFile
from facesort.vocab import EventAction, FileStatus

log = logging.getLogger(__name__)


class Sorter:
    """Evaluates the files of a run and routes them with ``router`` (its actor and
    journal group), keeping the evaluator's caches from one file to the next.

    ``immich``: what Immich said about the run's files (None: Immich is not consulted).
    """

    def __init__(self, router: Router, *, immich: StoredImmichNames | None = None):
        self.router = router
        self.state = router.state
        self.actor = router.actor
        self.evaluator = Evaluator(router.config, router.state, immich=immich)

    def process(self, media: MediaFile) -> FileResult:
        """Evaluate and route one claimed file; a changed or vanished file is left alone."""
        try:
            evaluation = self.evaluator.evaluate(media)
            crashpoint("sort.decided")
            return self.router.route_decision(media, evaluation.decision, found=evaluation)
        except SourceChanged as exc:
            return leave_in_staging(self.state, media, str(exc), actor=self.actor)
        except TransferFailed as exc:
            return postpone(self.state, media, str(exc), actor=self.actor)


def postpone(state: State, media: MediaFile, why: str, *, actor: str) -> FileResult:
    """The filesystem refused to take the file (a full or read-only destination): it
    stays in staging and is tried again by the next run, without using up one of its
    attempts (the file is not at fault)."""
    log.error("left in staging for now: %s", why)
    with state.session() as session:
        postponed = session.execute(
            sa.update(MediaFile)
            .where(MediaFile.id == media.id, MediaFile.status == FileStatus.CLAIMED)
            .values(
                status=FileStatus.PENDING,
                batch_id=None,
                last_error=why,
                attempts=sa.case((MediaFile.attempts > 0, MediaFile.attempts - 1), else_=0),
            )
        ).rowcount
        if postponed:
            forget_original(session, media.id)
        retry = {"summary": why, "retry": "next run"}
        record_event(session, media.id, EventAction.FAILED, media.source_path, actor, retry)
    return FileResult(media.id, media.source_path, None, "staging", f"will retry: {why}")


def leave_in_staging(state: State, media: MediaFile, why: str, *, actor: str) -> FileResult:
    """The file vanished or changed since it was found: it is not moved, and a changed
    file is found again (as new) by the next scan."""
    vanished = not os.path.lexists(media.source_path)
    with state.session() as session:
        left = session.execute(
            sa.update(MediaFile)
            .where(MediaFile.id == media.id, MediaFile.status != FileStatus.DONE)
            .values(status=FileStatus.LEFT, batch_id=None, last_error=why)
        ).rowcount
        if left:
            forget_original(session, media.id)
        if not vanished:
            forget_index_entry(session, media.source_path)
        action = EventAction.VANISHED if vanished else EventAction.CHANGED
        record_event(session, media.id, action, media.source_path, actor, {"summary": why})
    return FileResult(media.id, media.source_path, None, "staging", why)
