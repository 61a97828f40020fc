"""Which sorted files would go elsewhere today, and moving them as one group.

A plan lists only the files whose destination would change (file, from, to, reason);
:func:`apply_resort` moves them through the journal as one group, so
``journal.undo_group`` reverts a whole re-sort.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.files.journal import SourceChanged
from facesort.names import person_key
from facesort.policy import Decision, library_folder
from facesort.sorting.evaluate import Evaluator
from facesort.sorting.route import FileResult, Router
from facesort.state import State
from facesort.state.models import MediaFile
from facesort.vocab import Category, FileStatus, Place, TransferAction

RESORTABLE_CATEGORIES = tuple(c for c in Category if c != Category.DUPLICATES)
# Decisions a person made in review (facesort.review): re-sorts leave those files alone.
PLACED_BY_A_PERSON = {"approved"}


@dataclass(frozen=True)
class Scope:
    """Which sorted files to look at again. Empty fields select nothing."""

    library: bool = False  # the whole library
    people: tuple[str, ...] = ()  # library folders of these people
    review: tuple[str, ...] = ()  # these review categories
    folders: tuple[Path, ...] = ()  # files currently under these folders

    def describe(self) -> str:
        parts = []
        if self.library:
            parts.append("the whole library")
        if self.people:
            parts.append("people " + ", ".join(self.people))
        if self.review:
            parts.append("review/" + ", review/".join(self.review))
        if self.folders:
            parts.append("folders " + ", ".join(str(f) for f in self.folders))
        return "; ".join(parts) or "nothing"


def select_files(state: State, scope: Scope) -> list[MediaFile]:
    """Sorted files (not duplicates) in the scope, by id."""
    with state.session() as session:
        rows = session.scalars(
            sa.select(MediaFile)
            .where(MediaFile.status == FileStatus.DONE, MediaFile.current_path.is_not(None))
            .order_by(MediaFile.id)
        ).all()
    wanted_people = {person_key(p) for p in scope.people}
    wanted_review = set(scope.review) & set(RESORTABLE_CATEGORIES)
    folders = [os.path.join(os.path.abspath(f), "") for f in scope.folders]
    selected = []
    for media in rows:
        if media.category == Category.DUPLICATES:
            continue
        in_library = media.place == Place.LIBRARY
        person = (media.people or [""])[0]
        if (
            (scope.library and in_library)
            or (in_library and person and person_key(person) in wanted_people)
            or (media.place == Place.REVIEW and media.category in wanted_review)
            or any((media.current_path or "").startswith(folder) for folder in folders)
        ):
            selected.append(media)
    return selected


@dataclass
class PlannedMove:
    media: MediaFile
    decision: Decision
    from_folder: str
    evaluation: Any = field(repr=False, default=None)

    @property
    def to_folder(self) -> str:
        return self.decision.folder

    def as_row(self) -> dict[str, str]:
        return {
            "file": self.media.current_path or "",
            "from": self.from_folder,
            "to": self.to_folder,
            "reason": self.decision.summary,
        }


def current_folder(media: MediaFile) -> str:
    if media.place == Place.LIBRARY:
        return library_folder((media.people or ["?"])[0])
    return f"review/{media.category}"


def plan_resort(
    state: State,
    config: Config,
    scope: Scope,
    *,
    redetect: bool = False,
    evaluator: Evaluator | None = None,
    files: Iterable[MediaFile] | None = None,
) -> list[PlannedMove]:
    """The files in ``scope`` whose destination would change now, and where to."""
    evaluator = evaluator or Evaluator(config, state, readonly=True)
    plan = []
    for media in files if files is not None else select_files(state, scope):
        if not media.current_path or not os.path.lexists(media.current_path):
            continue  # moved by hand; nothing to re-sort
        if (media.reason or {}).get("rule") in PLACED_BY_A_PERSON:
            continue  # a person decided where it goes; new thresholds do not overrule them
        evaluation = evaluator.reevaluate(media, redetect=redetect)
        before = current_folder(media)
        if evaluation.decision.folder != before:
            plan.append(PlannedMove(media, evaluation.decision, before, evaluation))
    return plan


def apply_resort(
    state: State,
    config: Config,
    plan: list[PlannedMove],
    *,
    actor: str,
    group_id: str,
    action: TransferAction = TransferAction.RESORT,
) -> list[FileResult]:
    """Move every planned file through the journal, as one undoable group (after
    finishing what a killed process left in flight)."""
    from facesort.files.recovery import recover_transfers

    recover_transfers(state, lease_s=config.claim_lease_seconds)
    evaluator = Evaluator(config, state)
    router = Router(config, state, actor=actor, group_id=group_id)
    results = []
    for move in plan:
        evaluation = move.evaluation or evaluator.reevaluate(move.media)
        try:
            results.append(
                router.route_decision(move.media, move.decision, action=action, found=evaluation)
            )
        except SourceChanged as exc:
            # Moved or deleted by hand since the plan: left where it is, the rest goes on.
            source = move.media.current_path or move.media.source_path
            results.append(FileResult(move.media.id, source, None, move.from_folder, str(exc)))
    return results


def summarize_plan(plan: list[PlannedMove]) -> dict[str, int]:
    """``from -> to`` -> number of files."""
    counts = Counter(f"{m.from_folder} -> {m.to_folder}" for m in plan)
    return dict(sorted(counts.items()))
