"""
### facesort_review_report: the weekly review-queue report

Every Monday morning (default `0 6 * * 1`, in `report.timezone`) writes the report of
the ISO week that just ended, built with pandas from facesort's audit trail:

- queue size per review category, and its trend week over week;
- the waiting items, oldest first, and how long they have waited;
- files in and out of the queue this week, and where the ones that left went;
- the auto-sort rate (new files that went straight into a person's folder);
- files per person, duplicates caught, the largest clusters of unknown faces.

It goes to `<reports_dir>/<ISO week>/report.html` (one self-contained page, charts
embedded) with a CSV file per table; `<reports_dir>/latest` points at the newest week.
With `report.email_to` set, the page is also mailed through the Airflow SMTP connection
`report.smtp_conn_id`.

A run reports the last week complete at the end of its data interval, computed only
from the history recorded up to that week's end, so **backfilling** past weeks gives the
numbers those weeks had. The Monday-morning runs from 12 January to 2 February 2026
make the reports of weeks 2026-W02 to 2026-W05 (Airflow lists them by the start of their
data interval, the Monday a week earlier):

    airflow backfill create --dag-id facesort_review_report \\
        --from-date 2026-01-12 --to-date 2026-02-03

(or *Trigger > Backfill* in the UI). A manual run can name a week (`week`: `2026-W05`).

| task | what it does |
|---|---|
| `write_report` | computes the week's numbers, writes the page and the CSV files, moves `latest` |
| `email_report` | mails the page (skipped when `report.email_to` is empty) |
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import CronTriggerTimetable, Param

from facesort.airflow import (
    REVIEW_REPORT,
    TaskRun,
    facesort_task,
    review_report,
)
from facesort.airflow.dag_defaults import facesort_dag
from facesort.airflow.settings import report_schedule_from_env

CRON, TIMEZONE = report_schedule_from_env()


@facesort_dag(
    dag_id="facesort_review_report",
    # The data interval is the week before each run, so a run (scheduled, manual or
    # backfilled) knows which week is complete.
    schedule=CronTriggerTimetable(CRON, timezone=TIMEZONE, interval=timedelta(days=7)),
    catchup=False,
    # Runs for different weeks write different folders; "latest" only moves forward.
    max_active_runs=4,
    dagrun_timeout=timedelta(hours=1),
    params={
        "week": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-W\d{2}$",
            title="ISO week (optional)",
            description="Report this week, written like 2026-W05. Empty: the last week "
            "complete when the run's data interval ends (Monday: the week just ended).",
        ),
    },
    tags=["report"],
    doc_md=__doc__,
)
def facesort_review_report():
    @facesort_task(outlets=[REVIEW_REPORT])
    def write_report(run: TaskRun) -> dict:
        return review_report.write_report(run)

    @facesort_task
    def email_report(run: TaskRun, made: dict) -> list[str]:
        return review_report.email_report(run, made)

    email_report(write_report())


facesort_review_report()
