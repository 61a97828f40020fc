"""Writing a week's report into ``reports_dir/<ISO week>/`` and the ``latest`` link.

A week's folder is written under a hidden temporary name and renamed into place, so a
reader (the review page, a browser) never sees half a report, and making a week's
report again replaces it whole. ``latest`` is a relative symbolic link to the newest
week's folder; backfilling older weeks leaves it alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

from facesort.report.weeks import _LABEL

LATEST = "latest"
PAGE = "report.html"


def write_week_folder(reports_dir: Path, label: str, files: dict[str, bytes]) -> Path:
    """Write ``files`` (name -> content) as the folder of week ``label``; returns it."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{label}.", dir=reports_dir))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        staging.chmod(0o755)
        final = reports_dir / label
        if final.exists():
            old = reports_dir / f".{label}.old-{uuid.uuid4().hex[:8]}"
            final.rename(old)
            staging.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def update_latest(reports_dir: Path, label: str) -> bool:
    """Point ``latest`` at week ``label`` unless it already shows a newer week."""
    link = reports_dir / LATEST
    current = os.readlink(link) if link.is_symlink() else None
    if current is not None and _LABEL.match(current) and current > label:
        return False
    temporary = reports_dir / f".{LATEST}.{uuid.uuid4().hex[:8]}"
    os.symlink(label, temporary)
    os.replace(temporary, link)
    return True


def latest_report(reports_dir: Path) -> Path | None:
    """The newest week's page (what the review page links to), or None before the first."""
    page = reports_dir / LATEST / PAGE
    return page if page.is_file() else None
