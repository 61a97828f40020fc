"""Helpers shared by the review tests: a review queue built from the shared photos."""

from __future__ import annotations

import shutil
from datetime import timedelta

import sqlalchemy as sa

from facesort.sorting.run import run_once
from facesort.state import State
from facesort.state.models import MediaFile

# Where the shared photos land when facesort has no reference photo of obama: his seven
# photos are unknown faces in review/unidentified (the four pillar-boxed sizes are one
# picture: 1080p is kept, the other three are its duplicates).
OBAMA_UNIDENTIFIED = {
    "obama1.jpg",
    "obama_small.jpg",
    "obama-1080p.jpg",
    "32bit.png",
    "obama3.jpg",
    "obama_partial_face.jpg",
    "obama_partial_face2.jpg",
}
# ...and he is one of the faces of these two (with biden, and an unknown third face).
OBAMA_WITH_OTHERS = {"two_people.jpg", "obama_and_biden.jpg"}


def queue_without_obama(ws, stage_only=None) -> State:
    """Sort the workspace's staged photos with obama's reference photos removed."""
    shutil.rmtree(ws.references / "obama")
    if stage_only is not None:
        for path in ws.staging.iterdir():
            if path.name not in stage_only:
                path.unlink()
    run_once(ws.config(), workers=1)
    return State(ws.config().database_url)


def file_id(state: State, name: str) -> int:
    """The id of the file staged as ``name``."""
    with state.session() as session:
        ids = session.scalars(
            sa.select(MediaFile.id).where(MediaFile.source_path.like(f"%/{name}"))
        ).all()
    assert len(ids) == 1, f"{name}: {ids}"
    return ids[0]


def record(state: State, file_id_: int) -> MediaFile:
    with state.session() as session:
        return session.get(MediaFile, file_id_)


def backdate(state: State, file_id_: int, days: float) -> None:
    """Pretend a file's last decision (e.g. its rejection) was ``days`` days ago."""
    with state.session() as session:
        media = session.get(MediaFile, file_id_)
        media.decided_at = media.decided_at - timedelta(days=days)
