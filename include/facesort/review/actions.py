"""Review actions: what a person decides about the files in the review queue.

Every action is one journal group (``review-<hex>``): its file moves go through
:meth:`facesort.sorting.route.Router.route_decision` (or the journal directly, for the
trash and reference photos) exactly like routing, so nothing is lost, and the action is
recorded (:mod:`facesort.review.record`) with what else it changed, so that
:meth:`Reviewer.undo` can revert it.

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
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.dedupe import register_original
from facesort.files.journal import (
    Journal,
    SourceChanged,
)
from facesort.names import UnsafeNameError, safe_folder_name
from facesort.policy import Decision
from facesort.resort import current_folder
from facesort.review.intent import (
    Intent,
    begin,
    done_so_far,
    find_retry,
    note_details,
    recover_first,
)
from facesort.review.pictures import NoPicture
from facesort.review.record import (
    confirm_faces,
    last_actions,
    record_result,
    recorded_on_failure,
    undo_action,
)
from facesort.review.reference_photos import ReferencePhotos, file_faces
from facesort.review.results import (
    ActionResult,
    ReviewError,
    count_files,
    file_label,
    summary_of,
)
from facesort.review.trash import move_to_trash
from facesort.sorting.evaluate import Evaluator
from facesort.sorting.route import FileResult, Router
from facesort.state import State
from facesort.state.models import Face as FaceRow
from facesort.state.models import FaceCluster, MediaFile, ReviewAction
from facesort.vocab import (
    ActionState,
    Category,
    ClusterStatus,
    Confidence,
    FileStatus,
    Kind,
    Place,
    ReviewKind,
    TransferAction,
)
from facesort.words import form, plural

KINDS = tuple(ReviewKind)


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


class Reviewer:
    """Performs review actions for one person (``actor``)."""

    def __init__(self, config: Config, state: State, actor: str):
        self.config = config
        self.state = state
        self.actor = actor
        self.photos = ReferencePhotos(config, state, actor)

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
        files, retry, prior = self._gate(ReviewKind.APPROVE, person, file_ids)
        duplicates = [
            m for m in files if m.category == Category.DUPLICATES and m.id not in prior.moved
        ]
        if duplicates:
            raise ReviewError(
                f"{', '.join(map(file_label, duplicates))} "
                f"{'is a duplicate' if len(duplicates) == 1 else 'are duplicates'} of a file "
                "facesort kept: choose 'not a duplicate' to sort it, or reject it. "
                "Nothing was changed."
            )
        chosen = _faces_to_approve(self.state, files, face, person, add_reference)
        router = Router(self.config, self.state, actor=self.actor, group_id=None)
        _check_folder(router, person)
        intent = self._begin(ReviewKind.APPROVE, person, files, retry)
        group = router.journal.group_id = intent.group_id
        result = _continued(ActionResult(group, ReviewKind.APPROVE, ""), intent)
        labels: dict[str, list[Any]] = {}
        with recorded_on_failure(self.state, self.actor, result, person, files, {"faces": labels}):
            for media in files:
                if media.id in intent.moved:
                    continue  # moved by the try that was killed
                picked = chosen[media.id]
                if add_reference and picked is not None and media.id not in intent.references:
                    # Cut out the face before the file moves, from where its record says.
                    self.photos.add_face(router.journal, media, picked, person, result)
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
                    result.skipped.append(f"{file_label(media)}: {exc}")
                    continue
                if picked is not None:
                    labels.update(confirm_faces(self.state, [picked], person, group))
        result.summary = summary_of(f"approved as {person}", result)
        return record_result(self.state, self.actor, result, person, files, {"faces": labels})

    def reject(self, file_ids: Iterable[int]) -> ActionResult:
        """Move files to the trash folder; the nightly run deletes them after
        ``review.trash_days`` days (an undo brings them back until then)."""
        files, retry, _ = self._gate(ReviewKind.REJECT, None, file_ids)
        intent = self._begin(ReviewKind.REJECT, None, files, retry)
        group = intent.group_id
        journal = Journal(self.state, self.actor, group, lease_s=self.config.claim_lease_seconds)
        result = _continued(ActionResult(group, ReviewKind.REJECT, ""), intent)
        with recorded_on_failure(self.state, self.actor, result, None, files, {}):
            for media in files:
                if media.id in intent.moved:
                    continue  # moved by the try that was killed
                try:
                    result.moved.append(move_to_trash(self.config, journal, media, self.actor))
                except SourceChanged as exc:
                    result.skipped.append(f"{file_label(media)}: {exc}")
        result.summary = summary_of("rejected (moved to the trash)", result)
        return record_result(self.state, self.actor, result, None, files, {})

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
        files, retry, _ = self._gate(ReviewKind.ADD_REFERENCE, person, file_ids, queue=False)
        picked = _faces_to_add(self.state, files, face, person, whole_photo)
        intent = self._begin(ReviewKind.ADD_REFERENCE, person, files, retry)
        group = intent.group_id
        journal = Journal(self.state, self.actor, group, lease_s=self.config.claim_lease_seconds)
        result = _continued(ActionResult(group, ReviewKind.ADD_REFERENCE, ""), intent)
        labels: dict[str, list[Any]] = {}
        with recorded_on_failure(self.state, self.actor, result, person, files, {"faces": labels}):
            for media in files:
                if media.id not in intent.references:
                    if whole_photo:
                        self.photos.copy(journal, media, media.current_path, person, result)
                    else:
                        self.photos.add_face(journal, media, picked[media.id], person, result)
                labels.update(confirm_faces(self.state, [picked[media.id]], person, group))
        count = len(result.references)
        result.summary = f"added {plural(count, 'reference photo')} of {person}"
        return record_result(self.state, self.actor, result, person, files, {"faces": labels})

    def not_duplicate(self, file_ids: Iterable[int]) -> ActionResult:
        """Files in ``review/duplicates`` become originals and are sorted by their faces,
        like new files (they move to wherever matching decides)."""
        files, retry, _ = self._gate(
            ReviewKind.NOT_DUPLICATE, None, file_ids, categories=(Category.DUPLICATES,)
        )
        intent = self._begin(ReviewKind.NOT_DUPLICATE, None, files, retry)
        group = intent.group_id
        evaluator = Evaluator(self.config, self.state)
        router = Router(self.config, self.state, actor=self.actor, group_id=group)
        result = _continued(ActionResult(group, ReviewKind.NOT_DUPLICATE, ""), intent)
        originals = list(intent.details.get("originals") or [])
        with recorded_on_failure(
            self.state, self.actor, result, None, files, {"originals": originals}
        ):
            for media in files:
                if media.id in intent.moved:
                    continue  # moved by the try that was killed
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
                    result.skipped.append(f"{file_label(media)}: {exc}")
                    continue
                phash = evaluation.phash or media.phash
                with self.state.session() as session:
                    self.state.lock_for_dedupe(session)
                    register_original(session, media.id, media.sha256, phash)
                    note_details(session, group, originals=[[media.id, media.sha256, phash]])
                originals.append([media.id, media.sha256, phash])
        verb = form(result.moved, "is not a duplicate", "are not duplicates")
        result.summary = summary_of(f"{verb}: sorted by their faces", result)
        return record_result(self.state, self.actor, result, None, files, {"originals": originals})

    def name_cluster(self, cluster_id: int, person: str) -> ActionResult:
        """Name a cluster of unknown faces: up to ``review.cluster_reference_faces`` of its
        faces, spread across the cluster, become reference photos of ``person``; all its
        faces are labelled; each file in the review queue whose faces are now all this
        person moves to their library folder, and the other files of the cluster in the
        queue are matched again with the new references (moved when now a sure match)."""
        from facesort.review.clustering import cluster_members, spread_sample

        person = person_name(self.state, self.config, person)
        recover_first(self.state, self.config)
        _check_active(self.state, cluster_id)
        retry = _naming_in_flight(self.state, cluster_id, person)
        members = cluster_members(
            self.state, cluster_id, of_files=retry.file_ids if retry is not None else None
        )
        if not members:
            raise ReviewError(f"Cluster {cluster_id} has no faces left on disk to name.")
        evaluator = Evaluator(self.config, self.state)
        router = Router(self.config, self.state, actor=self.actor, group_id=None)
        _check_folder(router, person)
        by_id = {media.id: media for _, media in members}
        files = list(by_id.values())
        intent = self._begin(ReviewKind.NAME_CLUSTER, person, files, retry)
        if retry is None:
            with self.state.session() as session:
                note_details(session, intent.group_id, cluster_id=cluster_id)
        group = router.journal.group_id = intent.group_id
        result = _continued(ActionResult(group, ReviewKind.NAME_CLUSTER, ""), intent)
        labels: dict[str, list[Any]] = {}
        with recorded_on_failure(self.state, self.actor, result, person, files, {"faces": labels}):
            for face, media in spread_sample(members, self.config.review.cluster_reference_faces):
                if media.id in intent.references:
                    continue  # made by the try that was killed
                try:
                    self.photos.add_face(router.journal, media, face, person, result)
                except (OSError, ValueError, NoPicture) as exc:
                    result.skipped.append(
                        f"{file_label(media)}: face not added as a reference ({exc})"
                    )
            faces_of_cluster = [face for face, _ in members]
            labels.update(confirm_faces(self.state, faces_of_cluster, person, group))
            evaluator.forget_references()  # match with the references just added
            named = f"named {person} in review by {self.actor} (cluster {cluster_id})"
            for media in by_id.values():
                if media.id in intent.moved:
                    continue  # moved by the try that was killed
                if media.place != Place.REVIEW or media.category == Category.DUPLICATES:
                    continue
                try:
                    moved = _sort_now_known(evaluator, router, media, person, named)
                except SourceChanged as exc:
                    result.skipped.append(f"{file_label(media)}: {exc}")
                    continue
                if moved is not None:
                    result.moved.append(moved)
        with self.state.session() as session:
            cluster = session.get(FaceCluster, cluster_id)
            previous = {"status": cluster.status, "person": cluster.person}
            cluster.status, cluster.person = ClusterStatus.NAMED, person
            note_details(session, group, cluster={"id": cluster_id, "previous": previous})
        result.summary = (
            f"cluster {cluster_id} named {person}: {plural(result.references, 'reference photo')} "
            f"added, {count_files(result.moved)} moved to the library"
        )
        details = {"faces": labels, "cluster": {"id": cluster_id, "previous": previous}}
        return record_result(self.state, self.actor, result, person, files, details)

    def _gate(
        self,
        kind: str,
        person: str | None,
        file_ids: Iterable[int],
        *,
        categories: Sequence[str] | None = None,
        queue: bool = True,
    ) -> tuple[list[MediaFile], ReviewAction | None, Intent]:
        """Recover first, then the files of the action: checked to be in the queue,
        except those an earlier, killed try of the same action already moved."""
        ids = list(dict.fromkeys(int(i) for i in file_ids))
        recover_first(self.state, self.config)
        retry = find_retry(self.state, kind, person, ids)
        prior = done_so_far(self.state, retry)
        todo = [i for i in ids if i not in prior.moved]
        if queue and todo:
            _queue_files(self.state, todo, categories)
        return _files(self.state, ids), retry, prior

    def _begin(
        self, kind: str, person: str | None, files: list[MediaFile], retry: ReviewAction | None
    ) -> Intent:
        """Record the action before its first move (or take over the killed try)."""
        ids = [m.id for m in files]
        return begin(self.state, self.config, self.actor, kind, person, ids, retry=retry)

    def undo(self, group_id: str) -> ActionResult:
        """Revert one review action. Undoing an undo does the action again (a *redo*);
        undoing a redo undoes it once more."""
        return undo_action(self.config, self.state, self.actor, self.photos, group_id)

    def undo_last(self, count: int = 1) -> list[ActionResult]:
        """Undo the ``count`` most recent review actions (or redos) not undone yet, newest
        first. Undos themselves are skipped: undoing twice undoes two actions."""
        return [self.undo(group) for group in last_actions(self.state, count)]


def _files(state: State, file_ids: Iterable[int]) -> list[MediaFile]:
    ids = list(dict.fromkeys(int(i) for i in file_ids))
    if not ids:
        raise ReviewError("No files given: name the files by id or path.")
    with state.session() as session:
        rows = {m.id: m for m in session.scalars(sa.select(MediaFile).where(MediaFile.id.in_(ids)))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise ReviewError(
            f"No file #{', #'.join(map(str, missing))} in facesort's records: "
            "`facesort review list` shows the ids of the files in the queue."
        )
    return [rows[i] for i in ids]


def _queue_files(
    state: State, file_ids: Iterable[int], categories: Sequence[str] | None = None
) -> list[MediaFile]:
    files = _files(state, file_ids)
    problems = []
    for media in files:
        if media.status != FileStatus.DONE or media.place != Place.REVIEW:
            where = (
                current_folder(media)
                if media.place in {Place.LIBRARY, Place.REVIEW}
                else (media.place or "staging")
            )
            problems.append(f"{file_label(media)} is in {where}, not in the review queue")
        elif categories and media.category not in categories:
            wanted = " or ".join(f"review/{c}" for c in categories)
            problems.append(f"{file_label(media)} is in review/{media.category}, not {wanted}")
    if problems:
        raise ReviewError("; ".join(problems) + ". Nothing was changed.")
    return files


def _pick_face(
    media: MediaFile, faces: list[FaceRow], face: int | None, purpose: str
) -> FaceRow | None:
    """Face number ``face`` (1-based), or the only face; None when neither applies."""
    if face is not None:
        if not 1 <= face <= len(faces):
            found = plural(faces, "face")
            raise ReviewError(
                f"{file_label(media)} has {found}: there is no face {face} to {purpose}."
            )
        return faces[face - 1]
    if len(faces) == 1:
        return faces[0]
    return None


def _check_folder(router: Router, person: str) -> None:
    """Refuse a name routing would not give a folder of its own (before anything moves)."""
    problem = router.folder_problem(person)
    if problem is not None:
        raise ReviewError(f"{problem[1]}. Nothing was changed.")


def _naming_in_flight(state: State, cluster_id: int, person: str) -> ReviewAction | None:
    """The naming of this cluster as ``person`` that a killed process left open."""
    with state.session() as session:
        candidates = [
            row
            for row in session.scalars(
                sa.select(ReviewAction).where(
                    ReviewAction.kind == ReviewKind.NAME_CLUSTER,
                    ReviewAction.state == ActionState.OPEN,
                    ReviewAction.person == person,
                )
            )
            if (row.details or {}).get("cluster_id") == cluster_id
        ]
    for row in candidates:
        return find_retry(state, ReviewKind.NAME_CLUSTER, person, row.file_ids)
    return None


def _continued(result: ActionResult, intent: Intent) -> ActionResult:
    """The result of an action, with what its killed try already did."""
    result.moved.extend(intent.moved.values())
    for file_id, photos in intent.references.items():
        result.references.extend(photos)
        result.reference_sources.extend([file_id, None] for _ in photos)
    return result


def _with_note(decision: Decision, note: str) -> Decision:
    from dataclasses import replace

    return replace(decision, summary=note + decision.summary)


def _faces_to_approve(
    state: State, files: list[MediaFile], face: int | None, person: str, add_reference: bool
) -> dict[int, FaceRow | None]:
    """The face of each file to label with ``person`` (None: no single face to label)."""
    if face is not None and len(files) > 1:
        raise ReviewError("A face number can only be given for one file at a time.")
    chosen: dict[int, FaceRow | None] = {}
    for media in files:
        faces = file_faces(state, media.id)
        chosen[media.id] = _pick_face(media, faces, face, "approve")
        if add_reference and chosen[media.id] is None:
            raise ReviewError(
                f"{file_label(media)} has {len(faces)} faces: say which one is {person} "
                "(face number) to add it as a reference. Nothing was changed."
                if faces
                else f"{file_label(media)} has no face to add as a reference of {person}. "
                "Nothing was changed."
            )
    return chosen


def _faces_to_add(
    state: State, files: list[MediaFile], face: int | None, person: str, whole_photo: bool
) -> dict[int, FaceRow]:
    """The face of each file that becomes a reference photo of ``person``."""
    if face is not None and len(files) > 1:
        raise ReviewError("A face number can only be given for one file at a time.")
    picked: dict[int, FaceRow] = {}
    for media in files:
        if not media.current_path or not os.path.isfile(media.current_path):
            raise ReviewError(f"{file_label(media)} is not on disk any more: nothing to add.")
        faces = file_faces(state, media.id)
        chosen = _pick_face(media, faces, face, "add as a reference")
        if chosen is None:
            raise ReviewError(
                f"{file_label(media)} has {len(faces)} faces: say which one is {person} "
                "(face number). Nothing was changed."
                if faces
                else f"{file_label(media)} has no face facesort found: it cannot be a "
                f"reference photo of {person}. Nothing was changed."
            )
        if whole_photo and (media.kind != Kind.IMAGE or len(faces) != 1):
            raise ReviewError(
                f"{file_label(media)} is not a photo with exactly one face: add a crop of the "
                "face instead (leave out 'whole photo'). Nothing was changed."
            )
        picked[media.id] = chosen
    return picked


def _check_active(state: State, cluster_id: int) -> None:
    with state.session() as session:
        cluster = session.get(FaceCluster, cluster_id)
        if cluster is None or cluster.status != ClusterStatus.ACTIVE:
            what = "does not exist" if cluster is None else f"is {cluster.status}"
            raise ReviewError(
                f"Cluster {cluster_id} {what}: the review page's 'Unknown people' "
                "(or `facesort review clusters`) lists the clusters that can be named."
            )


def _sort_now_known(
    evaluator: Evaluator, router: Router, media: MediaFile, person: str, summary: str
) -> FileResult | None:
    """A queued file of a cluster just named ``person``: to their library folder when all
    its faces are now theirs, else matched again and moved when now a sure match; None
    when it stays in the queue."""
    faces = file_faces(router.state, media.id)
    if faces and all(f.confidence == Confidence.CONFIRMED and f.person == person for f in faces):
        decision = Decision(
            category=None,
            rule="approved",
            summary=summary,
            people=(person,),
            details={"approved_by": router.actor, "was": current_folder(media)},
        )
        return router.route_decision(media, decision, action=TransferAction.APPROVE)
    evaluation = evaluator.reevaluate(media)
    if evaluation.decision.category is not None:
        return None  # still not sure; stays in the queue
    return router.route_decision(
        media, evaluation.decision, action=TransferAction.RECHECK, found=evaluation
    )
