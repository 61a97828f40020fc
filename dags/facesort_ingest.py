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
| `sort_batch` | one mapped task per batch, in the `facesort_cpu` pool: hash, dedupe, faces, route |
| `summarize` | reads back from the audit trail where this run's files went |
| `announce_review_queue` | updates the `facesort_review_queue` asset when files were queued |

Configuration: the YAML file named by `FACESORT_CONFIG` on the workers; the schedule
comes from `schedule.ingest` in it (or `FACESORT_INGEST_SCHEDULE`). See README.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from facesort.airflow import (
    CPU_POOL,
    DEFAULT_ARGS,
    LIBRARY,
    REVIEW_QUEUE,
    TAGS,
    fail_fast_on_user_errors,
)
from facesort.config import ingest_schedule_from_env


def _actor() -> tuple[str, str]:
    from facesort.tasks import airflow_actor

    context = get_current_context()
    run_id = context["run_id"]
    return run_id, airflow_actor(context["dag"].dag_id, run_id)


@dag(
    dag_id="facesort_ingest",
    schedule=ingest_schedule_from_env(),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(hours=6),
    tags=[*TAGS, "ingest"],
    doc_md=__doc__,
)
def facesort_ingest():
    @task
    @fail_fast_on_user_errors
    def recover_interrupted() -> dict:
        from facesort.tasks import recover_interrupted

        return recover_interrupted()

    @task
    @fail_fast_on_user_errors
    def scan_staging() -> list[int]:
        from facesort.tasks import scan_and_claim

        run_id, actor = _actor()
        result = scan_and_claim(run_id, actor)
        print(
            f"{result['registered']} new files, {result['known']} already handled, "
            f"{result['waiting']} not stable yet, {result['ignored']} not media; "
            f"{len(result['batches'])} batches"
        )
        for note in result["notes"]:
            print(f"note: {note}")
        return result["batches"]

    @task(
        pool=CPU_POOL,
        map_index_template="{{ batch_label }}",
        execution_timeout=timedelta(hours=2),
    )
    @fail_fast_on_user_errors
    def sort_batch(batch_id: int) -> dict:
        from facesort.tasks import sort_batch

        get_current_context()["batch_label"] = f"batch {batch_id}"  # type: ignore[typeddict-unknown-key]
        run_id, actor = _actor()
        result = sort_batch(batch_id, run_id, actor)
        for folder, count in sorted(result["counts"].items()):
            print(f"{folder}: {count}")
        return result

    @task(trigger_rule="none_failed", outlets=[LIBRARY])
    @fail_fast_on_user_errors
    def summarize() -> dict:
        from facesort.tasks import run_summary

        _, actor = _actor()
        summary = run_summary(actor)
        for folder, count in sorted(summary["folders"].items()):
            print(f"{folder}: {count}")
        return summary

    @task(outlets=[REVIEW_QUEUE])
    def announce_review_queue(summary: dict) -> int:
        if not summary["to_review"]:
            raise AirflowSkipException("no new files in the review queue")
        return summary["to_review"]

    recovered = recover_interrupted()
    batches = scan_staging()
    recovered >> batches
    summary = summarize()
    sort_batch.expand(batch_id=batches) >> summary
    announce_review_queue(summary)


facesort_ingest()
