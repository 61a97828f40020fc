"""Keeping the largest copy of a picture when a run's batches split its copies.

Within a batch the largest copy is examined first and kept; its smaller copies go to
``review/duplicates``. Batches sorted in parallel race, though: a worker can keep the
720p copy before another worker reaches the 1080p one, which then counts as the
duplicate. :func:`keep_largest_copies` runs once the run's batches are done, when no
file of the run is in flight: in each group of copies it finds the one a single
worker would have kept (most bytes, then path, the order batches are sorted in, and
the order ``--dry-run`` uses), evaluates it as an original and moves it where its
faces say, and moves the copy kept instead to ``review/duplicates``. Both moves go
through the journal in the run's group (``facesort undo RUN`` reverts them with the
rest). Copies from earlier runs are never moved: only the run's own files swap.

It is safe to run again after a crash: the links between the copies are rewritten
first, in one transaction, so a second try finds the same group and finishes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

import sqlalchemy as sa

from facesort.config import Config
from facesort.dedupe import Duplicate, forget_original, register_original
from facesort.sorting.evaluate import Evaluation, Evaluator, duplicate_decision
from facesort.sorting.route import FileResult, Router
from facesort.state import State
from facesort.state.models import Batch, MediaFile
from facesort.vocab import Category, FileStatus, TransferAction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Copy:
    """A run's file as the copy groups need it: each field is the column of its name."""

    id: int
    source_path: str
    size: int
    category: str | None
    duplicate_of_id: int | None
    sha256: str | None
    phash: str | None
    reason: dict | None

    @property
    def names_original(self) -> int | None:
        """The original a duplicate's reason names (what the review page shows)."""
        return (self.reason or {}).get("duplicate_of")

    @property
    def order(self) -> tuple[int, str, int]:
        """The order a run sorts files in (see ``plan_batches``): the first is kept."""
        return (-self.size, self.source_path, self.id)


def copy_groups(state: State, run_id: str) -> list[list[_Copy]]:
    """The run's groups of copies of one picture (two or more of the run's files linked
    as duplicate and original), each in the order a single worker would sort them."""
    with state.session() as session:
        columns = [getattr(MediaFile, field.name) for field in fields(_Copy)]
        rows = session.execute(
            sa.select(*columns)
            .join(Batch, Batch.id == MediaFile.batch_id)
            .where(Batch.run_id == run_id, MediaFile.status == FileStatus.DONE)
        ).all()
    files = {row.id: _Copy(*row) for row in rows}
    parent = {file_id: file_id for file_id in files}

    def root(file_id: int) -> int:
        while parent[file_id] != file_id:
            parent[file_id] = parent[parent[file_id]]
            file_id = parent[file_id]
        return file_id

    for copy in files.values():
        if copy.duplicate_of_id in files:
            parent[root(copy.id)] = root(copy.duplicate_of_id)
    groups: dict[int, list[_Copy]] = {}
    for copy in files.values():
        groups.setdefault(root(copy.id), []).append(copy)
    return [sorted(g, key=lambda c: c.order) for g in groups.values() if len(g) > 1]


def _settled(group: list[_Copy]) -> bool:
    """One copy is kept, none is larger than it, and the others name it. Copies of the
    same size (byte-for-byte copies above all) do not swap: neither is better."""
    kept = [c for c in group if c.category != Category.DUPLICATES]
    return (
        len(kept) == 1
        and kept[0].size >= group[0].size
        and all(c.names_original == kept[0].id for c in group if c is not kept[0])
    )


def _distance(a: str | None, b: str | None) -> int:
    if a is None or b is None:
        return 0
    return (int(a, 16) ^ int(b, 16)).bit_count()


def keep_largest_copies(
    state: State, config: Config, run_id: str, *, actor: str, evaluator: Evaluator | None = None
) -> list[FileResult]:
    """Make the largest copy of each picture the run split across batches the kept one;
    the files whose place or reason changed (empty when every group is as it should be).
    Call it when no batch of the run is being sorted."""
    groups = [g for g in copy_groups(state, run_id) if not _settled(g)]
    if not groups:
        return []
    from facesort.immich.resolve import StoredImmichNames

    evaluator = evaluator or Evaluator(config, state, immich=StoredImmichNames(state))
    router = Router(config, state, actor=actor, group_id=run_id)
    results: list[FileResult] = []
    for group in groups:
        # A kept copy as large as the largest stays kept (only its copies' records change).
        keeper = next(
            (c for c in group if c.category != Category.DUPLICATES and c.size == group[0].size),
            group[0],
        )
        ordered = [keeper, *(c for c in group if c is not keeper)]
        results.extend(_keep_first(state, config, evaluator, router, ordered))
    return results


def _keep_first(
    state: State, config: Config, evaluator: Evaluator, router: Router, group: list[_Copy]
) -> list[FileResult]:
    keeper, *others = group
    limit = config.duplicates.near_duplicate_distance
    log.info("keeping the largest copy %s of %d copies", keeper.source_path, len(group))
    # The links first, in one transaction: every copy points at the keeper, which becomes
    # the original the next files are compared with. A crash after this leaves a group
    # that the next try finds again (by these links) and finishes.
    with state.session() as session:
        state.lock_for_dedupe(session)
        for copy in others:
            forget_original(session, copy.id)
        session.execute(
            sa.update(MediaFile)
            .where(MediaFile.id.in_([c.id for c in others]))
            .values(duplicate_of_id=keeper.id)
        )
        register_original(session, keeper.id, keeper.sha256, keeper.phash)
    results = []
    with state.session() as session:
        query = sa.select(MediaFile).where(MediaFile.id.in_([c.id for c in group]))
        media = {m.id: m for m in session.scalars(query)}
    kept = media[keeper.id]
    if keeper.category == Category.DUPLICATES:
        # It was never looked at for faces (a duplicate is not): look now, and move it
        # where its faces say, as a single worker would have.
        found = evaluator.reevaluate(kept, redetect=True)
        result = router.route_decision(
            kept, found.decision, action=TransferAction.RESORT, found=found
        )
        results.append(result)
        kept_path = result.destination
    else:
        kept_path = kept.current_path
    for copy in others:
        dup = Duplicate(
            keeper.id,
            kept_path,
            exact=copy.sha256 is not None and copy.sha256 == keeper.sha256,
            distance=_distance(copy.phash, keeper.phash),
        )
        decision = duplicate_decision(dup, limit)
        other = media[copy.id]
        if copy.category == Category.DUPLICATES:
            # Already among the duplicates: only its record now names the kept copy.
            with state.session() as session:
                session.execute(
                    sa.update(MediaFile)
                    .where(MediaFile.id == copy.id)
                    .values(reason=decision.reason(), duplicate_of_id=keeper.id)
                )
            where = other.current_path
            results.append(
                FileResult(copy.id, copy.source_path, where, decision.folder, decision.summary)
            )
            continue
        # The copy kept before: a duplicate now, without faces, as duplicates are.
        found = Evaluation(
            decision, copy.sha256, copy.phash, other.width, other.height, detected=True
        )
        results.append(
            router.route_decision(other, decision, action=TransferAction.RESORT, found=found)
        )
    return results


def merge_results(results: list[FileResult], changed: list[FileResult]) -> list[FileResult]:
    """The run's results with the files :func:`keep_largest_copies` moved or renamed in
    their reasons replaced (each still named by the path it had in staging)."""
    by_id = {r.file_id: r for r in changed}
    return [
        FileResult(r.file_id, r.source, by_id[r.file_id].destination, by_id[r.file_id].folder,
                   by_id[r.file_id].summary)
        if r.file_id in by_id else r
        for r in results
    ]  # fmt: skip
