"""The steps of facesort_ingest that sort: scan staging, sort each batch, say where the
run's files went (its Immich steps are in :mod:`facesort.airflow.immich`).

Each returns a small JSON-able value (ids, counts), so XComs stay small; the files
themselves are never passed between tasks.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from facesort.airflow.step import TaskRun
from facesort.config import load_config
from facesort.state import State
from facesort.words import plural


def scan_staging(run: TaskRun) -> list[int]:
    """Register the stable new files in staging and claim them into batches; the batch ids."""
    from facesort.sorting.batches import scan_and_plan

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        report, batch_ids = scan_and_plan(state, config, run.run_id, actor=run.actor)
    print(
        f"{plural(report.registered, 'new file')}, {report.known} already handled, "
        f"{report.waiting} not stable yet, {report.ignored} not media; "
        f"{plural(batch_ids, 'batch', 'batches')}"
    )
    for note in report.notes[:20]:
        print(f"note: {note}")
    return batch_ids


def sort_batch(run: TaskRun, batch_id: int) -> dict[str, Any]:
    """Sort one claimed batch; how many files went to each folder."""
    import sys

    from facesort.progress import progress_for
    from facesort.sorting.batches import process_batch
    from facesort.sorting.workers import claimed_files

    run.label_map_index(f"batch {batch_id}")
    config = load_config(run.config_path)
    with State(config.database_url) as state:
        # A line every few seconds in the task log (stdout is the log, not a terminal).
        shown = progress_for(
            sys.stdout, claimed_files(state, [batch_id]), label=f"batch {batch_id}"
        )
        try:
            report = process_batch(
                state, config, batch_id, actor=run.actor, group_id=run.run_id, progress=shown
            )
        finally:
            shown.close()
    counts = report.counts()
    for folder, count in sorted(counts.items()):
        print(f"{folder}: {count}")
    return {"batch_id": batch_id, "counts": counts}


def where_files_went(run: TaskRun) -> dict[str, Any]:
    """Keep the largest copy of each picture the run's parallel batches split (see
    :mod:`facesort.sorting.largest`), then read back from the audit trail (not from task
    XComs) the folders the run's files went to: ``{"folders": {folder: n}, "sorted": n,
    "to_review": n, "to_library": n}``."""
    import sqlalchemy as sa

    from facesort.files.recovery import recover_transfers
    from facesort.policy import library_folder
    from facesort.sorting.largest import keep_largest_copies
    from facesort.state.models import Event
    from facesort.vocab import EventAction, Place

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        # The gate first: a retried try finishes the swap its killed try left in flight.
        recover_transfers(state, lease_s=config.claim_lease_seconds)
        swapped = keep_largest_copies(state, config, run.run_id, actor=run.actor)
        for result in swapped:
            print(f"kept the largest copy: {result.source} -> {result.folder}")
        with state.session() as session:
            rows = session.execute(
                sa.select(Event.file_id, Event.action, Event.place, Event.category, Event.people)
                .where(
                    Event.actor == run.actor,
                    Event.action.in_(
                        [
                            EventAction.ROUTED,
                            EventAction.RESORTED,
                            EventAction.VANISHED,
                            EventAction.CHANGED,
                        ]
                    ),
                )
                .order_by(Event.id)
            ).all()
    last = {row.file_id: row for row in rows}  # a swapped copy's last move counts
    folders: Counter[str] = Counter()
    for _, action, place, category, people in last.values():
        if action not in {EventAction.ROUTED, EventAction.RESORTED}:
            folders["staging"] += 1
        elif place == Place.REVIEW:
            folders[f"review/{category}"] += 1
        else:
            folders[library_folder((people or ["?"])[0])] += 1
    for folder, count in sorted(folders.items()):
        print(f"{folder}: {count}")
    if config.matching.learning.enabled:  # reference photos from this run's sure matches
        from facesort.learning import learn_references

        with State(config.database_url) as state:
            learnt = learn_references(state, config, actor=run.actor, group_id=run.run_id)
        print(f"learnt {len(learnt)} reference photo(s)")
    to_review = sum(n for folder, n in folders.items() if folder.startswith("review/"))
    to_library = sum(n for folder, n in folders.items() if folder.startswith("library/"))
    return {
        "folders": dict(folders),
        "sorted": sum(folders.values()),
        "to_review": to_review,
        "to_library": to_library,
    }


def files_sorted_into_library(summary: dict[str, Any]) -> int:
    """How many files the run put in the library (from :func:`where_files_went`); skips
    the task, so the ``facesort_library`` asset gets no event, when none."""
    if not summary.get("to_library"):
        raise AirflowSkipException("no new files in the library")
    return summary["to_library"]


def files_queued_for_review(summary: dict[str, Any]) -> int:
    """How many files the run put in the review queue (from :func:`where_files_went`);
    skips the task (the asset is not updated) when none."""
    if not summary["to_review"]:
        raise AirflowSkipException("no new files in the review queue")
    return summary["to_review"]
