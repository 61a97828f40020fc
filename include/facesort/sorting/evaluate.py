"""What a file is and who is in it: hashes, duplicates, faces, matches, the decision.

:class:`Evaluator` looks at a file the way a run does: SHA-256 -> exact duplicate? ->
decode -> perceptual hash -> near duplicate? (else it becomes an original) -> faces ->
matches -> policy. Where the run asked Immich (see facesort.immich), its named people
decide first and only what Immich could not resolve is matched locally. Re-evaluating a
sorted file (:meth:`Evaluator.reevaluate`) uses the faces stored when it was sorted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.dedupe import Duplicate, DuplicateFinder
from facesort.faces import DetectedFace, decode_side, detection_copy, find_faces, finer_copy
from facesort.faults import crashpoint
from facesort.files.hashing import sha256_file
from facesort.files.journal import SourceChanged
from facesort.immich.resolve import StoredImmichNames, annotate, combine, immich_matches
from facesort.matching import FaceMatch, ReferenceSet, match_encodings
from facesort.media import UnreadableMedia, open_image, perceptual_hash, probe_video, sample_frames
from facesort.policy import Decision, decide_photo, decide_video
from facesort.references import ReferenceLoader
from facesort.state import State
from facesort.state.models import Face as FaceRow
from facesort.state.models import MediaFile
from facesort.vocab import Category, Confidence, FaceSource, Kind


@dataclass
class Evaluation:
    """Everything learnt about a file, and the decision."""

    decision: Decision
    sha256: str | None = None
    phash: str | None = None
    width: int | None = None
    height: int | None = None
    faces: list[DetectedFace] = field(default_factory=list)
    matches: list[FaceMatch] = field(default_factory=list)
    stat: tuple[int, int, int] | None = None  # size, mtime_ns, inode when examined
    # False when the faces are the stored ones (a re-evaluation): their rows are kept.
    detected: bool = True


def duplicate_decision(dup: Duplicate, limit: int) -> Decision:
    return Decision(
        category=Category.DUPLICATES,
        rule="exact_duplicate" if dup.exact else "near_duplicate",
        summary=dup.describe(limit),
        details={
            "duplicate_of": dup.original_id,
            "duplicate_of_path": dup.original_path,
            "exact": dup.exact,
            "hash_distance": dup.distance,
        },
        duplicate_of=dup.original_id if dup.original_id > 0 else None,
    )


def decision_fields(media: MediaFile) -> dict[str, Any]:
    """The decision a file's record holds now."""
    reason = dict(media.reason or {})
    return {
        "category": media.category,
        "rule": reason.pop("rule", "unknown"),
        "summary": reason.pop("summary", ""),
        "people": tuple(media.people or ()),
        "details": reason,
        "duplicate_of": media.duplicate_of_id,
    }


def stored_faces(state: State, file_id: int) -> list[tuple[DetectedFace, FaceMatch | None]]:
    """The faces found in a file when it was sorted (in detection order), each with the
    match that stands without local matching: the name a person confirmed in review,
    Immich's name for a face Immich named, an unknown face for one only Immich saw; None
    for a face to match against references."""
    from facesort.faces import encoding_from_bytes

    with state.session() as session:
        rows = session.scalars(
            sa.select(FaceRow).where(FaceRow.file_id == file_id).order_by(FaceRow.id)
        ).all()
    faces = []
    for row in rows:
        encoding = encoding_from_bytes(row.encoding) if row.encoding is not None else None
        face = DetectedFace(box=tuple(row.box), encoding=encoding, frame=row.frame)
        fixed = None
        if row.confidence == Confidence.CONFIRMED and row.person:
            fixed = FaceMatch(person=row.person, confidence=Confidence.SURE, source=row.source)
        elif row.source == FaceSource.IMMICH and row.person:
            fixed = FaceMatch(
                person=row.person, confidence=Confidence.SURE, source=FaceSource.IMMICH
            )
        elif encoding is None:
            fixed = FaceMatch(person=None, confidence=Confidence.UNKNOWN, source=FaceSource.IMMICH)
        faces.append((face, fixed))
    return faces


class Evaluator:
    """Decides where files go. It caches the reference faces (see
    :meth:`forget_references`) and, through its duplicate finder, the originals' hashes.

    ``readonly``: never registers a file as an original (dry runs, re-sort plans).
    """

    def __init__(
        self,
        config: Config,
        state: State,
        *,
        readonly: bool = False,
        immich: StoredImmichNames | None = None,
    ):
        from facesort.thresholds import with_stored_thresholds

        self.config = with_stored_thresholds(config, state)  # the people page's thresholds
        self.state = state
        # What Immich said about the files of the run (None: Immich is not consulted).
        self.immich = immich
        self.finder = DuplicateFinder(state, config.duplicates, dry_run=readonly)
        self._references: ReferenceSet | None = None

    @property
    def references(self) -> ReferenceSet:
        if self._references is None:
            self._references = ReferenceLoader(self.state, self.config).load()
        return self._references

    def forget_references(self) -> None:
        """Load the reference faces again at the next match (references were added)."""
        self._references = None

    def evaluate(self, media: MediaFile) -> Evaluation:
        """Decide where a file goes. Registers it as an original unless dry-running."""
        path = media.source_path
        try:
            st = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            raise SourceChanged(f"{path} vanished from staging before it was sorted") from None
        if (st.st_size, st.st_mtime_ns) != (media.size, media.mtime_ns):
            raise SourceChanged(f"{path} changed after it was found; it will be taken again")
        stat = (st.st_size, st.st_mtime_ns, st.st_ino)
        limit = self.config.duplicates.near_duplicate_distance
        if media.kind == Kind.UNKNOWN:
            note = (media.reason or {}).get("scan_note") or "is not a photo or video"
            sha = sha256_file(path) if media.size else None
            return Evaluation(
                Decision.review(
                    Category.UNREADABLE,
                    "not_media",
                    f"named like a {media.file_type} file but {note}",
                ),
                sha256=sha,
                stat=stat,
            )
        sha = sha256_file(path)
        crashpoint("sort.hashed")
        dup = self.finder.find_exact(sha, media.id)
        if dup is not None:
            return Evaluation(duplicate_decision(dup, limit), sha256=sha, stat=stat)
        if media.kind == Kind.IMAGE:
            return self._evaluate_image(media, path, sha, stat, limit)
        return self._evaluate_video(media, path, sha, stat, limit)

    def _unreadable(
        self, media: MediaFile, sha: str | None, stat, reason: str, limit: int, register: bool
    ) -> Evaluation:
        if register and sha is not None:
            dup = self.finder.keep_or_find(media.id, sha, None, media.source_path)
            if dup is not None:
                return Evaluation(duplicate_decision(dup, limit), sha256=sha, stat=stat)
        return Evaluation(
            Decision.review(Category.UNREADABLE, "unreadable", reason), sha256=sha, stat=stat
        )

    def _evaluate_image(
        self, media: MediaFile, path: str, sha: str | None, stat, limit: int, register: bool = True
    ) -> Evaluation:
        import numpy as np
        from PIL import Image

        try:
            # as JPEG draft decoding gives it (at least decode_side): faces are encoded
            # from these pixels, detected on the reduced grey copy made next
            decoded = open_image(
                path,
                max_side=decode_side(self.config.matching),
                max_pixels=self.config.limits.max_image_pixels,
                exact=False,
            )
        except UnreadableMedia as exc:
            return self._unreadable(media, sha, stat, str(exc), limit, register)
        first = detection_copy(decoded.image, self.config.matching)
        rgb = np.asarray(decoded.image)
        phash = perceptual_hash(Image.fromarray(first))  # it looks at 32x32 luma
        size = {"width": decoded.width, "height": decoded.height}
        if register and sha is not None:
            dup = self.finder.keep_or_find(media.id, sha, phash, media.source_path)
            if dup is not None:
                return Evaluation(
                    duplicate_decision(dup, limit), sha256=sha, phash=phash, stat=stat, **size
                )
        view = self.immich.for_file(media) if self.immich else None
        if view is not None and view.resolved:
            # Immich named every face: no local detection needed.
            faces = [
                DetectedFace(box=f.box or (0.0, 0.0, 0.0, 0.0), encoding=None) for f in view.faces
            ]
            matches = immich_matches(view)
            decided_by = "immich"
        else:
            finer = finer_copy(
                path, decoded, self.config.matching, self.config.limits.max_image_pixels
            )
            faces = find_faces(rgb, self.config.matching, finer=finer, first=first)
            crashpoint("sort.detected")
            matches = self._local_matches(faces)
            decided_by = "local"
            if view is not None and view.named:
                faces, matches = combine(view, faces, matches)
                decided_by = "immich+local"
        decision = annotate(self.decide(faces, matches, frames=None), view, decided_by)
        return Evaluation(decision, sha, phash, faces=faces, matches=matches, stat=stat, **size)

    def _evaluate_video(
        self, media: MediaFile, path: str, sha: str | None, stat, limit: int, register: bool = True
    ) -> Evaluation:
        settings = self.config.video
        try:
            info = probe_video(path)
            frames = sample_frames(
                path,
                info,
                frames_per_second=settings.frames_per_second,
                max_frames=settings.max_frames,
                max_side=settings.max_side,
            )
        except UnreadableMedia as exc:
            return self._unreadable(media, sha, stat, str(exc), limit, register)
        if register and sha is not None:
            dup = self.finder.keep_or_find(media.id, sha, None, media.source_path)
            if dup is not None:
                return Evaluation(duplicate_decision(dup, limit), sha256=sha, stat=stat)
        # Videos are always decided by votes over sampled frames: Immich only looks at a
        # video's thumbnail, one frame. Its view is kept in the reason.
        view = self.immich.for_file(media) if self.immich else None
        faces = [
            face
            for index, (_, rgb) in enumerate(frames)
            for face in find_faces(rgb, self.config.matching, frame=index)
        ]
        matches = self._local_matches(faces)
        decision = annotate(self.decide(faces, matches, frames=len(frames)), view, "local")
        return Evaluation(
            decision, sha, None, info.width, info.height, faces=faces, matches=matches, stat=stat
        )

    def decide(
        self, faces: list[DetectedFace], matches: list[FaceMatch], frames: int | None
    ) -> Decision:
        """Apply the policy to matched faces. ``frames``: None for a photo, else the number
        of frames sampled from the video (``DetectedFace.frame`` indexes them)."""
        if frames is None:
            return decide_photo(matches, self.config.policy, faces, self.config.matching)
        per_frame: list[list[FaceMatch]] = [[] for _ in range(frames)]
        for face, match in zip(faces, matches, strict=True):
            per_frame[face.frame or 0].append(match)
        return decide_video(per_frame, self.config.policy, self.config.video)

    def _local_matches(self, faces: list[DetectedFace]) -> list[FaceMatch]:
        import numpy as np

        if not faces:
            return []
        return match_encodings(
            np.vstack([f.encoding for f in faces]), self.references, self.config.matching
        )

    def reevaluate(self, media: MediaFile, *, redetect: bool = False) -> Evaluation:
        """Decide again where an already sorted file belongs, with today's references
        and settings. Uses the faces found when it was sorted, unless ``redetect`` (or
        the file was unreadable then); never registers or compares duplicates."""
        path = media.current_path or media.source_path
        limit = self.config.duplicates.near_duplicate_distance
        if redetect or media.category == Category.UNREADABLE:
            evaluate = self._evaluate_image if media.kind == Kind.IMAGE else self._evaluate_video
            if media.kind not in {Kind.IMAGE, Kind.VIDEO}:
                return Evaluation(Decision(**decision_fields(media)), media.sha256)
            return evaluate(media, path, media.sha256, None, limit, register=False)
        stored = stored_faces(self.state, media.id)
        faces = [face for face, _ in stored]
        to_match = [face for face, fixed in stored if fixed is None]
        local = iter(self._local_matches(to_match))
        matches = [fixed if fixed is not None else next(local) for _, fixed in stored]
        frames = None
        if media.kind == Kind.VIDEO:
            sampled = (media.reason or {}).get("frames_sampled")
            frames = sampled or max((f.frame or 0 for f in faces), default=-1) + 1
        decision = self.decide(faces, matches, frames=frames)
        return Evaluation(
            decision, media.sha256, media.phash, media.width, media.height, faces=faces,
            matches=matches, detected=False,
        )  # fmt: skip
