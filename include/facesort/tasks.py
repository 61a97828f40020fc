"""Task-sized steps for the Airflow DAGs.

Each function takes ids or paths and returns a small JSON-able value (ids, counts), so
XComs stay small; the files themselves are never passed between tasks. The config is
read from ``$FACESORT_CONFIG`` unless a path is given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from facesort.config import Config, load_config
from facesort.policy import library_folder
from facesort.state import State
from facesort.state.models import Event


def open_state(config_path: str | None = None) -> tuple[Config, State]:
    config = load_config(config_path)
    return config, State(config.database_url)


def airflow_actor(dag_id: str, run_id: str) -> str:
    return f"airflow/{dag_id}/{run_id}"


def recover_interrupted(config_path: str | None = None) -> dict[str, int]:
    """Bring the schema up to date and finish transfers a dead run left in flight."""
    from facesort.files.recovery import recover_transfers

    config, state = open_state(config_path)
    try:
        report = recover_transfers(state, lease_s=config.claim_lease_seconds)
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
    from facesort.sorting.batches import scan_and_plan

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
    from facesort.sorting.batches import process_batch

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
                folders[library_folder((people or ["?"])[0])] += 1
        to_review = sum(n for folder, n in folders.items() if folder.startswith("review/"))
        return {"folders": dict(folders), "sorted": sum(folders.values()), "to_review": to_review}
    finally:
        state.dispose()


# --------------------------------------------------------------------- Immich
#
# ``resolve`` turns the config into an ImmichEndpoint; under Airflow it is the hook's,
# which lets the connections immich_api / immich_db win over the YAML. Immich being
# down or misconfigured never raises here: the run's Immich status records it, files
# are matched locally, and ``immich_outcome`` reports it at the end of the run.

Resolve = Callable[[Config], Any] | None


def immich_prepare(run_id: str, resolve: Resolve = None, config_path: str | None = None) -> dict:
    """Probe Immich and queue the scan of the libraries covering staging."""
    from facesort.immich import steps

    config, state = open_state(config_path)
    try:
        endpoint, failed = steps.resolve_endpoint(state, config, run_id, resolve)
        if failed is None:
            steps.prepare_run(state, config, endpoint, run_id)
        return steps.run_summary(state, run_id)
    finally:
        state.dispose()


def immich_poll(run_id: str, resolve: Resolve = None, config_path: str | None = None) -> dict:
    """One look at whether the run's face data is final (a sensor's poke)."""
    from facesort.immich import steps

    config, state = open_state(config_path)
    try:
        endpoint, _ = steps.resolve_endpoint(state, config, run_id, resolve)
        return steps.ReadinessPoll(state, endpoint, run_id).poll().as_dict()
    finally:
        state.dispose()


def immich_read_names(run_id: str, resolve: Resolve = None, config_path: str | None = None) -> dict:
    """Who Immich says is in each of the run's files, stored for sort_batch; counts."""
    from facesort.immich import steps

    config, state = open_state(config_path)
    try:
        endpoint, _ = steps.resolve_endpoint(state, config, run_id, resolve)
        return steps.read_names(state, endpoint, run_id)
    finally:
        state.dispose()


def immich_learn_people(
    run_id: str, resolve: Resolve = None, config_path: str | None = None
) -> dict:
    """Save the feature face of each person named in Immich as a reference photo."""
    from facesort.immich import steps

    config, state = open_state(config_path)
    try:
        run = steps.get_run(state, run_id)
        endpoint, _ = steps.resolve_endpoint(state, config, run_id, resolve)
        if endpoint is None or run is None or run.status != steps.OK:
            return {"skipped": "Immich is not usable in this run"}
        if not endpoint.settings.sync_references:
            return {"skipped": "immich.sync_references is off"}
        return steps.learn_people(config, endpoint)
    finally:
        state.dispose()


def immich_rescan(
    run_id: str, actor: str, resolve: Resolve = None, config_path: str | None = None
) -> str:
    """After routing: queue the scans again so Immich sees the files at their new place."""
    from facesort.immich import steps

    config, state = open_state(config_path)
    try:
        with state.session() as session:
            moved = session.scalar(
                sa.select(sa.func.count())
                .select_from(Event)
                .where(Event.actor == actor, Event.action == "routed")
            )
        endpoint, _ = steps.resolve_endpoint(state, config, run_id, resolve)
        return steps.rescan_after_routing(state, config, endpoint, run_id, moved or 0)
    finally:
        state.dispose()


def immich_outcome(run_id: str, config_path: str | None = None) -> dict:
    """Immich's part in the run (status, message, wait, files by status)."""
    from facesort.immich import steps

    _, state = open_state(config_path)
    try:
        return steps.run_summary(state, run_id)
    finally:
        state.dispose()


# --------------------------------------------------------------------- weekly report


def weekly_report(
    interval_end: datetime, week: str | None = None, config_path: str | None = None
) -> dict[str, Any]:
    """Write the report of the last week complete at ``interval_end`` (a run's data
    interval end), or of ``week`` (``2026-W05``); returns paths and the key figures."""
    from facesort.report import ReportWeek, make_report

    config = load_config(config_path)
    timezone = config.report.timezone
    chosen = (
        ReportWeek.parse(week, timezone)
        if week
        else ReportWeek.last_complete_before(interval_end, timezone)
    )
    return make_report(config, chosen).as_dict()


# --------------------------------------------------------------------- manual re-sort


def _resort_request(state: State, config: Config, params: dict[str, Any]):
    from facesort.resort import THRESHOLDS, resort_request

    return resort_request(
        state,
        config,
        scope=params.get("scope") or "",
        person=params.get("person"),
        categories=params.get("review_categories") or (),
        folders=params.get("folders") or (),
        dry_run=params.get("dry_run", True),
        redetect=params.get("redetect", False),
        thresholds={name: params.get(name) for name in THRESHOLDS},
    )


def resort_plan(params: dict[str, Any], group_id: str, config_path: str | None = None) -> dict:
    """Check the trigger form, plan the re-sort and write the plan CSV."""
    from facesort.resort import plan_path, plan_resort, summarize_plan, write_plan_csv

    config, state = open_state(config_path)
    try:
        request = _resort_request(state, config, params)
        plan = plan_resort(state, request.config(config), request.scope, redetect=request.redetect)
        path = write_plan_csv(plan, plan_path(config, group_id))
        return {
            "plan_csv": str(path),
            "planned": len(plan),
            "moves": summarize_plan(plan),
            "request": request.describe(),
            "dry_run": request.dry_run,
        }
    finally:
        state.dispose()


def resort_apply(
    params: dict[str, Any], plan_csv: str, group_id: str, actor: str, config_path=None
) -> dict:
    """Move the files of a plan CSV (those still going where it says) as one group."""
    from pathlib import Path

    from facesort.resort import apply_plan_csv

    config, state = open_state(config_path)
    try:
        request = _resort_request(state, config, params)
        applied = apply_plan_csv(
            state, config, request, Path(plan_csv), actor=actor, group_id=group_id
        )
        return {
            "group_id": group_id,
            "moved": len(applied.moved),
            "skipped": applied.skipped[:50],
            "folders": dict(Counter(r.folder for r in applied.moved)),
        }
    finally:
        state.dispose()


# --------------------------------------------------------------------- nightly recluster


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
