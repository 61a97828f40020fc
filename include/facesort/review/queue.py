"""Read-only views of the review queue, for the review page and ``facesort review``.

Each item carries what a person needs to decide: the picture's faces (boxes as
fractions, numbered in detection order) with the match of each (nearest person, its
distance, the reference photo that matched, the runner-up), the rule that sent the file
here, and for a duplicate the file that was kept.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from facesort.config import REVIEW_CATEGORIES, Config
from facesort.resort import current_folder
from facesort.review.search import QueueSearch
from facesort.state import State
from facesort.state.models import Face as FaceRow
from facesort.state.models import FaceCluster, MediaFile, ReviewAction
from facesort.vocab import Category, ClusterStatus, Confidence, FileStatus, Kind, Place
from facesort.words import plural

PAGE_SIZE = 48

# What each routing rule means, said briefly (the faces' lines give the details).
RULE_HEADLINES = {
    "no_face": "no face found",
    "unknown_face": "an unknown face",
    "uncertain_match": "an uncertain match",
    "unwanted_person": "a person on policy.unwanted_people",
    "not_wanted": "a person not on policy.wanted_people",
}

CATEGORY_TITLES = {
    Category.DUPLICATES: "Duplicates",
    Category.UNIDENTIFIED: "Unidentified",
    Category.LOW_CONFIDENCE: "Low confidence",
    Category.MULTIPLE_FACES: "Multiple faces",
    Category.UNWANTED_PERSON: "Unwanted person",
    Category.UNREADABLE: "Unreadable",
}


# The actions each tab offers: those that can apply to its files (a duplicate cannot
# be approved as a person; an unreadable file has no face to add as a reference).
ALL_ACTIONS = ("approve", "add-reference", "reject", "not-duplicate", "undo")
TAB_ACTIONS = {
    Category.DUPLICATES: ("reject", "not-duplicate", "keep-instead", "undo"),
    Category.UNREADABLE: ("approve", "reject", "undo"),
}
QUEUE_ACTIONS = ("approve", "add-reference", "reject", "undo")


def tab_actions(category: str | None) -> tuple[str, ...]:
    """The actions offered on a category's tab (None: a cluster's files, of any tab)."""
    if category is None:
        return ALL_ACTIONS
    return TAB_ACTIONS.get(category, QUEUE_ACTIONS)


@dataclass
class FaceView:
    number: int  # 1-based, detection order
    id: int
    box: list[float]  # left, top, right, bottom fractions
    frame: int | None
    person: str | None
    confidence: str
    distance: float | None = None
    reference: str | None = None
    runner_up: str | None = None
    runner_up_distance: float | None = None
    cluster_id: int | None = None

    def describe(self) -> str:
        if self.confidence == Confidence.CONFIRMED:
            return f"face {self.number}: {self.person} (named in review)"
        if self.person is None or self.distance is None:
            return f"face {self.number}: unknown (no reference photos to compare with)"
        text = f"face {self.number}: nearest {self.person} at {self.distance:.2f}"
        if self.reference:
            text += f" ({self.reference})"
        if self.runner_up:
            text += f", next {self.runner_up} at {self.runner_up_distance:.2f}"
        return f"{text} [{self.confidence}]"


@dataclass
class QueueItem:
    id: int
    name: str
    path: str
    folder: str  # review/<category> or library/<person> ...
    category: str | None
    kind: str  # image | video | unknown
    rule: str
    summary: str
    faces: list[FaceView] = field(default_factory=list)
    thumb_frame: int | None = None  # the video frame the thumbnail shows
    duplicate_of: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)  # more of the reason, one line each
    facts: dict[str, Any] = field(default_factory=dict)  # resolution, size, date

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def headline(self) -> str:
        """The reason in a few words when the faces' lines say the rest, else in full."""
        if self.duplicate_of:
            if self.duplicate_of.get("exact"):
                return "identical bytes to the file kept"
            distance = self.duplicate_of.get("hash_distance")
            return f"the same picture as the file kept (hash distance {distance})"
        if self.rule == "multiple_faces" and self.kind != Kind.VIDEO:
            return f"{len(self.faces)} faces"
        if self.faces and self.kind != Kind.VIDEO and self.rule in RULE_HEADLINES:
            return RULE_HEADLINES[self.rule]
        return self.summary

    @property
    def drawn_faces(self) -> list[tuple[int, FaceView]]:
        """The faces drawn on the thumbnail with the number shown on each box (the key
        that chooses it): a photo's faces keep their numbers (the list below names them
        the same); a video's boxes, those of one frame, are numbered 1..n."""
        shown = self.shown_faces
        if self.kind != Kind.VIDEO:
            return [(face.number, face) for face in shown]
        return list(enumerate(shown, start=1))

    @property
    def shown_faces(self) -> list[FaceView]:
        """The faces drawn on the thumbnail (for a video: those of its frame); a face
        Immich reported without a box is listed but not drawn."""
        drawn = [f for f in self.faces if f.box[2] > f.box[0] and f.box[3] > f.box[1]]
        if self.kind != Kind.VIDEO:
            return drawn
        return [f for f in drawn if (f.frame or 0) == (self.thumb_frame or 0)]


def queue_counts(state: State) -> dict[str, int]:
    counts = dict.fromkeys(REVIEW_CATEGORIES, 0)
    with state.session() as session:
        rows = session.execute(
            sa.select(MediaFile.category, sa.func.count())
            .where(MediaFile.status == FileStatus.DONE, MediaFile.place == Place.REVIEW)
            .group_by(MediaFile.category)
        ).all()
    for category, count in rows:
        counts[category] = count
    return counts


def _faces_of(session, file_ids: list[int]) -> dict[int, list[FaceRow]]:
    faces: dict[int, list[FaceRow]] = {i: [] for i in file_ids}
    if file_ids:
        for row in session.scalars(
            sa.select(FaceRow).where(FaceRow.file_id.in_(file_ids)).order_by(FaceRow.id)
        ):
            faces[row.file_id].append(row)
    return faces


def _item(media: MediaFile, faces: list[FaceRow], original: MediaFile | None) -> QueueItem:
    from facesort.review.pictures import video_thumbnail_frame

    reason = dict(media.reason or {})
    matches = reason.get("faces") or []
    if len(matches) != len(faces):
        matches = [{} for _ in faces]
    views = []
    for number, (row, match) in enumerate(zip(faces, matches, strict=True), start=1):
        views.append(
            FaceView(
                number=number,
                id=row.id,
                box=list(row.box),
                frame=row.frame,
                person=row.person,
                confidence=row.confidence,
                distance=row.distance,
                reference=match.get("reference"),
                runner_up=match.get("runner_up"),
                runner_up_distance=match.get("runner_up_distance"),
                cluster_id=row.cluster_id,
            )
        )
    path = media.current_path or media.source_path
    item = QueueItem(
        id=media.id,
        name=os.path.basename(path),
        path=path,
        folder=current_folder(media)
        if media.place in {Place.LIBRARY, Place.REVIEW}
        else media.place,
        category=media.category,
        kind=media.kind,
        rule=reason.get("rule", ""),
        summary=reason.get("summary", ""),
        faces=views,
    )
    if media.kind == Kind.VIDEO:
        item.thumb_frame = video_thumbnail_frame(
            [(f.frame, f.box) for f in faces], reason.get("frames_sampled")
        )
        votes = reason.get("sure_votes") or {}
        if reason.get("frames_sampled"):
            item.notes.append(
                f"{plural(reason['frames_sampled'], 'frame')} sampled, "
                f"{reason.get('frames_with_faces', 0)}"
                f" with faces; sure votes: "
                + (", ".join(f"{p} {n}" for p, n in votes.items()) or "none")
            )
    item.facts = file_facts(media)
    if media.duplicate_of_id is not None:
        item.duplicate_of = {
            "facts": file_facts(original) if original else {},
            "id": media.duplicate_of_id,
            "name": os.path.basename(original.current_path or original.source_path)
            if original
            else None,
            "folder": current_folder(original)
            if original and original.place in {Place.LIBRARY, Place.REVIEW}
            else (original.place if original else None),
            "path": original.current_path if original else reason.get("duplicate_of_path"),
            "exact": reason.get("exact"),
            "hash_distance": reason.get("hash_distance"),
        }
    return item


def file_facts(media: MediaFile) -> dict[str, Any]:
    """What tells two copies of a picture apart: resolution, size on disk, and date (the
    file's modification time, as the downloader left it)."""
    from datetime import UTC, datetime

    return {
        "resolution": f"{media.width}×{media.height}" if media.width and media.height else None,
        "pixels": (media.width or 0) * (media.height or 0),
        "size": media.size,
        "size_text": _size_text(media.size),
        "date": datetime.fromtimestamp(media.mtime_ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M")
        if media.mtime_ns
        else None,
    }


def _size_text(size: int | None) -> str:
    if not size:
        return "?"
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return "?"


def queue_items(
    state: State,
    category: str | None = None,
    *,
    offset: int = 0,
    limit: int = PAGE_SIZE,
    cluster_id: int | None = None,
    file_ids: list[int] | None = None,
    search: QueueSearch | None = None,
) -> list[QueueItem]:
    """Files in the review queue (one category, a cluster's files, or given ids), those
    that match ``search`` in its order (oldest first by default)."""
    search = search or QueueSearch()
    with state.session() as session:
        query = _selection(sa.select(MediaFile), category, cluster_id, file_ids)
        query = search.order(search.filter(query))
        rows = session.scalars(query.offset(offset).limit(limit)).all()
        faces = _faces_of(session, [m.id for m in rows])
        original_ids = [m.duplicate_of_id for m in rows if m.duplicate_of_id]
        originals = {
            m.id: m
            for m in session.scalars(sa.select(MediaFile).where(MediaFile.id.in_(original_ids)))
        }
        return [_item(m, faces[m.id], originals.get(m.duplicate_of_id)) for m in rows]


def queue_ids(
    state: State, category: str, search: QueueSearch | None = None, *, limit: int = 5000
) -> list[int]:
    """The ids of every file of a category that matches ``search``, in its order: what
    "select all" selects, across pages."""
    search = search or QueueSearch()
    query = search.order(search.filter(_selection(sa.select(MediaFile.id), category)))
    with state.session() as session:
        return list(session.scalars(query.limit(limit)))


def _selection(
    query: sa.Select,
    category: str | None,
    cluster_id: int | None = None,
    file_ids: list[int] | None = None,
) -> sa.Select:
    query = query.where(MediaFile.status == FileStatus.DONE)
    if file_ids is not None:
        return query.where(MediaFile.id.in_(file_ids))
    if cluster_id is not None:
        members = sa.select(FaceRow.file_id).where(FaceRow.cluster_id == cluster_id)
        return query.where(
            MediaFile.id.in_(members), MediaFile.place.in_((Place.REVIEW, Place.LIBRARY))
        )
    query = query.where(MediaFile.place == Place.REVIEW)
    if category:
        query = query.where(MediaFile.category == category)
    return query


def get_file(state: State, file_id: int) -> MediaFile | None:
    with state.session() as session:
        return session.get(MediaFile, file_id)


def get_face(state: State, face_id: int) -> tuple[FaceRow, MediaFile] | None:
    with state.session() as session:
        row = session.execute(
            sa.select(FaceRow, MediaFile)
            .join(MediaFile, MediaFile.id == FaceRow.file_id)
            .where(FaceRow.id == face_id)
        ).first()
    return (row[0], row[1]) if row else None


@dataclass
class ClusterView:
    id: int
    face_count: int
    file_count: int
    face_ids: list[int]  # representative faces still in the cluster
    in_queue: int  # files of the cluster in the review queue


def active_clusters(state: State, *, limit: int = 200) -> list[ClusterView]:
    """The clusters of unknown faces to name, the biggest first."""
    with state.session() as session:
        clusters = session.scalars(
            sa.select(FaceCluster)
            .where(FaceCluster.status == ClusterStatus.ACTIVE)
            .order_by(FaceCluster.face_count.desc(), FaceCluster.id)
            .limit(limit)
        ).all()
        ids = [c.id for c in clusters]
        present = set(
            session.scalars(sa.select(FaceRow.id).where(FaceRow.cluster_id.in_(ids or [-1])))
        )
        queued = dict(
            session.execute(
                sa.select(FaceRow.cluster_id, sa.func.count(sa.distinct(FaceRow.file_id)))
                .join(MediaFile, MediaFile.id == FaceRow.file_id)
                .where(FaceRow.cluster_id.in_(ids or [-1]), MediaFile.place == Place.REVIEW)
                .group_by(FaceRow.cluster_id)
            ).all()
        )
    return [
        ClusterView(
            id=c.id,
            face_count=c.face_count,
            file_count=c.file_count,
            face_ids=[f for f in c.representative_face_ids or [] if f in present],
            in_queue=queued.get(c.id, 0),
        )
        for c in clusters
    ]


def newest_actions(
    state: State, *where: sa.ColumnElement[bool], limit: int | None = None
) -> list[ReviewAction]:
    """The action records (review and people actions, undos) that match ``where``,
    newest first, at most ``limit``."""
    with state.session() as session:
        return list(
            session.scalars(
                sa.select(ReviewAction)
                .where(*where)
                .order_by(ReviewAction.at.desc(), ReviewAction.id.desc())
                .limit(limit)
            )
        )


def recent_actions(state: State, *, limit: int = 30) -> list[dict[str, Any]]:
    return [
        {
            "group_id": r.group_id,
            "kind": r.kind,
            "actor": r.actor,
            "at": r.at.isoformat(timespec="seconds"),
            "person": r.person,
            "files": len(r.file_ids or []),
            "summary": r.summary,
            "undo_of": r.undo_of,
            "undone_by": r.undone_by,
        }
        for r in newest_actions(state, limit=limit)
    ]


def people_names(state: State, config: Config) -> list[str]:
    """Everyone facesort knows by name (the page offers them as the name is typed)."""
    from facesort.errors import FacesortError
    from facesort.resort import known_people

    try:
        return known_people(state, config)
    except FacesortError:  # two reference folders in conflict: an action reports it
        return []
