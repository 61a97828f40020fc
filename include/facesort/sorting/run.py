"""One pass of facesort, and what a pass would do.

:func:`run_once` (``facesort run``) recovers interrupted transfers, scans staging,
asks Immich, and sorts every claimed batch, in this process or in worker processes;
the ``facesort_ingest`` DAG does the same steps as separate tasks.
:func:`preview_run` (``facesort run --dry-run``) is its read-only twin: it walks
staging and says where each file would go, writing nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.files.journal import SourceChanged
from facesort.files.recovery import recover_transfers
from facesort.immich.resolve import StoredImmichNames
from facesort.names import display_file_name, safe_file_name
from facesort.progress import NoProgress, ProgressFactory
from facesort.scan import ScanReport
from facesort.sorting.batches import process_batch, scan_and_plan, take_batches
from facesort.sorting.evaluate import Evaluator
from facesort.sorting.largest import keep_largest_copies, merge_results
from facesort.sorting.route import FileResult, Router
from facesort.sorting.sorter import Sorter
from facesort.sorting.worker_server import start_worker_server, uses_workers
from facesort.sorting.workers import claimed_files, sort_in_workers
from facesort.state import State
from facesort.state.models import MediaFile, utcnow
from facesort.vocab import ImmichStatus, IndexState


@dataclass
class RunSummary:
    run_id: str
    recovered: int
    scan: ScanReport
    results: list[FileResult]
    # Immich's part: status, message, wait outcome (None when Immich is not configured).
    immich: dict[str, Any] | None = None

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.folder for r in self.results))


def new_run_id(prefix: str = "cli") -> str:
    return f"{prefix}-{utcnow().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


def run_once(
    config: Config,
    *,
    actor: str = "facesort run",
    workers: int | None = None,
    sleep: Callable[[float], None] | None = None,
    progress: ProgressFactory | None = None,
) -> RunSummary:
    """Recover, scan, ask Immich, and sort everything pending (the ``facesort run`` command).

    ``sleep`` waits between two looks at Immich's queues (tests pass a short one);
    ``progress`` makes the display of files sorted so far (see facesort.progress).
    """
    from facesort.immich import carry as carry_names
    from facesort.immich.carry_moves import moves_to_look_at
    from facesort.immich.prepare import rescan_after_routing
    from facesort.immich.runs import before_sorting, resolve_endpoint, run_summary

    run_id = new_run_id()
    workers = workers or config.workers
    parallel = uses_workers(workers, config.source)
    if parallel:
        # the workers' code and models load while this scans (a no-op where `facesort
        # run` started the server before it imported this module)
        start_worker_server()
    with State(config.database_url) as state:
        recovered = recover_transfers(state, lease_s=config.claim_lease_seconds).recovered
        report, batch_ids = scan_and_plan(
            state, config, run_id, actor=actor, min_batches=workers if parallel else 1
        )
        immich = before_sorting(state, config, run_id, sleep=sleep)
        carry_names.prepare_for_run(state, config, run_id)  # before any file moves
        results: list[FileResult] = []
        shown = (progress or (lambda total: NoProgress()))(claimed_files(state, batch_ids))
        try:
            if parallel and len(batch_ids) > 1:
                results = sort_in_workers(
                    config, batch_ids, workers=workers, actor=actor, run_id=run_id, progress=shown
                )
            else:
                router = Router(config, state, actor=actor, group_id=run_id)
                sorter = Sorter(router, immich=StoredImmichNames(state))
                # This process owns all its batches from now: if it is killed, the next run
                # sees a dead owner and takes them at once (not after claim_lease_seconds).
                take_batches(state, batch_ids, config.claim_lease_seconds)
                for batch_id in batch_ids:
                    batch = process_batch(
                        state, config, batch_id, actor=actor, sorter=sorter, progress=shown
                    )
                    results.extend(batch.results)
        finally:
            shown.close()  # a bar stops drawing, even when sorting stopped early
        # Batches sorted in parallel may have kept a smaller copy of a picture: swap.
        changed = keep_largest_copies(state, config, run_id, actor=actor)
        results = merge_results(results, changed)
        immich_summary = None
        if immich.status != ImmichStatus.DISABLED:
            moved = sum(1 for r in results if r.destination) + moves_to_look_at(state, config)
            endpoint, _ = resolve_endpoint(state, config, run_id)
            rescan = rescan_after_routing(state, config, endpoint, run_id, moved)
            carried = carry_names.carry_until_done(state, config, endpoint, actor, sleep=sleep)
            immich_summary = run_summary(state, run_id) | {
                "rescan": rescan,
                "references": immich.references,
                "carry_names": carried.as_dict(),
            }
        if config.matching.learning.enabled:
            from facesort.learning import learn_references

            learn_references(state, config, actor=actor, group_id=run_id)
        return RunSummary(run_id, recovered, report, results, immich_summary)


def preview_run(config: Config) -> list[FileResult]:
    """What a run would do now, touching nothing: no file moves, no records written."""
    import time

    from facesort.scan import classify, is_stable, walk

    url = config.database_url
    exists = not url.startswith("sqlite:///") or Path(url[len("sqlite:///") :]).exists()
    state = State(url, readonly=True) if exists else State("sqlite://")
    try:
        known: dict[str, Any] = {}
        if exists:
            from facesort.state.models import FileIndexEntry

            with state.session() as session:
                known = {e.path: e for e in session.scalars(sa.select(FileIndexEntry))}
        evaluator = Evaluator(config, state, readonly=True)
        router = Router(config, state, actor="dry run", readonly=True)
        results = []
        candidates = []
        now = time.time()
        notes: list[str] = []
        for root in config.staging_dirs:
            for seen in walk(str(root), config.scan, notes):
                entry = known.get(seen.path)
                same = entry is not None and (entry.size, entry.mtime_ns, entry.inode) == (
                    seen.size,
                    seen.mtime_ns,
                    seen.inode,
                )
                if same and entry.state in {IndexState.REGISTERED, IndexState.IGNORED}:
                    continue
                if not is_stable(seen, entry, same, now, config.scan.stable_seconds):
                    results.append(FileResult(0, seen.path, None, "staging", "not stable yet"))
                    continue
                kind, file_type, note = classify(seen)
                if kind is None:
                    results.append(FileResult(0, seen.path, None, "staging", note or ""))
                    continue
                candidates.append(
                    MediaFile(
                        id=0,
                        source_path=seen.path,
                        staging_dir=str(root),
                        size=seen.size,
                        mtime_ns=seen.mtime_ns,
                        kind=kind,
                        file_type=file_type or "",
                        reason={"scan_note": note} if note else None,
                    )
                )
        # The order a run uses: largest first, so the same copy is kept.
        for media in sorted(candidates, key=lambda m: (-m.size, m.source_path)):
            results.append(_preview_file(evaluator, router, media))
        return results
    finally:
        state.dispose()


def _preview_file(evaluator: Evaluator, router: Router, media: MediaFile) -> FileResult:
    """Where one file would go; nothing is registered, moved or written."""
    try:
        evaluation = evaluator.evaluate(media)
    except SourceChanged as exc:
        return FileResult(media.id, media.source_path, None, "staging", str(exc))
    decision = router.guard_names(evaluation.decision)
    name = safe_file_name(display_file_name(media.source_path))
    target = router.destination_dir(decision) / name
    return FileResult(media.id, media.source_path, str(target), decision.folder, decision.summary)
