"""Learning from Immich: the people the user named there become local references.

For every named, not hidden person, Immich's feature-face thumbnail (a crop of one of
their faces) is saved as ``<references_dir>/<name>/immich-<person id>.jpg``. Local
matching then knows the same people, for the files Immich could not resolve.

Only files named ``immich-*`` are ever written or removed here: the user's own reference
photos are never touched. A thumbnail is downloaded again only when the person changed
in Immich since it was saved (``updatedAt``). Names come from Immich, so they are made
safe as folder names first.

A person missing from ``GET /api/people`` is not taken for "no longer named": Immich
lists only people with a face on a visible, non-trashed asset, so a person whose photos
were just moved drops out of the list. Each one is looked up (``GET /api/people/{id}``):
only a person who is gone (or whose name was cleared) loses their reference photo, a
renamed one keeps it under the new name, anyone else keeps it as it is. A person without
a thumbnail yet (404) is skipped with a note; the others are still learnt. Every change
is in the :class:`SyncReport`, for the command and the run to print.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from facesort.config import Config
from facesort.errors import ImmichError, ImmichUnavailable
from facesort.immich.api import ImmichApi
from facesort.immich.endpoint import ImmichEndpoint
from facesort.immich.faces import _parse_time
from facesort.names import UnsafeNameError, person_key, safe_folder_name
from facesort.references import person_folders

log = logging.getLogger(__name__)

PREFIX = "immich-"


@dataclass
class SyncReport:
    saved: list[str] = field(default_factory=list)  # people whose thumbnail was (re)written
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)  # "folder/file (why)"
    moved: list[str] = field(default_factory=list)  # "old folder -> new folder" (renamed)
    kept: list[str] = field(default_factory=list)  # not listed, still there: "name (why)"
    skipped: list[str] = field(default_factory=list)  # people not learnt: "name: why"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


NO_THUMBNAIL = (
    "Immich has no thumbnail for this person yet (404: no feature face; named before "
    "Immich's thumbnail job ran, only faces made by hand, or machine learning off); "
    "skipped, the others were learnt"
)


def _image_suffix(data: bytes) -> str | None:
    import filetype

    kind = filetype.guess(data)
    if kind is None or not kind.mime.startswith("image/"):
        return None
    return ".jpg" if kind.extension == "jpeg" else f".{kind.extension}"


class _Sync:
    def __init__(self, config: Config, api: ImmichApi):
        self.api = api
        self.root = config.references_dir
        self.root.mkdir(parents=True, exist_ok=True)
        self.report = SyncReport()
        self.existing = {person_key(name): name for name in person_folders(self.root)}
        # Every immich-* file now present, by person id.
        self.present: dict[str, list[Path]] = {}
        for path in sorted(self.root.glob(f"*/{PREFIX}*")):
            if not path.name.endswith(".part"):
                self.present.setdefault(path.stem[len(PREFIX) :], []).append(path)

    def folder_for(self, name: str) -> str | None:
        try:
            return self.existing.get(person_key(name)) or safe_folder_name(name)
        except UnsafeNameError:
            self.report.skipped.append(f"{name!r}: no usable folder name")
            return None

    def follow_rename(self, person_id: str, folder_name: str) -> list[Path]:
        """The person's photo moves to the folder of their (new) name; what is there now."""
        folder = self.root / folder_name
        paths = self.present.get(person_id, [])
        if paths and not any(p.parent == folder for p in paths):
            old = paths[0]
            folder.mkdir(parents=True, exist_ok=True)
            moved = folder / old.name
            os.replace(old, moved)
            self.report.moved.append(f"{old.parent.name} -> {folder_name}")
            with contextlib.suppress(OSError):
                old.parent.rmdir()  # only when nothing else is in it
            paths = [moved, *paths[1:]]
            self.present[person_id] = paths
        return paths

    def listed(self, person: dict[str, Any]) -> str | None:
        """A person Immich lists: save or refresh their thumbnail; their id if handled."""
        person_id = str(person.get("id") or "")
        name = str(person.get("name") or "").strip()
        if not person_id or not name or person.get("isHidden"):
            return None
        folder_name = self.folder_for(name)
        if folder_name is None:
            return person_id
        folder = self.root / folder_name
        paths = self.follow_rename(person_id, folder_name)
        current = [p for p in paths if p.parent == folder]
        updated = _parse_time(person.get("updatedAt"))
        if current and updated is not None and updated.timestamp() <= current[0].stat().st_mtime:
            self.report.unchanged += 1
            self._remove(paths, keep=current[0], why="a second copy")
            return person_id
        data = self.api.person_thumbnail(person_id)
        if data is None:
            self.report.skipped.append(f"{name}: {NO_THUMBNAIL}")
            return person_id  # what was saved before stays
        suffix = _image_suffix(data)
        if suffix is None:
            self.report.skipped.append(f"{name}: Immich's thumbnail is not an image")
            return person_id
        target = folder / f"{PREFIX}{person_id}{suffix}"
        if target.exists() and target.read_bytes() == data:
            self.report.unchanged += 1
            os.utime(target)  # up to date as of now
        else:
            folder.mkdir(parents=True, exist_ok=True)
            temporary = folder / f".{target.name}.part"
            temporary.write_bytes(data)
            os.replace(temporary, target)
            self.report.saved.append(folder_name)
        self._remove(paths, keep=target, why="replaced by the new thumbnail")
        return person_id

    def not_listed(self, person_id: str) -> None:
        """A person with a reference photo whom Immich did not list: gone, renamed or not."""
        paths = self.present[person_id]
        folder_name = paths[0].parent.name
        person = self.api.person(person_id)
        if person is None:
            self._remove(paths, keep=None, why="the person is gone from Immich")
            return
        name = str(person.get("name") or "").strip()
        if not name:
            self._remove(paths, keep=None, why="the person's name was cleared in Immich")
            return
        new_folder = self.folder_for(name)
        if new_folder is None:
            return
        if person_key(new_folder) != person_key(folder_name):
            self.follow_rename(person_id, new_folder)
            return
        why = "hidden in Immich" if person.get("isHidden") else (
            "not listed by Immich: no face on a visible asset, e.g. their photos were moved"
        )  # fmt: skip
        self.report.kept.append(f"{name} ({why})")

    def _remove(self, paths: list[Path], *, keep: Path | None, why: str) -> None:
        for path in paths:
            if path != keep and path.exists():
                path.unlink()
                self.report.removed.append(f"{path.parent.name}/{path.name} ({why})")


def sync_references(config: Config, endpoint: ImmichEndpoint) -> SyncReport:
    """Save the feature face of each person named in Immich as a reference photo."""
    with ImmichApi(endpoint) as api:
        sync = _Sync(config, api)
        seen = {pid for person in api.people() if (pid := sync.listed(person))}
        for person_id in sorted(set(sync.present) - seen):
            sync.not_listed(person_id)
    return sync.report


def learn_people(config: Config, endpoint: ImmichEndpoint) -> dict[str, Any]:
    """Named Immich people -> reference photos; Immich problems only log a warning."""
    try:
        return sync_references(config, endpoint).as_dict()
    except (ImmichUnavailable, ImmichError) as exc:
        log.warning("people not learnt from Immich: %s", exc)
        return {"error": str(exc)}
