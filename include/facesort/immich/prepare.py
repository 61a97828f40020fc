"""Making Immich look at the run's files: probe the server, check the key, queue scans.

:func:`prepare_run` (after the run's files are claimed) probes the server once (version,
is face recognition on?), checks everything the key must be allowed to do for a run at
once, so that every missing permission is named in one message rather than one per run,
finds the external library whose import path covers each staging folder, and queues its
scan. :func:`rescan_after_routing` queues the scans again so Immich sees the files at
their new place.

A key that cannot read the job queues (``job.read``; ``queue.read`` on v2.3+) costs only
the wait: the names Immich already has are read without waiting for its face detection.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from facesort.config import Config
from facesort.errors import (
    ImmichError,
    ImmichNotAdminError,
    ImmichPermissionError,
    ImmichUnavailable,
)
from facesort.immich.api import ImmichApi
from facesort.immich.endpoint import ImmichEndpoint, PathMap
from facesort.immich.run_record import get_run, run_files, save_run
from facesort.state import State
from facesort.state.models import ImmichRun, utcnow
from facesort.vocab import ImmichStatus, WaitOutcome
from facesort.words import form, plural


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


class _Access:
    """What the key turned out to be allowed to do, collected over one run's probes."""

    def __init__(self, endpoint: ImmichEndpoint):
        self.endpoint = endpoint
        self.missing: list[str] = []
        self.not_admin: ImmichNotAdminError | None = None

    def attempt(self, call, permission: str):
        """``call()``; on a 403 remember why and answer None."""
        try:
            return call()
        except ImmichNotAdminError as exc:
            self.not_admin = self.not_admin or exc
        except ImmichPermissionError as exc:
            needed = exc.permission or permission
            if needed not in self.missing:
                self.missing.append(needed)
        return None

    def problem(self, *, blocking: set[str]) -> ImmichError | None:
        """One error naming everything to fix, when something blocks the run."""
        if self.not_admin is not None:
            extra = ""
            if self.missing:
                extra = f" The key also lacks {', '.join(self.missing)}."
            return ImmichError(f"{self.not_admin}{extra}")
        if not set(self.missing) & blocking:
            return None
        needed = ", ".join(self.missing)
        return ImmichError(
            f"The API key for Immich at {self.endpoint.base_url} lacks the "
            f"{form(self.missing, 'permission')} "
            f"{needed}. In Immich, edit the key (Account Settings > API Keys) and add "
            f"{'them all' if len(self.missing) > 1 else 'it'}, or use a key with 'all'."
        )


def prepare_run(
    state: State, config: Config, endpoint: ImmichEndpoint | None, run_id: str
) -> ImmichRun:
    """Probe Immich, check the key, and queue the scan of the libraries covering staging."""
    if endpoint is None:
        return save_run(
            state, run_id, status=ImmichStatus.DISABLED, message="Immich is not configured"
        )
    files = run_files(state, run_id, endpoint.path_map)
    if not files:
        return save_run(
            state,
            run_id,
            status=ImmichStatus.OK,
            message="no new files",
            wait_outcome=WaitOutcome.SKIPPED,
        )
    note = None
    try:
        with ImmichApi(endpoint) as api:
            info = api.server_info()
            if not info.facial_recognition:
                return save_run(
                    state,
                    run_id,
                    status=ImmichStatus.NO_RECOGNITION,
                    server_version=info.version_text,
                    message=f"facial recognition is switched off in Immich {info.version_text} "
                    f"at {endpoint.base_url} (Administration > Settings > Machine Learning): "
                    "every file is matched locally",
                )
            folders = {str(d): endpoint.path_map.to_container(str(d)) for d in config.staging_dirs}
            access = _Access(endpoint)
            libraries = access.attempt(api.libraries, "library.read")
            queues = access.attempt(api.queue_counts, "job.read")
            probe_folder = next(iter(folders.values()))
            access.attempt(lambda: api.probe_search(probe_folder), "asset.read")
            if endpoint.settings.sync_references:
                access.attempt(lambda: next(api.people(), None), "person.read")
            chosen: dict[str, dict[str, Any]] = {}
            if libraries is not None:
                chosen, uncovered = covering_libraries(libraries, folders)
                if uncovered:
                    described = ", ".join(f"{h} (in Immich: {folders[h]})" for h in uncovered)
                    raise ImmichError(
                        f"No external library in Immich at {endpoint.base_url} imports the "
                        f"staging {form(uncovered, 'folder')} {described}. In Immich "
                        "(Administration > External Libraries) add the folder as an import "
                        "path of the library, or fix immich.path_map (host folder: the same "
                        "folder as Immich's container sees it)."
                    )
                if access.not_admin is None:  # scanned even so, to name all that is missing
                    for library_id in chosen:
                        if access.attempt(
                            lambda i=library_id: api.scan_library(i) or True, "library.update"
                        ) is None:  # fmt: skip
                            break
            problem = access.problem(blocking={"library.read", "library.update", "asset.read"})
            if problem is not None:
                raise problem
            if queues is None:
                note = (
                    f"the API key cannot read Immich's job queues (it lacks "
                    f"{', '.join(p for p in access.missing if p in {'job.read', 'queue.read'})}"
                    "): facesort did not wait for Immich's face detection, and used the names "
                    "Immich already had. Add the permission to the key (Account Settings > API "
                    "Keys) for new files to be named by Immich in the same run."
                )
    except ImmichUnavailable as exc:
        return save_run(state, run_id, status=ImmichStatus.UNAVAILABLE, message=str(exc))
    except ImmichError as exc:
        return save_run(state, run_id, status=ImmichStatus.ERROR, message=str(exc))
    now = utcnow()
    wait = endpoint.settings.wait
    return save_run(
        state,
        run_id,
        status=ImmichStatus.OK,
        message=note,
        server_version=info.version_text,
        library_ids=sorted(chosen),
        scan_requested_at=now,
        wait_deadline=now + timedelta(seconds=wait.max_wait_seconds),
        polls=0,
        quiet_streak=0,
        wait_outcome=WaitOutcome.NO_QUEUES if note else WaitOutcome.WAITING,
        wait_detail=note,
    )


def rescan_after_routing(
    state: State, config: Config, endpoint: ImmichEndpoint | None, run_id: str, moved: int
) -> str:
    """Queue scans of the libraries covering staging, library and review; says what it did."""
    if endpoint is None or not endpoint.settings.rescan_after_routing:
        return "rescan after routing is off"
    run = get_run(state, run_id)
    if run is None or run.status != ImmichStatus.OK:
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
    save_run(state, run_id, rescanned_at=utcnow())
    return f"scan queued for {plural(chosen, 'library', 'libraries')}"
