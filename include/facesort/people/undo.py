"""Undoing a people action: a rename, a merge, a removed reference photo, a split.

A rename or merge is undone completely: the journal group is reverted
(:func:`facesort.files.undo.undo_group`: each file back to its folder and its record as
it was), the files without a record move back as they came (planned first, in the
undo's own open record, like any move), and the records that followed the new name
get their old values back. A split is a review action like an approval, undone by
:meth:`facesort.review.actions.Reviewer.undo`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import sqlalchemy as sa

from facesort.config import Config
from facesort.files.recovery import recover_transfers
from facesort.files.undo import undo_group
from facesort.people import plain_moves
from facesort.people.follow import unfollow
from facesort.people.intent import adopt, find_open, get_action, open_action
from facesort.people.plain_moves import PlainMove
from facesort.review.intent import close_undo
from facesort.review.queue import newest_actions
from facesort.review.results import ActionResult, ReviewError
from facesort.state import State
from facesort.state.models import ReviewAction
from facesort.vocab import ActionState, ReviewKind
from facesort.words import plural

if TYPE_CHECKING:
    from facesort.review.actions import Reviewer

# Kinds whose effects this module reverts itself (a split is a plain review action).
OWN_KINDS = (ReviewKind.RENAME_PERSON, ReviewKind.MERGE_PEOPLE, ReviewKind.REMOVE_REFERENCE)
PEOPLE_KINDS = (*OWN_KINDS, ReviewKind.SPLIT_PERSON)


def undo(config: Config, state: State, actor: str, group_id: str) -> ActionResult:
    """Revert one people action (by its group id)."""
    action = get_action(state, group_id)
    if action is None or not is_people_action(state, group_id):
        raise ReviewError(f"No people action {group_id!r}: the people page lists them.")
    if action.undone_by:
        raise ReviewError(f"{action.kind} {group_id} was already undone ({action.undone_by}).")
    if action.kind == ReviewKind.UNDO:
        return _redo(config, state, actor, action)
    if action.kind == ReviewKind.SPLIT_PERSON:
        from facesort.review.actions import Reviewer

        return Reviewer(config, state, actor).undo(group_id)
    recover_transfers(state, lease_s=config.claim_lease_seconds)
    details = dict(action.details or {})
    retry = find_open(state, (ReviewKind.UNDO,), lambda row: row.undo_of == group_id)
    if retry is not None:
        adopt(state, config, retry)
        undo_id = retry.group_id
        back = [PlainMove.from_json(m) for m in (retry.details or {}).get("plain_moves") or []]
    else:
        if action.state == ActionState.OPEN:
            # Killed mid-way: settle its planned moves first (a photo it left under both
            # names loses its old one), so each is undone from one place.
            for planned in details.get("plain_moves") or []:
                plain_moves.finish(PlainMove.from_json(planned))
        taken: set[str] = set()
        back = [
            PlainMove.from_json(m).reversed(taken)
            for m in details.get("plain_moves") or []
            if plain_moves.is_done(PlainMove.from_json(m))
        ]
        undo_id = open_action(
            state,
            config,
            actor,
            ReviewKind.UNDO,
            None,
            list(action.file_ids or []),
            {"plain_moves": [m.as_json() for m in back]},
            undo_of=group_id,
        )
    report = undo_group(
        state, group_id, actor, lease_s=config.claim_lease_seconds, undo_id=undo_id, config=config
    )
    result = ActionResult(undo_id, ReviewKind.UNDO, "", skipped=list(report.skipped or []))
    returned = plain_moves.finish_all(back, result.skipped, "changed since; left where it is")
    unfollow(state, details)
    # Folders the action made and left empty now (a rename's new folders).
    for move in back:
        plain_moves.remove_empty(os.path.dirname(move.src))
    for folder in _new_library_folders(state, group_id):
        plain_moves.remove_empty(folder)
    what = details.get("from") and f"{details['from']} -> {details.get('to')}"
    result.summary = (
        f"undo of {action.kind} ({what or details.get('photo') or group_id}): "
        f"{plural(report.reverted, 'file')} back in the library, "
        f"{plural(returned, 'other file')} back"
        + (f", {len(result.skipped)} left as they are" if result.skipped else "")
    )
    close_undo(state, group_id, undo_id, result.summary)
    return result


def undo_listed(reviewer: Reviewer, group_id: str) -> ActionResult:
    """Undo a group from the review page's undo list, which shows people actions too: a
    rename, merge or reference removal (or the undo of one) whole, with its folders and
    records, anything else as the review action it is."""
    if is_people_action(reviewer.state, group_id):
        return undo(reviewer.config, reviewer.state, reviewer.actor, group_id)
    return reviewer.undo(group_id)


def undo_last_listed(reviewer: Reviewer, count: int = 1) -> list[ActionResult]:
    """:meth:`Reviewer.undo_last` for the review page's list, people actions included."""
    from facesort.review.record import last_actions

    return [undo_listed(reviewer, group) for group in last_actions(reviewer.state, count)]


def is_people_action(state: State, group_id: str) -> bool:
    """A people action, or the undo of one (undo it here: :func:`undo`)."""
    action = get_action(state, group_id)
    if action is None:
        return False
    if action.kind == ReviewKind.UNDO and action.undo_of:
        base = get_action(state, action.undo_of)
        return base is not None and base.kind in OWN_KINDS
    return action.kind in PEOPLE_KINDS


def _redo(config: Config, state: State, actor: str, undo_row: ReviewAction) -> ActionResult:
    """Undoing the undo of a rename, merge or removal does it again, as a new action."""
    from facesort.people.photos import remove_reference
    from facesort.people.rename import _move_person

    base = get_action(state, undo_row.undo_of or "")
    details = dict(base.details or {}) if base is not None else {}
    if base is None or base.kind not in OWN_KINDS:
        raise ReviewError(f"{undo_row.group_id} is not the undo of a people action.")
    if base.kind == ReviewKind.REMOVE_REFERENCE:
        result = remove_reference(config, state, actor, base.person or "", details["photo"])
    else:
        merge = bool(details.get("merge"))
        result = _move_person(config, state, actor, details["from"], details["to"], merge=merge)
    with state.session() as session:
        session.execute(
            sa.update(ReviewAction)
            .where(ReviewAction.group_id == undo_row.group_id)
            .values(undone_by=result.group_id)
        )
    result.summary = f"redo: {result.summary}"
    return result


def _new_library_folders(state: State, group_id: str) -> set[str]:
    """The folders the action's journal moves went into."""
    from facesort.state.models import Transfer

    with state.session() as session:
        rows = session.scalars(sa.select(Transfer.dst).where(Transfer.group_id == group_id)).all()
    return {os.path.dirname(p) for p in rows}


def recent(state: State, limit: int = 20) -> list[dict]:
    """The newest people actions (and their undos), for the page's list."""
    return [
        {
            "group_id": r.group_id,
            "kind": r.kind,
            "at": r.at.isoformat(timespec="seconds"),
            "actor": r.actor,
            "summary": r.summary,
            "undone_by": r.undone_by,
            "open": r.state == ActionState.OPEN,
        }
        for r in newest_actions(state, ReviewAction.kind.in_(PEOPLE_KINDS), limit=limit)
    ]


def last_undoable(state: State) -> str:
    """The newest people action not undone yet."""
    from facesort.files.owners import owner_gone

    for action in newest_actions(
        state, ReviewAction.kind.in_(PEOPLE_KINDS), ReviewAction.undone_by.is_(None)
    ):
        if action.state != ActionState.OPEN or owner_gone(action.owner, action.lease_until):
            return action.group_id
    raise ReviewError("There is no people action to undo.")
