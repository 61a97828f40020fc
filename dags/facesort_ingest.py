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
| `summarize` | reads back from the audit trail where this run's files went |
| `immich_rescan` | queues the scans again, so Immich sees the files at their new place |
| `check_immich` | *skipped* with the fix when Immich's settings are wrong (files sorted locally) |
| `announce_review_queue` | updates the `facesort_review_queue` asset when files were queued |

Without Immich configured (no `immich:` section, no `immich_api` connection) the Immich
tasks do nothing. Immich down or slow never stops sorting: files are matched locally and
each decision's reason says why.

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
    current_run_actor,
    fail_fast_on_user_errors,
)
from facesort.airflow.sensors import ImmichReadySensor
from facesort.config import immich_wait_from_env, ingest_schedule_from_env

IMMICH_WAIT = immich_wait_from_env()


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

        run_id, actor = current_run_actor()
        result = scan_and_claim(run_id, actor)
        print(
            f"{result['registered']} new files, {result['known']} already handled, "
            f"{result['waiting']} not stable yet, {result['ignored']} not media; "
            f"{len(result['batches'])} batches"
        )
        for note in result["notes"]:
            print(f"note: {note}")
        return result["batches"]

    @task
    @fail_fast_on_user_errors
    def immich_scan(batches: list[int]) -> dict:
        from facesort.airflow.hooks import resolve_endpoint
        from facesort.tasks import immich_prepare

        run_id, _ = current_run_actor()
        result = immich_prepare(run_id, resolve=resolve_endpoint)
        print(f"Immich: {result['status']} {result['message'] or ''}".rstrip())
        return result

    wait_for_immich = ImmichReadySensor(
        task_id="wait_for_immich",
        deferrable=IMMICH_WAIT.deferrable,
        poll_seconds=IMMICH_WAIT.poll_seconds,
        max_wait_seconds=IMMICH_WAIT.max_wait_seconds,
    )

    @task(trigger_rule="none_failed")
    @fail_fast_on_user_errors
    def learn_from_immich() -> dict:
        from facesort.airflow.hooks import resolve_endpoint
        from facesort.tasks import immich_learn_people

        run_id, _ = current_run_actor()
        result = immich_learn_people(run_id, resolve=resolve_endpoint)
        print(f"people from Immich: {result}")
        return {k: len(v) if isinstance(v, list) else v for k, v in result.items()}

    @task(trigger_rule="none_failed")
    @fail_fast_on_user_errors
    def read_immich_names() -> dict:
        from facesort.airflow.hooks import resolve_endpoint
        from facesort.tasks import immich_read_names

        run_id, _ = current_run_actor()
        counts = immich_read_names(run_id, resolve=resolve_endpoint)
        for status, count in sorted(counts.items()):
            print(f"immich {status}: {count}")
        return counts

    @task(
        pool=CPU_POOL,
        map_index_template="{{ batch_label }}",
        execution_timeout=timedelta(hours=2),
    )
    @fail_fast_on_user_errors
    def sort_batch(batch_id: int) -> dict:
        from facesort.tasks import sort_batch

        get_current_context()["batch_label"] = f"batch {batch_id}"  # type: ignore[typeddict-unknown-key]
        run_id, actor = current_run_actor()
        result = sort_batch(batch_id, run_id, actor)
        for folder, count in sorted(result["counts"].items()):
            print(f"{folder}: {count}")
        return result

    @task(trigger_rule="none_failed", outlets=[LIBRARY])
    @fail_fast_on_user_errors
    def summarize() -> dict:
        from facesort.tasks import run_summary

        _, actor = current_run_actor()
        summary = run_summary(actor)
        for folder, count in sorted(summary["folders"].items()):
            print(f"{folder}: {count}")
        return summary

    @task(trigger_rule="none_failed")
    @fail_fast_on_user_errors
    def immich_rescan(summary: dict) -> str:
        from facesort.airflow.hooks import resolve_endpoint
        from facesort.tasks import immich_rescan

        run_id, actor = current_run_actor()
        done = immich_rescan(run_id, actor, resolve=resolve_endpoint)
        print(f"Immich rescan: {done}")
        return done

    @task(trigger_rule="all_done")
    @fail_fast_on_user_errors
    def check_immich() -> dict:
        import logging

        from facesort.tasks import immich_outcome

        run_id, _ = current_run_actor()
        outcome = immich_outcome(run_id)
        print(f"Immich: {outcome}")
        if outcome["status"] == "error":
            # Every file was sorted locally, so the run succeeds; this task is marked
            # skipped (it stands out in the grid) and says what to fix.
            logging.getLogger("facesort").warning("Immich was not used: %s", outcome["message"])
            raise AirflowSkipException(f"Immich was not used: {outcome['message']}")
        return outcome

    @task(outlets=[REVIEW_QUEUE])
    def announce_review_queue(summary: dict) -> int:
        if not summary["to_review"]:
            raise AirflowSkipException("no new files in the review queue")
        return summary["to_review"]

    recovered = recover_interrupted()
    batches = scan_staging()
    recovered >> batches
    names = read_immich_names()
    immich_scan(batches) >> wait_for_immich >> learn_from_immich() >> names
    summary = summarize()
    names >> sort_batch.expand(batch_id=batches) >> summary
    immich_rescan(summary) >> check_immich()
    announce_review_queue(summary)


facesort_ingest()
