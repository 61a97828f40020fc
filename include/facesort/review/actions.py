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

from collections.abc import Iterable
from functools import partial
from typing import Any

from facesort.files.journal import Journal
from facesort.policy import Decision
from facesort.resort import current_folder
from facesort.review.context import ReviewContext
from facesort.review.intent import continued
from facesort.review.keep_instead import keep_instead
from facesort.review.manual_faces import check_box, manual_face
from facesort.review.naming import name_cluster
from facesort.review.not_duplicate import not_duplicate
from facesort.review.not_person import not_person
from facesort.review.record import (
    ActionRecord,
    confirm_faces,
    last_actions,
    record_result,
    recorded_on_failure,
    undo_action,
)
from facesort.review.results import ActionResult, ReviewError, file_label, summary_of
from facesort.review.spelling import check_new_person
from facesort.review.targets import (
    check_folder,
    faces_to_add,
    faces_to_approve,
    person_name,
)
from facesort.review.trash import move_to_trash
from facesort.sorting.route import Router
from facesort.vocab import Category, ReviewKind, TransferAction
from facesort.words import plural

KINDS = tuple(ReviewKind)


class Reviewer(ReviewContext):
    """Performs review actions for one person (``actor``): the verbs, on the
    :class:`~facesort.review.context.ReviewContext` they share."""

    def approve(
        self,
        file_ids: Iterable[int],
        person: str,
        *,
        add_reference: bool = False,
        face: int | None = None,
        confirm_new_person: bool = False,
        manual_box: list[float] | None = None,
    ) -> ActionResult:
        """Move files to ``library/<person>/``; label the face; optionally add it as a
        reference. ``face`` (1-based) names the face for a file with several. A new
        person whose name is close to a known one is refused unless
        ``confirm_new_person`` (:mod:`facesort.review.spelling`). ``manual_box``: a face
        the detector missed, drawn on the one photo approved, is the person's face
        (:mod:`facesort.review.manual_faces`)."""
        person = person_name(self.state, self.config, person)
        check_new_person(self.state, self.config, person, confirmed=confirm_new_person)
        files, retry, prior = self.gate(ReviewKind.APPROVE, person, file_ids)
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
        if manual_box is not None:
            if len(files) != 1 or face is not None:
                raise ReviewError("A face can be drawn on one photo at a time.")
            box = check_box(files[0], manual_box)
            chosen: dict[int, Any] = {files[0].id: None}
        else:
            chosen = faces_to_approve(self.state, files, face, person, add_reference)
        router = Router(self.config, self.state, actor=self.actor, group_id=None)
        check_folder(router, person)
        intent = self.begin(ReviewKind.APPROVE, person, files, retry)
        group = router.journal.group_id = intent.group_id
        if manual_box is not None and files[0].id not in intent.moved:
            chosen[files[0].id] = manual_face(self.state, self.config, files[0], box, person, group)
        result = continued(ActionResult(group, ReviewKind.APPROVE, ""), intent)
        labels: dict[str, list[Any]] = {}
        record = ActionRecord(self.actor, result, person, files, {"faces": labels})
        with recorded_on_failure(self.state, record):
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
                approve = partial(
                    router.route_decision, media, decision, action=TransferAction.APPROVE
                )
                if not result.move(media, approve):
                    continue
                if picked is not None and manual_box is None:  # (a drawn face is named)
                    labels.update(confirm_faces(self.state, [picked], person, group))
        result.summary = summary_of(f"approved as {person}", result)
        return record_result(self.state, record)

    def reject(self, file_ids: Iterable[int]) -> ActionResult:
        """Move files to the trash folder; the nightly run deletes them after
        ``review.trash_days`` days (an undo brings them back until then)."""
        files, retry, _ = self.gate(ReviewKind.REJECT, None, file_ids)
        intent = self.begin(ReviewKind.REJECT, None, files, retry)
        group = intent.group_id
        journal = Journal(self.state, self.actor, group, lease_s=self.config.claim_lease_seconds)
        result = continued(ActionResult(group, ReviewKind.REJECT, ""), intent)
        record = ActionRecord(self.actor, result, None, files, {})
        with recorded_on_failure(self.state, record):
            for media in files:
                if media.id in intent.moved:
                    continue  # moved by the try that was killed
                result.move(media, partial(move_to_trash, self.config, journal, media, self.actor))
        result.summary = summary_of("rejected (moved to the trash)", result)
        return record_result(self.state, record)

    def add_reference(
        self,
        file_ids: Iterable[int],
        person: str,
        *,
        face: int | None = None,
        whole_photo: bool = False,
        confirm_new_person: bool = False,
    ) -> ActionResult:
        """Make one face of each file (a crop) a reference photo of ``person``; with
        ``whole_photo``, copy the photo itself (only for photos with exactly one face).
        ``face`` (1-based) names the face of a single file with several. The files stay
        where they are."""
        person = person_name(self.state, self.config, person)
        check_new_person(self.state, self.config, person, confirmed=confirm_new_person)
        files, retry, _ = self.gate(ReviewKind.ADD_REFERENCE, person, file_ids, queue=False)
        picked = faces_to_add(self.state, files, face, person, whole_photo)
        intent = self.begin(ReviewKind.ADD_REFERENCE, person, files, retry)
        group = intent.group_id
        journal = Journal(self.state, self.actor, group, lease_s=self.config.claim_lease_seconds)
        result = continued(ActionResult(group, ReviewKind.ADD_REFERENCE, ""), intent)
        labels: dict[str, list[Any]] = {}
        record = ActionRecord(self.actor, result, person, files, {"faces": labels})
        with recorded_on_failure(self.state, record):
            for media in files:
                if media.id not in intent.references:
                    if whole_photo:
                        self.photos.copy(journal, media, media.current_path, person, result)
                    else:
                        self.photos.add_face(journal, media, picked[media.id], person, result)
                labels.update(confirm_faces(self.state, [picked[media.id]], person, group))
        count = len(result.references)
        result.summary = f"added {plural(count, 'reference photo')} of {person}"
        return record_result(self.state, record)

    def not_duplicate(self, file_ids: Iterable[int]) -> ActionResult:
        """Files in ``review/duplicates`` become originals and are sorted by their faces,
        like new files (see :mod:`facesort.review.not_duplicate`)."""
        return not_duplicate(self, file_ids)

    def keep_instead(self, file_id: int) -> ActionResult:
        """Keep the duplicate ``file_id`` instead of the file facesort kept: they swap
        places (see :mod:`facesort.review.keep_instead`)."""
        return keep_instead(self, file_id)

    def not_person(self, file_id: int, face: int | None, person: str) -> ActionResult:
        """Record that face ``face`` (1-based) of a queued file is not ``person`` (see
        :mod:`facesort.review.not_person`). Nothing moves; undo takes it back."""
        return not_person(self, file_id, face, person)

    def name_cluster(
        self, cluster_id: int, person: str, *, confirm_new_person: bool = False
    ) -> ActionResult:
        """Name a cluster of unknown faces (see :func:`facesort.review.naming.name_cluster`)."""
        return name_cluster(self, cluster_id, person, confirm_new_person=confirm_new_person)

    def undo(self, group_id: str) -> ActionResult:
        """Revert one review action. Undoing an undo does the action again (a *redo*);
        undoing a redo undoes it once more."""
        return undo_action(self.config, self.state, self.actor, self.photos, group_id)

    def undo_last(self, count: int = 1) -> list[ActionResult]:
        """Undo the ``count`` most recent review actions (or redos) not undone yet, newest
        first. Undos themselves are skipped: undoing twice undoes two actions."""
        return [self.undo(group) for group in last_actions(self.state, count)]
