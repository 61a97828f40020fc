"""Using what Immich said about a file when sorting it.

Sorting never calls Immich: :class:`StoredImmichNames` reads the ``immich_file`` rows the
run stored (one query per batch). Then, per file:

- every face Immich found is of a named, not hidden person -> Immich decides; facesort
  does not even run its own face detection on the file;
- some faces named, others not -> local detection runs; each local face overlapping a
  named Immich face takes Immich's name, the others are matched locally; faces only
  Immich saw count as unknown faces;
- nothing usable from Immich (no asset, face data not final, no face, Immich down) ->
  local matching as without Immich.

The decision's reason says which path decided, and why Immich did not.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from facesort.immich.faces import ImmichFace
from facesort.matching import FaceMatch
from facesort.state import State
from facesort.state.models import ImmichFile, MediaFile
from facesort.vocab import ImmichFileStatus
from facesort.words import plural

if TYPE_CHECKING:
    from facesort.faces import DetectedFace
    from facesort.policy import Decision

# Boxes of the same face from two detectors overlap at least this much (intersection
# over union); RetinaFace boxes are larger than dlib's, hence the low bar.
MIN_OVERLAP = 0.25


@dataclass(frozen=True)
class ImmichView:
    """What Immich said about one file, for the run that sorts it."""

    status: str  # an ImmichFileStatus
    detail: str
    faces: tuple[ImmichFace, ...] = ()

    @property
    def resolved(self) -> bool:
        """Immich alone can decide: it found faces and every one is a named person."""
        return (
            self.status == ImmichFileStatus.FACES
            and bool(self.faces)
            and all(f.named for f in self.faces)
        )

    @property
    def named(self) -> list[ImmichFace]:
        return [f for f in self.faces if f.named] if self.status == ImmichFileStatus.FACES else []


class StoredImmichNames:
    """Immich's answers for the files of a batch, loaded with one query per batch."""

    def __init__(self, state: State):
        self.state = state
        self._views: dict[int, ImmichView] = {}
        self._loaded: set[int | None] = set()

    def for_file(self, media: MediaFile) -> ImmichView | None:
        if media.batch_id not in self._loaded:
            self._load(media.batch_id)
        return self._views.get(media.id)

    def _load(self, batch_id: int | None) -> None:
        self._loaded.add(batch_id)
        if batch_id is None:
            return
        with self.state.session() as session:
            rows = session.execute(
                sa.select(
                    ImmichFile.file_id, ImmichFile.status, ImmichFile.detail, ImmichFile.faces
                )
                .join(MediaFile, MediaFile.id == ImmichFile.file_id)
                .where(MediaFile.batch_id == batch_id)
            ).all()
        for file_id, status, detail, faces in rows:
            self._views[file_id] = ImmichView(
                status, detail or "", tuple(ImmichFace.from_json(f) for f in faces or [])
            )


def immich_matches(view: ImmichView) -> list[FaceMatch]:
    """One sure match per face, when Immich named every face."""
    return [FaceMatch(person=f.name, confidence="sure", source="immich") for f in view.faces]


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def combine(
    view: ImmichView, faces: list[DetectedFace], local: list[FaceMatch]
) -> tuple[list[DetectedFace], list[FaceMatch]]:
    """Faces and matches of a photo Immich partly resolved (see the module docstring)."""
    from facesort.faces import DetectedFace

    pairs: dict[int, int] = {}  # Immich face index -> local face index
    candidates = sorted(
        (
            (_overlap(immich.box, face.box), i, j)
            for i, immich in enumerate(view.faces)
            if immich.box is not None
            for j, face in enumerate(faces)
        ),
        reverse=True,
    )
    used: set[int] = set()
    for overlap, i, j in candidates:
        if overlap < MIN_OVERLAP:
            break
        if i not in pairs and j not in used:
            pairs[i] = j
            used.add(j)
    out_faces: list[DetectedFace] = []
    out_matches: list[FaceMatch] = []
    for i, immich in enumerate(view.faces):
        j = pairs.get(i)
        face = (
            faces[j]
            if j is not None
            else DetectedFace(box=immich.box or (0.0, 0.0, 0.0, 0.0), encoding=None)
        )
        if immich.named:
            match = FaceMatch(person=immich.name, confidence="sure", source="immich")
        elif j is not None:
            match = local[j]
        else:
            match = FaceMatch(person=None, confidence="unknown", source="immich")
        out_faces.append(face)
        out_matches.append(match)
    for j, face in enumerate(faces):
        if j not in used:  # a face only dlib found
            out_faces.append(face)
            out_matches.append(local[j])
    return out_faces, out_matches


def annotate(decision: Decision, view: ImmichView | None, decided_by: str) -> Decision:
    """Say in the reason which path decided: Immich, Immich and local, or local (and why)."""
    if view is None:
        return decision
    if decided_by == "immich":
        note = "decided by Immich"
    elif decided_by == "immich+local":
        note = (
            f"Immich named {len(view.named)} of {plural(view.faces, 'face')}; the others were "
            "matched locally"
        )
    else:
        note = f"matched locally: {view.detail}"
    details = {
        **decision.details,
        "decided_by": decided_by,
        "immich": {"status": view.status, "detail": view.detail},
    }
    return dataclasses.replace(decision, summary=f"{decision.summary} [{note}]", details=details)
