"""The review page: a real Airflow API server with the plugin, a real headless Chromium.

The queue is built from the shared photos with obama's reference photos removed, so
review/unidentified holds his seven photos and lin-manuel-miranda.png.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from review_helpers import OBAMA_UNIDENTIFIED, file_id, queue_without_obama, record
from review_server import api_server, chromium, sign_in

from facesort.sample import build_workspace

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

SCREENSHOTS = os.environ.get("FACESORT_SCREENSHOTS")  # a folder: write the README's pictures


class Workspace:
    def __init__(self, root: Path, config_path: Path):
        self.root, self.config_path = root, config_path
        self.staging, self.references = root / "staging", root / "references"

    def config(self):
        from facesort.config import load_config

        return load_config(self.config_path)


@pytest.fixture(scope="module")
def queue(tmp_path_factory, photos):
    root = tmp_path_factory.mktemp("page") / "ws"
    ws = Workspace(root, build_workspace(root, photos))
    state = queue_without_obama(ws)
    yield ws, state
    state.dispose()


@pytest.fixture(scope="module")
def server(queue, airflow_db, tmp_path_factory):
    ws, _ = queue
    with api_server(ws.config_path, tmp_path_factory.mktemp("api")) as running:
        yield running


def _request(server, path, *, method="GET", body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        server.url + path, data=data, method=method, headers=headers or {}
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_anonymous_requests_are_refused(server, queue):
    _, state = queue
    lin = file_id(state, "lin-manuel-miranda.png")
    before = record(state, lin).current_path

    status, headers, _ = _request(server, "/facesort/review/", headers={"Accept": "text/html"})
    assert status == 303 and "/auth/login" in headers["location"]
    for path in (
        "/facesort/review/api/counts",
        f"/facesort/review/thumb/{lin}",
        f"/facesort/review/file/{lin}",
    ):
        assert _request(server, path)[0] == 401, path
    status, _, _ = _request(
        server,
        "/facesort/review/api/approve",
        method="POST",
        body={"file_ids": [lin], "person": "intruder"},
        headers={"Content-Type": "application/json"},
    )
    assert status == 401
    forged = {"Authorization": "Bearer not-a-token", "Content-Type": "application/json"}
    status, _, _ = _request(
        server,
        "/facesort/review/api/reject",
        method="POST",
        body={"file_ids": [lin]},
        headers=forged,
    )
    assert status in {401, 403}
    assert record(state, lin).current_path == before and os.path.exists(before)


def test_cross_site_posts_are_refused(server, queue):
    _, state = queue
    lin = file_id(state, "lin-manuel-miranda.png")
    before = record(state, lin).current_path
    token = {"Authorization": f"Bearer {server.token()}"}
    body = {"file_ids": [lin]}
    cross_site = {**token, "Content-Type": "application/json", "Origin": "http://evil.example"}
    assert (
        _request(
            server, "/facesort/review/api/reject", method="POST", body=body, headers=cross_site
        )[0]
        == 403
    )
    fetched = {**token, "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}
    assert (
        _request(server, "/facesort/review/api/reject", method="POST", body=body, headers=fetched)[
            0
        ]
        == 403
    )
    form = {**token, "Content-Type": "application/x-www-form-urlencoded"}
    assert (
        _request(server, "/facesort/review/api/reject", method="POST", body=body, headers=form)[0]
        == 415
    )
    assert record(state, lin).current_path == before and os.path.exists(before)


def test_plugin_is_in_airflow_navigation(server):
    status, _, body = _request(
        server, "/api/v2/plugins", headers={"Authorization": f"Bearer {server.token()}"}
    )
    assert status == 200
    (plugin,) = [p for p in json.loads(body)["plugins"] if p["name"] == "facesort_review"]
    (view,) = plugin["external_views"]
    assert view["href"] == "facesort/review/" and view["destination"] == "nav"
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/facesort/review"


def test_approve_in_the_browser(server, queue):
    ws, state = queue
    lin = file_id(state, "lin-manuel-miranda.png")
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, server, "/facesort/review/queue/unidentified")
        # The counts: eight unidentified (obama's seven photos, lin-manuel-miranda.png).
        tab = page.locator(".tab[data-category=unidentified] .count")
        assert tab.inner_text() == "8"
        assert page.locator(".tab[data-category=duplicates] .count").inner_text() == "4"
        cards = page.locator("#gallery .card")
        assert cards.count() == 8
        card = page.locator(f".card[data-id='{lin}']")
        # Its reason, and its face drawn on the thumbnail.
        assert "unknown face" in card.locator(".summary").inner_text()
        assert card.locator(".box").count() == 1
        card.locator("img").first.wait_for()
        assert card.locator("img").first.evaluate("img => img.complete && img.naturalWidth > 0")
        # Keyboard: the card, 'a' to type the name, Enter to approve.
        card.click(position={"x": 150, "y": 10})
        page.keyboard.press("a")
        page.keyboard.type("Lin-Manuel Miranda")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('approved')"
        )
        assert page.locator(".tab[data-category=unidentified] .count").inner_text() == "7"
        assert page.locator(f".card[data-id='{lin}']").count() == 0

    moved = ws.root / "library" / "Lin-Manuel Miranda" / "lin-manuel-miranda.png"
    assert moved.is_file()
    media = record(state, lin)
    assert media.current_path == str(moved) and media.place == "library"
    assert media.people == ["Lin-Manuel Miranda"]


def test_batch_reject_and_undo_with_the_keyboard(server, queue):
    ws, state = queue
    obama = {name: file_id(state, name) for name in ("obama1.jpg", "obama3.jpg")}
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, server, "/facesort/review/queue/unidentified")
        for id_ in obama.values():
            page.locator(f".card[data-id='{id_}']").click(position={"x": 150, "y": 10})
            page.keyboard.press("x")
        assert page.locator("#selection").inner_text() == "2 selected"
        page.keyboard.press("r")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('rejected')"
        )
        for id_ in obama.values():
            assert record(state, id_).place == "trash"
        assert sorted(p.name for p in (ws.root / "trash").iterdir()) == sorted(obama)
        page.keyboard.press("u")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('undo of reject')"
        )
        assert page.locator(".card[data-id]").count() == 7
    for name, id_ in obama.items():
        media = record(state, id_)
        assert media.category == "unidentified" and media.current_path.endswith(name)
        assert os.path.isfile(media.current_path)
    assert not list((ws.root / "trash").iterdir())


def test_reports_link_and_the_newest_report_behind_sign_in(server, queue):
    from datetime import UTC, datetime

    from facesort.report import ReportWeek, make_report

    ws, state = queue
    token = {"Authorization": f"Bearer {server.token()}"}
    page = _request(server, "/facesort/review/queue/unidentified", headers=token)[2].decode()
    assert "/facesort/review/reports/latest/" not in page  # no report yet: no link

    config = ws.config()
    made = make_report(config, ReportWeek.containing(datetime.now(UTC)), state=state)

    page = _request(server, "/facesort/review/queue/unidentified", headers=token)[2].decode()
    assert 'href="/facesort/review/reports/latest/"' in page and ">Reports<" in page
    status, _, body = _request(server, "/facesort/review/reports/latest/", headers=token)
    assert status == 200 and body == made.page.read_bytes()
    csv = made.csv_files[0]
    status, _, body = _request(server, f"/facesort/review/reports/latest/{csv}", headers=token)
    assert status == 200 and body == (made.folder / csv).read_bytes()
    for sneaky in ("..%2Ffacesort.yaml", "%2E%2E", ".hidden.csv", "report.html%00.csv"):
        path = f"/facesort/review/reports/latest/{sneaky}"
        assert _request(server, path, headers=token)[0] == 404, sneaky
    assert _request(server, "/facesort/review/reports/latest/")[0] == 401


@pytest.mark.skipif(
    not SCREENSHOTS, reason="set FACESORT_SCREENSHOTS=docs to remake the README's pictures"
)
def test_screenshots(server, queue):
    """The README's pictures, from the real page (run on purpose, see README)."""
    from facesort.review.clustering import recluster

    ws, state = queue
    recluster(state, ws.config())
    out = Path(SCREENSHOTS)
    out.mkdir(parents=True, exist_ok=True)
    with chromium(viewport=(1200, 760)) as browser:
        page = browser.new_page()
        sign_in(page, server, "/facesort/review/queue/unidentified")
        page.wait_for_load_state("networkidle")
        for name in ("32bit.png", "obama3.jpg"):  # two of his photos, selected with x
            page.locator(f".card[data-id='{file_id(state, name)}']").click(
                position={"x": 150, "y": 10}
            )
            page.keyboard.press("x")
        page.locator("#person").fill("Barack Obama")
        _shot(page, out / "review-queue.png")
        for path, name in (
            ("/facesort/review/queue/multiple_faces", "review-multiple-faces.png"),
            ("/facesort/review/clusters", "review-unknown-people.png"),
        ):
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
            _shot(page, out / name)
        page.goto(server.url + "/plugin/facesort-review")
        page.wait_for_load_state("networkidle")
        page.frame_locator("iframe").locator(".tab").first.wait_for()
        page.wait_for_timeout(1000)
        _shot(page, out / "review-in-airflow.png")


def _shot(page, path: Path) -> None:
    """A small PNG (palette of 128 colours) of what the page shows."""
    from PIL import Image

    page.screenshot(path=str(path))
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(128, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)
    assert path.stat().st_size > 10_000


def test_name_a_cluster_in_the_browser(server, queue):
    """(Runs last: it moves obama's photos out of the queue.)"""
    from facesort.review.clustering import recluster

    ws, state = queue
    recluster(state, ws.config())
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, server, "/facesort/review/clusters")
        (cluster,) = page.locator(".cluster").all()
        assert "9 faces in 9 files" in cluster.inner_text()
        assert cluster.locator(".faces-strip img").count() == 6
        cluster.locator("input[name=person]").fill("Barack Obama")
        cluster.locator("input[name=person]").press("Enter")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('named Barack Obama')"
        )
        assert page.locator(".cluster").count() == 0
    library = ws.root / "library" / "Barack Obama"
    assert sorted(p.name for p in library.iterdir()) == sorted(OBAMA_UNIDENTIFIED)
    assert len(list((ws.root / "references" / "Barack Obama").iterdir())) == 9
