"""Review actions: what a person decides about the files in the review queue.

Every action is one journal group (``review-<hex>``): its file moves go through
:meth:`facesort.journal.Journal.transfer` exactly like routing, so nothing is lost, and
the action is recorded in ``review_action`` together with what else it changed (face
labels, originals, a cluster's name). :meth:`Reviewer.undo` reverts the group with
:func:`facesort.journal.undo_group` and puts those other changes back; an undo is an
action of its own, so undoing it does the action again.

- **approve** files as a person: move them to ``library/<person>/``; the face (the only
  one, or the one named) is labelled with the person, and optionally added as a
  reference photo;
- **reject** files: move them to the trash folder (deleted after ``review.trash_days``
  by the nightly run, never on the spot);
- **add a reference**: a crop of one face (or, for a photo with one face, the photo)
  becomes a reference photo of a person; the file stays where it is;
- **not a duplicate**: a file in ``review/duplicates`` becomes an original and goes
  through face matching like a new file;
- **name a cluster** of unknown faces: see :meth:`Reviewer.name_cluster`.

Every person's name is made safe with :func:`facesort.names.safe_folder_name` and
matched to an existing person with :func:`facesort.names.person_key`.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.dedupe import forget_original, register_original
from facesort.errors import FacesortError
from facesort.files.hashing import sha256_file
from facesort.files.journal import (
    Journal,
    OutcomeEvent,
    SourceChanged,
    TransferOutcome,
    TransferRequest,
)
from facesort.files.undo import undo_group
from facesort.names import UnsafeNameError, safe_file_name, safe_folder_name
from facesort.policy import Decision
from facesort.resort import current_folder
from facesort.review.pictures import NoPicture
from facesort.sorting.evaluate import Evaluator
from facesort.sorting.route import FileResult, Router
from facesort.state import State
from facesort.state.models import Face as FaceRow
from facesort.state.models import FaceCluster, MediaFile, ReferenceEncoding, ReviewAction, utcnow
from facesort.vocab import (
    Category,
    ClusterStatus,
    Confidence,
    EventAction,
    FaceSource,
    FileStatus,
    Kind,
    Place,
    ReferenceStatus,
    ReviewKind,
    TransferAction,
    TransferOp,
)

KINDS = tuple(ReviewKind)


class ReviewError(FacesortError):
    """A review action that cannot be done as asked; nothing was changed."""


@dataclass
class ActionResult:
    """What one review action did (small and printable)."""

    group_id: str
    kind: str
    summary: str
    moved: list[FileResult] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # reference photos added
    skipped: list[str] = field(default_factory=list)
    # (file id, face id or None for the whole photo) of each reference added: redo needs it
    reference_sources: list[list[int | None]] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "kind": self.kind,
            "summary": self.summary,
            "moved": [r.as_dict() for r in self.moved],
            "references": self.references,
            "skipped": self.skipped,
        }


def new_group_id() -> str:
    return f"review-{uuid.uuid4().hex[:12]}"


def person_name(state: State, config: Config, name: str) -> str:
    """The person's name as facesort stores it: safe as a folder name, and spelled like the
    person who already owns that folder when it is the same folder identity (case,
    width, spacing): names that would share a folder are one person."""
    from facesort.people import PersonFolders
    from facesort.references import person_folders

    try:
        folder = safe_folder_name(name or "")
    except UnsafeNameError:
        raise ReviewError(
            f"{name!r} cannot be a person's name: type a name with letters or digits."
        ) from None
    owners = PersonFolders(person_folders(config.references_dir), state)
    return owners.clash(folder) or folder


def _label(media: MediaFile) -> str:
    return f"{os.path.basename(media.current_path or media.source_path)} (#{media.id})"


def file_faces(state: State, file_id: int) -> list[FaceRow]:
    """The faces found in a file, in detection order (face 1, face 2, ...)."""
    with state.session() as session:
        return list(
            session.scalars(
                sa.select(FaceRow).where(FaceRow.file_id == file_id).order_by(FaceRow.id)
            )
        )


class Reviewer:
    """Performs review actions for one person (``actor``)."""

    def __init__(self, config: Config, state: State, actor: str):
        self.config = config
        self.state = state
        self.actor = actor

    # ------------------------------------------------------------------ lookups

    def _files(self, file_ids: Iterable[int]) -> list[MediaFile]:
        ids = list(dict.fromkeys(int(i) for i in file_ids))
        if not ids:
            raise ReviewError("No files given: name the files by id or path.")
        with self.state.session() as session:
            rows = {
                m.id: m for m in session.scalars(sa.select(MediaFile).where(MediaFile.id.in_(ids)))
            }
        missing = [i for i in ids if i not in rows]
        if missing:
            raise ReviewError(
                f"No file #{', #'.join(map(str, missing))} in facesort's records: "
                "`facesort review list` shows the ids of the files in the queue."
            )
        return [rows[i] for i in ids]

    def _queue_files(
        self, file_ids: Iterable[int], categories: Sequence[str] | None = None
    ) -> list[MediaFile]:
        files = self._files(file_ids)
        problems = []
        for media in files:
            if media.status != FileStatus.DONE or media.place != Place.REVIEW:
                where = (
                    current_folder(media)
                    if media.place in {Place.LIBRARY, Place.REVIEW}
                    else (media.place or "staging")
                )
                problems.append(f"{_label(media)} is in {where}, not in the review queue")
            elif categories and media.category not in categories:
                wanted = " or ".join(f"review/{c}" for c in categories)
                problems.append(f"{_label(media)} is in review/{media.category}, not {wanted}")
        if problems:
            raise ReviewError("; ".join(problems) + ". Nothing was changed.")
        return files

    def _pick_face(
        self, media: MediaFile, faces: list[FaceRow], face: int | None, purpose: str
    ) -> FaceRow | None:
        """Face number ``face`` (1-based), or the only face; None when neither applies."""
        if face is not None:
            if not 1 <= face <= len(faces):
                found = f"{len(faces)} face{'s' if len(faces) != 1 else ''}"
                raise ReviewError(
                    f"{_label(media)} has {found}: there is no face {face} to {purpose}."
                )
            return faces[face - 1]
        if len(faces) == 1:
            return faces[0]
        return None

    # ------------------------------------------------------------------ actions

    def approve(
        self,
        file_ids: Iterable[int],
        person: str,
        *,
        add_reference: bool = False,
        face: int | None = None,
    ) -> ActionResult:
        """Move files to ``library/<person>/``; label the face; optionally add it as a
        reference. ``face`` (1-based) names the face for a file with several."""
        person = person_name(self.state, self.config, person)
        files = self._queue_files(file_ids)
        duplicates = [m for m in files if m.category == Category.DUPLICATES]
        if duplicates:
            raise ReviewError(
                f"{', '.join(map(_label, duplicates))} "
                f"{'is a duplicate' if len(duplicates) == 1 else 'are duplicates'} of a file "
                "facesort kept: choose 'not a duplicate' to sort it, or reject it. "
                "Nothing was changed."
            )
        if face is not None and len(files) > 1:
            raise ReviewError("A face number can only be given for one file at a time.")
        chosen: dict[int, FaceRow | None] = {}
        for media in files:
            faces = file_faces(self.state, media.id)
            chosen[media.id] = self._pick_face(media, faces, face, "approve")
            if add_reference and chosen[media.id] is None:
                raise ReviewError(
                    f"{_label(media)} has {len(faces)} faces: say which one is {person} "
                    "(face number) to add it as a reference. Nothing was changed."
                    if faces
                    else f"{_label(media)} has no face to add as a reference of {person}. "
                    "Nothing was changed."
                )
        group = new_group_id()
        router = Router(self.config, self.state, actor=self.actor, group_id=group)
        _check_folder(router, person)
        result = ActionResult(group, ReviewKind.APPROVE, "")
        labels: dict[str, list[Any]] = {}
        with self._recorded_on_failure(result, person, files, {"faces": labels}):
            for media in files:
                picked = chosen[media.id]
                if add_reference and picked is not None:
                    # Cut out the face before the file moves, from where its record says.
                    self._add_face_reference(router.journal, media, picked, person, result)
                decision = Decision(
                    category=None,
                    rule="approved",
                    summary=f"approved as {person} in review by {self.actor}",
                    people=(person,),
                    details={"approved_by": self.actor, "was": current_folder(media)},
                )
                try:
                    result.moved.append(
                        router.route_decision(media, decision, action=TransferAction.APPROVE)
                    )
                except SourceChanged as exc:
                    result.skipped.append(f"{_label(media)}: {exc}")
                    continue
                if picked is not None:
                    labels.update(self._confirm([picked], person))
        result.summary = _summary(f"approved as {person}", result)
        return self._record(result, person, files, {"faces": labels})

    def reject(self, file_ids: Iterable[int]) -> ActionResult:
        """Move files to the trash folder; the nightly run deletes them after
        ``review.trash_days`` days (an undo brings them back until then)."""
        files = self._queue_files(file_ids)
        group = new_group_id()
        journal = Journal(self.state, self.actor, group, lease_s=self.config.claim_lease_seconds)
        result = ActionResult(group, ReviewKind.REJECT, "")
        with self._recorded_on_failure(result, None, files, {}):
            for media in files:
                try:
                    result.moved.append(self._to_trash(journal, media))
                except SourceChanged as exc:
                    result.skipped.append(f"{_label(media)}: {exc}")
        result.summary = _summary("rejected (moved to the trash)", result)
        return self._record(result, None, files, {})

    def _to_trash(self, journal: Journal, media: MediaFile) -> FileResult:
        source = media.current_path or ""
        days = self.config.review.trash_days
        reason = {
            "rule": "rejected",
            "summary": f"rejected in review by {self.actor}; deleted after {days} days "
            "unless the rejection is undone",
            "was": current_folder(media),
        }
        fields = {"place": Place.TRASH, "category": None, "people": [], "reason": reason}
        destination = journal.transfer(
            TransferRequest(
                file_id=media.id,
                src=source,
                dest_dir=str(self.config.trash_path),
                name=safe_file_name(os.path.basename(source)),
                outcome=TransferOutcome(
                    {"status": FileStatus.DONE, "last_error": None, **fields},
                    OutcomeEvent(EventAction.REJECTED, **fields),
                ),
                action=TransferAction.REJECT,
                op=TransferOp.MOVE,
                expected_sha256=media.sha256,
            )
        )
        return FileResult(media.id, source, destination, Place.TRASH, reason["summary"])

    def add_reference(
        self,
        file_ids: Iterable[int],
        person: str,
        *,
        face: int | None = None,
        whole_photo: bool = False,
    ) -> ActionResult:
        """Make one face of each file (a crop) a reference photo of ``person``; with
        ``whole_photo``, copy the photo itself (only for photos with exactly one face).
        ``face`` (1-based) names the face of a single file with several. The files stay
        where they are."""
        person = person_name(self.state, self.config, person)
        files = self._files(file_ids)
        if face is not None and len(files) > 1:
            raise ReviewError("A face number can only be given for one file at a time.")
        picked: dict[int, FaceRow] = {}
        for media in files:
            if not media.current_path or not os.path.isfile(media.current_path):
                raise ReviewError(f"{_label(media)} is not on disk any more: nothing to add.")
            faces = file_faces(self.state, media.id)
            chosen = self._pick_face(media, faces, face, "add as a reference")
            if chosen is None:
                raise ReviewError(
                    f"{_label(media)} has {len(faces)} faces: say which one is {person} "
                    "(face number). Nothing was changed."
                    if faces
                    else f"{_label(media)} has no face facesort found: it cannot be a "
                    f"reference photo of {person}. Nothing was changed."
                )
            if whole_photo and (media.kind != Kind.IMAGE or len(faces) != 1):
                raise ReviewError(
                    f"{_label(media)} is not a photo with exactly one face: add a crop of the "
                    "face instead (leave out 'whole photo'). Nothing was changed."
                )
            picked[media.id] = chosen
        group = new_group_id()
        journal = Journal(self.state, self.actor, group, lease_s=self.config.claim_lease_seconds)
        result = ActionResult(group, ReviewKind.ADD_REFERENCE, "")
        labels: dict[str, list[Any]] = {}
        with self._recorded_on_failure(result, person, files, {"faces": labels}):
            for media in files:
                if whole_photo:
                    self._copy_reference(journal, media, media.current_path, person, result)
                else:
                    self._add_face_reference(journal, media, picked[media.id], person, result)
                labels.update(self._confirm([picked[media.id]], person))
        count = len(result.references)
        result.summary = f"added {count} reference photo{'s' if count != 1 else ''} of {person}"
        return self._record(result, person, files, {"faces": labels})

    def not_duplicate(self, file_ids: Iterable[int]) -> ActionResult:
        """Files in ``review/duplicates`` become originals and are sorted by their faces,
        like new files (they move to wherever matching decides)."""
        files = self._queue_files(file_ids, categories=(Category.DUPLICATES,))
        group = new_group_id()
        evaluator = Evaluator(self.config, self.state)
        router = Router(self.config, self.state, actor=self.actor, group_id=group)
        result = ActionResult(group, ReviewKind.NOT_DUPLICATE, "")
        originals = []
        with self._recorded_on_failure(result, None, files, {"originals": originals}):
            for media in files:
                # Decode, detect and match like a new file; duplicates are not compared again.
                evaluation = evaluator.reevaluate(media, redetect=True)
                decision = _with_note(
                    evaluation.decision, f"not a duplicate (said in review by {self.actor}); "
                )
                try:
                    result.moved.append(
                        router.route_decision(
                            media, decision, action=TransferAction.NOT_DUPLICATE, found=evaluation
                        )
                    )
                except SourceChanged as exc:
                    result.skipped.append(f"{_label(media)}: {exc}")
                    continue
                phash = evaluation.phash or media.phash
                with self.state.session() as session:
                    self.state.lock_for_dedupe(session)
                    register_original(session, media.id, media.sha256, phash)
                originals.append([media.id, media.sha256, phash])
        result.summary = _summary("are not duplicates: sorted by their faces", result)
        return self._record(result, None, files, {"originals": originals})

    def name_cluster(self, cluster_id: int, person: str) -> ActionResult:
        """Name a cluster of unknown faces: up to ``review.cluster_reference_faces`` of its
        faces, spread across the cluster, become reference photos of ``person``; all its
        faces are labelled; each file in the review queue whose faces are now all this
        person moves to their library folder, and the other files of the cluster in the
        queue are matched again with the new references (moved when now a sure match)."""
        from facesort.review.clustering import cluster_members, spread_sample

        person = person_name(self.state, self.config, person)
        with self.state.session() as session:
            cluster = session.get(FaceCluster, cluster_id)
            if cluster is None or cluster.status != ClusterStatus.ACTIVE:
                state = "does not exist" if cluster is None else f"is {cluster.status}"
                raise ReviewError(
                    f"Cluster {cluster_id} {state}: the review page's 'Unknown people' "
                    "(or `facesort review clusters`) lists the clusters that can be named."
                )
        members = cluster_members(self.state, cluster_id)
        if not members:
            raise ReviewError(f"Cluster {cluster_id} has no faces left on disk to name.")
        group = new_group_id()
        evaluator = Evaluator(self.config, self.state)
        router = Router(self.config, self.state, actor=self.actor, group_id=group)
        _check_folder(router, person)
        result = ActionResult(group, ReviewKind.NAME_CLUSTER, "")
        by_id = {media.id: media for _, media in members}
        labels: dict[str, list[Any]] = {}
        files = list(by_id.values())
        with self._recorded_on_failure(result, person, files, {"faces": labels}):
            for face, media in spread_sample(members, self.config.review.cluster_reference_faces):
                try:
                    self._add_face_reference(router.journal, media, face, person, result)
                except (OSError, ValueError, NoPicture) as exc:
                    result.skipped.append(f"{_label(media)}: face not added as a reference ({exc})")
            labels.update(self._confirm([face for face, _ in members], person))
            evaluator.forget_references()  # match with the references just added
            for media in by_id.values():
                if media.place != Place.REVIEW or media.category == Category.DUPLICATES:
                    continue
                faces = file_faces(self.state, media.id)
                try:
                    if faces and all(
                        f.confidence == Confidence.CONFIRMED and f.person == person for f in faces
                    ):
                        decision = Decision(
                            category=None,
                            rule="approved",
                            summary=f"named {person} in review by {self.actor} "
                            f"(cluster {cluster_id})",
                            people=(person,),
                            details={"approved_by": self.actor, "was": current_folder(media)},
                        )
                        moved = router.route_decision(
                            media, decision, action=TransferAction.APPROVE
                        )
                    else:
                        evaluation = evaluator.reevaluate(media)
                        if evaluation.decision.category is not None:
                            continue  # still not sure; stays in the queue
                        moved = router.route_decision(
                            media,
                            evaluation.decision,
                            action=TransferAction.RECHECK,
                            found=evaluation,
                        )
                    result.moved.append(moved)
                except SourceChanged as exc:
                    result.skipped.append(f"{_label(media)}: {exc}")
        with self.state.session() as session:
            cluster = session.get(FaceCluster, cluster_id)
            previous = {"status": cluster.status, "person": cluster.person}
            cluster.status, cluster.person = ClusterStatus.NAMED, person
        result.summary = (
            f"cluster {cluster_id} named {person}: {len(result.references)} reference photos "
            f"added, {_count(result.moved)} moved to the library"
        )
        details = {"faces": labels, "cluster": {"id": cluster_id, "previous": previous}}
        return self._record(result, person, files, details)

    # ------------------------------------------------------------------ undo

    def undo(self, group_id: str) -> ActionResult:
        """Revert one review action. Undoing an undo does the action again (a *redo*);
        undoing a redo undoes it once more."""
        with self.state.session() as session:
            action = session.scalar(
                sa.select(ReviewAction).where(ReviewAction.group_id == group_id)
            )
            if action is None:
                raise ReviewError(
                    f"No review action {group_id!r}: `facesort review history` lists them."
                )
            if action.undone_by:
                raise ReviewError(
                    f"Review action {group_id} was already undone ({action.undone_by})."
                )
            kind, file_ids = action.kind, action.file_ids or []
            base = action
            while (
                base is not None
                and base.kind in {ReviewKind.UNDO, ReviewKind.REDO}
                and base.undo_of
            ):
                base = session.scalar(
                    sa.select(ReviewAction).where(ReviewAction.group_id == base.undo_of)
                )
            base_kind = base.kind if base is not None else kind
            base_group = base.group_id if base is not None else group_id
            base_details = dict(base.details or {}) if base is not None else {}
        report = undo_group(
            self.state, group_id, self.actor, lease_s=self.config.claim_lease_seconds
        )
        redo = kind == ReviewKind.UNDO
        result = ActionResult(
            report.group_id,
            ReviewKind.REDO if redo else ReviewKind.UNDO,
            "",
            skipped=list(report.skipped or []),
        )
        if redo:
            journal = Journal(
                self.state, self.actor, report.group_id, lease_s=self.config.claim_lease_seconds
            )
            self._apply_effects(base_details, journal, result)
        else:
            _revert_effects(self.state, base_details)
        result.summary = (
            f"{result.kind} of {base_kind} ({base_group}): "
            f"{report.reverted + len(result.references)} change(s)"
            + (f", {len(result.skipped)} left as they are" if result.skipped else "")
        )
        with self.state.session() as session:
            session.execute(
                sa.update(ReviewAction)
                .where(ReviewAction.group_id == group_id)
                .values(undone_by=report.group_id)
            )
            session.add(
                ReviewAction(
                    group_id=report.group_id,
                    kind=result.kind,
                    actor=self.actor,
                    file_ids=file_ids,
                    summary=result.summary,
                    undo_of=group_id,
                )
            )
        return result

    def undo_last(self, count: int = 1) -> list[ActionResult]:
        """Undo the ``count`` most recent review actions (or redos) not undone yet, newest
        first. Undos themselves are skipped: undoing twice undoes two actions."""
        with self.state.session() as session:
            groups = list(
                session.scalars(
                    sa.select(ReviewAction.group_id)
                    .where(ReviewAction.undone_by.is_(None), ReviewAction.kind != ReviewKind.UNDO)
                    .order_by(ReviewAction.at.desc(), ReviewAction.id.desc())
                    .limit(count)
                )
            )
        if not groups:
            raise ReviewError("There is no review action to undo.")
        return [self.undo(group) for group in groups]

    # ------------------------------------------------------------------ helpers

    def _confirm(self, faces: list[FaceRow], person: str) -> dict[str, list[Any]]:
        """Label faces with the person; returns their previous labels (for undo)."""
        previous: dict[str, list[Any]] = {}
        with self.state.session() as session:
            for face in faces:
                row = session.get(FaceRow, face.id)
                if row is None:
                    continue
                previous[str(row.id)] = [row.person, row.confidence, row.source]
                row.person, row.confidence, row.source = (
                    person,
                    Confidence.CONFIRMED,
                    FaceSource.REVIEW,
                )
        return previous

    def _add_face_reference(
        self, journal: Journal, media: MediaFile, face: FaceRow, person: str, result: ActionResult
    ) -> None:
        """Copy a crop of ``face`` into the person's reference folder (journaled)."""
        from facesort.references import settings_key
        from facesort.review.pictures import face_picture

        left, top, right, bottom = face.box
        if right <= left or bottom <= top:
            raise ReviewError(
                f"A face of {_label(media)} has no box (Immich named it without one): add a "
                "reference photo of this person with `facesort references add` instead."
            )
        try:
            crop = face_picture(
                self.config, media, face, max_side=self.config.matching.encode_max_side
            )
        except NoPicture as exc:
            raise ReviewError(f"Cannot cut the face out of {_label(media)}: {exc}") from None
        folder = self.config.references_dir / person
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".facesort-crop-", suffix=".jpg")
        try:
            with os.fdopen(fd, "wb") as handle:
                crop.save(handle, "JPEG", quality=95)
            sha = sha256_file(tmp)
            if face.encoding is not None:
                # The reference is the face the person confirmed: cache its encoding, so
                # that matching uses exactly that face rather than whatever a detector
                # finds again in the crop.
                with self.state.session() as session:
                    session.merge(
                        ReferenceEncoding(
                            sha256=sha,
                            status=ReferenceStatus.FACE,
                            encoding=face.encoding,
                            box=None,
                            face_count=1,
                            detail=f"face confirmed in review (file #{media.id})",
                            settings_key=settings_key(self.config.matching),
                        )
                    )
            stem = Path(os.path.basename(media.current_path or media.source_path)).stem
            faces = file_faces(self.state, media.id)
            number = next((i + 1 for i, f in enumerate(faces) if f.id == face.id), 1)
            self._copy_reference(
                journal, media, tmp, person, result, name=f"{stem} face {number}.jpg", sha256=sha
            )
            result.reference_sources[-1][1] = face.id
        finally:
            os.unlink(tmp)

    def _copy_reference(
        self,
        journal: Journal,
        media: MediaFile,
        source: str,
        person: str,
        result: ActionResult,
        *,
        name: str | None = None,
        sha256: str | None = None,
    ) -> None:
        summary = f"added as a reference photo of {person} in review by {self.actor}"
        added = journal.transfer(
            TransferRequest(
                file_id=media.id,
                src=source,
                dest_dir=str(self.config.references_dir / person),
                name=safe_file_name(name or os.path.basename(source)),
                outcome=TransferOutcome(
                    None,
                    OutcomeEvent(
                        EventAction.REFERENCE_ADDED, people=[person], reason={"summary": summary}
                    ),
                ),
                action=TransferAction.ADD_REFERENCE,
                op=TransferOp.COPY,
                expected_sha256=sha256 or media.sha256,
            )
        )
        result.references.append(added)
        result.reference_sources.append([media.id, None])

    def _apply_effects(
        self, details: dict[str, Any], journal: Journal, result: ActionResult
    ) -> None:
        """Do an action's effects besides file moves again (when its undo is undone)."""
        person = details.get("person")
        with self.state.session() as session:
            if person:
                for face_id in details.get("faces") or {}:
                    row = session.get(FaceRow, int(face_id))
                    if row is not None:
                        row.person, row.confidence, row.source = (
                            person,
                            Confidence.CONFIRMED,
                            FaceSource.REVIEW,
                        )
            cluster = details.get("cluster")
            if cluster:
                row = session.get(FaceCluster, cluster["id"])
                if row is not None:
                    row.status, row.person = ClusterStatus.NAMED, person
            originals = details.get("originals") or []
            if originals:
                self.state.lock_for_dedupe(session)
            for file_id, sha, phash in originals:
                register_original(session, file_id, sha, phash)
        # Reference photos removed by the undo are made again from their files.
        for file_id, face_id in details.get("references") or []:
            with self.state.session() as session:
                media = session.get(MediaFile, file_id)
                face = session.get(FaceRow, face_id) if face_id is not None else None
            if media is None or not media.current_path or not person:
                continue
            try:
                if face is not None:
                    self._add_face_reference(journal, media, face, person, result)
                elif face_id is None:
                    self._copy_reference(journal, media, media.current_path, person, result)
            except (OSError, NoPicture, SourceChanged) as exc:
                result.skipped.append(f"{_label(media)}: reference photo not made again ({exc})")

    @contextmanager
    def _recorded_on_failure(
        self,
        result: ActionResult,
        person: str | None,
        files: list[MediaFile],
        details: dict[str, Any],
    ) -> Iterator[None]:
        """An action that fails halfway is still recorded with what it did, so that
        what it did can be undone like a whole action."""
        try:
            yield
        except BaseException as exc:
            if result.moved or result.references:
                result.summary = (
                    f"{result.kind} stopped by an error after {_count(result.moved)} and "
                    f"{len(result.references)} reference photo(s): {exc}"
                )
                self._record(result, person, files, details)
            raise

    def _record(
        self,
        result: ActionResult,
        person: str | None,
        files: list[MediaFile],
        details: dict[str, Any],
    ) -> ActionResult:
        if not result.moved and not result.references:
            raise ReviewError(
                "Nothing was done: " + "; ".join(result.skipped or ["no file could be changed"])
            )
        if result.reference_sources:
            details = {**details, "references": result.reference_sources}
        if person and details:
            details = {**details, "person": person}
        with self.state.session() as session:
            session.add(
                ReviewAction(
                    group_id=result.group_id,
                    kind=result.kind,
                    actor=self.actor,
                    at=utcnow(),
                    person=person,
                    file_ids=[m.id for m in files],
                    summary=result.summary,
                    details=details or None,
                )
            )
        return result


def is_review_group(state: State, group_id: str) -> bool:
    """Whether a journal group is a review action (undo it with :meth:`Reviewer.undo`)."""
    with state.session() as session:
        return (
            session.scalar(sa.select(ReviewAction.id).where(ReviewAction.group_id == group_id))
            is not None
        )


def record_action(
    state: State, result: ActionResult, actor: str, file_ids: list[int], person: str | None = None
) -> None:
    """Record an action done outside :class:`Reviewer` (the nightly re-check)."""
    with state.session() as session:
        session.add(
            ReviewAction(
                group_id=result.group_id,
                kind=result.kind,
                actor=actor,
                person=person,
                file_ids=file_ids,
                summary=result.summary,
            )
        )


def _check_folder(router: Router, person: str) -> None:
    """Refuse a name routing would not give a folder of its own (before anything moves)."""
    problem = router.folder_problem(person)
    if problem is not None:
        raise ReviewError(f"{problem[1]}. Nothing was changed.")


def _with_note(decision: Decision, note: str) -> Decision:
    from dataclasses import replace

    return replace(decision, summary=note + decision.summary)


def _count(files: list[Any]) -> str:
    return f"{len(files)} file{'s' if len(files) != 1 else ''}"


def _summary(what: str, result: ActionResult) -> str:
    text = f"{_count(result.moved)} {what}"
    if result.skipped:
        text += f" ({len(result.skipped)} skipped)"
    return text


# Effects besides file moves, recorded in review_action.details: reverted on undo, done
# again (Reviewer._apply_effects) when the undo itself is undone.


def _revert_effects(state: State, details: dict[str, Any]) -> None:
    with state.session() as session:
        for face_id, (person, confidence, source) in (details.get("faces") or {}).items():
            row = session.get(FaceRow, int(face_id))
            if row is not None:
                row.person, row.confidence, row.source = person, confidence, source
        cluster = details.get("cluster")
        if cluster:
            row = session.get(FaceCluster, cluster["id"])
            if row is not None:
                row.status = cluster["previous"]["status"]
                row.person = cluster["previous"]["person"]
        for file_id, _sha, _phash in details.get("originals") or []:
            forget_original(session, file_id)
