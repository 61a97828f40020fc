"""The triggers that wait in Airflow's triggerer for Immich: :class:`FacesortTrigger`,
the loop every such wait shares, and :class:`ImmichReadyTrigger`, which waits until
Immich's face data is final (the carry-over's trigger is in :mod:`~facesort.airflow.carry`).

The ready trigger runs the same :class:`facesort.immich.wait.ReadinessPoll` as the
sensor's reschedule mode and ``facesort run``: one implementation of "ready", with the
progress kept in the state database. Each poll is a few short HTTP requests (and at
most one database query) with timeouts; it runs in a worker thread so the triggerer's
event loop never blocks, and the wait between polls is an ``asyncio.sleep``.

The triggerer needs what the workers need: the facesort package, the config file the
sensor names, and access to the state database and Immich.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

from airflow.triggers.base import BaseTrigger, TriggerEvent


class FacesortTrigger(BaseTrigger):
    """A trigger that looks at Immich until a look says it is finished.

    Its ``fields`` are its keyword arguments, kept as attributes of the same names and
    what it serializes to (one of them is ``config_path``, another ``poll_seconds``).
    :meth:`run` loads the config, reaches Immich and opens the state database, then calls
    the look that :meth:`looker` gives, in a worker thread, every ``poll_seconds`` until
    :meth:`finished`; its event is the last look's ``as_dict()`` and how many looks it
    took. Whatever goes wrong ends the wait with an event too (the task resumes and the
    files are matched locally), never a lost run."""

    fields: tuple[str, ...] = ()
    looks_key = "trigger_looks"  # the event's count of looks
    waiting_message = "waiting for Immich: %s"  # logged with each look's detail
    failed_message = "waiting for Immich failed"
    failed_event: ClassVar[dict[str, str]] = {}  # what a failure's event says besides its detail

    def __init__(self, **values: Any):
        super().__init__()
        if set(values) != set(self.fields):
            raise TypeError(f"{type(self).__name__} takes {self.fields}, got {tuple(values)}")
        for name in self.fields:
            setattr(self, name, values[name])

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {name: getattr(self, name) for name in self.fields},
        )

    def looker(self, state: Any, config: Any, endpoint: Any) -> Callable[[], Any]:
        """The look, called once per poll: it returns a status with ``finished``,
        ``detail`` and ``as_dict()``."""
        raise NotImplementedError

    def finished(self, status: Any, waited_seconds: float) -> bool:
        """Whether to stop after this look (a subclass may add its own deadline)."""
        return status.finished

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from facesort.airflow.hooks import ImmichHook
        from facesort.config import load_config
        from facesort.state import State

        try:
            config = await asyncio.to_thread(load_config, self.config_path)
            endpoint = await ImmichHook.from_config(config).aendpoint(config)
            started = time.monotonic()
            with await asyncio.to_thread(State, config.database_url) as state:
                look = self.looker(state, config, endpoint)
                looks = 0
                while True:
                    status = await asyncio.to_thread(look)
                    looks += 1
                    if self.finished(status, time.monotonic() - started):
                        yield TriggerEvent({**status.as_dict(), self.looks_key: looks})
                        return
                    self.log.info(self.waiting_message, status.detail)
                    await asyncio.sleep(self.poll_seconds)
        except Exception as exc:
            self.log.exception(self.failed_message)
            yield TriggerEvent(
                {"finished": True, **self.failed_event, "detail": f"{type(exc).__name__}: {exc}"}
            )


class ImmichReadyTrigger(FacesortTrigger):
    """Polls until the run's face data is final; the poll keeps the deadline and the
    quiet streak in the state database, as in the sensor's reschedule mode."""

    fields = ("run_id", "config_path", "poll_seconds")
    looks_key = "trigger_polls"
    failed_event: ClassVar[dict[str, str]] = {"outcome": "unavailable"}

    def looker(self, state: Any, config: Any, endpoint: Any) -> Callable[[], Any]:
        from facesort.immich.wait import ReadinessPoll

        return ReadinessPoll(state, endpoint, self.run_id).poll
