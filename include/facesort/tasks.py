"""Task-sized steps for the Airflow DAGs.

Each function takes ids or paths and returns a small JSON-able value (ids, counts), so
XComs stay small; the files themselves are never passed between tasks. The config is
read from ``$FACESORT_CONFIG`` unless a path is given.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
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
