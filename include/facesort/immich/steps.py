"""Immich's part in one run, step by step; the same for Airflow tasks and ``facesort run``.

1. :func:`prepare_run` (after the run's files are claimed): probe the server once
   (version, is face recognition on?), find the external library whose import path
   covers each staging folder, and queue its scan.
2. :func:`poll_until_ready` / :class:`ReadinessPoll`: is the face data for the run's files
   final? Either every file has an asset and the face queues were idle for
   ``immich.wait.quiet_polls`` polls in a row, or (with the database) detection has
   finished for every file. The progress is kept in ``immich_run``, so a sensor in
   reschedule mode, a trigger and the command all poll the same way.
3. :func:`read_names`: who is in each file, read once for all the run's files (one query,
   or one search request per page) into ``immich_file``; sorting reads it from there.
4. :func:`rescan_after_routing`: queue the scans again so Immich sees files at their new
   place.

Immich being down, slow or misconfigured never stops a run: the run's Immich status says
why, every file is matched locally, and the reason of each decision says so.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.errors import ImmichError, ImmichUnavailable
from facesort.immich.api import FACE_QUEUES, ImmichApi
from facesort.immich.database import ImmichDatabase
from facesort.immich.endpoint import ImmichEndpoint, PathMap
from facesort.immich.faces import AssetFaces
from facesort.state import State
from facesort.state.models import Batch, ImmichFile, ImmichRun, MediaFile, utcnow
from facesort.words import form, plural

log = logging.getLogger(__name__)

OK, DISABLED, UNAVAILABLE, ERROR, NO_RECOGNITION = (
    "ok",
    "disabled",
    "unavailable",
    "error",
    "no_face_recognition",
)
# An asset describes the staged file only if Immich read the file at this mtime.
MTIME_TOLERANCE = timedelta(seconds=2)


@dataclass(frozen=True)
class RunFile:
    file_id: int
    host_path: str
    container_path: str
    mtime_ns: int


def run_files(state: State, run_id: str, path_map: PathMap) -> list[RunFile]:
    """The files claimed by the run's batches, with their paths as Immich sees them."""
    with state.session() as session:
        rows = session.execute(
            sa.select(MediaFile.id, MediaFile.source_path, MediaFile.mtime_ns)
            .join(Batch, Batch.id == MediaFile.batch_id)
            .where(Batch.run_id == run_id, MediaFile.status == "claimed")
            .order_by(MediaFile.id)
        ).all()
    return [RunFile(i, p, path_map.to_container(p), m) for i, p, m in rows]


def _save_run(state: State, run_id: str, **values: Any) -> ImmichRun:
    with state.session() as session:
        row = session.get(ImmichRun, run_id)
        if row is None:
            row = ImmichRun(run_id=run_id, status=values.pop("status", OK))
            session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()
        session.expunge(row)
        return row


def get_run(state: State, run_id: str) -> ImmichRun | None:
    with state.session() as session:
        row = session.get(ImmichRun, run_id)
        if row is not None:
            session.expunge(row)
        return row


# --------------------------------------------------------------------- 1. prepare


def covering_libraries(
    libraries: list[dict[str, Any]], folders: dict[str, str]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Library id -> library for the container ``folders`` (host -> container); and the
    host folders no library's import paths cover."""
    chosen: dict[str, dict[str, Any]] = {}
    uncovered = []
    for host, container in folders.items():
        match = None
        for library in libraries:
            for import_path in library.get("importPaths") or []:
                if PathMap.covers(import_path, container):
                    match = library
                    break
            if match:
                break
        if match is None:
            uncovered.append(host)
        else:
            chosen[str(match["id"])] = match
    return chosen, uncovered


def prepare_run(
    state: State, config: Config, endpoint: ImmichEndpoint | None, run_id: str
) -> ImmichRun:
    """Probe Immich and queue the scan of the libraries covering the staging folders."""
    if endpoint is None:
        return _save_run(state, run_id, status=DISABLED, message="Immich is not configured")
    files = run_files(state, run_id, endpoint.path_map)
    if not files:
        return _save_run(state, run_id, status=OK, message="no new files", wait_outcome="skipped")
    try:
        with ImmichApi(endpoint) as api:
            info = api.server_info()
            if not info.facial_recognition:
                return _save_run(
                    state,
                    run_id,
                    status=NO_RECOGNITION,
                    server_version=info.version_text,
                    message=f"facial recognition is switched off in Immich {info.version_text} "
                    f"at {endpoint.base_url} (Administration > Settings > Machine Learning): "
                    "every file is matched locally",
                )
            folders = {str(d): endpoint.path_map.to_container(str(d)) for d in config.staging_dirs}
            chosen, uncovered = covering_libraries(api.libraries(), folders)
            if uncovered:
                described = ", ".join(f"{h} (in Immich: {folders[h]})" for h in uncovered)
                raise ImmichError(
                    f"No external library in Immich at {endpoint.base_url} imports the staging "
                    f"{form(uncovered, 'folder')} {described}. In Immich (Administration > "
                    "External Libraries) "
                    "add the folder as an import path of the library, or fix immich.path_map "
                    "(host folder: the same folder as Immich's container sees it)."
                )
            for library_id in chosen:
                api.scan_library(library_id)
    except ImmichUnavailable as exc:
        return _save_run(state, run_id, status=UNAVAILABLE, message=str(exc))
    except ImmichError as exc:
        return _save_run(state, run_id, status=ERROR, message=str(exc))
    now = utcnow()
    wait = endpoint.settings.wait
    return _save_run(
        state,
        run_id,
        status=OK,
        message=None,
        server_version=info.version_text,
        library_ids=sorted(chosen),
        scan_requested_at=now,
        wait_deadline=now + timedelta(seconds=wait.max_wait_seconds),
        polls=0,
        quiet_streak=0,
        wait_outcome="waiting",
    )


# --------------------------------------------------------------------- 2. wait


@dataclass(frozen=True)
class WaitStatus:
    finished: bool
    outcome: str  # waiting | ready | timeout | unavailable | skipped
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
        _save_run(self.state, self.run_id, wait_outcome=outcome, wait_detail=detail)
        return WaitStatus(True, outcome, detail)

    def poll(self, now: datetime | None = None) -> WaitStatus:
        run = get_run(self.state, self.run_id)
        if run is None or self.endpoint is None:
            return WaitStatus(True, "skipped", "Immich is not used in this run")
        if run.wait_outcome != "waiting":
            if run.status != OK:
                return WaitStatus(True, "skipped", run.message or run.status)
            return WaitStatus(True, run.wait_outcome or "skipped", run.wait_detail or "")
        now = now or utcnow()
        files = run_files(self.state, self.run_id, self.endpoint.path_map)
        paths = [f.container_path for f in files]
        polls = run.polls + 1
        try:
            recognized_all, assets_found = self._database_progress(paths, run)
            if recognized_all:
                return self._finish(
                    "ready", f"face detection finished for all {plural(paths, 'file')} (database)"
                )
            with ImmichApi(self.endpoint, server_version=run.server_version) as api:
                counts = api.queue_counts()
                busy = {q: counts[q].pending for q in FACE_QUEUES if q in counts}
                quiet = not any(busy.values())
                streak = run.quiet_streak + 1 if quiet else 0
                if quiet and assets_found is None and streak >= self._needed():
                    assets_found = self._api_assets_found(api, files, run)
        except ImmichUnavailable as exc:
            if now >= _aware(run.wait_deadline):
                return self._finish("unavailable", str(exc))
            _save_run(self.state, self.run_id, polls=polls, quiet_streak=0)
            return WaitStatus(False, "waiting", f"Immich did not answer: {exc}")
        except ImmichError as exc:
            _save_run(self.state, self.run_id, status=ERROR, message=str(exc))
            return self._finish("unavailable", str(exc))
        needed = self._needed()
        _save_run(self.state, self.run_id, polls=polls, quiet_streak=streak)
        if quiet and streak >= needed:
            missing = len(paths) - (assets_found or 0)
            if not missing:
                return self._finish(
                    "ready",
                    f"face queues idle for {streak} polls; all {plural(paths, 'file')} in Immich",
                )
            if streak >= 2 * needed:
                # The scan is over and some files did not become assets (excluded, or not
                # under an import path): they are matched locally.
                return self._finish(
                    "ready",
                    f"face queues idle for {streak} polls; {missing} of {plural(paths, 'file')} "
                    "have no asset in Immich",
                )
        if now >= _aware(run.wait_deadline):
            pending = ", ".join(f"{q}: {n}" for q, n in busy.items() if n) or "none"
            return self._finish(
                "timeout",
                f"gave up after {polls} polls ({self.endpoint.settings.wait.max_wait_seconds:g} s;"
                f" jobs still pending: {pending})",
            )
        pending = ", ".join(f"{q}: {n}" for q, n in busy.items() if n)
        detail = f"jobs pending ({pending})" if pending else f"queues idle {streak}/{needed} polls"
        return WaitStatus(False, "waiting", detail)

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
        wanted = {f.container_path for f in files}
        found = _search_assets(api, wanted, run.library_ids)
        return len(found)


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return utcnow()
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


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


# --------------------------------------------------------------------- 3. read


def _search_assets(
    api: ImmichApi, wanted: set[str], library_ids: list[str] | None
) -> dict[str, AssetFaces]:
    """Assets for the ``wanted`` container paths: one search per folder and page."""
    by_folder: dict[str, set[str]] = {}
    for path in wanted:
        by_folder.setdefault(os.path.dirname(path), set()).add(path)
    # Search from the common parent of sibling folders, so nested staging trees cost
    # one paged search, not one per sub-folder.
    folders = sorted(by_folder)
    roots: list[str] = []
    for folder in folders:
        if not any(PathMap.covers(root, folder) for root in roots):
            roots.append(folder)
    found: dict[str, AssetFaces] = {}
    for root in roots:
        for library_id in library_ids or [None]:
            for item in api.assets_under(root, library_id, wanted):
                asset = AssetFaces.from_api_item(item)
                if "people" not in item:
                    # A server that ignores withPeople: ask for this asset's faces.
                    asset.faces = [_face_from_api(face) for face in api.faces(asset.asset_id)]
                if asset.path not in found or (found[asset.path].offline and not asset.offline):
                    found[asset.path] = asset
    return found


def _face_from_api(face: dict[str, Any]):
    from facesort.immich.faces import ImmichFace

    return ImmichFace.from_api(face, face.get("person"))


def _classify(asset: AssetFaces | None, file: RunFile, final: bool) -> tuple[str, str]:
    if asset is None:
        return "no_asset", "Immich has no asset for this file"
    if asset.modified_at is not None:
        staged = datetime.fromtimestamp(file.mtime_ns / 1e9, tz=utcnow().tzinfo)
        if abs(_aware(asset.modified_at) - staged) > MTIME_TOLERANCE:
            return "stale", (
                f"Immich's asset {asset.asset_id} describes an older file at this path "
                f"(modified {asset.modified_at.isoformat()})"
            )
    if asset.recognized is not None:
        final = asset.recognized
    if not final:
        return "not_ready", "Immich had not finished face detection"
    if not asset.faces:
        return "no_face", "Immich found no face"
    named = sum(1 for f in asset.faces if f.named)
    return "faces", f"Immich: {plural(asset.faces, 'face')}, {named} named"


def read_names(state: State, endpoint: ImmichEndpoint | None, run_id: str) -> dict[str, int]:
    """Who Immich says is in each of the run's files, into ``immich_file``; counts by status.

    When Immich was not usable in this run every file gets the status ``unavailable``
    with the reason, so that each decision can say why it was made locally.
    """
    run = get_run(state, run_id)
    if run is None or run.status == DISABLED:
        return {}
    files = run_files(state, run_id, endpoint.path_map if endpoint else PathMap())
    if not files:
        return {}
    source = None
    assets: dict[str, AssetFaces] = {}
    unavailable: str | None = None
    if run.status != OK or endpoint is None:
        unavailable = _first_sentence(run.message or run.status)
    else:
        wanted = {f.container_path for f in files}
        try:
            if endpoint.has_db:
                database = ImmichDatabase(endpoint.db_url or "", source=endpoint.db_source or "")
                try:
                    assets, source = database.assets_for_paths(wanted, run.library_ids), "db"
                except (ImmichUnavailable, ImmichError) as exc:
                    log.warning("%s", exc)
                finally:
                    database.dispose()
            if source is None:
                with ImmichApi(endpoint, server_version=run.server_version) as api:
                    assets, source = _search_assets(api, wanted, run.library_ids), "api"
        except (ImmichUnavailable, ImmichError) as exc:
            unavailable = _first_sentence(str(exc))
    final = run.wait_outcome == "ready"
    counts: dict[str, int] = {}
    with state.session() as session:
        session.execute(
            sa.delete(ImmichFile).where(ImmichFile.file_id.in_([f.file_id for f in files]))
        )
        for file in files:
            asset = assets.get(file.container_path)
            if unavailable is not None:
                status, detail = "unavailable", unavailable
            else:
                status, detail = _classify(asset, file, final)
            counts[status] = counts.get(status, 0) + 1
            session.add(
                ImmichFile(
                    file_id=file.file_id,
                    run_id=run_id,
                    container_path=file.container_path,
                    asset_id=asset.asset_id if asset else None,
                    status=status,
                    detail=detail,
                    faces=[f.as_json() for f in asset.faces] if asset else None,
                    source=source,
                )
            )
    _save_run(state, run_id, names_read_at=utcnow())
    return counts


def _first_sentence(message: str) -> str:
    head, _, _ = message.partition(". ")
    return f"Immich was not usable in this run: {head.rstrip('.')}"


# --------------------------------------------------------------------- 4. rescan


def rescan_after_routing(
    state: State, config: Config, endpoint: ImmichEndpoint | None, run_id: str, moved: int
) -> str:
    """Queue scans of the libraries covering staging, library and review; says what it did."""
    if endpoint is None or not endpoint.settings.rescan_after_routing:
        return "rescan after routing is off"
    run = get_run(state, run_id)
    if run is None or run.status != OK:
        return "Immich was not usable in this run"
    if not moved:
        return "no file moved"
    folders = {
        str(d): endpoint.path_map.to_container(str(d))
        for d in [*config.staging_dirs, config.library_dir, config.review_dir]
    }
    try:
        with ImmichApi(endpoint, server_version=run.server_version) as api:
            chosen, _ = covering_libraries(api.libraries(), folders)
            for library_id in chosen:
                api.scan_library(library_id)
    except (ImmichUnavailable, ImmichError) as exc:
        return f"rescan not queued: {exc}"
    _save_run(state, run_id, rescanned_at=utcnow())
    return f"scan queued for {plural(chosen, 'library', 'libraries')}"


# --------------------------------------------------------------------- a whole run


def resolve_endpoint(
    state: State, config: Config, run_id: str, resolve=None
) -> tuple[ImmichEndpoint | None, ImmichRun | None]:
    """The endpoint (``resolve`` overlays Airflow connections); a settings problem is
    recorded as the run's Immich error instead of stopping the run."""
    from facesort.immich.endpoint import endpoint_from_config

    try:
        return (resolve or endpoint_from_config)(config), None
    except ImmichError as exc:
        return None, _save_run(state, run_id, status=ERROR, message=str(exc))


def before_sorting(
    state: State, config: Config, run_id: str, *, resolve=None, sleep=None
) -> ImmichRun | None:
    """prepare -> wait -> learn people -> read names, in one process (``facesort run``)."""
    endpoint, failed = resolve_endpoint(state, config, run_id, resolve)
    if failed is None:
        run = prepare_run(state, config, endpoint, run_id)
        if run.status == OK and run.wait_outcome == "waiting":
            status = poll_until_ready(state, endpoint, run_id, sleep=sleep)
            log.info("Immich wait: %s (%s)", status.outcome, status.detail)
        if endpoint is not None and run.status == OK and endpoint.settings.sync_references:
            learn_people(config, endpoint)
    read_names(state, endpoint, run_id)
    return get_run(state, run_id)


def learn_people(config: Config, endpoint: ImmichEndpoint) -> dict[str, Any]:
    """Named Immich people -> reference photos; Immich problems only log a warning."""
    from facesort.immich.people import sync_references

    try:
        return sync_references(config, endpoint).as_dict()
    except (ImmichUnavailable, ImmichError) as exc:
        log.warning("people not learnt from Immich: %s", exc)
        return {"error": str(exc)}


def run_summary(state: State, run_id: str) -> dict[str, Any]:
    """Immich's part in a run, small enough for an XCom or a line of output."""
    run = get_run(state, run_id)
    if run is None:
        return {"status": DISABLED}
    with state.session() as session:
        counts = dict(
            session.execute(
                sa.select(ImmichFile.status, sa.func.count())
                .where(ImmichFile.run_id == run_id)
                .group_by(ImmichFile.status)
            ).all()
        )
    return {
        "status": run.status,
        "message": run.message,
        "server_version": run.server_version,
        "wait": run.wait_outcome,
        "wait_detail": run.wait_detail,
        "files": counts,
    }
