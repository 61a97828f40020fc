"""Task-sized steps for the Airflow DAGs.

Each function takes ids or paths and returns a small JSON-able value (ids, counts), so
XComs stay small; the files themselves are never passed between tasks. The config is
read from ``$FACESORT_CONFIG`` unless a path is given.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

from facesort.config import Config, load_config
from facesort.state import State
from facesort.state.models import Event


def open_state(config_path: str | None = None) -> tuple[Config, State]:
    config = load_config(config_path)
    return config, State(config.database_url)


def airflow_actor(dag_id: str, run_id: str) -> str:
    return f"airflow/{dag_id}/{run_id}"


def recover_interrupted(config_path: str | None = None) -> dict[str, int]:
    """Bring the schema up to date and finish transfers a dead run left in flight."""
    from facesort.journal import recover

    _, state = open_state(config_path)
    try:
        report = recover(state)
        return {
            "finished": report.finished,
            "redone": report.replanned,
            "vanished": report.vanished,
            "still_running": report.skipped_live,
        }
    finally:
        state.dispose()


def scan_and_claim(run_id: str, actor: str, config_path: str | None = None) -> dict[str, Any]:
    """Scan staging, claim pending files into batches; returns the batch ids and counts."""
    from facesort.pipeline import scan_and_plan

    config, state = open_state(config_path)
    try:
        report, batch_ids = scan_and_plan(state, config, run_id, actor=actor)
        return {
            "batches": batch_ids,
            "registered": report.registered,
            "known": report.known,
            "waiting": report.waiting,
            "ignored": report.ignored,
            "notes": report.notes[:20],
        }
    finally:
        state.dispose()


def sort_batch(batch_id: int, run_id: str, actor: str, config_path: str | None = None) -> dict:
    """Sort one claimed batch; returns how many files went to each folder."""
    from facesort.pipeline import process_batch

    config, state = open_state(config_path)
    try:
        report = process_batch(state, config, batch_id, actor=actor, group_id=run_id)
        return {"batch_id": batch_id, "counts": report.counts()}
    finally:
        state.dispose()


def run_summary(actor: str, config_path: str | None = None) -> dict[str, Any]:
    """What a run did, read back from the audit trail (not from task XComs)."""
    _, state = open_state(config_path)
    try:
        with state.session() as session:
            rows = session.execute(
                sa.select(Event.action, Event.place, Event.category, Event.people).where(
                    Event.actor == actor, Event.action.in_(["routed", "vanished", "changed"])
                )
            ).all()
        folders: Counter[str] = Counter()
        for action, place, category, people in rows:
            if action != "routed":
                folders["staging"] += 1
            elif place == "review":
                folders[f"review/{category}"] += 1
            else:
                folders[f"library/{(people or ['?'])[0]}"] += 1
        to_review = sum(n for folder, n in folders.items() if folder.startswith("review/"))
        return {"folders": dict(folders), "sorted": sum(folders.values()), "to_review": to_review}
    finally:
        state.dispose()


# ------------------------------------------------------------------ facesort_recluster


def recheck_review_queue(actor: str, group_id: str, config_path: str | None = None) -> dict:
    """Move the queued files that are now a sure match to the library (nightly re-check)."""
    from facesort.review.recheck import recheck_queue

    config, state = open_state(config_path)
    try:
        result = recheck_queue(state, config, actor=actor, group_id=group_id)
        folders = Counter(r.folder for r in result.moved)
        return {"moved": len(result.moved), "group_id": group_id, "folders": dict(folders)}
    finally:
        state.dispose()


def recluster_unknown_faces(config_path: str | None = None) -> dict[str, int]:
    """Cluster the unknown faces (stable cluster ids); returns the counts."""
    from facesort.review.clustering import recluster

    config, state = open_state(config_path)
    try:
        return recluster(state, config).as_dict()
    finally:
        state.dispose()


def purge_trash(actor: str, config_path: str | None = None) -> dict[str, Any]:
    """Delete the files rejected more than ``review.trash_days`` days ago."""
    from facesort.review.trash import purge_trash

    config, state = open_state(config_path)
    try:
        return purge_trash(state, config, actor=actor).as_dict()
    finally:
        state.dispose()
