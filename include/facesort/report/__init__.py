"""The weekly review-queue report: numbers from the audit trail, a page, CSV files.

    make_report(config)                       # the last complete week
    make_report(config, ReportWeek.parse("2026-W05"))

writes ``<reports_dir>/2026-W05/report.html`` (self-contained: charts embedded), one CSV
file per table and ``summary.csv``, and points ``<reports_dir>/latest`` at the newest
week. Used by the facesort_review_report DAG and ``facesort report``.

- ``weeks``: which ISO week a run reports, and its bounds;
- ``history``: where every file was at any moment, replayed from the audit trail;
- ``metrics``: the week's numbers, as pandas frames;
- ``clusters``: the largest groups of unknown faces waiting in the queue;
- ``charts``, ``html``, ``output``: the charts, the page, and writing them out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from facesort.config import Config
from facesort.report.output import PAGE, latest_report, update_latest, write_week_folder
from facesort.report.weeks import BadWeek, ReportWeek
from facesort.state import State

__all__ = [
    "PAGE",
    "BadWeek",
    "ReportFiles",
    "ReportWeek",
    "latest_report",
    "make_report",
    "render_report",
]


@dataclass
class ReportFiles:
    """What one report run wrote (small: fits an XCom)."""

    week: str
    folder: Path
    page: Path
    csv_files: list[str]
    summary: dict[str, Any]
    latest: bool
    files: dict[str, bytes] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "folder": str(self.folder),
            "page": str(self.page),
            "csv_files": self.csv_files,
            "summary": self.summary,
            "latest": self.latest,
        }


def _csv(frame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def render_report(
    config: Config, state: State, week: ReportWeek, *, now: datetime
) -> tuple[Any, dict[str, bytes]]:
    """The week's report and the bytes of every file of its folder (name -> content)."""
    import pandas as pd

    from facesort.report import charts, html
    from facesort.report.clusters import unknown_faces
    from facesort.report.metrics import build_week_report

    settings = config.report
    report = build_week_report(state, week, trend_weeks=settings.trend_weeks, now=now)
    unknown = unknown_faces(state, limit=settings.largest_clusters, as_of=now)
    files = {f"{name}.csv": _csv(frame) for name, frame in report.tables().items()}
    files["unknown_clusters.csv"] = _csv(unknown.table)
    summary = pd.DataFrame({"metric": list(report.summary), "value": list(report.summary.values())})
    files["summary.csv"] = _csv(summary)
    drawn = charts.draw_all(report)
    page = html.page(
        report,
        drawn,
        unknown,
        generated_at=now.astimezone(week.start.tzinfo),
        csv_files=sorted(files),
        waiting_rows=settings.waiting_rows,
    )
    files[PAGE] = page.encode("utf-8")
    return report, files


def make_report(
    config: Config,
    week: ReportWeek | None = None,
    *,
    state: State | None = None,
    now: datetime | None = None,
) -> ReportFiles:
    """Write the report of ``week`` (default: the last complete week before ``now``)."""
    now = now or datetime.now(UTC)
    week = week or ReportWeek.last_complete_before(now, config.report.timezone)
    own_state = state is None
    state = state or State(config.database_url)
    try:
        report, files = render_report(config, state, week, now=now)
    finally:
        if own_state:
            state.dispose()
    reports_dir = config.reports_path
    folder = write_week_folder(reports_dir, week.label, files)
    latest = update_latest(reports_dir, week.label)
    return ReportFiles(
        week=week.label,
        folder=folder,
        page=folder / PAGE,
        csv_files=sorted(n for n in files if n.endswith(".csv")),
        summary=report.summary,
        latest=latest,
        files=files,
    )
