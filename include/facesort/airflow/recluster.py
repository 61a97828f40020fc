"""The steps of facesort_recluster: re-check the review queue, cluster the unknown faces,
purge the trash."""

from __future__ import annotations

from collections import Counter
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from facesort.airflow.step import TaskRun
from facesort.config import load_config
from facesort.state import State
from facesort.words import plural


def recheck_review_queue(run: TaskRun) -> dict[str, Any]:
    """Move the queued files that are now a sure match to the library."""
    from facesort.review.recheck import recheck_queue

    # One journal group per run: a retry adds to it, and one undo reverts the re-check.
    group_id = f"recheck-{run.run_id}"
    config = load_config(run.config_path)
    with State(config.database_url) as state:
        result = recheck_queue(state, config, actor=run.actor, group_id=group_id)
    folders = Counter(r.folder for r in result.moved)
    print(f"re-check: {plural(result.moved, 'file')} now a sure match, moved to the library")
    for folder, count in sorted(folders.items()):
        print(f"{folder}: {count}")
    return {"moved": len(result.moved), "group_id": group_id, "folders": dict(folders)}


def recluster_unknown_faces(run: TaskRun) -> dict[str, int]:
    """Cluster the unknown faces (stable cluster ids); the counts."""
    from facesort.review.clustering import recluster

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        report = recluster(state, config).as_dict()
    print(
        f"{plural(report['faces'], 'unknown face')}: {plural(report['clusters'], 'cluster')} "
        f"({report['kept']} kept, {report['new']} new, {report['dissolved']} dissolved)"
    )
    return report


def purge_trash(run: TaskRun) -> dict[str, Any]:
    """Delete the files rejected more than ``review.trash_days`` days ago."""
    from facesort.review.trash import purge_trash

    config = load_config(run.config_path)
    with State(config.database_url) as state:
        report = purge_trash(state, config, actor=run.actor).as_dict()
    print(f"trash: {plural(report['deleted'], 'file')} deleted, {report['waiting']} kept")
    for problem in report["problems"]:
        print(f"left alone: {problem}")
    return report


def files_moved_to_library(recheck: dict[str, Any]) -> int:
    """How many files the re-check moved (from :func:`recheck_review_queue`); skips the
    task (the asset is not updated) when none."""
    if not recheck["moved"]:
        raise AirflowSkipException("the re-check moved no file to the library")
    return recheck["moved"]
