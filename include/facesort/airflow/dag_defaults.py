"""What every facesort DAG is declared with, so that a DAG file says only what is its own.

:func:`facesort_dag` is Airflow's ``@dag`` with what all facesort DAGs share: the start
date, the retries (:data:`~facesort.airflow.DEFAULT_ARGS`) and the ``facesort`` tag. Each
DAG file still says its ``dag_id``, schedule, ``catchup=False``, ``max_active_runs``,
timeout, params, its own tags and ``doc_md``. :data:`recover_interrupted` is the first
task of the DAGs that move files.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import dag

from facesort.airflow import DEFAULT_ARGS, TAGS, recovery
from facesort.airflow.step import facesort_task

# Before the first run anyone could have; with catchup=False it only dates the DAGs.
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def facesort_dag(*, tags: list[str], retries: int | None = None, **dag_kwargs: Any) -> Any:
    """``@dag(**dag_kwargs)`` with the start date, the default arguments (``retries``
    replacing theirs) and the ``facesort`` tag before ``tags``."""
    default_args = DEFAULT_ARGS if retries is None else {**DEFAULT_ARGS, "retries": retries}
    return dag(start_date=START_DATE, default_args=default_args, tags=[*TAGS, *tags], **dag_kwargs)


# Migrate the state database and finish the moves a dead run left in flight (the step is
# airflow/recovery.py); each DAG that calls it gets its own task of this name.
recover_interrupted = facesort_task(recovery.recover_interrupted)
