"""Claiming files into batches, sorting a batch, retrying a file, and giving up on it.

Pending files are claimed into batches (:func:`plan_batches`) under a lease, so that
concurrent runs and workers never take the same file; a batch whose worker is gone is
given back. A file whose processing fails is retried by a later run; one that fails or
crashes ``limits.max_attempts`` times goes to ``review/unreadable`` with the error as
its reason.
"""

from __future__ import annotations

import itertools
import logging
import math
import traceback
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from facesort.config import Config
from facesort.dedupe import forget_original
from facesort.files.hashing import sha256_file
from facesort.files.journal import SourceChanged, TransferFailed
from facesort.files.owners import lease_end, owner_gone, owner_token
from facesort.files.recovery import recover_transfers
from facesort.immich.resolve import StoredImmichNames
from facesort.policy import Decision
from facesort.progress import Progress
from facesort.references import ReferencesError
from facesort.scan import scan_staging
from facesort.sorting.evaluate import Evaluation
from facesort.sorting.route import FileResult, Router
from facesort.sorting.sorter import Sorter, leave_in_staging, postpone
from facesort.state import State
from facesort.state.models import Batch, Event, MediaFile, utcnow
from facesort.vocab import BatchStatus, Category, EventAction, FileStatus

log = logging.getLogger(__name__)


@dataclass
class BatchReport:
    batch_id: int | None
    results: list[FileResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.folder for r in self.results))


def release_stale_batches(state: State) -> int:
    """Give back the files of batches whose worker is gone."""
    released = 0
    with state.session() as session:
        open_batches = list(
            session.scalars(sa.select(Batch).where(Batch.status == BatchStatus.OPEN))
        )
        for batch in open_batches:
            if not owner_gone(batch.owner, batch.lease_until):
                continue
            result = session.execute(
                sa.update(MediaFile)
                .where(MediaFile.batch_id == batch.id, MediaFile.status == FileStatus.CLAIMED)
                .values(status=FileStatus.PENDING, batch_id=None)
            )
            released += result.rowcount
            batch.status = BatchStatus.EXPIRED
            batch.finished_at = utcnow()
    return released


# Batches for workers sharing a run get smaller as the run goes (guided scheduling): each
# holds this fraction of what is left for each worker, and at least MIN_SHARED_BATCH
# files (a batch costs a worker one claim, a Sorter and its references: ~20 ms). The
# first batches are large, the last ones small, so the workers finish within a small
# batch of each other instead of one sorting a long last batch while the other idles.
SHARE_OF_REST = 0.5
MIN_SHARED_BATCH = 4


def shared_batch_sizes(files: int, workers: int, batch_size: int) -> list[int]:
    """The sizes of the batches ``files`` are claimed in for ``workers`` sharing a run."""
    sizes = []
    least = min(MIN_SHARED_BATCH, math.ceil(files / workers))  # every worker gets a batch
    while files > 0:
        share = math.ceil(SHARE_OF_REST * files / workers)
        size = min(files, batch_size, max(least, share))
        sizes.append(size)
        files -= size
    return sizes


def plan_batches(state: State, config: Config, run_id: str, *, min_batches: int = 1) -> list[int]:
    """Claim every pending file into new batches; returns their ids.

    Largest files first, so that within a batch the biggest copy of a picture is
    examined (and kept) before its smaller near-duplicates. Batches hold ``batch_size``
    files (the last one the rest); for ``min_batches`` workers sorting them in
    parallel, :func:`shared_batch_sizes`: smaller and smaller, so that every worker
    gets work and none is left sorting a long last batch alone while the others idle.
    """
    release_stale_batches(state)
    with state.session() as session:
        # Batches this run made in an earlier try of the same task, not yet taken.
        batch_ids = list(
            session.scalars(
                sa.select(Batch.id).where(
                    Batch.run_id == run_id, Batch.status == BatchStatus.OPEN, Batch.owner.is_(None)
                )
            )
        )
        pending = session.scalar(
            sa.select(sa.func.count())
            .select_from(MediaFile)
            .where(MediaFile.status == FileStatus.PENDING)
        )
    if not pending:
        return batch_ids
    if min_batches > 1:
        sizes = shared_batch_sizes(pending, min_batches, config.batch_size)
    else:
        sizes = [config.batch_size] * -(-pending // config.batch_size)
    lease_s = config.claim_lease_seconds
    # Files that became pending since the count go in further batches of batch_size.
    for size in itertools.chain(sizes, itertools.repeat(config.batch_size)):
        with state.session() as session:
            query = (
                sa.select(MediaFile.id)
                .where(MediaFile.status == FileStatus.PENDING)
                .order_by(MediaFile.size.desc(), MediaFile.source_path, MediaFile.id)
                .limit(size)
                .with_for_update(skip_locked=True)
            )
            ids = list(session.scalars(query))
            if not ids:
                break
            batch = Batch(run_id=run_id, status=BatchStatus.OPEN, lease_until=lease_end(lease_s))
            session.add(batch)
            session.flush()
            claimed = session.execute(
                sa.update(MediaFile)
                .where(MediaFile.id.in_(ids), MediaFile.status == FileStatus.PENDING)
                .values(status=FileStatus.CLAIMED, batch_id=batch.id)
            ).rowcount
            batch.file_count = claimed
            batch_ids.append(batch.id)
    return batch_ids


def scan_and_plan(state: State, config: Config, run_id: str, *, actor: str, min_batches: int = 1):
    """Scan staging and claim the pending files into batches: (scan report, batch ids).
    With an empty state, the library is indexed first (see sorting.library_index)."""
    from facesort.sorting.library_index import index_library_if_new

    index_library_if_new(state, config)
    report = scan_staging(state, config, actor)
    return report, plan_batches(state, config, run_id, min_batches=min_batches)


class BatchTaken(Exception):
    """Another live worker owns the batch."""


def _take_batch(state: State, batch_id: int, lease_s: int) -> bool:
    me = owner_token()
    with state.session() as session:
        batch = session.get(Batch, batch_id, with_for_update=True)
        if batch is None or batch.status != BatchStatus.OPEN:
            return False
        if batch.owner not in {None, me} and not owner_gone(batch.owner, batch.lease_until):
            raise BatchTaken(f"batch {batch_id} is being processed by {batch.owner}")
        batch.owner = me
        batch.lease_until = lease_end(lease_s)
    return True


def take_batches(state: State, batch_ids: list[int], lease_s: int) -> None:
    """Own batches this process will sort one after the other (``facesort run``)."""
    for batch_id in batch_ids:
        _take_batch(state, batch_id, lease_s)


def _renew(session, batch_id: int, lease_s: int) -> bool:
    """Renew this process's lease on a batch; False when another worker owns it now."""
    return (
        session.execute(
            sa.update(Batch)
            .where(
                Batch.id == batch_id,
                Batch.owner == owner_token(),
                Batch.status == BatchStatus.OPEN,
            )
            .values(lease_until=lease_end(lease_s))
        ).rowcount
        == 1
    )


# What _process_claimed returns when the batch's lease went to another worker.
TAKEN_OVER = FileResult(0, "", None, "staging", "batch taken over by another worker")


def process_batch(
    state: State,
    config: Config,
    batch_id: int,
    *,
    actor: str,
    group_id: str | None = None,
    sorter: Sorter | None = None,
    progress: Progress | None = None,
) -> BatchReport:
    """Sort the files still claimed by one batch (safe to call again after a crash);
    ``progress`` is told of each file done."""
    report = BatchReport(batch_id)
    lease_s = config.claim_lease_seconds
    # The gate: a retried task first finishes (or rolls back) what its killed try left
    # in flight, so no file of the batch is sorted again while it is under two names.
    recover_transfers(state, lease_s=lease_s)
    if not _take_batch(state, batch_id, lease_s):
        return report
    sorter = sorter or Sorter(
        Router(config, state, actor=actor, group_id=group_id), immich=StoredImmichNames(state)
    )
    with state.session() as session:
        ids = list(
            session.scalars(
                sa.select(MediaFile.id)
                .where(MediaFile.batch_id == batch_id, MediaFile.status == FileStatus.CLAIMED)
                .order_by(MediaFile.size.desc(), MediaFile.source_path, MediaFile.id)
            )
        )
    try:
        for file_id in ids:
            result = _process_claimed(state, config, sorter, batch_id, file_id)
            if result is TAKEN_OVER:
                log.warning("batch %s was taken over by another worker; stopping", batch_id)
                return report
            if result is not None:
                report.results.append(result)
            if progress is not None:
                progress.advance()
    except ReferencesError:
        _release_batch(state, batch_id)  # the next run takes the files again
        raise
    with state.session() as session:
        session.execute(
            sa.update(Batch)
            .where(Batch.id == batch_id)
            .values(status=BatchStatus.DONE, finished_at=utcnow())
        )
    return report


def _process_claimed(
    state: State, config: Config, sorter: Sorter, batch_id: int, file_id: int
) -> FileResult | None:
    # One transaction renews the batch's lease and counts the attempt (per-file
    # bookkeeping is batched where the guarantees allow it: issue 14).
    with state.session() as session:
        if not _renew(session, batch_id, config.claim_lease_seconds):
            return TAKEN_OVER
        media = session.get(MediaFile, file_id)
        if media is None or media.status != FileStatus.CLAIMED or media.batch_id != batch_id:
            return None
        # Counted before the work starts, so a file that crashes the process is counted too.
        media.attempts += 1
        attempts = media.attempts
        last_error = media.last_error
    if attempts > config.limits.max_attempts:
        last = last_error or "the process died while sorting it"
        why = f"processing failed {attempts - 1} times (last error: {last})"
        return _give_up(sorter, media, why)
    try:
        return sorter.process(media)
    except ReferencesError:
        # A problem of the run, not of this file: the attempt does not count.
        with state.session() as session:
            session.execute(
                sa.update(MediaFile)
                .where(MediaFile.id == file_id)
                .values(attempts=MediaFile.attempts - 1)
            )
            forget_original(session, file_id)  # registered before matching; not sorted
        raise
    except sa.exc.DBAPIError:
        raise  # the state database failed, not this file: the command stops (cli.main)
    except Exception as exc:
        log.exception("sorting %s failed (attempt %d)", media.source_path, attempts)
        error = f"{type(exc).__name__}: {exc}"
        with state.session() as session:
            session.add(
                Event(
                    file_id=file_id,
                    action=EventAction.FAILED,
                    from_path=media.source_path,
                    actor=sorter.actor,
                    reason={
                        "summary": error,
                        "attempt": attempts,
                        "traceback": traceback.format_exc(limit=5),
                    },
                )
            )
        if attempts >= config.limits.max_attempts:
            return _give_up(
                sorter, media, f"processing failed {attempts} times (last error: {error})"
            )
        with state.session() as session:
            session.execute(
                sa.update(MediaFile)
                .where(MediaFile.id == file_id, MediaFile.status == FileStatus.CLAIMED)
                .values(status=FileStatus.PENDING, batch_id=None, last_error=error)
            )
            forget_original(session, file_id)
        return FileResult(
            file_id, media.source_path, None, "staging", f"failed, will retry: {error}"
        )


def _release_batch(state: State, batch_id: int) -> None:
    """Give a batch's files back, unsorted (sorting stopped for a reason of the run)."""
    with state.session() as session:
        session.execute(
            sa.update(MediaFile)
            .where(MediaFile.batch_id == batch_id, MediaFile.status == FileStatus.CLAIMED)
            .values(status=FileStatus.PENDING, batch_id=None)
        )
        session.execute(
            sa.update(Batch)
            .where(Batch.id == batch_id)
            .values(status=BatchStatus.EXPIRED, finished_at=utcnow())
        )


def _give_up(sorter: Sorter, media: MediaFile, why: str) -> FileResult:
    evaluation = Evaluation(Decision.review(Category.UNREADABLE, "failed", why))
    try:
        evaluation.sha256 = sha256_file(media.source_path)
    except OSError:
        pass
    try:
        return sorter.router.route_decision(media, evaluation.decision, found=evaluation)
    except SourceChanged as exc:
        return leave_in_staging(sorter.state, media, str(exc), actor=sorter.actor)
    except TransferFailed as exc:
        return postpone(sorter.state, media, str(exc), actor=sorter.actor)
