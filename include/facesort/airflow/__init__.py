"""Airflow glue shared by facesort's DAGs: assets, pool, retries, error handling.

This subpackage imports Airflow; the rest of :mod:`facesort` never does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from airflow.sdk import Asset

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

F = TypeVar("F", bound=Callable[..., Any])


def fail_fast_on_user_errors(func: F) -> F:
    """A bad config or a missing folder will not fix itself: fail without retrying."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from airflow.sdk.exceptions import AirflowFailException

        from facesort.errors import FacesortError

        try:
            return func(*args, **kwargs)
        except FacesortError as exc:
            raise AirflowFailException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def current_run_actor() -> tuple[str, str]:
    """(run id, actor) of the running task: the actor names the DAG run in the audit trail."""
    from airflow.sdk import get_current_context

    from facesort.tasks import airflow_actor

    context = get_current_context()
    run_id = context["run_id"]
    return run_id, airflow_actor(context["dag"].dag_id, run_id)
