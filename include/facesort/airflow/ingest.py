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


def scan_staging(run: TaskRun) -> list[int]:
    """Register the stable new files in staging and claim them into batches; the batch ids."""
    from facesort.sorting.batches import scan_and_plan

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        report, batch_ids = scan_and_plan(state, config, run.run_id, actor=run.actor)
    print(
        f"{report.registered} new files, {report.known} already handled, "
        f"{report.waiting} not stable yet, {report.ignored} not media; "
        f"{len(batch_ids)} batches"
    )
    for note in report.notes[:20]:
        print(f"note: {note}")
    return batch_ids


def sort_batch(run: TaskRun, batch_id: int) -> dict[str, Any]:
    """Sort one claimed batch; how many files went to each folder."""
    from facesort.sorting.batches import process_batch

    run.label_map_index(f"batch {batch_id}")
    config = load_config(run.config_path)
    with State(config.database_url) as state:
        report = process_batch(state, config, batch_id, actor=run.actor, group_id=run.run_id)
    counts = report.counts()
    for folder, count in sorted(counts.items()):
        print(f"{folder}: {count}")
    return {"batch_id": batch_id, "counts": counts}


def where_files_went(run: TaskRun) -> dict[str, Any]:
    """The folders the run's files went to, read back from the audit trail (not from
    task XComs): ``{"folders": {folder: n}, "sorted": n, "to_review": n}``."""
    import sqlalchemy as sa

    from facesort.policy import library_folder
    from facesort.state.models import Event
    from facesort.vocab import EventAction, Place

    config = load_config(run.config_path)
    with State(config.database_url) as state, state.session() as session:
        rows = session.execute(
            sa.select(Event.action, Event.place, Event.category, Event.people).where(
                Event.actor == run.actor,
                Event.action.in_([EventAction.ROUTED, EventAction.VANISHED, EventAction.CHANGED]),
            )
        ).all()
    folders: Counter[str] = Counter()
    for action, place, category, people in rows:
        if action != EventAction.ROUTED:
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
    return {"folders": dict(folders), "sorted": sum(folders.values()), "to_review": to_review}


def files_queued_for_review(summary: dict[str, Any]) -> int:
    """How many files the run put in the review queue (from :func:`where_files_went`);
    skips the task (the asset is not updated) when none."""
    if not summary["to_review"]:
        raise AirflowSkipException("no new files in the review queue")
    return summary["to_review"]
