"""The weekly review-queue report, checked against a known history over several weeks.

The history is written into a real state database (SQLite, and PostgreSQL when there is
a server) the way the journal writes it: "routed", "copied", "reviewed", "resorted",
"undo" events with their destinations, plus a "rejected" move to a trash folder like
the review actions to come. Every expected number below is worked out by hand from that
script of events.
"""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from history_fixture import (
    W02,
    W03,
    W04,
    W05,
    HistoryWriter,
    at,
    write_history_to_w04,
    write_history_w05,
)

from facesort.config import parse_config, with_overrides
from facesort.report import ReportWeek, latest_report, make_report, render_report
from facesort.report.metrics import build_week_report
from facesort.state import State, sqlite_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request, tmp_path):
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "state.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def report_config(tmp_path, state_url):
    root = tmp_path / "photos"
    for folder in ("staging", "library", "review", "references"):
        (root / folder).mkdir(parents=True)
    config = parse_config(
        {"staging_dirs": ["staging"], "library_dir": "library", "review_dir": "review",
         "references_dir": "references", "state_url": state_url,
         "report": {"trend_weeks": 4}},
        root / "facesort.yaml",
    )  # fmt: skip
    return config


@pytest.fixture
def history(report_config):
    state = State(report_config.database_url)
    writer = HistoryWriter(state, report_config.library_dir.parent)
    files = write_history_to_w04(writer)
    yield state, writer, files
    state.dispose()


def _rows(frame) -> list[dict]:
    return frame.to_dict(orient="records")


def test_numbers_match_the_known_history(history):
    state, _, _ = history

    report = build_week_report(state, W04, trend_weeks=4)

    categories = ["duplicates", "unidentified", "low_confidence", "multiple_faces",
                  "unwanted_person", "unreadable"]  # fmt: skip
    queue = report.queue_trend.set_index("week")
    assert list(queue.index) == ["2026-W01", "2026-W02", "2026-W03", "2026-W04"]
    assert queue.loc["2026-W01", categories].tolist() == [0, 0, 0, 0, 0, 0]
    assert queue.loc["2026-W02", categories].tolist() == [1, 1, 1, 0, 0, 0]
    assert queue.loc["2026-W03", categories].tolist() == [2, 1, 0, 1, 0, 0]
    assert queue.loc["2026-W04", categories].tolist() == [1, 1, 0, 1, 0, 1]
    assert queue["total"].tolist() == [0, 3, 4, 4]
    assert queue["change"].tolist() == [0, 3, 1, 0]

    flow = report.flow.set_index("category")
    assert flow.loc["duplicates"].tolist() == [0, 1, -1]  # in, out, net: f4 rejected
    assert flow.loc["unidentified"].tolist() == [1, 1, 0]  # f11 in and undone
    assert flow.loc["unreadable"].tolist() == [1, 0, 1]
    assert flow.loc["review queue (total)"].tolist() == [2, 2, 0]
    assert _rows(report.left_to) == [
        {"to": "staging (undone)", "action": "undo", "files": 1},
        {"to": "trash", "action": "rejected", "files": 1},
    ]
    assert _rows(report.flow_trend) == [
        {"week": "2026-W01", "entered": 0, "left": 0},
        {"week": "2026-W02", "entered": 3, "left": 0},
        {"week": "2026-W03", "entered": 2, "left": 1},
        {"week": "2026-W04", "entered": 2, "left": 2},
    ]
    # Oldest first; f5 moved between review categories and still waits since 8 January.
    waiting = report.waiting
    assert [Path(p).name for p in waiting["file"]] == ["f5.jpg", "f6.jpg", "f8.jpg", "f9.jpg"]
    assert waiting["category"].tolist() == ["unidentified", "multiple_faces", "duplicates",
                                            "unreadable"]  # fmt: skip
    assert waiting["waiting_since"].tolist() == [
        "2026-01-08 12:00", "2026-01-12 12:00", "2026-01-16 12:00", "2026-01-20 12:00"]  # fmt: skip
    assert waiting["age_days"].tolist() == [17.5, 13.5, 9.5, 5.5]
    ages = report.age_buckets.set_index("category")
    assert ages.loc["unidentified", "1-4 weeks"] == 1
    assert ages.loc["unreadable", "1-7 days"] == 1
    assert int(ages.to_numpy().sum()) == 4

    auto = report.auto_sort.set_index("week")
    assert auto.loc["2026-W02", ["sorted", "to_library", "duplicates"]].tolist() == [5, 2, 1]
    assert auto.loc["2026-W02", "auto_sort_rate"] == 0.4
    assert auto.loc["2026-W03", ["sorted", "to_library", "to_review"]].tolist() == [3, 1, 2]
    assert auto.loc["2026-W03", "auto_sort_rate_without_duplicates"] == 0.5
    assert auto.loc["2026-W04", ["sorted", "to_library"]].tolist() == [3, 1]  # f11, f9, f7
    assert auto.loc["2026-W04", "auto_sort_rate"] == pytest.approx(0.3333)
    dups = report.duplicates.set_index("week")
    assert dups[["exact", "near", "total"]].to_numpy().tolist() == [
        [0, 0, 0], [1, 0, 1], [0, 1, 1], [0, 0, 0]]  # fmt: skip

    assert _rows(report.people) == [
        {"person": "alice", "files": 2, "extra_copies": 0, "total": 2, "added_this_week": 0},
        {"person": "bob", "files": 1, "extra_copies": 0, "total": 1, "added_this_week": 1},
        {"person": "carol", "files": 1, "extra_copies": 0, "total": 1, "added_this_week": 0},
    ]
    assert report.summary == {
        "week": "2026-W04", "from": "2026-01-19T00:00:00+00:00",
        "to": "2026-01-26T00:00:00+00:00", "timezone": "UTC", "complete": True,
        "queue_size": 4, "queue_change": 0, "entered_queue": 2, "left_queue": 2, "sorted": 3,
        "to_library": 1, "auto_sort_rate": 0.3333, "duplicates_caught": 0,
        "oldest_waiting_days": 17.5, "library_files": 4,
    }  # fmt: skip


def test_the_copy_for_a_second_person_counts_while_it_exists(history):
    state, _, _ = history

    report = build_week_report(state, W03, trend_weeks=2)

    assert _rows(report.people) == [
        {"person": "alice", "files": 2, "extra_copies": 1, "total": 3, "added_this_week": 1},
        {"person": "bob", "files": 1, "extra_copies": 0, "total": 1, "added_this_week": 1},
        {"person": "carol", "files": 1, "extra_copies": 0, "total": 1, "added_this_week": 1},
    ]
    flow = report.flow.set_index("category")
    assert flow.loc["low_confidence"].tolist() == [0, 1, -1]  # f5 re-sorted to unidentified
    assert flow.loc["unidentified"].tolist() == [1, 1, 0]  # ...and f3 reviewed into carol's
    assert flow.loc["review queue (total)"].tolist() == [2, 1, 1]


def _history_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """Every file of a week's folder that must depend on the week's history alone."""
    return {n: d for n, d in files.items() if n not in {"report.html", "unknown_clusters.csv"}}


def test_a_backfilled_week_equals_the_live_one(history, report_config):
    """W04 made at the time, then again after W05 happened: the same numbers and charts."""
    from facesort.report import charts, html

    state, writer, files = history
    live_now = datetime(2026, 1, 26, 6, tzinfo=UTC)  # the Monday-morning run
    live, live_files = render_report(report_config, state, W04, now=live_now)
    live_made = make_report(report_config, W04, state=state, now=live_now)
    assert live_made.latest
    assert latest_report(report_config.reports_path).resolve() == live_made.page.resolve()

    write_history_w05(writer, files)
    later = datetime(2026, 3, 2, 9, tzinfo=UTC)
    made_w05 = make_report(report_config, W05, state=state, now=later)
    assert made_w05.summary["queue_size"] == 2  # f5 and f6 left the queue in W05
    backfilled = make_report(report_config, W04, state=state, now=later)
    again, again_files = render_report(report_config, state, W04, now=later)

    assert _history_files(again_files) == _history_files(live_files)
    on_disk = {p.name: p.read_bytes() for p in backfilled.folder.iterdir()}
    assert _history_files(on_disk) == _history_files(live_files)
    assert html.history_sections(again, charts.draw_all(again), waiting_rows=50) == (
        html.history_sections(live, charts.draw_all(live), waiting_rows=50)
    )
    # A backfill of an older week leaves "latest" on the newest one.
    assert not backfilled.latest
    assert latest_report(report_config.reports_path).resolve() == made_w05.page.resolve()
    assert sorted(p.name for p in report_config.reports_path.iterdir()) == [
        "2026-W04", "2026-W05", "latest"]  # fmt: skip


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[dict] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            if value.startswith(("http:", "https:", "//")) or (tag in {"script", "link"}):
                self.external.append(f"{tag} {key}={value}")


def test_the_page_is_self_contained_and_holds_the_charts(history, report_config):
    from PIL import Image

    state, writer, _ = history
    odd = writer.new_file("<i>odd & name.jpg", at(20))
    writer.move(odd, at(20, 15), "routed", "review", "unidentified")

    made = make_report(report_config, W04, state=state, now=datetime(2026, 2, 1, tzinfo=UTC))

    page = made.page.read_text(encoding="utf-8")
    parser = _Images()
    parser.feed(page)
    assert parser.external == []
    charts = {img["id"]: img for img in parser.images}
    assert sorted(charts) == ["chart-age", "chart-auto_sort", "chart-duplicates", "chart-flow",
                              "chart-people", "chart-queue"]  # fmt: skip
    for image in charts.values():
        prefix = "data:image/png;base64,"
        assert image["src"].startswith(prefix) and image["alt"]
        picture = Image.open(io.BytesIO(base64.b64decode(image["src"][len(prefix) :])))
        picture.load()
        assert picture.size == (640, 320)
    assert "&lt;i&gt;odd &amp; name.jpg" in page and "<i>odd" not in page
    assert "2026-W04" in page and "the end of the week" in page
    # One CSV per table, the same numbers as the page.
    assert made.csv_files == sorted(
        ["auto_sort.csv", "duplicates.csv", "flow.csv", "flow_by_week.csv", "left_queue_to.csv",
         "people.csv", "queue_by_category.csv", "summary.csv", "unknown_clusters.csv",
         "waiting_age.csv", "waiting_items.csv"]
    )  # fmt: skip
    waiting = (made.folder / "waiting_items.csv").read_text().splitlines()
    assert waiting[0] == "file,category,waiting_since,age_days"
    assert len(waiting) == 1 + 5 and waiting[1].endswith(
        "f5.jpg,unidentified,2026-01-08 12:00,17.5"
    )


def test_weeks_follow_the_configured_time_zone(history, report_config):
    state, writer, _ = history
    # Sunday 11 January, 23:30 UTC is already Monday 12 January in Berlin: week 3 there.
    late = writer.new_file("late.jpg", at(11, 23))
    writer.move(late, datetime(2026, 1, 11, 23, 30, tzinfo=UTC), "routed", "review", "unreadable")
    berlin = ReportWeek(2026, 2, "Europe/Berlin")
    assert berlin.start.isoformat() == "2026-01-05T00:00:00+01:00"

    in_utc = build_week_report(state, W02, trend_weeks=2)
    in_berlin = build_week_report(state, berlin, trend_weeks=2)

    assert in_utc.summary["sorted"] == 6 and in_berlin.summary["sorted"] == 5
    assert ReportWeek.last_complete_before(datetime(2026, 1, 26, 6, tzinfo=UTC)) == W04
    assert ReportWeek.last_complete_before(datetime(2026, 1, 26, tzinfo=UTC)) == W04
    assert ReportWeek.parse("2026-W04") == W04


def test_unknown_faces_are_listed_as_clusters_once_faces_have_cluster_ids(report_config):
    """Before the nightly re-clustering has given faces a cluster, the files with unknown
    faces; after it, the largest clusters."""
    from facesort.report.clusters import unknown_faces
    from facesort.state.models import Face, FaceCluster

    state = State(report_config.database_url)
    writer = HistoryWriter(state, report_config.library_dir.parent)
    ids = [writer.new_file(f"u{n}.jpg", at(5)) for n in range(3)]
    for file_id in ids:
        writer.move(file_id, at(6), "routed", "review", "unidentified")
    with state.session() as session:
        for file_id, faces in zip(ids, [2, 1, 1], strict=True):
            for _ in range(faces):
                session.add(Face(file_id=file_id, box=[0, 0, 1, 1], person=None,
                                 confidence="unknown"))  # fmt: skip
        session.add(Face(file_id=ids[0], box=[0, 0, 1, 1], person="obama", confidence="sure"))
    now = datetime(2026, 2, 1, tzinfo=UTC)

    before = unknown_faces(state, limit=10, as_of=now)
    assert not before.clustered and (before.unknown_faces, before.files) == (4, 3)
    assert before.table["unknown_faces"].tolist() == [2, 1, 1]

    with state.session() as session:
        session.add_all([FaceCluster(id=7), FaceCluster(id=3)])
    with state.engine.begin() as conn:
        conn.execute(sa.text("UPDATE face SET cluster_id = 7 WHERE person IS NULL"))
        conn.execute(sa.text(f"UPDATE face SET cluster_id = 3 WHERE file_id = {ids[2]}"))
    after = unknown_faces(state, limit=10, as_of=now)
    assert after.clustered
    assert _rows(after.table.drop(columns="examples")) == [
        {"cluster": "7", "faces": 3, "files": 2},
        {"cluster": "3", "faces": 1, "files": 1},
    ]
    state.dispose()


def test_reports_dir_defaults_beside_the_review_folder_and_is_checked(tmp_path):
    from facesort.errors import ConfigError

    base = {"staging_dirs": ["staging"], "library_dir": "library", "review_dir": "photos/review",
            "references_dir": "references"}  # fmt: skip
    config = parse_config(base, tmp_path / "facesort.yaml")
    assert config.reports_dir == tmp_path / "photos" / "reports"
    assert with_overrides(config, {"matching": {"sure_distance": 0.5}}).reports_dir == (
        config.reports_dir
    )
    with pytest.raises(ConfigError, match=r"reports_dir .* must not be inside review_dir"):
        parse_config({**base, "reports_dir": "photos/review/reports"}, tmp_path / "f.yaml")
    with pytest.raises(ConfigError, match=r"report.timezone: unknown time zone 'Moon/Base'"):
        parse_config({**base, "report": {"timezone": "Moon/Base"}}, tmp_path / "f.yaml")


def test_the_first_report_of_an_empty_database(report_config):
    made = make_report(report_config, W02, now=datetime(2026, 1, 13, tzinfo=UTC))

    assert made.summary["queue_size"] == 0 and made.summary["auto_sort_rate"] is None
    page = made.page.read_text(encoding="utf-8")
    assert "the review queue is empty" not in page  # drawn in the chart, not as text
    assert page.count('src="data:image/png;base64,') == 6
    assert (
        made.folder / "waiting_items.csv"
    ).read_text() == "file,category,waiting_since,age_days\n"
