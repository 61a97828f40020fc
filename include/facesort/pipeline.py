"""One pass of facesort: recover, scan, claim batches, sort each file.

The same functions back the ``facesort run`` command and the ``facesort_ingest`` DAG:

- :func:`recover` finishes transfers a dead run left in flight (see journal.py);
- :func:`scan_and_plan` registers new stable files and claims them into batches;
- :func:`process_batch` sorts the files of one batch;
- :func:`run_once` does all of it in one process (``facesort run``).

Sorting one file (:class:`Sorter`): SHA-256 -> exact duplicate? -> decode -> perceptual
hash -> near duplicate? (else it becomes an original) -> faces -> matches -> policy ->
journaled move. Where the run asked Immich (see facesort.immich), its named people decide
first and only what Immich could not resolve is matched locally. A file that changed or
vanished meanwhile is left in staging; one whose processing fails or crashes
``limits.max_attempts`` times goes to ``review/unreadable`` with the error as its reason.
"""

from __future__ import annotations

import logging
import os
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.dedupe import Duplicate, DuplicateFinder, forget_original
from facesort.faces import Face, encoding_to_bytes, find_faces
from facesort.faults import crashpoint
from facesort.files.hashing import sha256_file
from facesort.files.journal import (
    Journal,
    OutcomeEvent,
    SourceChanged,
    TransferFailed,
    TransferOutcome,
    TransferRequest,
)
from facesort.files.owners import owner_gone, owner_token
from facesort.files.recovery import recover_transfers
from facesort.immich.resolve import (
    StoredImmichNames,
    annotate,
    combine,
    immich_matches,
)
from facesort.matching import FaceMatch, ReferenceSet, match_encodings
from facesort.media import UnreadableMedia, open_image, perceptual_hash, probe_video, sample_frames
from facesort.names import UnsafeNameError, display_file_name, safe_file_name, safe_folder_name
from facesort.people import PersonFolders
from facesort.policy import Decision, decide_photo, decide_video
from facesort.references import ReferenceLoader, person_folders
from facesort.scan import ScanReport, forget_index_entry, scan_staging
from facesort.state import State
from facesort.state.models import Batch, Event, MediaFile, Transfer, utcnow
from facesort.state.models import Face as FaceRow
from facesort.vocab import (
    BatchStatus,
    Category,
    Confidence,
    EventAction,
    FaceSource,
    FileStatus,
    IndexState,
    Kind,
    Place,
    TransferAction,
    TransferOp,
    TransferState,
)

log = logging.getLogger(__name__)

# The audit-trail name of each journal action.
EVENT_OF_ACTION = {
    TransferAction.ROUTE: EventAction.ROUTED,
    TransferAction.RESORT: EventAction.RESORTED,
    TransferAction.UNDO: EventAction.UNDO,
    TransferAction.APPROVE: EventAction.APPROVED,
    TransferAction.REJECT: EventAction.REJECTED,
    TransferAction.NOT_DUPLICATE: EventAction.NOT_DUPLICATE,
    TransferAction.RECHECK: EventAction.RECHECKED,
}


@dataclass
class Evaluation:
    """Everything learnt about a file, and the decision."""

    decision: Decision
    sha256: str | None = None
    phash: str | None = None
    width: int | None = None
    height: int | None = None
    faces: list[Face] = field(default_factory=list)
    matches: list[FaceMatch] = field(default_factory=list)
    stat: tuple[int, int, int] | None = None  # size, mtime_ns, inode when examined
    # False when the faces are the stored ones (a re-evaluation): their rows are kept.
    detected: bool = True


@dataclass
class FileResult:
    """Where one file went: small and printable."""

    file_id: int
    source: str
    destination: str | None  # None: left in staging
    folder: str  # library/<person>, review/<category>, or "staging"
    summary: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "source": self.source,
            "destination": self.destination,
            "folder": self.folder,
            "summary": self.summary,
        }


@dataclass
class BatchReport:
    batch_id: int | None
    results: list[FileResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.folder for r in self.results))


def _duplicate_decision(dup: Duplicate, limit: int) -> Decision:
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


def _decision_fields(media: MediaFile) -> dict[str, Any]:
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


def stored_faces(state: State, file_id: int) -> list[tuple[Face, FaceMatch | None]]:
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
        face = Face(box=tuple(row.box), encoding=encoding, frame=row.frame)
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


class Sorter:
    """Evaluates and routes files. One per process: it caches references and hashes."""

    def __init__(
        self,
        config: Config,
        state: State,
        *,
        actor: str,
        group_id: str | None = None,
        dry_run: bool = False,
        immich: StoredImmichNames | None = None,
    ):
        self.config = config
        self.state = state
        self.actor = actor
        self.dry_run = dry_run
        # What Immich said about the files of the run (None: Immich is not consulted).
        self.immich = immich
        self.finder = DuplicateFinder(state, config.duplicates, dry_run=dry_run)
        self.journal = Journal(state, actor, group_id, lease_s=config.claim_lease_seconds)
        self._references: ReferenceSet | None = None
        self._person_folders: PersonFolders | None = None

    @property
    def references(self) -> ReferenceSet:
        if self._references is None:
            self._references = ReferenceLoader(self.state, self.config).load()
        return self._references

    @property
    def person_folders(self) -> PersonFolders:
        if self._person_folders is None:
            self._person_folders = PersonFolders(
                person_folders(self.config.references_dir), None if self.dry_run else self.state
            )
        return self._person_folders

    def guard_names(self, decision: Decision) -> Decision:
        """Never two people in one folder: a name that cannot have a folder of its own
        (unusable, or clashing with another person's) sends the file to review."""
        if decision.category is not None:
            return decision
        for person in decision.people:
            try:
                safe_folder_name(person)
            except UnsafeNameError:
                return Decision.review(
                    Category.UNIDENTIFIED,
                    "unusable_name",
                    f"{person!r} cannot be a folder name: rename the person",
                    **decision.details,
                )
            owner = self.person_folders.clash(person)
            if owner is not None:
                return Decision.review(
                    Category.UNIDENTIFIED,
                    "name_clash",
                    f"{person!r} and {owner!r} would share the folder "
                    f"library/{safe_folder_name(owner)}: rename one of them (in the "
                    "references folder, in Immich, or when approving)",
                    **decision.details,
                )
        return decision

    # ----------------------------------------------------------------- evaluate

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
        dup = self.finder.find_exact(sha)
        if dup is not None:
            return Evaluation(_duplicate_decision(dup, limit), sha256=sha, stat=stat)
        if media.kind == Kind.IMAGE:
            return self._evaluate_image(media, path, sha, stat, limit)
        return self._evaluate_video(media, path, sha, stat, limit)

    def _unreadable(
        self, media: MediaFile, sha: str | None, stat, reason: str, limit: int, register: bool
    ) -> Evaluation:
        if register and sha is not None:
            dup = self.finder.keep_or_find(media.id, sha, None)
            if dup is not None:
                return Evaluation(_duplicate_decision(dup, limit), sha256=sha, stat=stat)
        return Evaluation(
            Decision.review(Category.UNREADABLE, "unreadable", reason), sha256=sha, stat=stat
        )

    def _evaluate_image(
        self, media: MediaFile, path: str, sha: str | None, stat, limit: int, register: bool = True
    ) -> Evaluation:
        import numpy as np

        try:
            decoded = open_image(
                path,
                max_side=self.config.matching.encode_max_side,
                max_pixels=self.config.limits.max_image_pixels,
            )
        except UnreadableMedia as exc:
            return self._unreadable(media, sha, stat, str(exc), limit, register)
        phash = perceptual_hash(decoded.image)
        size = {"width": decoded.width, "height": decoded.height}
        if register and sha is not None:
            dup = self.finder.keep_or_find(media.id, sha, phash)
            if dup is not None:
                return Evaluation(
                    _duplicate_decision(dup, limit), sha256=sha, phash=phash, stat=stat, **size
                )
        view = self.immich.for_file(media) if self.immich else None
        if view is not None and view.resolved:
            # Immich named every face: no local detection needed.
            faces = [Face(box=f.box or (0.0, 0.0, 0.0, 0.0), encoding=None) for f in view.faces]
            matches = immich_matches(view)
            decided_by = "immich"
        else:
            faces = find_faces(np.asarray(decoded.image), self.config.matching)
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
            dup = self.finder.keep_or_find(media.id, sha, None)
            if dup is not None:
                return Evaluation(_duplicate_decision(dup, limit), sha256=sha, stat=stat)
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

    def decide(self, faces: list[Face], matches: list[FaceMatch], frames: int | None) -> Decision:
        """Apply the policy to matched faces. ``frames``: None for a photo, else the number
        of frames sampled from the video (``Face.frame`` indexes them)."""
        if frames is None:
            return decide_photo(matches, self.config.policy)
        per_frame: list[list[FaceMatch]] = [[] for _ in range(frames)]
        for face, match in zip(faces, matches, strict=True):
            per_frame[face.frame or 0].append(match)
        return decide_video(per_frame, self.config.policy, self.config.video)

    def _local_matches(self, faces: list[Face]) -> list[FaceMatch]:
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
                return Evaluation(Decision(**_decision_fields(media)), media.sha256)
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

    # ----------------------------------------------------------------- route

    def destination_dir(self, decision: Decision) -> Path:
        if decision.category:
            return self.config.review_path(decision.category)
        return self.config.library_dir / safe_folder_name(decision.people[0])

    def route(
        self,
        media: MediaFile,
        evaluation: Evaluation,
        *,
        action: TransferAction = TransferAction.ROUTE,
    ) -> FileResult:
        """Move the file where the evaluation decided, through the journal.

        ``action`` "route" takes it from staging (``transfer_mode`` applies); any other
        action (a re-sort, a review decision) moves it from where it is now.
        """
        decision = evaluation.decision = self.guard_names(evaluation.decision)
        from_staging = action == TransferAction.ROUTE
        source = media.source_path if from_staging else (media.current_path or media.source_path)
        name = safe_file_name(display_file_name(source))
        reason = decision.reason()
        file_fields = {
            "status": FileStatus.DONE,
            "place": decision.place,
            "category": decision.category,
            "people": list(decision.people),
            "reason": reason,
            "sha256": evaluation.sha256,
            "phash": evaluation.phash,
            "width": evaluation.width,
            "height": evaluation.height,
            "duplicate_of_id": decision.duplicate_of,
            "last_error": None,
        }
        event = OutcomeEvent(
            action=EVENT_OF_ACTION.get(action, action),
            place=decision.place,
            category=decision.category,
            people=list(decision.people),
            reason=reason,
        )
        if decision.category is None and len(decision.people) > 1:
            self._copy_to_other_people(media, evaluation, source, name, reason)
        destination = self.journal.transfer(
            TransferRequest(
                file_id=media.id,
                src=source,
                dest_dir=str(self.destination_dir(decision)),
                name=name,
                outcome=TransferOutcome(file_fields, event),
                action=action,
                op=TransferOp(self.config.transfer_mode) if from_staging else TransferOp.MOVE,
                expected_sha256=evaluation.sha256,
                expected_stat=evaluation.stat,
            )
        )
        if evaluation.detected:
            self._store_faces(media.id, evaluation)
        else:
            self._update_face_matches(media.id, evaluation.matches)
        for person in decision.people:
            self.person_folders.taken(person)
        return FileResult(media.id, source, destination, decision.folder, decision.summary)

    def _copy_to_other_people(
        self, media: MediaFile, evaluation: Evaluation, source: str, name: str, reason: dict
    ) -> None:
        decision = evaluation.decision
        with self.state.session() as session:
            done = {
                (TransferOutcome.from_json(t.outcome).event.people or [None])[0]
                for t in session.scalars(
                    sa.select(Transfer).where(
                        Transfer.file_id == media.id,
                        Transfer.action == TransferAction.COPY,
                        Transfer.state == TransferState.DONE,
                    )
                )
            }
        for person in decision.people[1:]:
            if person in done:
                continue  # copied before a crash; not again
            self.journal.transfer(
                TransferRequest(
                    file_id=media.id,
                    src=source,
                    dest_dir=str(self.config.library_dir / safe_folder_name(person)),
                    name=name,
                    outcome=TransferOutcome(
                        None,
                        OutcomeEvent(
                            EventAction.COPIED, Place.LIBRARY, people=[person], reason=reason
                        ),
                    ),
                    action=TransferAction.COPY,
                    op=TransferOp.COPY,
                    expected_sha256=evaluation.sha256,
                    expected_stat=evaluation.stat,
                )
            )

    def _update_face_matches(self, file_id: int, matches: list[FaceMatch]) -> None:
        """Re-evaluated from stored faces: keep the rows (and their ids), renew the match."""
        with self.state.session() as session:
            rows = session.scalars(
                sa.select(FaceRow).where(FaceRow.file_id == file_id).order_by(FaceRow.id)
            ).all()
            for row, match in zip(rows, matches, strict=False):
                if row.confidence == Confidence.CONFIRMED:
                    continue  # a person named this face in review: their word stands
                row.person, row.confidence = match.person, match.confidence
                row.distance, row.source = match.distance, match.source

    def _store_faces(self, file_id: int, evaluation: Evaluation) -> None:
        matches = evaluation.matches if len(evaluation.matches) == len(evaluation.faces) else []
        with self.state.session() as session:
            session.execute(sa.delete(FaceRow).where(FaceRow.file_id == file_id))
            for index, face in enumerate(evaluation.faces):
                match = matches[index] if matches else None
                session.add(
                    FaceRow(
                        file_id=file_id,
                        frame=face.frame,
                        box=list(face.box),
                        encoding=(
                            encoding_to_bytes(face.encoding) if face.encoding is not None else None
                        ),
                        person=match.person if match else None,
                        confidence=match.confidence if match else Confidence.UNKNOWN,
                        distance=match.distance if match else None,
                        source=match.source if match else FaceSource.LOCAL,
                    )
                )

    # ----------------------------------------------------------------- one file

    def process(self, media: MediaFile) -> FileResult:
        """Evaluate and route one claimed file; a changed or vanished file is left alone."""
        try:
            evaluation = self.evaluate(media)
            crashpoint("sort.decided")
            if self.dry_run:
                evaluation.decision = self.guard_names(evaluation.decision)
                target = self.destination_dir(evaluation.decision)
                return FileResult(
                    media.id,
                    media.source_path,
                    str(target / safe_file_name(display_file_name(media.source_path))),
                    evaluation.decision.folder,
                    evaluation.decision.summary,
                )
            return self.route(media, evaluation)
        except SourceChanged as exc:
            if not self.dry_run:
                self._leave(media, str(exc))
            return FileResult(media.id, media.source_path, None, "staging", str(exc))
        except TransferFailed as exc:
            return self.postpone(media, str(exc))

    def postpone(self, media: MediaFile, why: str) -> FileResult:
        """The filesystem refused to take the file (a full or read-only destination): it
        stays in staging and is tried again by the next run, without using up one of its
        attempts (the file is not at fault)."""
        log.error("left in staging for now: %s", why)
        with self.state.session() as session:
            postponed = session.execute(
                sa.update(MediaFile)
                .where(MediaFile.id == media.id, MediaFile.status == FileStatus.CLAIMED)
                .values(
                    status=FileStatus.PENDING,
                    batch_id=None,
                    last_error=why,
                    attempts=sa.case((MediaFile.attempts > 0, MediaFile.attempts - 1), else_=0),
                )
            ).rowcount
            if postponed:
                forget_original(session, media.id)
            session.add(
                Event(
                    file_id=media.id,
                    action=EventAction.FAILED,
                    from_path=media.source_path,
                    actor=self.actor,
                    reason={"summary": why, "retry": "next run"},
                )
            )
        return FileResult(media.id, media.source_path, None, "staging", f"will retry: {why}")

    def _leave(self, media: MediaFile, why: str) -> None:
        vanished = not os.path.lexists(media.source_path)
        with self.state.session() as session:
            left = session.execute(
                sa.update(MediaFile)
                .where(MediaFile.id == media.id, MediaFile.status != FileStatus.DONE)
                .values(status=FileStatus.LEFT, batch_id=None, last_error=why)
            ).rowcount
            if left:
                forget_original(session, media.id)
            if not vanished:
                forget_index_entry(session, media.source_path)
            session.add(
                Event(
                    file_id=media.id,
                    action=EventAction.VANISHED if vanished else EventAction.CHANGED,
                    from_path=media.source_path,
                    actor=self.actor,
                    reason={"summary": why},
                )
            )


# --------------------------------------------------------------------- batches


def release_stale_batches(state: State) -> int:
    """Give back the files of batches whose worker is gone."""
    released = 0
    with state.session() as session:
        open_batches = list(
            session.scalars(sa.select(Batch).where(Batch.status == BatchStatus.OPEN))
        )
        for batch in open_batches:
            if not owner_gone(batch.owner, batch.lease_until):
                continue
            result = session.execute(
                sa.update(MediaFile)
                .where(MediaFile.batch_id == batch.id, MediaFile.status == FileStatus.CLAIMED)
                .values(status=FileStatus.PENDING, batch_id=None)
            )
            released += result.rowcount
            batch.status = BatchStatus.EXPIRED
            batch.finished_at = utcnow()
    return released


def plan_batches(state: State, config: Config, run_id: str, *, min_batches: int = 1) -> list[int]:
    """Claim every pending file into new batches; returns their ids.

    Largest files first, so that within a batch the biggest copy of a picture is
    examined (and kept) before its smaller near-duplicates. Batches are of equal size
    (at most ``batch_size``) and their number is a multiple of ``min_batches``, the
    workers that will sort them in parallel: every worker gets work, and none is left
    sorting a last batch alone while the others idle.
    """
    release_stale_batches(state)
    with state.session() as session:
        # Batches this run made in an earlier try of the same task, not yet taken.
        batch_ids = list(
            session.scalars(
                sa.select(Batch.id).where(
                    Batch.run_id == run_id, Batch.status == BatchStatus.OPEN, Batch.owner.is_(None)
                )
            )
        )
        pending = session.scalar(
            sa.select(sa.func.count())
            .select_from(MediaFile)
            .where(MediaFile.status == FileStatus.PENDING)
        )
    if not pending:
        return batch_ids
    parallel = max(1, min_batches)
    count = -(-pending // config.batch_size)
    count = -(-count // parallel) * parallel
    size = max(1, -(-pending // count))
    lease = timedelta(seconds=config.claim_lease_seconds)
    while True:
        with state.session() as session:
            query = (
                sa.select(MediaFile.id)
                .where(MediaFile.status == FileStatus.PENDING)
                .order_by(MediaFile.size.desc(), MediaFile.source_path, MediaFile.id)
                .limit(size)
                .with_for_update(skip_locked=True)
            )
            ids = list(session.scalars(query))
            if not ids:
                break
            batch = Batch(run_id=run_id, status=BatchStatus.OPEN, lease_until=utcnow() + lease)
            session.add(batch)
            session.flush()
            claimed = session.execute(
                sa.update(MediaFile)
                .where(MediaFile.id.in_(ids), MediaFile.status == FileStatus.PENDING)
                .values(status=FileStatus.CLAIMED, batch_id=batch.id)
            ).rowcount
            batch.file_count = claimed
            batch_ids.append(batch.id)
    return batch_ids


def scan_and_plan(state: State, config: Config, run_id: str, *, actor: str, min_batches: int = 1):
    """Scan staging and claim the pending files into batches: (scan report, batch ids)."""
    report = scan_staging(state, config, actor)
    return report, plan_batches(state, config, run_id, min_batches=min_batches)


class BatchTaken(Exception):
    """Another live worker owns the batch."""


def _take_batch(state: State, batch_id: int, lease: timedelta) -> bool:
    me = owner_token()
    with state.session() as session:
        batch = session.get(Batch, batch_id, with_for_update=True)
        if batch is None or batch.status != BatchStatus.OPEN:
            return False
        if batch.owner not in {None, me} and not owner_gone(batch.owner, batch.lease_until):
            raise BatchTaken(f"batch {batch_id} is being processed by {batch.owner}")
        batch.owner = me
        batch.lease_until = utcnow() + lease
    return True


def _renew(state: State, batch_id: int, lease: timedelta) -> bool:
    with state.session() as session:
        return (
            session.execute(
                sa.update(Batch)
                .where(
                    Batch.id == batch_id,
                    Batch.owner == owner_token(),
                    Batch.status == BatchStatus.OPEN,
                )
                .values(lease_until=utcnow() + lease)
            ).rowcount
            == 1
        )


def process_batch(
    state: State,
    config: Config,
    batch_id: int,
    *,
    actor: str,
    group_id: str | None = None,
    sorter: Sorter | None = None,
) -> BatchReport:
    """Sort the files still claimed by one batch (safe to call again after a crash)."""
    report = BatchReport(batch_id)
    lease = timedelta(seconds=config.claim_lease_seconds)
    if not _take_batch(state, batch_id, lease):
        return report
    sorter = sorter or Sorter(
        config, state, actor=actor, group_id=group_id, immich=StoredImmichNames(state)
    )
    with state.session() as session:
        ids = list(
            session.scalars(
                sa.select(MediaFile.id)
                .where(MediaFile.batch_id == batch_id, MediaFile.status == FileStatus.CLAIMED)
                .order_by(MediaFile.size.desc(), MediaFile.source_path, MediaFile.id)
            )
        )
    for file_id in ids:
        if not _renew(state, batch_id, lease):
            log.warning("batch %s was taken over by another worker; stopping", batch_id)
            return report
        result = _process_claimed(state, config, sorter, batch_id, file_id)
        if result is not None:
            report.results.append(result)
    with state.session() as session:
        session.execute(
            sa.update(Batch)
            .where(Batch.id == batch_id)
            .values(status=BatchStatus.DONE, finished_at=utcnow())
        )
    return report


def _process_claimed(
    state: State, config: Config, sorter: Sorter, batch_id: int, file_id: int
) -> FileResult | None:
    with state.session() as session:
        media = session.get(MediaFile, file_id)
        if media is None or media.status != FileStatus.CLAIMED or media.batch_id != batch_id:
            return None
        # Counted before the work starts, so a file that crashes the process is counted too.
        media.attempts += 1
        attempts = media.attempts
        last_error = media.last_error
    if attempts > config.limits.max_attempts:
        last = last_error or "the process died while sorting it"
        why = f"processing failed {attempts - 1} times (last error: {last})"
        return _give_up(sorter, media, why)
    try:
        return sorter.process(media)
    except Exception as exc:
        log.exception("sorting %s failed (attempt %d)", media.source_path, attempts)
        error = f"{type(exc).__name__}: {exc}"
        with state.session() as session:
            session.add(
                Event(
                    file_id=file_id,
                    action=EventAction.FAILED,
                    from_path=media.source_path,
                    actor=sorter.actor,
                    reason={
                        "summary": error,
                        "attempt": attempts,
                        "traceback": traceback.format_exc(limit=5),
                    },
                )
            )
        if attempts >= config.limits.max_attempts:
            return _give_up(
                sorter, media, f"processing failed {attempts} times (last error: {error})"
            )
        with state.session() as session:
            session.execute(
                sa.update(MediaFile)
                .where(MediaFile.id == file_id, MediaFile.status == FileStatus.CLAIMED)
                .values(status=FileStatus.PENDING, batch_id=None, last_error=error)
            )
            forget_original(session, file_id)
        return FileResult(
            file_id, media.source_path, None, "staging", f"failed, will retry: {error}"
        )


def _give_up(sorter: Sorter, media: MediaFile, why: str) -> FileResult:
    evaluation = Evaluation(Decision.review(Category.UNREADABLE, "failed", why))
    try:
        evaluation.sha256 = sha256_file(media.source_path)
    except OSError:
        pass
    try:
        return sorter.route(media, evaluation)
    except SourceChanged as exc:
        sorter._leave(media, str(exc))
        return FileResult(media.id, media.source_path, None, "staging", str(exc))
    except TransferFailed as exc:
        return sorter.postpone(media, str(exc))


# --------------------------------------------------------------------- one pass


@dataclass
class RunSummary:
    run_id: str
    recovered: int
    scan: ScanReport
    results: list[FileResult]
    # Immich's part: status, message, wait outcome (None when Immich is not configured).
    immich: dict[str, Any] | None = None

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.folder for r in self.results))


def _batch_worker(args: tuple[str, int, str, str]) -> list[dict[str, Any]]:
    config_path, batch_id, actor, group_id = args
    from facesort.config import load_config

    config = load_config(config_path)
    state = State(config.database_url)
    try:
        report = process_batch(state, config, batch_id, actor=actor, group_id=group_id)
        return [r.as_dict() for r in report.results]
    finally:
        state.dispose()


def new_run_id(prefix: str = "cli") -> str:
    return f"{prefix}-{utcnow().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


def run_once(
    config: Config,
    *,
    actor: str = "facesort run",
    workers: int | None = None,
    sleep: Callable[[float], None] | None = None,
) -> RunSummary:
    """Recover, scan, ask Immich, and sort everything pending (the ``facesort run`` command).

    ``sleep`` waits between two looks at Immich's queues (tests pass a short one).
    """
    from facesort.immich import steps as immich_steps

    state = State(config.database_url)
    run_id = new_run_id()
    try:
        recovered = recover_transfers(state, lease_s=config.claim_lease_seconds).recovered
        workers = workers or config.workers
        parallel = workers > 1 and config.source is not None
        report, batch_ids = scan_and_plan(
            state, config, run_id, actor=actor, min_batches=workers if parallel else 1
        )
        immich = immich_steps.before_sorting(state, config, run_id, sleep=sleep)
        results: list[FileResult] = []
        if parallel and len(batch_ids) > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("spawn")
            jobs = [(str(config.source), b, actor, run_id) for b in batch_ids]
            with ProcessPoolExecutor(min(workers, len(batch_ids)), mp_context=context) as pool:
                for batch_results in pool.map(_batch_worker, jobs):
                    results.extend(FileResult(**r) for r in batch_results)
        else:
            sorter = Sorter(
                config, state, actor=actor, group_id=run_id, immich=StoredImmichNames(state)
            )
            for batch_id in batch_ids:
                batch = process_batch(state, config, batch_id, actor=actor, sorter=sorter)
                results.extend(batch.results)
        immich_summary = None
        if immich is not None and immich.status != immich_steps.DISABLED:
            moved = sum(1 for r in results if r.destination)
            endpoint, _ = immich_steps.resolve_endpoint(state, config, run_id)
            rescan = immich_steps.rescan_after_routing(state, config, endpoint, run_id, moved)
            immich_summary = immich_steps.run_summary(state, run_id) | {"rescan": rescan}
        return RunSummary(run_id, recovered, report, results, immich_summary)
    finally:
        state.dispose()


def dry_run(config: Config) -> list[FileResult]:
    """What a run would do now, touching nothing: no file moves, no records written."""
    import time

    from facesort.scan import classify, is_stable, walk

    url = config.database_url
    exists = not url.startswith("sqlite:///") or Path(url[len("sqlite:///") :]).exists()
    state = State(url, readonly=True) if exists else State("sqlite://")
    try:
        known: dict[str, Any] = {}
        if exists:
            from facesort.state.models import FileIndexEntry

            with state.session() as session:
                known = {e.path: e for e in session.scalars(sa.select(FileIndexEntry))}
        sorter = Sorter(config, state, actor="dry run", dry_run=True)
        results = []
        candidates = []
        now = time.time()
        notes: list[str] = []
        for root in config.staging_dirs:
            for seen in walk(str(root), config.scan, notes):
                entry = known.get(seen.path)
                same = entry is not None and (entry.size, entry.mtime_ns, entry.inode) == (
                    seen.size,
                    seen.mtime_ns,
                    seen.inode,
                )
                if same and entry.state in {IndexState.REGISTERED, IndexState.IGNORED}:
                    continue
                if not is_stable(seen, entry, same, now, config.scan.stable_seconds):
                    results.append(FileResult(0, seen.path, None, "staging", "not stable yet"))
                    continue
                kind, file_type, note = classify(seen)
                if kind is None:
                    results.append(FileResult(0, seen.path, None, "staging", note or ""))
                    continue
                candidates.append(
                    MediaFile(
                        id=0,
                        source_path=seen.path,
                        staging_dir=str(root),
                        size=seen.size,
                        mtime_ns=seen.mtime_ns,
                        kind=kind,
                        file_type=file_type or "",
                        reason={"scan_note": note} if note else None,
                    )
                )
        # The order a run uses: largest first, so the same copy is kept.
        for media in sorted(candidates, key=lambda m: (-m.size, m.source_path)):
            results.append(sorter.process(media))
        return results
    finally:
        state.dispose()
