"""The ``immich_carry_names`` task: names carried onto moved files' new Immich assets.

Built on the wait for Immich's bases (:class:`~facesort.airflow.sensors.DeferringSensor`,
:class:`~facesort.airflow.triggers.FacesortTrigger`): each look is one call
into :func:`facesort.airflow.immich.carry_names` (a pass of
:mod:`facesort.immich.carry`: it writes what Immich is ready for). While Immich still
works on the moved files the task defers (the default) to
:class:`ImmichCarryTrigger`, which only *looks* (queues idle, new assets there), never
writes, and resumes the task to write; with ``deferrable=False`` it reschedules
instead, one pass per poke. A plain ``@task`` cannot do either: resuming after a
deferral calls a method of the operator, which a decorated function does not have.

It never fails the run because of Immich: whatever Immich was not ready for stays
recorded and the next run carries it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from airflow.triggers.base import BaseTrigger

from facesort.airflow.sensors import DeferringSensor
from facesort.airflow.step import TaskRun
from facesort.airflow.triggers import FacesortTrigger


class ImmichCarrySensor(DeferringSensor):
    # A pass's status has no "outcome" to log: carry_names prints its detail.
    log_looks = False
    busy_message = "Immich is still busy (%s): deferring to the triggerer"

    def look(self, context: Any) -> dict[str, Any]:
        from facesort.airflow.immich import carry_names

        return carry_names(TaskRun.from_context(context))

    def trigger(self, context: Any, config_path: str) -> BaseTrigger:
        return ImmichCarryTrigger(
            config_path=config_path,
            poll_seconds=self.poll_seconds,
            max_wait_seconds=self.max_wait_seconds,
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        status = self.look(context)  # the writes, now that Immich is ready
        return {**status, "resumed_after_deferral": True, "trigger": event}


class ImmichCarryTrigger(FacesortTrigger):
    """Looks (without writing) until every waiting carry-over is ready, or time is up."""

    fields = ("config_path", "poll_seconds", "max_wait_seconds")
    waiting_message = "names wait for Immich: %s"
    # The task resumes and does what it can; the rest waits for a later run.
    failed_message = "waiting for Immich to carry names failed"

    def looker(self, state: Any, config: Any, endpoint: Any) -> Callable[[], Any]:
        from facesort.immich.carry import carry_pass

        return functools.partial(carry_pass, state, config, endpoint, "trigger", write=False)

    def finished(self, status: Any, waited_seconds: float) -> bool:
        return status.finished or waited_seconds >= self.max_wait_seconds
