"""
### facesort_recluster: nightly, facesort learns from the review queue

Every night (default 03:30; `schedule.recluster` in the config):

| task | what it does |
|---|---|
| `recover_interrupted` | migrates the state database, finishes interrupted moves |
| `recheck_review_queue` | re-matches `review/unidentified` and `review/low_confidence` |
| `recluster_unknown_faces` | clusters the unknown faces (stable cluster ids) |
| `purge_trash` | deletes files rejected more than `review.trash_days` days ago |
| `announce_library` | updates the `facesort_library` asset when the re-check moved files |

The re-check matches each queued file again with today's references (which grow with
each approval, each named cluster and each name given in Immich) and moves the ones that
are now a sure match to the library, as one undoable group. The clustering is
density-based (`review.cluster_min_faces` faces within `review.cluster_distance`);
clusters keep their ids from night to night, and the review page's *Unknown people*
shows them for naming. The trash is purged only of files unchanged since rejected.

Configuration: the YAML file named by `FACESORT_CONFIG` on the workers. See README.md,
section Review.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowSkipException

from facesort.airflow import (
    CPU_POOL,
    DEFAULT_ARGS,
    LIBRARY,
    TAGS,
    current_run_actor,
    fail_fast_on_user_errors,
)
from facesort.config import recluster_schedule_from_env


@dag(
    dag_id="facesort_recluster",
    schedule=recluster_schedule_from_env(),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(hours=4),
    tags=[*TAGS, "review"],
    doc_md=__doc__,
)
def facesort_recluster():
    @task
    @fail_fast_on_user_errors
    def recover_interrupted() -> dict:
        from facesort.tasks import recover_interrupted

        return recover_interrupted()

    @task(pool=CPU_POOL, execution_timeout=timedelta(hours=2))
    @fail_fast_on_user_errors
    def recheck_review_queue() -> dict:
        from facesort.tasks import recheck_review_queue

        run_id, actor = current_run_actor()
        # One journal group per run: a retry adds to it, and one undo reverts the re-check.
        result = recheck_review_queue(actor, group_id=f"recheck-{run_id}")
        print(f"re-check: {result['moved']} files now a sure match, moved to the library")
        for folder, count in sorted(result["folders"].items()):
            print(f"{folder}: {count}")
        return result

    @task(pool=CPU_POOL, execution_timeout=timedelta(hours=1))
    @fail_fast_on_user_errors
    def recluster_unknown_faces() -> dict:
        from facesort.tasks import recluster_unknown_faces

        report = recluster_unknown_faces()
        print(
            f"{report['faces']} unknown faces: {report['clusters']} clusters "
            f"({report['kept']} kept, {report['new']} new, {report['dissolved']} dissolved)"
        )
        return report

    @task
    @fail_fast_on_user_errors
    def purge_trash() -> dict:
        from facesort.tasks import purge_trash

        _, actor = current_run_actor()
        report = purge_trash(actor)
        print(f"trash: {report['deleted']} files deleted, {report['waiting']} kept")
        for problem in report["problems"]:
            print(f"left alone: {problem}")
        return report

    @task(outlets=[LIBRARY])
    def announce_library(recheck: dict) -> int:
        if not recheck["moved"]:
            raise AirflowSkipException("the re-check moved no file to the library")
        return recheck["moved"]

    recovered = recover_interrupted()
    recheck = recheck_review_queue()
    recovered >> recheck >> recluster_unknown_faces()
    recovered >> purge_trash()
    announce_library(recheck)


facesort_recluster()
