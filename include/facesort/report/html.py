"""The report as one self-contained HTML page: styles inline, charts as data: URIs.

The page has two parts: the week's sections, drawn only from the week's history (the
same whenever the report is made), and the "as of now" section on unknown faces.
Everything from the database is escaped (file and person names are user data).
"""

from __future__ import annotations

import base64
import math
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from facesort.report.charts import CHARTS

if TYPE_CHECKING:
    import pandas as pd

    from facesort.report.clusters import UnknownFaces
    from facesort.report.metrics import WeekReport

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 72rem; padding: 0 1rem; color: #222; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.muted { color: #666; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0; }
.card { border: 1px solid #ddd; border-radius: .4rem; padding: .6rem .9rem; min-width: 9rem; }
.card b { display: block; font-size: 1.5rem; }
.row { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
img.chart { max-width: 100%; width: 640px; }
table { border-collapse: collapse; font-size: .9rem; margin: .5rem 0; }
th, td { border-bottom: 1px solid #eee; padding: .25rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.path { text-align: left; font-family: ui-monospace, monospace; font-size: .8rem;
          word-break: break-all; }
"""


def _number(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.1f}" if not value.is_integer() else f"{int(value)}"
    return str(value)


def table(frame: pd.DataFrame, *, path_columns: tuple[str, ...] = (), percent: tuple = ()) -> str:
    """A frame as an HTML table; every cell escaped."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            if column in percent:
                text = "–" if value != value else f"{value * 100:.0f}%"
            else:
                text = _number(value)
            css = ' class="path"' if column in path_columns else ""
            cells.append(f"<td{css}>{escape(text).replace(chr(10), '<br>')}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(frame.columns)}" class="muted">none</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def chart(charts: dict[str, bytes], chart_id: str) -> str:
    alt = next(alt for cid, alt, _ in CHARTS if cid == chart_id)
    data = base64.b64encode(charts[chart_id]).decode("ascii")
    return (
        f'<img class="chart" id="chart-{chart_id}" alt="{escape(alt)}" '
        f'src="data:image/png;base64,{data}">'
    )


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def summary_cards(s: dict) -> str:
    """The week's key figures (``WeekReport.summary``) as cards."""
    oldest = s["oldest_waiting_days"]
    cards = [
        ("waiting in the review queue", f"{s['queue_size']}",
         f"{_signed(s['queue_change'])} on the week before"),
        ("entered the queue", str(s["entered_queue"]), f"{s['left_queue']} left it"),
        ("auto-sort rate", _rate(s["auto_sort_rate"]),
         f"{s['to_library']} of {s['sorted']} new files straight to a person"),
        ("duplicates caught", str(s["duplicates_caught"]), "new files that were copies"),
        ("oldest waiting item", "–" if oldest is None else f"{oldest:.1f} days", "at week's end"),
        ("files in people's folders", str(s["library_files"]), "extra copies included"),
    ]  # fmt: skip
    return '<div class="cards">' + "".join(
        f'<div class="card"><span class="muted">{escape(title)}</span><b>{escape(value)}</b>'
        f'<span class="muted">{escape(note)}</span></div>'
        for title, value, note in cards
    ) + "</div>"  # fmt: skip


def history_sections(report: WeekReport, charts: dict[str, bytes], *, waiting_rows: int) -> str:
    """Every part of the page that comes from the week's history."""
    waiting = report.waiting
    shown = waiting.head(waiting_rows)
    more = (
        f"<p class='muted'>The {len(shown)} oldest of {len(waiting)} are listed; "
        "<a href='waiting_items.csv'>waiting_items.csv</a> has them all.</p>"
        if len(waiting) > len(shown)
        else ""
    )
    rates = ("auto_sort_rate", "auto_sort_rate_without_duplicates")
    parts = [
        '<section id="summary"><h2>The week in numbers</h2>', summary_cards(report.summary),
        "</section>",
        '<section id="queue"><h2>Review queue per category</h2>', chart(charts, "queue"),
        "<p>Files waiting at the end of each week (the <i>change</i> is on the week before).</p>",
        table(report.queue_trend), "</section>",
        '<section id="flow"><h2>In and out this week</h2>', chart(charts, "flow"),
        "<div class='row'><div><h3>Per category</h3>", table(report.flow),
        "<p class='muted'>A move between two review categories counts in both; the total "
        "counts only files entering or leaving the queue.</p></div>",
        "<div><h3>Where the files that left went</h3>", table(report.left_to), "</div></div>",
        "</section>",
        '<section id="waiting"><h2>Waiting items, oldest first</h2>', chart(charts, "age"),
        table(report.age_buckets), table(shown, path_columns=("file",)), more, "</section>",
        '<section id="auto-sort"><h2>Auto-sort rate</h2>', chart(charts, "auto_sort"),
        "<p>New files sorted from staging each week, and the share that went straight into "
        "a person's folder (without duplicates in the last column).</p>",
        table(report.auto_sort, percent=rates), "</section>",
        '<section id="people"><h2>Per person</h2>', chart(charts, "people"),
        table(report.people), "</section>",
        '<section id="duplicates"><h2>Duplicates caught</h2>', chart(charts, "duplicates"),
        table(report.duplicates), "</section>",
    ]  # fmt: skip
    return "\n".join(parts)


def unknown_section(unknown: UnknownFaces) -> str:
    when = unknown.as_of.strftime("%Y-%m-%d %H:%M %Z")
    if unknown.clustered:
        intro = (
            f"{unknown.unknown_faces} unknown faces in {unknown.files} files wait in the review "
            "queue. The largest clusters of similar faces (name one in the review page to sort "
            "its photos at once):"
        )
        body = table(unknown.table, path_columns=("examples",))
    else:
        intro = (
            f"{unknown.unknown_faces} unknown faces in {unknown.files} files wait in the review "
            "queue. They are not clustered yet (the re-clustering job groups similar faces); the "
            "files with the most unknown faces:"
        )
        body = table(unknown.table, path_columns=("file",))
    return (
        '<section id="unknown"><h2>Largest unknown clusters</h2>'
        f"<p class='muted'>As of {escape(when)}: faces and clusters have no history, so this "
        "part shows the state when the report was made, not at the end of the week.</p>"
        f"<p>{escape(intro)}</p>{body}</section>"
    )


def page(
    report: WeekReport,
    charts: dict[str, bytes],
    unknown: UnknownFaces,
    *,
    generated_at: datetime,
    csv_files: list[str],
    waiting_rows: int,
) -> str:
    week = report.week
    span = f"{week.start:%A %d %B %Y} to {week.end:%A %d %B %Y} 00:00 ({escape(week.timezone)})"
    links = ", ".join(f"<a href='{escape(name)}'>{escape(name)}</a>" for name in csv_files)
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>facesort review queue report {escape(week.label)}</title>
<style>{STYLE}</style></head>
<body>
<header><h1>Review queue report, week {escape(week.label)}</h1>
<p class="muted">{span}. Made {generated_at:%Y-%m-%d %H:%M %Z} from the audit trail up to
{"the end of the week" if report.summary["complete"] else "then: <b>the week is not over yet</b>"}.
</p></header>
{history_sections(report, charts, waiting_rows=waiting_rows)}
{unknown_section(unknown)}
<footer><h2>Data</h2><p>CSV files: {links}.</p></footer>
</body>
</html>
"""


def email_subject(summary: dict) -> str:
    rate = _rate(summary["auto_sort_rate"])
    return (
        f"facesort review queue, week {summary['week']}: {summary['queue_size']} waiting "
        f"({_signed(summary['queue_change'])}), auto-sort {rate}"
    )


def email_body(summary: dict, *, report_path: str) -> str:
    """A short HTML mail: the week in numbers; the full page is attached."""
    return (
        f"<html><body><h2>facesort review queue, week {escape(summary['week'])}</h2>"
        f"<style>{STYLE}</style>{summary_cards(summary)}"
        f"<p>The full report (charts, oldest waiting items, per person) is attached and kept at "
        f"<code>{escape(report_path)}</code>.</p></body></html>"
    )
