"""The trigger that waits in Airflow's triggerer until Immich's face data is final.

It runs the same :class:`facesort.immich.wait.ReadinessPoll` as the sensor's reschedule
mode and ``facesort run``: one implementation of "ready", with the progress kept in the
state database. Each poll is a few short HTTP requests (and at most one database query)
with timeouts; it runs in a worker thread so the triggerer's event loop never blocks,
and the wait between polls is an ``asyncio.sleep``.

The triggerer needs what the workers need: the facesort package, the config file the
sensor names, and access to the state database and Immich.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class FacesortTrigger(BaseTrigger):
    """A trigger whose ``fields`` (its constructor's keyword arguments, kept as attributes
    of the same names) are what it serializes to."""

    fields: tuple[str, ...] = ()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {name: getattr(self, name) for name in self.fields},
        )


class ImmichReadyTrigger(FacesortTrigger):
    fields = ("run_id", "config_path", "poll_seconds")

    def __init__(self, run_id: str, config_path: str, poll_seconds: float):
        super().__init__()
        self.run_id = run_id
        self.config_path = config_path
        self.poll_seconds = poll_seconds

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from facesort.airflow.hooks import ImmichHook
        from facesort.config import load_config
        from facesort.immich.wait import ReadinessPoll
        from facesort.state import State

        try:
            config = await asyncio.to_thread(load_config, self.config_path)
            endpoint = await ImmichHook.from_config(config).aendpoint(config)
            with await asyncio.to_thread(State, config.database_url) as state:
                poller = ReadinessPoll(state, endpoint, self.run_id)
                polls = 0
                while True:
                    status = await asyncio.to_thread(poller.poll)
                    polls += 1
                    if status.finished:
                        yield TriggerEvent({**status.as_dict(), "trigger_polls": polls})
                        return
                    self.log.info("waiting for Immich: %s", status.detail)
                    await asyncio.sleep(self.poll_seconds)
        except Exception as exc:
            # Whatever went wrong reaches the task as an outcome, never a lost run: the
            # files are then matched locally.
            self.log.exception("waiting for Immich failed")
            yield TriggerEvent(
                {
                    "finished": True,
                    "outcome": "unavailable",
                    "detail": f"{type(exc).__name__}: {exc}",
                }
            )
