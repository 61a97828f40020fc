"""Re-evaluating files facesort already sorted, with today's references and settings.

Used by the manual re-sort (``facesort_resort``, ``facesort resort``) and by the nightly
re-check of the review queue. A *plan* lists only the files whose destination would
change (file, from, to, reason); applying it moves them through the journal as one
group, so ``journal.undo_group`` reverts a whole re-sort.

Files are re-matched from the faces stored when they were sorted (fast: no decoding)
unless ``redetect`` is asked for, or the file was unreadable then. Duplicates are not
re-sorted: a duplicate stays one until a person says otherwise in review.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facesort.config import REVIEW_CATEGORIES, Config
from facesort.names import person_key
from facesort.pipeline import FileResult, Sorter
from facesort.policy import Decision
from facesort.state import State
from facesort.state.models import MediaFile

RESORTABLE_CATEGORIES = tuple(c for c in REVIEW_CATEGORIES if c != "duplicates")


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
            .where(MediaFile.status == "done", MediaFile.current_path.is_not(None))
            .order_by(MediaFile.id)
        ).all()
    wanted_people = {person_key(p) for p in scope.people}
    wanted_review = set(scope.review) & set(RESORTABLE_CATEGORIES)
    folders = [os.path.join(os.path.abspath(f), "") for f in scope.folders]
    selected = []
    for media in rows:
        if media.category == "duplicates":
            continue
        in_library = media.place == "library"
        person = (media.people or [""])[0]
        if (
            (scope.library and in_library)
            or (in_library and person and person_key(person) in wanted_people)
            or (media.place == "review" and media.category in wanted_review)
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
    if media.place == "library":
        return f"library/{(media.people or ['?'])[0]}"
    return f"review/{media.category}"


def plan_resort(
    state: State,
    config: Config,
    scope: Scope,
    *,
    redetect: bool = False,
    sorter: Sorter | None = None,
    files: Iterable[MediaFile] | None = None,
) -> list[PlannedMove]:
    """The files in ``scope`` whose destination would change now, and where to."""
    sorter = sorter or Sorter(config, state, actor="resort plan", dry_run=True)
    plan = []
    for media in files if files is not None else select_files(state, scope):
        if not media.current_path or not os.path.lexists(media.current_path):
            continue  # moved by hand; nothing to re-sort
        evaluation = sorter.reevaluate(media, redetect=redetect)
        before = current_folder(media)
        if evaluation.decision.folder != before:
            plan.append(PlannedMove(media, evaluation.decision, before, evaluation))
    return plan


def write_plan_csv(plan: list[PlannedMove], path: Path) -> Path:
    """The plan as CSV: file, from, to, reason."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "from", "to", "reason"])
        writer.writeheader()
        for move in plan:
            writer.writerow(move.as_row())
    return path


def apply_resort(
    state: State,
    config: Config,
    plan: list[PlannedMove],
    *,
    actor: str,
    group_id: str,
    action: str = "resort",
) -> list[FileResult]:
    """Move every planned file through the journal, as one undoable group."""
    sorter = Sorter(config, state, actor=actor, group_id=group_id)
    results = []
    for move in plan:
        evaluation = move.evaluation or sorter.reevaluate(move.media)
        evaluation.decision = move.decision
        results.append(sorter.route(move.media, evaluation, action=action))
    return results
