"""The ``immich_carry_names`` task: names carried onto moved files' new Immich assets.

Built like the wait for Immich (:mod:`facesort.airflow.sensors`): each look is one call
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
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.triggers.base import BaseTrigger, TriggerEvent

from facesort.airflow.step import TaskRun


class ImmichCarrySensor(BaseSensorOperator):
    ui_color = "#e0f0ff"

    def __init__(
        self,
        *,
        poll_seconds: float,
        max_wait_seconds: float,
        deferrable: bool = True,
        **kwargs: Any,
    ):
        # The trigger gives up after max_wait_seconds; this is only a backstop after it.
        kwargs.setdefault("timeout", timedelta(seconds=max_wait_seconds + 600))
        super().__init__(
            mode="poke" if deferrable else "reschedule",
            poke_interval=poll_seconds,
            soft_fail=True,
            **kwargs,
        )
        self.deferrable = deferrable
        self.poll_seconds = poll_seconds
        self.max_wait_seconds = max_wait_seconds

    @staticmethod
    def _carry(context: Any) -> dict[str, Any]:
        from facesort.airflow.immich import carry_names

        return carry_names(TaskRun.from_context(context))

    def poke(self, context: Any) -> PokeReturnValue:
        status = self._carry(context)
        return PokeReturnValue(is_done=status["finished"], xcom_value=status)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        status = self._carry(context)
        if status["finished"]:
            return status
        from facesort.config import config_path_from_env

        self.log.info("Immich is still busy (%s): deferring to the triggerer", status["detail"])
        self.defer(
            trigger=ImmichCarryTrigger(
                config_path=str(config_path_from_env()),
                poll_seconds=self.poll_seconds,
                max_wait_seconds=self.max_wait_seconds,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        status = self._carry(context)  # the writes, now that Immich is ready
        return {**status, "resumed_after_deferral": True, "trigger": event}


class ImmichCarryTrigger(BaseTrigger):
    """Looks (without writing) until every waiting carry-over is ready, or time is up."""

    def __init__(self, config_path: str, poll_seconds: float, max_wait_seconds: float):
        super().__init__()
        self.config_path = config_path
        self.poll_seconds = poll_seconds
        self.max_wait_seconds = max_wait_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "config_path": self.config_path,
                "poll_seconds": self.poll_seconds,
                "max_wait_seconds": self.max_wait_seconds,
            },
        )

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
