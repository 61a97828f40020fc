"""A run's Immich record (``immich_run``) and its files as Immich sees them.

The base the run's steps share (:mod:`~facesort.immich.prepare`,
:mod:`~facesort.immich.wait`, :mod:`~facesort.immich.read`,
:mod:`~facesort.immich.carry_record`); :mod:`~facesort.immich.runs` puts the steps
together and says what they came to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from facesort.immich.endpoint import PathMap
from facesort.state import State
from facesort.state.models import Batch, ImmichRun, MediaFile, utcnow
from facesort.vocab import FileStatus, ImmichStatus

# The one wording of "Immich did not help", whatever the cause (key, permission,
# unreachable, every asset stale): the CLI and the Airflow task print it the same way.
NOT_USED = "Immich was not used"


@dataclass(frozen=True)
class RunFile:
    file_id: int
    host_path: str
    container_path: str
    mtime_ns: int
    size: int | None = None


def run_files(state: State, run_id: str, path_map: PathMap) -> list[RunFile]:
    """The files claimed by the run's batches, with their paths as Immich sees them."""
    with state.session() as session:
        rows = session.execute(
            sa.select(MediaFile.id, MediaFile.source_path, MediaFile.mtime_ns, MediaFile.size)
            .join(Batch, Batch.id == MediaFile.batch_id)
            .where(Batch.run_id == run_id, MediaFile.status == FileStatus.CLAIMED)
            .order_by(MediaFile.id)
        ).all()
    return [RunFile(i, p, path_map.to_container(p), m, s) for i, p, m, s in rows]


def save_run(state: State, run_id: str, **values: Any) -> ImmichRun:
    with state.session() as session:
        row = session.get(ImmichRun, run_id)
        if row is None:
            row = ImmichRun(run_id=run_id, status=values.pop("status", ImmichStatus.OK))
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


def aware(value: datetime | None) -> datetime:
    if value is None:
        return utcnow()
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)
