"""Splitting wrongly sorted files out of a person's folder: back to the review queue,
or to another person.

This is a review action like an approval, built from the review machinery (the gate of
:mod:`facesort.review.intent`, :meth:`facesort.sorting.route.Router.route_decision`,
the record of :mod:`facesort.review.record`), so it is recorded before its first move,
continued by a retry and undone like any review action. The files are placed by a
person (rule ``approved``): re-sorts and the nightly re-check leave them where they are
put, and a file sent back to review is not sorted into the same folder again overnight.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from typing import Any

from facesort.config import Config
from facesort.names import person_key
from facesort.policy import Decision
from facesort.resort import current_folder
from facesort.review.intent import ActionKey, begin, done_so_far, find_retry, recover_first
from facesort.review.record import (
    ActionRecord,
    confirm_faces,
    record_result,
    recorded_on_failure,
)
from facesort.review.reference_photos import file_faces
from facesort.review.results import ActionResult, ReviewError, file_label, summary_of
from facesort.review.targets import files_of
from facesort.sorting.route import Router
from facesort.state import State
from facesort.state.models import MediaFile
from facesort.vocab import Category, FileStatus, Place, ReviewKind, TransferAction


def split_files(
    config: Config,
    state: State,
    actor: str,
    person: str,
    file_ids: Iterable[int],
    *,
    to: str | None = None,
) -> ActionResult:
    """Move files of ``person``'s library folder to review/unidentified (``to`` None) or
    to the library folder of the person ``to``; the face that was theirs is labelled
    ``to`` (confirmed) when a person is given."""
    from facesort.people.known import known_person
    from facesort.review.actions import person_name

    person = known_person(state, config, person)
    target = person_name(state, config, to) if to else None
    if target is not None and person_key(target) == person_key(person):
        raise ReviewError(f"These files are {person}'s already: choose another person.")
    ids = list(dict.fromkeys(int(i) for i in file_ids))
    recover_first(state, config)
    key = ActionKey(ReviewKind.SPLIT_PERSON, target, ids)
    retry = find_retry(state, key)
    prior = done_so_far(state, retry)
    files = files_of(state, ids, hint="the person's page lists their files")
    wrong = [
        file_label(m)
        for m in files
        if m.id not in prior.moved
        and not (
            m.status == FileStatus.DONE
            and m.place == Place.LIBRARY
            and m.people
            and person_key(m.people[0]) == person_key(person)
        )
    ]
    if wrong:
        raise ReviewError(
            f"{', '.join(wrong)}: not in {person}'s library folder. Nothing was changed."
        )
    router = Router(config, state, actor=actor, group_id=None)
    if target is not None:
        problem = router.folder_problem(target)
        if problem is not None:
            raise ReviewError(f"{problem[1]}. Nothing was changed.")
    intent = begin(state, config, actor, key, retry=retry)
    group = router.journal.group_id = intent.group_id
    result = ActionResult(group, ReviewKind.SPLIT_PERSON, "")
    result.moved.extend(intent.moved.values())
    labels: dict[str, list[Any]] = {}
    where = f"library/{target}" if target else f"review/{Category.UNIDENTIFIED}"
    record = ActionRecord(actor, result, target, files, {"faces": labels})
    with recorded_on_failure(state, record):
        for media in files:
            if media.id in intent.moved:
                continue  # moved by the try that was killed
            was = current_folder(media)
            summary = (
                f"moved from {was} to {where} on the people page by {actor}"
                if target
                else f"sent back to review from {was} on the people page by {actor}"
            )
            details = {"approved_by": actor, "was": was}
            decision = (
                Decision(None, "approved", summary, people=(target,), details=details)
                if target
                else Decision.review(Category.UNIDENTIFIED, "approved", summary, **details)
            )
            approve = partial(router.route_decision, media, decision, action=TransferAction.APPROVE)
            if not result.move(media, approve):
                continue
            if target is not None:
                theirs = [f for f in file_faces(state, media.id) if f.person == person]
                if len(theirs) == 1:
                    labels.update(confirm_faces(state, theirs, target, group))
    result.summary = summary_of(f"moved from {person}'s folder to {where}", result)
    return record_result(state, replace(record, details={"faces": labels, "from": person}))


def library_files(state: State, config: Config, person: str) -> list[MediaFile]:
    """The files in the person's library folder (by their records), newest first."""
    import sqlalchemy as sa

    with state.session() as session:
        rows = session.scalars(
            sa.select(MediaFile)
            .where(MediaFile.status == FileStatus.DONE, MediaFile.place == Place.LIBRARY)
            .order_by(MediaFile.decided_at.desc(), MediaFile.id.desc())
        ).all()
    key = person_key(person)
    return [
        m
        for m in rows
        if m.people and person_key(m.people[0]) == key and os.path.exists(m.current_path or "")
    ]
