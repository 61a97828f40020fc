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
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.triggers.base import BaseTrigger

from facesort.airflow.step import TaskRun
from facesort.airflow.triggers import ImmichReadyTrigger

if TYPE_CHECKING:
    from facesort.config import ImmichWaitSettings


class DeferringSensor(BaseSensorOperator):
    """One look on the worker, then (if not finished) a deferral to :meth:`trigger` in the
    triggerer, resumed in ``execute_complete``; with ``deferrable=False`` reschedule mode,
    one look per poke. Never failed by Immich (``soft_fail``).

    A subclass says what one look is (:meth:`look`, a status dict with ``finished`` and
    ``detail``) and which trigger waits (:meth:`trigger`)."""

    ui_color = "#e0f0ff"
    busy_message = "Immich is busy (%s): deferring to the triggerer"
    log_looks = True  # log each look's outcome and detail

    def __init__(self, *, wait: ImmichWaitSettings, **kwargs: Any):
        """``wait``: ``immich.wait`` (the mode and intervals; the DAG file reads it with
        :func:`~facesort.airflow.settings.immich_wait_from_env`)."""
        # Our own deadline (max_wait_seconds) ends the wait with "timeout"; Airflow's
        # sensor timeout is only a backstop well after it.
        kwargs.setdefault("timeout", timedelta(seconds=wait.max_wait_seconds + 600))
        super().__init__(
            mode="poke" if wait.deferrable else "reschedule",
            poke_interval=wait.poll_seconds,
            soft_fail=True,
            **kwargs,
        )
        self.deferrable = wait.deferrable
        self.poll_seconds = wait.poll_seconds
        self.max_wait_seconds = wait.max_wait_seconds

    def look(self, context: Any) -> dict[str, Any]:
        raise NotImplementedError

    def trigger(self, context: Any, config_path: str) -> BaseTrigger:
        raise NotImplementedError

    def _logged(self, status: dict[str, Any]) -> dict[str, Any]:
        if self.log_looks:
            self.log.info("Immich: %s (%s)", status["outcome"], status["detail"])
        return status

    def poke(self, context: Any) -> PokeReturnValue:
        status = self._logged(self.look(context))
        return PokeReturnValue(is_done=status["finished"], xcom_value=status)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        status = self.look(context)
        if status["finished"]:
            return self._logged(status)
        from facesort.config import config_path_from_env

        self.log.info(self.busy_message, status["detail"])
        self.defer(
            trigger=self.trigger(context, str(config_path_from_env())),
            method_name="execute_complete",
        )


class ImmichReadySensor(DeferringSensor):
    def look(self, context: Any) -> dict[str, Any]:
        from facesort.airflow.immich import poll_readiness

        return poll_readiness(TaskRun.from_context(context))

    def trigger(self, context: Any, config_path: str) -> BaseTrigger:
        return ImmichReadyTrigger(
            run_id=context["run_id"], config_path=config_path, poll_seconds=self.poll_seconds
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        event = dict(event or {"finished": True, "outcome": "unavailable", "detail": "no event"})
        self.log.info("Immich (after deferral): %s (%s)", event["outcome"], event["detail"])
        return {**event, "resumed_after_deferral": True}
