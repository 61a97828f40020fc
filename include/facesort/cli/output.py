"""How the commands print sorted files: one line per file, or JSON."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter


def print_results(results, *, as_json: bool, out=None) -> None:
    out = out or sys.stdout  # looked up now, not at import (tests capture stdout)
    if as_json:
        json.dump([r.as_dict() for r in results], out, indent=2)
        out.write("\n")
        return
    width = max((len(os.path.basename(r.source)) for r in results), default=0)
    for r in sorted(results, key=lambda r: (r.folder, r.source)):
        name = os.path.basename(r.source)
        where = r.destination if r.destination else f"left in {r.folder}"
        out.write(f"{name:<{width}}  -> {where}\n{'':<{width}}     {r.summary}\n")
    counts = Counter(r.folder for r in results)
    if counts:
        out.write("\n" + ", ".join(f"{folder}: {n}" for folder, n in sorted(counts.items())) + "\n")
