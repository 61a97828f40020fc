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

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

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

    def __init__(self, config_path: str, poll_seconds: float, max_wait_seconds: float):
        super().__init__()
        self.config_path = config_path
        self.poll_seconds = poll_seconds
        self.max_wait_seconds = max_wait_seconds

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from facesort.airflow.hooks import ImmichHook
        from facesort.config import load_config
        from facesort.immich.carry import carry_pass
        from facesort.state import State

        try:
            config = await asyncio.to_thread(load_config, self.config_path)
            endpoint = await ImmichHook.from_config(config).aendpoint(config)
            deadline = time.monotonic() + self.max_wait_seconds
            with await asyncio.to_thread(State, config.database_url) as state:
                looks = 0
                while True:
                    result = await asyncio.to_thread(
                        carry_pass, state, config, endpoint, "trigger", write=False
                    )
                    looks += 1
                    if result.finished or time.monotonic() >= deadline:
                        yield TriggerEvent({**result.as_dict(), "trigger_looks": looks})
                        return
                    self.log.info("names wait for Immich: %s", result.detail)
                    await asyncio.sleep(self.poll_seconds)
        except Exception as exc:
            # The task resumes and does what it can; the rest waits for a later run.
            self.log.exception("waiting for Immich to carry names failed")
            yield TriggerEvent({"finished": True, "detail": f"{type(exc).__name__}: {exc}"})
