"""Whether the configured folders are laid out safely: none inside another where a run
would pick up, sort or delete the wrong files.

Folders are compared as the filesystem sees them: symlinks and ``..`` resolved, and
case folded where the filesystem ignores case. A staging folder given as a symlink to
the folder that holds the library is the library's parent, whatever its spelling.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path


@functools.lru_cache(maxsize=256)
def _case_insensitive(folder: str) -> bool:
    """Whether the filesystem holding ``folder`` (an existing folder) ignores case:
    some ancestor's name with its case swapped is the same folder."""
    current = folder
    while True:
        parent, name = os.path.split(current)
        if not name:
            return False
        swapped = name.swapcase()
        if swapped != name:
            other = os.path.join(parent, swapped)
            try:
                return os.path.samefile(current, other)
            except OSError:
                return False
        current = parent


def _existing_ancestor(path: str) -> str:
    while not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def comparable_path(path: Path) -> tuple[str, ...]:
    """``path`` as the filesystem sees it, as parts to compare: symlinks and ``..``
    resolved, case folded on a filesystem that ignores case."""
    real = os.path.realpath(path)
    if _case_insensitive(_existing_ancestor(real)):
        real = real.casefold()
    return Path(real).parts


def _inside(inner: tuple[str, ...], outer: tuple[str, ...]) -> bool:
    return inner[: len(outer)] == outer


# (inner, outer, why): ``inner`` must be neither ``outer`` nor inside it.
_NOT_INSIDE = (
    ("library_dir", "review_dir", "the library would be part of the review queue"),
    ("review_dir", "library_dir", "review categories would look like people's folders"),
    ("trash_dir", "library_dir", "the trash would look like a person's folder"),
    ("trash_dir", "review_dir", "the trash would look like a review category"),
    ("library_dir", "trash_dir", "emptying the trash would reach the library"),
    ("review_dir", "trash_dir", "emptying the trash would reach the review queue"),
    ("references_dir", "library_dir", "reference folders would look like people's folders"),
    ("library_dir", "references_dir", "people's folders would be read as reference photos"),
    ("references_dir", "review_dir", "reference folders would look like review categories"),
    ("review_dir", "references_dir", "review categories would be read as people"),
    ("references_dir", "trash_dir", "emptying the trash would reach the reference photos"),
    ("reports_dir", "library_dir", "it would look like a person's folder"),
    ("reports_dir", "review_dir", "it would look like a review category"),
    ("thumbnail_dir", "library_dir", "thumbnails would look like a person's folder"),
    ("thumbnail_dir", "references_dir", "thumbnails would be read as reference photos"),
)
_REFUSED_TOGETHER = {
    ("library_dir", "review_dir"): "library_dir and review_dir must be different folders",
    ("library_dir", "references_dir"): "references_dir must not be the library folder",
}


def folder_layout_problems(
    *,
    staging_dirs: Sequence[Path],
    library_dir: Path,
    review_dir: Path,
    references_dir: Path,
    trash_dir: Path,
    thumbnail_dir: Path,
    reports_dir: Path | None,
) -> list[str]:
    """Every risky nesting of the configured folders, each as one sentence with the fix.

    The folders are ``Config``'s, its defaults applied (``trash_path``, ``thumbnail_path``);
    ``Config`` passes them, so this module needs nothing from ``model.py``."""
    folders: dict[str, Path] = {
        "library_dir": library_dir,
        "review_dir": review_dir,
        "references_dir": references_dir,
        "trash_dir": trash_dir,
        "thumbnail_dir": thumbnail_dir,
    }
    if reports_dir is not None:
        folders["reports_dir"] = reports_dir
    seen = {key: comparable_path(path) for key, path in folders.items()}
    problems: list[str] = []

    def shown(key: str) -> str:
        given = folders[key]
        real = os.path.realpath(given)
        return f"{key} ({given}{'' if real == str(given) else f', that is {real}'})"

    scanned_before: dict[tuple[str, ...], Path] = {}
    for staging in staging_dirs:
        scanned = comparable_path(staging)
        for parts, other in scanned_before.items():
            if _inside(parts, scanned) or _inside(scanned, parts):
                problems.append(
                    f"staging folders {other} and {staging} are the same folder or one holds "
                    "the other: every file would be found twice; list each folder once"
                )
        scanned_before[scanned] = staging
        real = os.path.realpath(staging)
        where = f"staging folder {staging}" + ("" if real == str(staging) else f" (that is {real})")
        for key in folders:
            if _inside(seen[key], scanned) or _inside(scanned, seen[key]):
                problems.append(
                    f"{shown(key)} and {where} must not contain one another: sorted files "
                    "would be picked up again; use folders side by side"
                )
    for pair, message in _REFUSED_TOGETHER.items():
        if seen[pair[0]] == seen[pair[1]]:
            problems.append(f"{message} (both are {os.path.realpath(folders[pair[0]])})")
    for inner, outer, why in _NOT_INSIDE:
        if inner not in seen or outer not in seen:
            continue
        if seen[inner] == seen[outer] and tuple(sorted((inner, outer))) in _REFUSED_TOGETHER:
            continue  # said above
        if _inside(seen[inner], seen[outer]):
            problems.append(
                f"{shown(inner)} must not be inside {shown(outer)}: {why}; move it beside it"
            )
    return problems
