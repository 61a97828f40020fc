"""Who Immich says is in each of the run's files, read once for all of them.

:func:`read_names` reads the run's files with one database query, or one search request
per folder, visibility and page, into ``immich_file``; sorting reads them from there
(:mod:`~facesort.immich.resolve`). Each file's status says what Immich's answer is worth:

- the asset must describe the staged file: its modification time (and size, where
  Immich gives it) must match, else it is ``stale`` and the detail says what differed;
- its face data must be final: detection finished for the asset in the database
  (``facesRecognizedAt``), or Immich's face queues were idle after the scan. Both
  signals count in both modes: a face made by hand, or one that exists while the machine
  learning failed, never sets ``facesRecognizedAt``, and the queues say it is final all
  the same. The detail names the signal that decided.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

import sqlalchemy as sa

from facesort.errors import ImmichError, ImmichUnavailable
from facesort.immich.api import ImmichApi
from facesort.immich.database import ImmichDatabase
from facesort.immich.endpoint import ImmichEndpoint, PathMap
from facesort.immich.faces import AssetFaces, ImmichFace
from facesort.immich.run_record import NOT_USED, RunFile, aware, get_run, run_files, save_run
from facesort.state import State
from facesort.state.models import ImmichFile, utcnow
from facesort.vocab import ImmichFileStatus, ImmichStatus, ReadySignal, WaitOutcome
from facesort.words import plural

log = logging.getLogger(__name__)

# An asset describes the staged file only if Immich read the file at this mtime.
MTIME_TOLERANCE = timedelta(seconds=2)
SIGNAL_WORDS = {
    ReadySignal.DATABASE: "detection finished (facesRecognizedAt, database)",
    ReadySignal.QUEUES: "Immich's face queues idle after the scan",
    ReadySignal.NONE: "face data maybe incomplete (the job queues could not be read)",
}


def search_assets(
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
                    asset.faces = [
                        ImmichFace.from_api(face, face.get("person"))
                        for face in api.faces(asset.asset_id)
                    ]
                if asset.path not in found or (found[asset.path].offline and not asset.offline):
                    found[asset.path] = asset
    return found


def _differences(asset: AssetFaces, file: RunFile) -> list[str]:
    """What tells that Immich read another file at this path than the one staged."""
    differences = []
    if asset.modified_at is not None:
        staged = datetime.fromtimestamp(file.mtime_ns / 1e9, tz=utcnow().tzinfo)
        immich = aware(asset.modified_at)
        if abs(immich - staged) > MTIME_TOLERANCE:
            differences.append(
                f"modified {immich:%Y-%m-%d %H:%M:%S} in Immich, {staged:%Y-%m-%d %H:%M:%S} "
                "now (UTC)"
            )
    if asset.size is not None and file.size is not None and asset.size != file.size:
        differences.append(f"{asset.size} bytes in Immich, {file.size} now")
    return differences


def classify(asset: AssetFaces | None, file: RunFile, wait_outcome: str | None) -> tuple[str, str]:
    """(ImmichFileStatus, detail) of one file, from its asset and how the wait ended."""
    if asset is None:
        return ImmichFileStatus.NO_ASSET, "Immich has no asset for this file"
    differences = _differences(asset, file)
    if differences:
        return ImmichFileStatus.STALE, (
            f"Immich's asset {asset.asset_id} was read from another file at this path "
            f"({'; '.join(differences)})"
        )
    if asset.recognized:
        signal = ReadySignal.DATABASE
    elif wait_outcome == WaitOutcome.READY:
        signal = ReadySignal.QUEUES
    elif wait_outcome == WaitOutcome.NO_QUEUES and asset.faces:
        signal = ReadySignal.NONE  # the faces there are used; more may come
    else:
        return ImmichFileStatus.NOT_READY, "Immich had not finished face detection"
    words = SIGNAL_WORDS[signal]
    if not asset.faces:
        return ImmichFileStatus.NO_FACE, f"Immich found no face ({words})"
    named = sum(1 for f in asset.faces if f.named)
    return ImmichFileStatus.FACES, f"Immich: {plural(asset.faces, 'face')}, {named} named ({words})"


def read_names(state: State, endpoint: ImmichEndpoint | None, run_id: str) -> dict[str, int]:
    """Who Immich says is in each of the run's files, into ``immich_file``; counts by status.

    When Immich was not usable in this run every file gets the status ``unavailable``;
    the cause is the run's (said once, by the run), not each file's.
    """
    run = get_run(state, run_id)
    if run is None or run.status == ImmichStatus.DISABLED:
        return {}
    files = run_files(state, run_id, endpoint.path_map if endpoint else PathMap())
    if not files:
        return {}
    source = None
    assets: dict[str, AssetFaces] = {}
    unavailable: str | None = None
    if run.status != ImmichStatus.OK or endpoint is None:
        unavailable = f"{NOT_USED} in this run"
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
                    assets, source = search_assets(api, wanted, run.library_ids), "api"
        except (ImmichUnavailable, ImmichError) as exc:
            save_run(state, run_id, status=ImmichStatus.UNAVAILABLE, message=str(exc))
            unavailable = f"{NOT_USED} in this run"
    counts: dict[str, int] = {}
    with state.session() as session:
        session.execute(
            sa.delete(ImmichFile).where(ImmichFile.file_id.in_([f.file_id for f in files]))
        )
        for file in files:
            asset = assets.get(file.container_path)
            if unavailable is not None:
                status, detail = ImmichFileStatus.UNAVAILABLE, unavailable
            else:
                status, detail = classify(asset, file, run.wait_outcome)
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
    save_run(state, run_id, names_read_at=utcnow())
    return counts
