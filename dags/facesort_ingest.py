"""
### facesort_ingest: sort new photos and videos by the people in them

Every run (default: every 10 minutes) takes each **stable** new file from the staging
folders, drops duplicates, recognises the faces and moves the file to
`library/<person>/`, or to a review queue `review/<category>/` when facesort is not
sure. Nothing is ever overwritten or lost: every move is journaled first, and a run
that dies is finished by the next one.

| task | what it does |
|---|---|
| `recover_interrupted` | migrates the state database, finishes moves a dead run left in flight |
| `scan_staging` | registers new stable files, claims them into batches (returns batch ids) |
| `immich_scan` | probes Immich once, queues the scan of the libraries covering staging |
| `wait_for_immich` | deferrable sensor: face queues idle (two quiet polls) or detection done |
| `learn_from_immich` | people named in Immich -> reference photos (their feature faces) |
| `read_immich_names` | who Immich says is in each of the run's files, read once, stored |
| `sort_batch` | mapped per batch, `facesort_cpu` pool: dedupe, Immich's names, local faces |
| `summarize` | keeps the largest copy of each split picture; where the run's files went |
| `immich_rescan` | queues the scans again, so Immich sees the files at their new place |
| `immich_carry_names` | deferrable: the people named in Immich, given to moved files' new assets |
| `check_immich` | *skipped* with the fix when Immich's settings are wrong (files sorted locally) |
| `announce_library` | updates the `facesort_library` asset when files reached the library |
| `announce_review_queue` | updates the `facesort_review_queue` asset when files were queued |

Without Immich configured (no `immich:` section, no `immich_api` connection) the Immich
tasks do nothing. Immich down or slow never stops sorting: files are matched locally and
each decision's reason says why.

Configuration: the YAML file named by `FACESORT_CONFIG` on the workers; the schedule
comes from `schedule.ingest` in it (or `FACESORT_INGEST_SCHEDULE`). See README.md.
"""

from __future__ import annotations

from datetime import timedelta

from facesort.airflow import (
    CPU_POOL,
    LIBRARY,
    REVIEW_QUEUE,
    TaskRun,
    facesort_task,
    immich,
    ingest,
)
from facesort.airflow.carry import ImmichCarrySensor
from facesort.airflow.dag_defaults import facesort_dag, recover_interrupted
from facesort.airflow.sensors import ImmichReadySensor
from facesort.airflow.settings import immich_wait_from_env, ingest_schedule_from_env

# immich.wait: how both Immich sensors wait (deferred or rescheduled, how often, how long).
IMMICH_WAIT = immich_wait_from_env()


@facesort_dag(
    dag_id="facesort_ingest",
    schedule=ingest_schedule_from_env(),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    tags=["ingest"],
    doc_md=__doc__,
)
def facesort_ingest():
    @facesort_task
    def scan_staging(run: TaskRun) -> list[int]:
        return ingest.scan_staging(run)

    @facesort_task
    def immich_scan(run: TaskRun, batches: list[int]) -> dict:
        return immich.queue_scan(run)

    wait_for_immich = ImmichReadySensor(task_id="wait_for_immich", wait=IMMICH_WAIT)

    @facesort_task(trigger_rule="none_failed")
    def learn_from_immich(run: TaskRun) -> dict:
        return immich.learn_references(run)

    @facesort_task(trigger_rule="none_failed")
    def read_immich_names(run: TaskRun) -> dict:
        return immich.store_names(run)

    @facesort_task(
        pool=CPU_POOL,
        map_index_template="{{ map_label }}",
        execution_timeout=timedelta(hours=2),
    )
    def sort_batch(run: TaskRun, batch_id: int) -> dict:
        return ingest.sort_batch(run, batch_id)

    @facesort_task(trigger_rule="none_failed")
    def summarize(run: TaskRun) -> dict:
        return ingest.where_files_went(run)

    @facesort_task(trigger_rule="none_failed")
    def immich_rescan(run: TaskRun, summary: dict) -> str:
        return immich.queue_rescan(run)

    # Defers while Immich works on the moved files, then writes (facesort.immich.carry).
    immich_carry_names = ImmichCarrySensor(
        task_id="immich_carry_names", trigger_rule="none_failed", wait=IMMICH_WAIT
    )

    @facesort_task(trigger_rule="all_done")
    def check_immich(run: TaskRun) -> dict:
        return immich.check_outcome(run)

    @facesort_task(outlets=[LIBRARY])
    def announce_library(run: TaskRun, summary: dict) -> int:
        return ingest.files_sorted_into_library(summary)

    @facesort_task(outlets=[REVIEW_QUEUE])
    def announce_review_queue(run: TaskRun, summary: dict) -> int:
        return ingest.files_queued_for_review(summary)

    recovered = recover_interrupted()
    batches = scan_staging()
    recovered >> batches
    names = read_immich_names()
    immich_scan(batches) >> wait_for_immich >> learn_from_immich() >> names
    summary = summarize()
    names >> sort_batch.expand(batch_id=batches) >> summary
    immich_rescan(summary) >> immich_carry_names >> check_immich()
    announce_library(summary)
    announce_review_queue(summary)


facesort_ingest()
