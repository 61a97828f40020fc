"""facesort under Airflow: everything that imports Airflow or serves a DAG.

The rest of :mod:`facesort` never imports Airflow; the DAG files in ``dags/`` only wire
these pieces together, each task body one call into a step module.

- this module: what the DAGs share (assets, the CPU pool, retries, tags);
- :mod:`~facesort.airflow.dag_defaults`: ``facesort_dag`` (``@dag`` with the start date,
  the retries and the tag every DAG shares) and the shared ``recover_interrupted`` task;
- :mod:`~facesort.airflow.step`: the ``facesort_task`` decorator and ``TaskRun`` (run id,
  actor, trigger form) that every task body gets;
- :mod:`~facesort.airflow.settings`: the settings read cheaply at DAG-parse time
  (schedules, the Immich sensor's mode);
- steps, one module per DAG: :mod:`~facesort.airflow.ingest` and
  :mod:`~facesort.airflow.immich` (facesort_ingest), :mod:`~facesort.airflow.recluster`,
  :mod:`~facesort.airflow.resort`, :mod:`~facesort.airflow.review_report`, and
  :mod:`~facesort.airflow.recovery` (the first task of the DAGs that move files);
- Immich: :mod:`~facesort.airflow.hooks` (``ImmichHook``: the connections ``immich_api``
  and ``immich_db``), :mod:`~facesort.airflow.sensors` (the deferrable wait) and
  :mod:`~facesort.airflow.triggers` (its trigger);
- :mod:`~facesort.airflow.email`: the weekly report by email through an SMTP connection;
- :mod:`~facesort.airflow.approval`: the re-sort plan's approval in the Airflow UI;
- :mod:`~facesort.airflow.carry`: the ``immich_carry_names`` task.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Asset

from facesort.airflow.step import TaskRun, facesort_task

__all__ = [
    "CPU_POOL",
    "DEFAULT_ARGS",
    "LIBRARY",
    "REVIEW_QUEUE",
    "REVIEW_REPORT",
    "TAGS",
    "TaskRun",
    "facesort_task",
]

# Downstream DAGs (reports, re-clustering) can be scheduled on these.
REVIEW_QUEUE = Asset(name="facesort_review_queue", uri="facesort://review-queue")
LIBRARY = Asset(name="facesort_library", uri="facesort://library")
# Updated by facesort_review_report each time a week's report is written.
REVIEW_REPORT = Asset(name="facesort_review_report", uri="facesort://review-report")

# CPU-heavy tasks (face detection) share this pool; size it to the cores you give them:
#   airflow pools set facesort_cpu 2 "facesort face detection"
CPU_POOL = "facesort_cpu"

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "facesort",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}

TAGS = ["facesort"]
