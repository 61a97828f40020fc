"""Is the face data for the run's files final yet?

Either every file has an asset and the face queues were idle for
``immich.wait.quiet_polls`` polls in a row, or (with the database) detection has finished
for every file (``facesRecognizedAt``). The progress is kept in ``immich_run``, so a
sensor in reschedule mode, a trigger and the command all poll the same way
(:class:`ReadinessPoll`); :func:`poll_until_ready` polls until done (``facesort run``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from facesort.errors import ImmichError, ImmichUnavailable
from facesort.immich.api import FACE_QUEUES, ImmichApi
from facesort.immich.database import ImmichDatabase
from facesort.immich.endpoint import ImmichEndpoint
from facesort.immich.run_record import RunFile, aware, get_run, run_files, save_run
from facesort.state import State
from facesort.state.models import ImmichRun, utcnow
from facesort.vocab import ImmichStatus, WaitOutcome
from facesort.words import plural

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WaitStatus:
    finished: bool
    outcome: str  # a WaitOutcome
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"finished": self.finished, "outcome": self.outcome, "detail": self.detail}


class ReadinessPoll:
    """One look at Immich: is the face data of the run's files final yet?"""

    def __init__(self, state: State, endpoint: ImmichEndpoint | None, run_id: str):
        self.state = state
        self.endpoint = endpoint
        self.run_id = run_id

    def _finish(self, outcome: str, detail: str) -> WaitStatus:
        save_run(self.state, self.run_id, wait_outcome=outcome, wait_detail=detail)
        return WaitStatus(True, outcome, detail)

    def poll(self, now: datetime | None = None) -> WaitStatus:
        run = get_run(self.state, self.run_id)
        if run is None or self.endpoint is None:
            return WaitStatus(True, WaitOutcome.SKIPPED, "Immich is not used in this run")
        if run.wait_outcome != WaitOutcome.WAITING:
            if run.status != ImmichStatus.OK:
                return WaitStatus(True, WaitOutcome.SKIPPED, run.message or run.status)
            return WaitStatus(True, run.wait_outcome or WaitOutcome.SKIPPED, run.wait_detail or "")
        now = now or utcnow()
        files = run_files(self.state, self.run_id, self.endpoint.path_map)
        paths = [f.container_path for f in files]
        polls = run.polls + 1
        try:
            recognized_all, assets_found = self._database_progress(paths, run)
            if recognized_all:
                return self._finish(
                    WaitOutcome.READY,
                    f"face detection finished for all {plural(paths, 'file')} (database)",
                )
            with ImmichApi(self.endpoint, server_version=run.server_version) as api:
                counts = api.queue_counts()
                busy = {q: counts[q].pending for q in FACE_QUEUES if q in counts}
                quiet = not any(busy.values())
                streak = run.quiet_streak + 1 if quiet else 0
                if quiet and assets_found is None and streak >= self._needed():
                    assets_found = self._api_assets_found(api, files, run)
        except ImmichUnavailable as exc:
            if now >= aware(run.wait_deadline):
                return self._finish(WaitOutcome.UNAVAILABLE, str(exc))
            save_run(self.state, self.run_id, polls=polls, quiet_streak=0)
            return WaitStatus(False, WaitOutcome.WAITING, f"Immich did not answer: {exc}")
        except ImmichError as exc:
            save_run(self.state, self.run_id, status=ImmichStatus.ERROR, message=str(exc))
            return self._finish(WaitOutcome.UNAVAILABLE, str(exc))
        needed = self._needed()
        save_run(self.state, self.run_id, polls=polls, quiet_streak=streak)
        if quiet and streak >= needed:
            missing = len(paths) - (assets_found or 0)
            if not missing:
                return self._finish(
                    WaitOutcome.READY,
                    f"face queues idle for {streak} polls; all {plural(paths, 'file')} in Immich",
                )
            if streak >= 2 * needed:
                # The scan is over and some files did not become assets (excluded, or not
                # under an import path): they are matched locally.
                return self._finish(
                    WaitOutcome.READY,
                    f"face queues idle for {streak} polls; {missing} of {plural(paths, 'file')} "
                    "have no asset in Immich",
                )
        if now >= aware(run.wait_deadline):
            pending = ", ".join(f"{q}: {n}" for q, n in busy.items() if n) or "none"
            return self._finish(
                WaitOutcome.TIMEOUT,
                f"gave up after {polls} polls ({self.endpoint.settings.wait.max_wait_seconds:g} s;"
                f" jobs still pending: {pending})",
            )
        pending = ", ".join(f"{q}: {n}" for q, n in busy.items() if n)
        detail = f"jobs pending ({pending})" if pending else f"queues idle {streak}/{needed} polls"
        return WaitStatus(False, WaitOutcome.WAITING, detail)

    def _needed(self) -> int:
        assert self.endpoint is not None
        return self.endpoint.settings.wait.quiet_polls

    def _database_progress(self, paths: list[str], run: ImmichRun) -> tuple[bool, int | None]:
        """(detection finished for all, assets found) from the database; (False, None)
        without one, or when it cannot be read."""
        assert self.endpoint is not None
        if not self.endpoint.has_db:
            return False, None
        database = ImmichDatabase(self.endpoint.db_url or "", source=self.endpoint.db_source or "")
        try:
            found, recognized = database.progress(paths, run.library_ids)
        except (ImmichUnavailable, ImmichError) as exc:
            log.warning("%s", exc)
            return False, None
        finally:
            database.dispose()
        return bool(paths) and recognized == len(paths), found

    @staticmethod
    def _api_assets_found(api: ImmichApi, files: list[RunFile], run: ImmichRun) -> int:
        from facesort.immich.read import search_assets

        wanted = {f.container_path for f in files}
        return len(search_assets(api, wanted, run.library_ids))


def poll_until_ready(
    state: State, endpoint: ImmichEndpoint | None, run_id: str, *, sleep=None
) -> WaitStatus:
    """Poll until the face data is final or the wait gives up (``facesort run``)."""
    import time

    sleep = sleep or time.sleep
    poller = ReadinessPoll(state, endpoint, run_id)
    while True:
        status = poller.poll()
        if status.finished:
            return status
        log.info("waiting for Immich: %s", status.detail)
        assert endpoint is not None
        sleep(endpoint.settings.wait.poll_seconds)
