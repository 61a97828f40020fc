"""The steps of facesort_resort: plan the re-sort the trigger form asks for, then apply
it as one undoable group named by the run id."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from facesort.airflow.step import TaskRun
from facesort.config import Config, load_config
from facesort.state import State
from facesort.words import plural


def _request(state: State, config: Config, params: Any):
    """The trigger form as a checked re-sort request."""
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


def plan(run: TaskRun) -> dict[str, Any]:
    """Check the trigger form, plan the re-sort and write the plan CSV."""
    from facesort.resort import plan_path, plan_resort, summarize_plan, write_plan_csv

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        request = _request(state, config, run.params)
        planned = plan_resort(
            state, request.config(config), request.scope, redetect=request.redetect
        )
    path = write_plan_csv(planned, plan_path(config, run.run_id))
    moves = summarize_plan(planned)
    print(f"re-sort of {request.describe()}: {plural(planned, 'file')} would move")
    for folders, count in moves.items():
        print(f"{folders}: {count}")
    print(f"plan: {path}")
    return {
        "plan_csv": str(path),
        "planned": len(planned),
        "moves": moves,
        "request": request.describe(),
        "dry_run": request.dry_run,
    }


def apply(run: TaskRun, planned: dict[str, Any]) -> dict[str, Any]:
    """Move the files of the plan CSV that still go where it says, as one group; skipped
    for a dry run or an empty plan."""
    from facesort.resort import apply_plan_csv

    if planned["dry_run"]:
        raise AirflowSkipException(f"dry run: nothing moved; the plan is {planned['plan_csv']}")
    if not planned["planned"]:
        raise AirflowSkipException("nothing to move")
    config = load_config(run.config_path)
    with State(config.database_url) as state:
        request = _request(state, config, run.params)
        applied = apply_plan_csv(
            state, config, request, Path(planned["plan_csv"]), actor=run.actor, group_id=run.run_id
        )
    folders = Counter(r.folder for r in applied.moved)
    for folder, count in sorted(folders.items()):
        print(f"{folder}: {count}")
    for line in applied.skipped[:50]:
        print(f"left alone: {line}")
    print(f"moved {plural(applied.moved, 'file')}; undo with: facesort undo {run.run_id}")
    return {
        "group_id": run.run_id,
        "moved": len(applied.moved),
        "skipped": applied.skipped[:50],
        "folders": dict(folders),
    }
