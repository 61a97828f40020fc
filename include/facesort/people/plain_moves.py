"""Moving files that have no record: reference photos, and files in a person's library
folder that no record points to (put there by hand, or a copy for a second person).

The journal (:mod:`facesort.files.journal`) moves a file together with its record; these
files have none, so a people action moves them with the journal's filesystem steps and
the same guarantees, its plan kept in the action's own record:

1. before the first file moves, every planned move (source, destination name, hidden
   temporary name, content hash) is written into the action's open ``review_action``
   row, in the transaction that creates it;
2. a move is ``link`` then ``unlink`` (or, across filesystems, a verified copy under the
   temporary name, then ``link``): it never replaces a file, and at every instant the
   file exists under at least one of its two names;
3. a retry of the action (or its undo) finishes each planned move from what is on disk:
   a file under both names loses its old one, a destination that holds the file is done,
   a leftover temporary copy is removed, and the rest is moved again.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from facesort.files.hashing import content_is, sha256_file
from facesort.files.journal import _execute, fsync_dir
from facesort.names import numbered
from facesort.vocab import TransferOp

MAX_NAME_TRIES = 10_000


@dataclass(frozen=True)
class PlainMove:
    src: str
    dst: str
    tmp: str
    sha256: str

    def as_json(self) -> dict[str, str]:
        return {"src": self.src, "dst": self.dst, "tmp": self.tmp, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlainMove:
        return cls(data["src"], data["dst"], data["tmp"], data["sha256"])

    def reversed(self, taken: set[str]) -> PlainMove:
        """The move back (to the old name, or the next free one if it was taken since)."""
        dst = free_name(os.path.dirname(self.src), os.path.basename(self.src), taken)
        return PlainMove(self.dst, dst, _tmp_in(os.path.dirname(dst)), self.sha256)


def _tmp_in(folder: str) -> str:
    return os.path.join(folder, f".facesort-{uuid.uuid4().hex}.part")


def free_name(folder: str, name: str, taken: set[str]) -> str:
    """``folder/name``, or ``name (1)``... when a file (or another planned move) has it."""
    for number in range(MAX_NAME_TRIES):
        candidate = os.path.join(folder, numbered(name, number))
        if candidate not in taken and not os.path.lexists(candidate):
            taken.add(candidate)
            return candidate
    raise RuntimeError(f"no free file name for {name} in {folder}")


def plan_folder(src_dir: str, dest_dir: str, skip: set[str], taken: set[str]) -> list[PlainMove]:
    """Moves of every plain file of ``src_dir`` (not hidden, not a link, not in ``skip``)
    into ``dest_dir``, each under a name no file there has (nothing is overwritten)."""
    if not os.path.isdir(src_dir):
        return []
    moves = []
    for entry in sorted(os.scandir(src_dir), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.is_symlink() or not entry.is_file():
            continue
        if entry.path in skip:
            continue
        moves.append(plan_one(entry.path, dest_dir, entry.name, taken))
    return moves


def plan_one(src: str, dest_dir: str, name: str, taken: set[str]) -> PlainMove:
    return PlainMove(src, free_name(dest_dir, name, taken), _tmp_in(dest_dir), sha256_file(src))


def is_done(move: PlainMove) -> bool:
    """The file is at its destination and no longer at its source."""
    return (
        not os.path.lexists(move.src)
        and os.path.lexists(move.dst)
        and content_is(move.dst, move.sha256)
    )


def finish(move: PlainMove) -> str:
    """Do (or finish) one planned move; returns what happened: ``moved``, ``done``
    (an earlier try did it), ``changed`` (the source is not the planned file: left) or
    ``gone`` (neither name holds it: nothing to do)."""
    has_src, has_dst = os.path.lexists(move.src), os.path.lexists(move.dst)
    if os.path.lexists(move.tmp) and not (has_dst and _same_file(move.tmp, move.dst)):
        os.unlink(move.tmp)  # an unfinished copy of a killed try
    if has_dst and (
        (has_src and _same_file(move.src, move.dst))
        or (os.path.lexists(move.tmp) and _same_file(move.tmp, move.dst))
        or (not has_src and content_is(move.dst, move.sha256))
    ):
        # The killed try linked (or copied) it: drop the second name.
        for leftover in (move.src, move.tmp):
            if os.path.lexists(leftover):
                os.unlink(leftover)
                fsync_dir(os.path.dirname(leftover))
        return "done"
    if not has_src:
        return "gone"
    if has_dst:
        raise FileExistsError(move.dst)  # another file took the name: never replaced
    if not content_is(move.src, move.sha256):
        return "changed"
    os.makedirs(os.path.dirname(move.dst), exist_ok=True)
    row = SimpleNamespace(src=move.src, dst=move.dst, tmp=move.tmp, op=TransferOp.MOVE)
    _execute(row, move.sha256)  # the journal's own steps: link + unlink, or verified copy
    return "moved"


def finish_all(moves: Iterable[PlainMove], skipped: list[str], changed: str) -> int:
    """:func:`finish` each planned move; how many are where they were planned to go
    (``moved`` or ``done``). For a file ``changed`` since it was planned (left where it
    is), ``"<source>: <changed>"`` is added to ``skipped``."""
    count = 0
    for move in moves:
        outcome = finish(move)
        if outcome in {"moved", "done"}:
            count += 1
        elif outcome == "changed":
            skipped.append(f"{move.src}: {changed}")
    return count


def remove_empty(folder: str) -> None:
    """Remove a person's folder left empty (a rename moved everything out)."""
    try:
        if os.path.isdir(folder) and not os.listdir(folder):
            os.rmdir(folder)
    except OSError:
        pass  # something arrived meanwhile: the folder stays


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
