"""A manual re-sort as asked for (the DAG's trigger form, ``facesort resort``): which
files, with which thresholds, whether to move; checked with messages that name the
field and the fix."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from facesort.config import Config, with_overrides
from facesort.errors import FacesortError
from facesort.names import UnsafeNameError, person_key
from facesort.resort.plan import RESORTABLE_CATEGORIES, Scope
from facesort.state import State
from facesort.state.models import MediaFile
from facesort.vocab import Category, FileStatus, Place

SCOPES = ("library", "person", "review", "folders")
THRESHOLDS = ("sure_distance", "review_distance", "min_margin")


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
