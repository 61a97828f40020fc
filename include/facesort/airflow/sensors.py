"""The sensor that waits for Immich's face data of a run, without holding a worker.

Deferrable (the default): one poll on the worker, then, if Immich is still busy, it
defers to :class:`~facesort.airflow.triggers.ImmichReadyTrigger` in the triggerer and
resumes in :meth:`ImmichReadySensor.execute_complete`. With ``deferrable=False`` (no
triggerer: ``immich.wait.deferrable: false``) it runs in reschedule mode: each poke is
one poll and the worker slot is freed in between.

It never fails the run because of Immich: a timeout, or Immich going away, ends the
wait with that outcome and the files are matched locally.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from facesort.airflow.step import TaskRun
from facesort.airflow.triggers import ImmichReadyTrigger


class ImmichReadySensor(BaseSensorOperator):
    ui_color = "#e0f0ff"

    def __init__(
        self,
        *,
        poll_seconds: float,
        max_wait_seconds: float,
        deferrable: bool = True,
        **kwargs: Any,
    ):
        # Our own deadline (immich.wait.max_wait_seconds) ends the wait with "timeout";
        # Airflow's sensor timeout is only a backstop well after it.
        kwargs.setdefault("timeout", timedelta(seconds=max_wait_seconds + 600))
        super().__init__(
            mode="poke" if deferrable else "reschedule",
            poke_interval=poll_seconds,
            soft_fail=True,
            **kwargs,
        )
        self.deferrable = deferrable
        self.poll_seconds = poll_seconds

    @staticmethod
    def _poll(context: Any) -> dict[str, Any]:
        from facesort.airflow.immich import poll_readiness

        return poll_readiness(TaskRun.from_context(context))

    def poke(self, context: Any) -> PokeReturnValue:
        status = self._poll(context)
        self.log.info("Immich: %s (%s)", status["outcome"], status["detail"])
        return PokeReturnValue(is_done=status["finished"], xcom_value=status)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        status = self._poll(context)
        if status["finished"]:
            self.log.info("Immich: %s (%s)", status["outcome"], status["detail"])
            return status
        from facesort.config import config_path_from_env

        self.log.info("Immich is busy (%s): deferring to the triggerer", status["detail"])
        self.defer(
            trigger=ImmichReadyTrigger(
                run_id=context["run_id"],
                config_path=str(config_path_from_env()),
                poll_seconds=self.poll_seconds,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        event = dict(event or {"finished": True, "outcome": "unavailable", "detail": "no event"})
        self.log.info("Immich (after deferral): %s (%s)", event["outcome"], event["detail"])
        return {**event, "resumed_after_deferral": True}
