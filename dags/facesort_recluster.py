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

from datetime import timedelta

from facesort.airflow import (
    CPU_POOL,
    LIBRARY,
    TaskRun,
    facesort_task,
    recluster,
)
from facesort.airflow.dag_defaults import facesort_dag, recover_interrupted
from facesort.airflow.settings import recluster_schedule_from_env


@facesort_dag(
    dag_id="facesort_recluster",
    schedule=recluster_schedule_from_env(),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=4),
    tags=["review"],
    doc_md=__doc__,
)
def facesort_recluster():
    @facesort_task(pool=CPU_POOL, execution_timeout=timedelta(hours=2))
    def recheck_review_queue(run: TaskRun) -> dict:
        return recluster.recheck_review_queue(run)

    @facesort_task(pool=CPU_POOL, execution_timeout=timedelta(hours=1))
    def recluster_unknown_faces(run: TaskRun) -> dict:
        return recluster.recluster_unknown_faces(run)

    @facesort_task
    def purge_trash(run: TaskRun) -> dict:
        return recluster.purge_trash(run)

    @facesort_task(outlets=[LIBRARY])
    def announce_library(run: TaskRun, recheck: dict) -> int:
        return recluster.files_moved_to_library(recheck)

    recovered = recover_interrupted()
    recheck = recheck_review_queue()
    recovered >> recheck >> recluster_unknown_faces()
    recovered >> purge_trash()
    announce_library(recheck)


facesort_recluster()
