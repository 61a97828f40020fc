"""What a review action did (or why it could not be done), in a form to print."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from facesort.errors import FacesortError
from facesort.sorting.route import FileResult
from facesort.state.models import MediaFile
from facesort.words import plural


class ReviewError(FacesortError):
    """A review action that cannot be done as asked; nothing was changed."""


@dataclass
class ActionResult:
    """What one review action did (small and printable)."""

    group_id: str
    kind: str
    summary: str
    moved: list[FileResult] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # reference photos added
    skipped: list[str] = field(default_factory=list)
    # (file id, face id or None for the whole photo) of each reference added: redo needs it
    reference_sources: list[list[int | None]] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "kind": self.kind,
            "summary": self.summary,
            "moved": [r.as_dict() for r in self.moved],
            "references": self.references,
            "skipped": self.skipped,
        }

    def move(self, media: MediaFile, move: Callable[[], FileResult]) -> bool:
        """One file's move: done, or skipped with why when the file changed since it was
        shown (the action goes on with the others)."""
        from facesort.files.journal import SourceChanged

        try:
            self.moved.append(move())
        except SourceChanged as exc:
            self.skipped.append(f"{file_label(media)}: {exc}")
            return False
        return True


def new_group_id() -> str:
    return f"review-{uuid.uuid4().hex[:12]}"


def file_label(media: MediaFile) -> str:
    return f"{os.path.basename(media.current_path or media.source_path)} (#{media.id})"


def count_files(files: list[Any]) -> str:
    return plural(files, "file")


def summary_of(what: str, result: ActionResult) -> str:
    text = f"{count_files(result.moved)} {what}"
    if result.skipped:
        text += f" ({len(result.skipped)} skipped)"
    return text
