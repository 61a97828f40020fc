"""Re-evaluating files facesort already sorted, with today's references and settings.

Used by the manual re-sort (``facesort_resort``, ``facesort resort``) and by the nightly
re-check of the review queue. A *plan* lists only the files whose destination would
change (file, from, to, reason); applying it moves them through the journal as one
group, so ``journal.undo_group`` reverts a whole re-sort.

Files are re-matched from the faces stored when they were sorted (fast: no decoding)
unless ``redetect`` is asked for, or the file was unreadable then. Duplicates are not
re-sorted: a duplicate stays one until a person says otherwise in review; nor are files
a person approved in review.

A manual re-sort (the DAG's trigger form, ``facesort resort``) is described by a
:class:`ResortRequest`, checked with messages that name the field and the fix; its plan
is a CSV file under ``<reports_dir>/resorts/``; applying a plan file re-checks each
planned file and moves only those still going where the plan says.
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facesort.config import Config, with_overrides
from facesort.errors import FacesortError
from facesort.files.journal import SourceChanged
from facesort.names import UnsafeNameError, person_key
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
    action: TransferAction = TransferAction.RESORT,
) -> list[FileResult]:
    """Move every planned file through the journal, as one undoable group."""
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


# --------------------------------------------------------------------- manual re-sorts

SCOPES = ("library", "person", "review", "folders")
THRESHOLDS = ("sure_distance", "review_distance", "min_margin")
PLAN_COLUMNS = ("file", "from", "to", "reason")


class ResortRequestError(FacesortError):
    """A re-sort was asked for with values that cannot work."""


@dataclass(frozen=True)
class ResortRequest:
    """What a user asked for: which files, with which thresholds, and whether to move."""

    scope: Scope
    dry_run: bool = True
    redetect: bool = False
    thresholds: Mapping[str, float] = field(default_factory=dict)  # matching.* overrides

    def config(self, config: Config) -> Config:
        """The config with the threshold overrides, validated like the file."""
        if not self.thresholds:
            return config
        return with_overrides(config, {"matching": dict(self.thresholds)}, "re-sort thresholds")

    def describe(self) -> str:
        text = self.scope.describe()
        if self.thresholds:
            text += " with " + ", ".join(f"{k}={v}" for k, v in self.thresholds.items())
        return text + (" (dry run)" if self.dry_run else "")


def known_people(state: State, config: Config) -> list[str]:
    """People with a library folder or reference photos."""
    from facesort.references import person_folders

    with state.session() as session:
        rows = session.scalars(
            sa.select(MediaFile.people).where(
                MediaFile.status == FileStatus.DONE, MediaFile.place == Place.LIBRARY
            )
        ).all()
    people = {p[0] for p in rows if p}
    people.update(person_folders(config.references_dir))
    return sorted(people, key=str.casefold)


def resort_request(
    state: State,
    config: Config,
    *,
    scope: str,
    person: str | None = None,
    categories: Iterable[str] = (),
    folders: Iterable[str | os.PathLike[str]] = (),
    dry_run: bool = True,
    redetect: bool = False,
    thresholds: Mapping[str, float | None] | None = None,
) -> ResortRequest:
    """Check a re-sort request (from the trigger form or the command line).

    Raises ResortRequestError naming the field and the fix; a threshold that does not
    fit the others raises the config's own error (by key).
    """
    chosen: Scope
    if scope == "library":
        chosen = Scope(library=True)
    elif scope == "person":
        chosen = Scope(people=(_known_person(state, config, person),))
    elif scope == "review":
        chosen = Scope(review=_review_categories(categories))
    elif scope == "folders":
        chosen = Scope(folders=_sorted_folders(config, folders))
    else:
        raise ResortRequestError(
            f"scope {scope!r} is not a re-sort scope: choose one of {', '.join(SCOPES)}"
        )
    given = {k: v for k, v in (thresholds or {}).items() if v is not None}
    unknown = sorted(set(given) - set(THRESHOLDS))
    if unknown:
        raise ResortRequestError(
            f"{', '.join(unknown)} cannot be overridden in a re-sort: only "
            f"{', '.join(THRESHOLDS)} can"
        )
    request = ResortRequest(chosen, dry_run=bool(dry_run), redetect=bool(redetect),
                            thresholds={k: float(v) for k, v in given.items()})  # fmt: skip
    request.config(config)  # refuses thresholds that do not fit together
    return request


def _known_person(state: State, config: Config, person: str | None) -> str:
    if not person or not person.strip():
        raise ResortRequestError(
            "scope 'person' needs the person's name: fill in 'person' (a folder name in the "
            "library or in references_dir)"
        )
    people = known_people(state, config)
    try:
        key = person_key(person)
    except UnsafeNameError:
        key = None
    for name in people:
        if person_key(name) == key:
            return name
    listed = ", ".join(people) or "none yet"
    raise ResortRequestError(
        f"person {person!r} has no folder in the library and no reference photos; known "
        f"people: {listed}"
    )


def _review_categories(categories: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(categories)) or RESORTABLE_CATEGORIES
    if Category.DUPLICATES in chosen:
        raise ResortRequestError(
            "review/duplicates is not re-sorted: a duplicate stays one until someone says "
            "otherwise in review; leave 'duplicates' out of the categories"
        )
    wrong = [c for c in chosen if c not in RESORTABLE_CATEGORIES]
    if wrong:
        raise ResortRequestError(
            f"review categor{'y' if len(wrong) == 1 else 'ies'} {', '.join(map(repr, wrong))} "
            f"unknown: choose among {', '.join(RESORTABLE_CATEGORIES)}"
        )
    return chosen


def _sorted_folders(config: Config, folders: Iterable[str | os.PathLike[str]]) -> tuple[Path, ...]:
    chosen = []
    for folder in folders:
        text = os.fspath(folder).strip()
        if not text:
            continue
        path = Path(os.path.abspath(os.path.expanduser(text)))
        inside = any(
            path == root or root in path.parents for root in (config.library_dir, config.review_dir)
        )
        if not inside:
            raise ResortRequestError(
                f"folder {text} is not inside the library ({config.library_dir}) or the review "
                f"queue ({config.review_dir}): only sorted files can be re-sorted"
            )
        if not path.is_dir():
            raise ResortRequestError(f"folder {path} does not exist: check the path")
        chosen.append(path)
    if not chosen:
        raise ResortRequestError(
            "scope 'folders' needs at least one folder: list them in 'folders', one per line"
        )
    return tuple(chosen)


def plan_path(config: Config, group_id: str) -> Path:
    """Where the plan of re-sort ``group_id`` is written."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", group_id).strip("._") or "resort"
    return config.reports_path / "resorts" / f"{safe}.csv"


def summarize_plan(plan: list[PlannedMove]) -> dict[str, int]:
    """``from -> to`` -> number of files."""
    counts = Counter(f"{m.from_folder} -> {m.to_folder}" for m in plan)
    return dict(sorted(counts.items()))


def read_plan_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != PLAN_COLUMNS:
            raise ResortRequestError(
                f"{path} is not a re-sort plan (expected the columns {', '.join(PLAN_COLUMNS)})"
            )
        return list(reader)


@dataclass
class AppliedPlan:
    results: list[FileResult]
    skipped: list[str]  # file: why it was not moved

    @property
    def moved(self) -> list[FileResult]:
        return [r for r in self.results if r.destination is not None]


def apply_plan_csv(
    state: State,
    config: Config,
    request: ResortRequest,
    path: Path,
    *,
    actor: str,
    group_id: str,
) -> AppliedPlan:
    """Apply a plan written earlier: each planned file is evaluated again and moved only
    when it still goes where the plan says (nothing else moves)."""
    config = request.config(config)
    rows = read_plan_csv(path)
    wanted = {row["file"]: row for row in rows}
    with state.session() as session:
        found = {
            media.current_path: media
            for media in session.scalars(
                sa.select(MediaFile).where(
                    MediaFile.status == FileStatus.DONE, MediaFile.current_path.in_(list(wanted))
                )
            )
        }
    evaluator = Evaluator(config, state, readonly=True)
    plan, skipped = [], []
    for file, row in wanted.items():
        media = found.get(file)
        if media is None or current_folder(media) != row["from"]:
            skipped.append(f"{file}: no longer in {row['from']}; left alone")
            continue
        (move,) = plan_resort(
            state,
            config,
            request.scope,
            redetect=request.redetect,
            evaluator=evaluator,
            files=[media],
        ) or [None]
        if move is None or move.to_folder != row["to"]:
            now = move.to_folder if move else row["from"]
            skipped.append(f"{file}: would now go to {now}, not {row['to']}; left alone")
            continue
        plan.append(move)
    results = apply_resort(state, config, plan, actor=actor, group_id=group_id)
    skipped += [f"{r.source}: {r.summary}" for r in results if r.destination is None]
    return AppliedPlan(results, skipped)
