"""Learning from Immich: the people the user named there become local references.

For every named, not hidden person, Immich's feature-face thumbnail (a crop of one of
their faces) is saved as ``<references_dir>/<name>/immich-<person id>.jpg``. Local
matching then knows the same people, for the files Immich could not resolve.

Only files named ``immich-*`` are ever written or removed here: the user's own reference
photos are never touched. A thumbnail is downloaded again only when the person changed
in Immich since it was saved (``updatedAt``), and a person renamed in Immich moves to
the new folder. Names come from Immich, so they are made safe as folder names first.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from facesort.config import Config
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
    removed: list[str] = field(default_factory=list)  # stale immich-* files removed
    skipped: list[str] = field(default_factory=list)  # why some people were not used

    def as_dict(self) -> dict:
        return {
            "saved": self.saved,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": self.skipped,
        }


def _image_suffix(data: bytes) -> str | None:
    import filetype

    kind = filetype.guess(data)
    if kind is None or not kind.mime.startswith("image/"):
        return None
    return ".jpg" if kind.extension == "jpeg" else f".{kind.extension}"


def sync_references(config: Config, endpoint: ImmichEndpoint) -> SyncReport:
    """Save the feature face of each person named in Immich as a reference photo."""
    report = SyncReport()
    root = config.references_dir
    root.mkdir(parents=True, exist_ok=True)
    existing = {person_key(name): name for name in person_folders(root)}
    # Every immich-* file now present, by person id: to move renamed people, and to
    # remove people no longer named.
    present: dict[str, list[Path]] = {}
    for path in root.glob(f"*/{PREFIX}*"):
        present.setdefault(path.stem[len(PREFIX) :], []).append(path)
    seen: set[str] = set()
    with ImmichApi(endpoint) as api:
        for person in api.people():
            person_id = str(person.get("id") or "")
            name = str(person.get("name") or "").strip()
            if not person_id or not name or person.get("isHidden"):
                continue
            try:
                folder_name = existing.get(person_key(name)) or safe_folder_name(name)
            except UnsafeNameError:
                report.skipped.append(f"{name!r}: no usable folder name")
                continue
            seen.add(person_id)
            folder = root / folder_name
            current = [p for p in present.get(person_id, []) if p.parent == folder]
            updated = _parse_time(person.get("updatedAt"))
            if current and updated is not None:
                saved_at = current[0].stat().st_mtime
                if updated.timestamp() <= saved_at:
                    report.unchanged += 1
                    _remove(present.get(person_id, []), keep=current[0], report=report)
                    continue
            data = api.person_thumbnail(person_id)
            suffix = _image_suffix(data)
            if suffix is None:
                report.skipped.append(f"{name}: Immich's thumbnail is not an image")
                continue
            target = folder / f"{PREFIX}{person_id}{suffix}"
            if target.exists() and target.read_bytes() == data:
                report.unchanged += 1
                os.utime(target)  # up to date as of now
            else:
                folder.mkdir(parents=True, exist_ok=True)
                temporary = folder / f".{target.name}.part"
                temporary.write_bytes(data)
                os.replace(temporary, target)
                report.saved.append(folder_name)
            _remove(present.get(person_id, []), keep=target, report=report)
    for person_id, paths in present.items():
        if person_id not in seen:  # no longer named (or hidden, or deleted) in Immich
            _remove(paths, keep=None, report=report)
    return report


def _remove(paths: list[Path], *, keep: Path | None, report: SyncReport) -> None:
    for path in paths:
        if path != keep and path.exists():
            path.unlink()
            report.removed.append(f"{path.parent.name}/{path.name}")
