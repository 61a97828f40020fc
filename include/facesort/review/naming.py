"""Naming a cluster of unknown faces: reference photos from its faces, labels on all of
them, and its queued files sorted again with the person now known.

One review action (:meth:`facesort.review.actions.Reviewer.name_cluster`), through the
same gate as the others; a killed naming is continued by a retry with the same name.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from facesort.files.journal import SourceChanged
from facesort.policy import Decision
from facesort.resort import current_folder
from facesort.review.context import ReviewContext
from facesort.review.intent import (
    ActionKey,
    continued,
    find_retry,
    note_details,
    recover_first,
)
from facesort.review.pictures import NoPicture
from facesort.review.record import (
    ActionRecord,
    confirm_faces,
    record_result,
    recorded_on_failure,
)
from facesort.review.reference_photos import file_faces
from facesort.review.results import ActionResult, ReviewError, count_files, file_label
from facesort.review.spelling import check_new_person
from facesort.review.suggestions import said_not
from facesort.review.targets import check_folder, person_name
from facesort.sorting.evaluate import Evaluator
from facesort.sorting.route import FileResult, Router
from facesort.state import State
from facesort.state.models import FaceCluster, MediaFile, ReviewAction
from facesort.vocab import (
    ActionState,
    Category,
    ClusterStatus,
    Confidence,
    Place,
    ReviewKind,
    TransferAction,
)
from facesort.words import plural


def name_cluster(
    context: ReviewContext, cluster_id: int, person: str, *, confirm_new_person: bool = False
) -> ActionResult:
    """Name a cluster of unknown faces: up to ``review.cluster_reference_faces`` of its
    faces, spread across the cluster, become reference photos of ``person``; all its
    faces are labelled; each file in the review queue whose faces are now all this
    person moves to their library folder, and the other files of the cluster in the
    queue are matched again with the new references (moved when now a sure match)."""
    from facesort.review.clustering import cluster_members, spread_sample

    person = person_name(context.state, context.config, person)
    check_new_person(context.state, context.config, person, confirmed=confirm_new_person)
    recover_first(context.state, context.config)
    check_active(context.state, cluster_id)
    retry = naming_in_flight(context.state, cluster_id, person)
    members = cluster_members(
        context.state, cluster_id, of_files=retry.file_ids if retry is not None else None
    )
    rejected = said_not(context.state)  # faces a person said are not this person
    members = [(face, media) for face, media in members if person not in rejected.get(face.id, ())]
    if not members:
        raise ReviewError(f"Cluster {cluster_id} has no faces left on disk to name.")
    evaluator = Evaluator(context.config, context.state)
    router = Router(context.config, context.state, actor=context.actor, group_id=None)
    check_folder(router, person)
    by_id = {media.id: media for _, media in members}
    files = list(by_id.values())
    intent = context.begin(ReviewKind.NAME_CLUSTER, person, files, retry)
    if retry is None:
        with context.state.session() as session:
            note_details(session, intent.group_id, cluster_id=cluster_id)
    group = router.journal.group_id = intent.group_id
    result = continued(ActionResult(group, ReviewKind.NAME_CLUSTER, ""), intent)
    labels: dict[str, list[Any]] = {}
    record = ActionRecord(context.actor, result, person, files, {"faces": labels})
    with recorded_on_failure(context.state, record):
        for face, media in spread_sample(members, context.config.review.cluster_reference_faces):
            if media.id in intent.references:
                continue  # made by the try that was killed
            try:
                context.photos.add_face(router.journal, media, face, person, result)
            except (OSError, ValueError, NoPicture) as exc:
                result.skipped.append(f"{file_label(media)}: face not added as a reference ({exc})")
        faces_of_cluster = [face for face, _ in members]
        labels.update(confirm_faces(context.state, faces_of_cluster, person, group))
        evaluator.forget_references()  # match with the references just added
        named = f"named {person} in review by {context.actor} (cluster {cluster_id})"
        for media in by_id.values():
            if media.id in intent.moved:
                continue  # moved by the try that was killed
            if media.place != Place.REVIEW or media.category == Category.DUPLICATES:
                continue
            try:
                moved = sort_now_known(evaluator, router, media, person, named)
            except SourceChanged as exc:
                result.skipped.append(f"{file_label(media)}: {exc}")
                continue
            if moved is not None:
                result.moved.append(moved)
    with context.state.session() as session:
        cluster = session.get(FaceCluster, cluster_id)
        previous = {"status": cluster.status, "person": cluster.person}
        cluster.status, cluster.person = ClusterStatus.NAMED, person
        note_details(session, group, cluster={"id": cluster_id, "previous": previous})
    result.summary = (
        f"cluster {cluster_id} named {person}: {plural(result.references, 'reference photo')} "
        f"added, {count_files(result.moved)} moved to the library"
    )
    details = {"faces": labels, "cluster": {"id": cluster_id, "previous": previous}}
    return record_result(context.state, replace(record, details=details))


def naming_in_flight(state: State, cluster_id: int, person: str) -> ReviewAction | None:
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
        return find_retry(state, ActionKey(ReviewKind.NAME_CLUSTER, person, row.file_ids))
    return None


def check_active(state: State, cluster_id: int) -> None:
    with state.session() as session:
        cluster = session.get(FaceCluster, cluster_id)
        if cluster is None or cluster.status != ClusterStatus.ACTIVE:
            what = "does not exist" if cluster is None else f"is {cluster.status}"
            raise ReviewError(
                f"Cluster {cluster_id} {what}: the review page's 'Unknown people' "
                "(or `facesort review clusters`) lists the clusters that can be named."
            )


def sort_now_known(
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
