"""Names carried over, step 1: before any file of the run moves, record what to carry.

:func:`prepare_for_run` warns once when the library or review folder is imported by no
Immich library (Immich would then drop the names), and :func:`record_faces` records each
named Immich face of the run's files, as read for the run (``immich_file``), in
``immich_carry`` (status ``pending``) for :mod:`facesort.immich.carry_pass` to write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.errors import ImmichError, ImmichUnavailable
from facesort.immich.endpoint import ImmichEndpoint
from facesort.immich.writes import ImmichFaceWrites
from facesort.state import State
from facesort.state.models import ImmichCarry, ImmichFile
from facesort.vocab import CarryStatus, ImmichFileStatus, ImmichStatus, TransferOp

log = logging.getLogger(__name__)


def carrying(endpoint: ImmichEndpoint | None) -> bool:
    return endpoint is not None and bool(getattr(endpoint.settings, "carry_names", True))


def _endpoint(config: Config, resolve: Callable[[Config], ImmichEndpoint | None] | None):
    from facesort.immich.endpoint import endpoint_from_config

    try:
        return (resolve or endpoint_from_config)(config)
    except ImmichError:
        return None  # the run's Immich record already says what is wrong


def uncovered_destinations(
    config: Config, endpoint: ImmichEndpoint, libraries: list[dict[str, Any]]
) -> dict[str, str]:
    """Host folder -> container folder, for the destinations no library imports."""
    from facesort.immich.prepare import covering_libraries

    folders = {
        str(d): endpoint.path_map.to_container(str(d))
        for d in (config.library_dir, config.review_dir)
    }
    _, uncovered = covering_libraries(libraries, folders)
    return {host: folders[host] for host in uncovered}


def destination_warning(uncovered: dict[str, str]) -> str:
    described = ", ".join(f"{h} (in Immich: {c})" for h, c in uncovered.items())
    return (
        f"facesort moves files out of Immich's libraries into {described}, which no Immich "
        "library imports: Immich then drops the names the user gave those files (the old "
        "asset is trashed with them, and after 30 days the people go too). To keep them, "
        "add these folders to the import paths of a library (Immich: Administration > "
        "External Libraries), or set transfer_mode: copy so the originals stay in staging."
    )


def prepare_for_run(
    state: State,
    config: Config,
    run_id: str,
    *,
    resolve: Callable[[Config], ImmichEndpoint | None] | None = None,
) -> dict[str, Any]:
    """Before the run's files move: warn about destinations no library sees, and
    record each named Immich face of the run's files. Never raises for Immich."""
    from facesort.immich.run_record import get_run

    endpoint = _endpoint(config, resolve)
    run = get_run(state, run_id)
    if endpoint is None or run is None or run.status != ImmichStatus.OK:
        return {"recorded": 0, "skipped": "Immich is not usable in this run"}
    with state.session() as session:
        known = session.scalar(
            sa.select(sa.func.count()).select_from(ImmichFile).where(ImmichFile.run_id == run_id)
        )
    result: dict[str, Any] = {"recorded": 0}
    if known and config.transfer_mode == TransferOp.MOVE:
        try:
            with ImmichFaceWrites(endpoint, server_version=run.server_version) as api:
                uncovered = uncovered_destinations(config, endpoint, api.libraries())
        except (ImmichUnavailable, ImmichError) as exc:
            uncovered = {}
            log.info("libraries not checked: %s", exc)
        if uncovered:
            result["warning"] = destination_warning(uncovered)
            log.warning("%s", result["warning"])
    if not carrying(endpoint):
        result["skipped"] = "immich.carry_names is off"
        return result
    result["recorded"] = record_faces(state, run_id)
    return result


def record_faces(state: State, run_id: str) -> int:
    """``immich_carry`` rows for the named faces Immich had on the run's files; a retry
    of the same step records nothing twice."""
    from facesort.immich.faces import ImmichFace

    added = 0
    with state.session() as session:
        rows = session.scalars(
            sa.select(ImmichFile).where(
                ImmichFile.run_id == run_id,
                ImmichFile.status == ImmichFileStatus.FACES,
                ImmichFile.asset_id.is_not(None),
            )
        ).all()
        for row in rows:
            existing = {
                (c.person_id, tuple(c.box))
                for c in session.scalars(
                    sa.select(ImmichCarry).where(
                        ImmichCarry.file_id == row.file_id,
                        ImmichCarry.old_asset_id == row.asset_id,
                    )
                )
            }
            for data in row.faces or []:
                face = ImmichFace.from_json(data)
                name = (face.name or "").strip()
                if not face.person_id or not name or face.box is None:
                    continue  # unnamed clusters and unassigned faces: Immich redoes them
                if (face.person_id, tuple(face.box)) in existing:
                    continue
                session.add(
                    ImmichCarry(
                        file_id=row.file_id,
                        group_id=run_id,
                        old_asset_id=row.asset_id,
                        old_path=row.container_path,
                        person_id=face.person_id,
                        person_name=name,
                        box=list(face.box),
                        status=CarryStatus.PENDING,
                        quiet_polls=0,
                        missing_polls=0,
                    )
                )
                existing.add((face.person_id, tuple(face.box)))
                added += 1
    return added
