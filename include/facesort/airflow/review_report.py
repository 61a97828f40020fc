"""The steps of facesort_review_report: write the week's report, mail it."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from facesort.airflow.step import TaskRun
from facesort.config import load_config


def write_report(run: TaskRun) -> dict[str, Any]:
    """Write the report of the week named in the form (``week``: ``2026-W05``), or else
    of the last week complete at the end of the run's data interval; paths and figures."""
    from facesort.report import ReportWeek, make_report

    config = load_config(run.config_path)
    timezone = config.report.timezone
    week = run.params.get("week")
    chosen = (
        ReportWeek.parse(week, timezone)
        if week
        else ReportWeek.last_complete_before(run.interval_end, timezone)
    )
    made = make_report(config, chosen).as_dict()
    s = made["summary"]
    print(
        f"week {made['week']}: {s['queue_size']} waiting ({s['queue_change']:+d}), "
        f"{s['entered_queue']} in, {s['left_queue']} out, auto-sort rate "
        f"{s['auto_sort_rate']}, {s['duplicates_caught']} duplicates; page {made['page']}"
    )
    return made


def email_report(run: TaskRun, made: dict[str, Any]) -> list[str]:
    """Mail the report :func:`write_report` made; skipped when ``report.email_to`` is empty."""
    from facesort.airflow.email import send_report_email

    sent_to = send_report_email(load_config(run.config_path), made)
    if not sent_to:
        raise AirflowSkipException("report.email_to is empty: no email")
    print(f"mailed the report of {made['week']} to {', '.join(sent_to)}")
    return sent_to
