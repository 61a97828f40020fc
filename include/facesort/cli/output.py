"""How the commands print sorted files: one line per file, or JSON.

Files are named by their path inside the folder they came from (``2024/trip/IMG_1.jpg``,
not ``IMG_1.jpg``), so two files of the same name in two folders can be told apart;
with several folders to come from, the folder's name leads (``phone/IMG_1.jpg``).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path


def display_path(path: str, roots: Sequence[Path]) -> str:
    """``path`` relative to the root holding it (the root's name first when there are
    several roots); the whole path when no root holds it."""
    best: Path | None = None
    for root in roots:
        try:
            Path(path).relative_to(root)
        except ValueError:
            continue
        if best is None or len(root.parts) > len(best.parts):
            best = root
    if best is None:
        return path
    inside = os.path.relpath(path, best)
    return os.path.join(best.name, inside) if len(roots) > 1 else inside


def print_results(results, *, as_json: bool, out=None, roots: Sequence[Path] = ()) -> None:
    """Each file, where it went and why, then the count per folder (or all of it as JSON).
    ``roots``: the folders the files came from (the staging folders of a run)."""
    out = out or sys.stdout  # looked up now, not at import (tests capture stdout)
    results = list(results)
    if as_json:
        json.dump([r.as_dict() for r in results], out, indent=2)
        out.write("\n")
        return
    names = {id(r): display_path(r.source, roots) for r in results}
    width = max((len(n) for n in names.values()), default=0)
    for r in sorted(results, key=lambda r: (r.folder, names[id(r)])):
        where = r.destination if r.destination else f"left in {r.folder}"
        out.write(f"{names[id(r)]:<{width}}  -> {where}\n{'':<{width}}     {r.summary}\n")
    counts = Counter(r.folder for r in results)
    if counts:
        out.write("\n" + ", ".join(f"{folder}: {n}" for folder, n in sorted(counts.items())) + "\n")


def print_listing(items, *, as_json: bool, as_dict, empty: str, line) -> None:
    """A listing command's output: the items as JSON (``as_dict`` each), or ``empty`` when
    there are none, or ``line`` of each item, one a line."""
    items = list(items)
    if as_json:
        print(json.dumps([as_dict(item) for item in items], indent=2))
        return
    if not items:
        print(empty)
    for item in items:
        print(line(item))
