"""A known history of four weeks, written into a state database the way the journal
writes it (shared by the report tests and the report DAG test)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from facesort.report import ReportWeek
from facesort.state import State
from facesort.state.models import Event, MediaFile

W01, W02, W03, W04, W05 = (ReportWeek(2026, n) for n in range(1, 6))


def at(day: int, hour: int = 12, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


class HistoryWriter:
    """Writes media_file rows and audit events the way the journal does."""

    def __init__(self, state: State, root: Path):
        self.state, self.root = state, root
        self.paths: dict[int, str] = {}

    def new_file(self, name: str, day: datetime) -> int:
        with self.state.session() as session:
            media = MediaFile(
                source_path=str(self.root / "staging" / name),
                staging_dir=str(self.root / "staging"),
                size=1000,
                mtime_ns=1,
                kind="image",
                file_type="jpg",
                status="done",
                discovered_at=day,
            )
            session.add(media)
            session.flush()
            self.paths[media.id] = media.source_path
            return media.id

    def _folder(self, place: str | None, category: str | None, people: list[str]) -> Path:
        if place == "library":
            return self.root / "library" / people[0]
        if place == "review":
            return self.root / "review" / category
        if place is None:
            return self.root / "staging"
        return self.root / place

    def move(self, file_id, when, action, place, category=None, people=(), rule="r") -> str:
        people = list(people)
        src = self.paths[file_id]
        dst = str(self._folder(place, category, people) / os.path.basename(src))
        with self.state.session() as session:
            session.add(
                Event(file_id=file_id, at=when, action=action, from_path=src, to_path=dst,
                      place=place, category=category, people=people,
                      reason={"rule": rule, "summary": f"{action} by the test"}, actor="test")
            )  # fmt: skip
            # The current record changes too; the report must not read it.
            session.execute(
                sa.update(MediaFile).where(MediaFile.id == file_id)
                .values(current_path=dst, place=place, category=category, people=people)
            )  # fmt: skip
        self.paths[file_id] = dst
        return dst

    def copy(self, file_id, when, person) -> str:
        dst = str(self.root / "library" / person / os.path.basename(self.paths[file_id]))
        with self.state.session() as session:
            session.add(Event(file_id=file_id, at=when, action="copied", to_path=dst,
                              from_path=self.paths[file_id], place="library", people=[person],
                              actor="test"))  # fmt: skip
        return dst

    def removed(self, file_id, when, path) -> None:
        """undo_group dropping a copy (an extra copy, or a copy-mode file's own copy)."""
        with self.state.session() as session:
            session.add(Event(file_id=file_id, at=when, action="undo", from_path=path, actor="test",
                              reason={"summary": "copy removed by undo"}))  # fmt: skip


def write_history_to_w04(h: HistoryWriter) -> dict[str, int]:
    f = {n: h.new_file(f"{n}.jpg", at(5)) for n in ["f1", "f2", "f3", "f4", "f5", "f6", "f7",
                                                     "f8", "f9", "f11"]}  # fmt: skip
    # W02 (5-11 January): five new files, two to alice.
    h.move(f["f1"], at(5, 10), "routed", "library", people=["alice"], rule="sure_match")
    h.move(f["f2"], at(6), "routed", "library", people=["alice"], rule="sure_match")
    h.move(f["f3"], at(6, 13), "routed", "review", "unidentified", rule="no_face")
    h.move(f["f4"], at(7), "routed", "review", "duplicates", rule="exact_duplicate")
    h.move(f["f5"], at(8), "routed", "review", "low_confidence", rule="uncertain_match")
    # W03 (12-18): a photo of bob and alice (copy for alice), a review, a re-sort within
    # the queue, a near duplicate.
    h.move(f["f6"], at(12), "routed", "review", "multiple_faces", rule="multiple_faces")
    h.move(f["f7"], at(13), "routed", "library", people=["bob", "alice"], rule="each_person")
    f7_copy = h.copy(f["f7"], at(13), "alice")
    h.move(f["f3"], at(14), "reviewed", "library", people=["carol"])
    h.move(f["f5"], at(15), "resorted", "review", "unidentified", rule="unknown_face")
    h.move(f["f8"], at(16), "routed", "review", "duplicates", rule="near_duplicate")
    # W04 (19-25): a file sorted in copy mode and undone (its own copy removed), an
    # unreadable file, f7's sorting undone (copy removed, file back to staging) and
    # sorted again, a duplicate rejected to the trash.
    f11 = h.move(f["f11"], at(19, 1), "routed", "review", "unidentified", rule="no_face")
    h.removed(f["f11"], at(19, 2), f11)
    h.move(f["f9"], at(20), "routed", "review", "unreadable", rule="unreadable")
    h.removed(f["f7"], at(21), f7_copy)
    h.move(f["f7"], at(21, 13), "undo", None)
    h.move(f["f7"], at(22), "routed", "library", people=["bob"], rule="sure_match")
    h.move(f["f4"], at(23), "rejected", "trash")
    return f


def write_history_w05(h: HistoryWriter, f: dict[str, int]) -> None:
    f10 = h.new_file("f10.jpg", at(26))
    h.move(f10, at(27), "routed", "library", people=["bob"], rule="sure_match")
    h.move(f["f5"], at(28), "resorted", "library", people=["alice"], rule="sure_match")
    h.move(f["f6"], at(29), "reviewed", "library", people=["dave"])
