"""How a DAG task runs one facesort step: the ``facesort_task`` decorator and ``TaskRun``.

A DAG file declares each task with ``@facesort_task(...)`` (``@task``'s arguments) and a
body of one call into a step module of :mod:`facesort.airflow`. The decorator gives the
function, as its first argument, the :class:`TaskRun` it runs for (run id, actor in the
audit trail, the trigger form, the config file), and turns a :class:`FacesortError`
(a bad config, a missing folder: it will not fix itself) into a failure without
retries. Airflow sees the function without that first parameter, so its XCom
arguments, ``expand()`` and the Grid are those of the step.

Steps import their heavy modules when they run, so a DAG file parses quickly.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow.sdk import get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from facesort.errors import FacesortError


@dataclass(frozen=True)
class TaskRun:
    """The DAG run a step works for. Built from the task's context under Airflow; tests
    build one directly (``config_path`` then names their config)."""

    dag_id: str
    run_id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    # The end of the run's data interval, or when it was due (runs without one).
    interval_end: datetime | None = None
    config_path: str | None = None  # None: $FACESORT_CONFIG
    context: Any = None  # Airflow's task context; None outside a task

    @property
    def actor(self) -> str:
        """Who moved a file, in the audit trail: the DAG run."""
        return f"airflow/{self.dag_id}/{self.run_id}"

    @classmethod
    def from_context(cls, context: Any) -> TaskRun:
        dag_run = context["dag_run"]
        return cls(
            dag_id=context["dag"].dag_id,
            run_id=context["run_id"],
            params=dict(context.get("params") or {}),
            interval_end=context.get("data_interval_end") or dag_run.run_after,
            context=context,
        )

    def label_map_index(self, label: str) -> None:
        """The name a mapped task instance shows in the Grid (``map_index_template``
        ``{{ map_label }}``)."""
        if self.context is not None:
            self.context["map_label"] = label


def facesort_task(step: Callable[..., Any] | None = None, /, **task_kwargs: Any) -> Any:
    """``@task`` (with ``task_kwargs``) for a function whose first parameter is the
    :class:`TaskRun`; user errors fail the task at once, without retries."""

    def decorate(func: Callable[..., Any]) -> Any:
        signature = inspect.signature(func)
        run_parameter, *parameters = signature.parameters

        @functools.wraps(func)
        def run_step(*args: Any, **kwargs: Any) -> Any:
            run = TaskRun.from_context(get_current_context())
            try:
                return func(run, *args, **kwargs)
            except FacesortError as exc:
                raise AirflowFailException(str(exc)) from exc

        # What Airflow inspects (arguments, return type) is the step without the run.
        run_step.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[signature.parameters[name] for name in parameters]
        )
        run_step.__annotations__ = {
            name: hint for name, hint in func.__annotations__.items() if name != run_parameter
        }
        return task(**task_kwargs)(run_step)

    return decorate(step) if step is not None else decorate
