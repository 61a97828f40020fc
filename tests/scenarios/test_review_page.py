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


def test_each_tab_offers_only_its_actions_and_stays_readable(server, queue):
    ws, state = queue
    lin = file_id(state, "obama_small.jpg")  # (lin-manuel-miranda.png is approved by now)
    before = record(state, lin).current_path
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, server, "/facesort/review/queue/duplicates")
        toolbar = page.locator("#toolbar")
        # A duplicate cannot be approved as a person: no name, no approve, no reference.
        assert (
            toolbar.locator("[data-action=approve], #person, [data-action=add-reference]").count()
            == 0
        )
        assert toolbar.locator("[data-action=not-duplicate]").count() == 1
        page.locator("#gallery .card").first.click(position={"x": 150, "y": 10})
        page.keyboard.press("a")  # nothing to type into: the key does nothing
        page.keyboard.press("Enter")
        assert page.locator("#message").inner_text() == ""
        # The current tab is readable, also when its category is empty.
        white = "rgb(255, 255, 255)"
        current = page.locator(".tab.current")
        assert current.evaluate("e => getComputedStyle(e).color") == white
        page.goto(server.url + "/facesort/review/queue/unwanted_person")
        empty = page.locator(".tab.current.empty[data-category=unwanted_person]")
        assert empty.evaluate("e => getComputedStyle(e).color") == white
        muted = page.locator(".tab.empty:not(.current)").first
        assert muted.evaluate("e => getComputedStyle(e).color") != white

        # A typo of a known name asks first; "Cancel" changes nothing.
        page.goto(server.url + "/facesort/review/queue/unidentified")
        assert page.locator("#toolbar [data-action=not-duplicate]").count() == 0
        asked = []

        def cancel(dialog):
            asked.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", cancel)
        page.locator(f".card[data-id='{lin}']").click(position={"x": 150, "y": 10})
        page.keyboard.press("a")
        page.keyboard.type("bidn")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('nothing was changed')"
        )
        assert "New person 'bidn'? Did you mean 'biden'?" in asked[0]
    assert record(state, lin).current_path == before and os.path.isfile(before)
    assert not (ws.root / "library" / "bidn").exists()


def test_a_typo_asks_through_the_api_and_undo_removes_its_folder(server, queue):
    ws, state = queue
    lin = file_id(state, "obama_small.jpg")  # (lin-manuel-miranda.png is approved by now)
    before = record(state, lin).current_path
    headers = {"Authorization": f"Bearer {server.token()}", "Content-Type": "application/json"}
    body = {"file_ids": [lin], "person": "bidn"}
    status, _, answer = _request(
        server, "/facesort/review/api/approve", method="POST", body=body, headers=headers
    )
    assert status == 409
    answer = json.loads(answer)
    assert answer["confirm_new_person"] is True and answer["did_you_mean"] == ["biden"]
    assert "new person 'bidn'? did you mean 'biden'?" in answer["detail"]
    assert record(state, lin).current_path == before

    body["confirm_new_person"] = True
    status, _, answer = _request(
        server, "/facesort/review/api/approve", method="POST", body=body, headers=headers
    )
    assert status == 200, answer
    assert (ws.root / "library" / "bidn" / "obama_small.jpg").is_file()
    status, _, _ = _request(
        server, "/facesort/review/api/undo", method="POST", body={}, headers=headers
    )
    assert status == 200
    assert record(state, lin).current_path == before and os.path.isfile(before)
    assert not (ws.root / "library" / "bidn").exists()


def test_is_this_x_with_the_keyboard(server, queue):
    """y / n / s on the unidentified queue's suggestions (nearest people beyond the
    review distance: here never the right person, so "no" is the answer to give)."""
    from facesort.review.suggestions import said_not, suggestions

    ws, state = queue
    config = ws.config()
    questions = suggestions(state, config, "unidentified")
    assert len(questions) >= 3
    first, second, third = questions[:3]
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, server, "/facesort/review/queue/unidentified")
        page.get_by_text("Is this…? one face at a time").click()
        page.wait_for_url("**/is-this/unidentified")
        card = page.locator(".question:not([hidden])")
        assert card.count() == 1
        assert card.locator(".who").inner_text() == first.person
        assert card.get_attribute("data-id") == str(first.item.id)
        # The face beside the person's nearest reference photo, both shown.
        for img in card.locator("img").all():
            img.wait_for()
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=img.element_handle()
            )
        page.keyboard.press("n")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes(' is not ')"
        )
        assert card.get_attribute("data-id") == str(second.item.id)
        page.keyboard.press("s")
        assert card.get_attribute("data-id") == str(third.item.id)
        page.keyboard.press("f")  # yes also adds the face as a reference
        page.keyboard.press("y")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('approved')"
        )
        # On disk and in the records: the third file approved, the first said not.
        approved = record(state, third.item.id)
        assert approved.place == "library" and approved.people == [third.person]
        assert os.path.isfile(approved.current_path)
        assert len(list((ws.root / "references" / third.person).iterdir())) >= 2
        assert said_not(state) == {first.face_id: {first.person}}
        assert record(state, first.item.id).category == "unidentified"
        assert record(state, second.item.id).category == "unidentified"
        # Reloaded, the first is asked about somebody else or not at all.
        page.reload()
        asked = page.locator(".question").evaluate_all(
            "qs => qs.map(q => [Number(q.dataset.id), q.dataset.person])"
        )
        assert [first.item.id, first.person] not in asked
        # u undoes the approval, then the "no": the queue is as before.
        page.keyboard.press("u")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('undo of approve')"
        )
        page.keyboard.press("u")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('undo of not_person')"
        )
    assert record(state, third.item.id).category == "unidentified"
    assert os.path.isfile(record(state, third.item.id).current_path)
    assert said_not(state) == {}


def _card_names(server, path, token) -> list[str]:
    import re

    status, _, body = _request(server, path, headers=token)
    assert status == 200, (path, status)
    return re.findall(r'<img src="[^"]*/thumb/\d+[^"]*" alt="([^"]+)"', body.decode())


def test_search_filter_and_sort_the_queue(server, queue):
    _, state = queue
    token = {"Authorization": f"Bearer {server.token()}"}
    base = "/facesort/review/queue/unidentified"
    everything = _card_names(server, base, token)
    assert sorted(everything) == sorted(OBAMA_UNIDENTIFIED)  # (lin is approved by now)
    assert sorted(_card_names(server, f"{base}?name=PARTIAL", token)) == [
        "obama_partial_face.jpg",
        "obama_partial_face2.jpg",
    ]
    assert _card_names(server, f"{base}?name=unidentified", token) == []  # a folder, no name
    assert sorted(_card_names(server, f"{base}?folder=staging", token)) == sorted(everything)
    assert _card_names(server, f"{base}?folder=elsewhere", token) == []
    # The person suggested: the nearest person of one of its faces.
    faces = {name: file_id(state, name) for name in everything}
    from facesort.review.queue import queue_items

    nearest = {i.name: i.faces[0] for i in queue_items(state, "unidentified")}
    alex = {n for n, f in nearest.items() if f.person == "alex_lacamoire"}
    assert alex and sorted(_card_names(server, f"{base}?person=Alex_Lacamoire", token)) == sorted(
        alex
    )
    by_distance = sorted(everything, key=lambda n: (nearest[n].distance, faces[n]))
    assert _card_names(server, f"{base}?sort=nearest", token) == by_distance
    assert _card_names(server, f"{base}?sort=newest", token) == everything[::-1]
    assert _card_names(server, f"{base}?since=2999-01-01", token) == []
    assert sorted(_card_names(server, f"{base}?since=2000-01-01&until=2999-01-01", token)) == (
        sorted(everything)
    )
    assert _request(server, f"{base}?since=yesterday", headers=token)[0] == 400
    assert _request(server, f"{base}?sort=sideways", headers=token)[0] == 400
    # Pages keep the search; the ids behind "select all" are every match, on every page.
    assert len(_card_names(server, f"{base}?name=obama&per_page=2", token)) == 2
    status, _, body = _request(
        server, "/facesort/review/api/queue/unidentified/ids?name=partial&per_page=1", headers=token
    )
    assert status == 200
    assert sorted(json.loads(body)["file_ids"]) == sorted(
        faces[n] for n in ("obama_partial_face.jpg", "obama_partial_face2.jpg")
    )


def test_select_all_across_pages_reject_and_undo(server, queue):
    ws, state = queue
    ids = {name: file_id(state, name) for name in OBAMA_UNIDENTIFIED}
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, server, "/facesort/review/queue/unidentified?per_page=3")
        assert page.locator("#gallery .card").count() == 3
        page.locator("#gallery .card").first.click(position={"x": 150, "y": 10})
        page.keyboard.press("Shift+A")
        page.wait_for_function(
            "() => document.querySelector('#selection').textContent.includes('all 7 selected')"
        )
        page.keyboard.press("r")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('7 files rejected')"
        )
        assert all(record(state, i).place == "trash" for i in ids.values())
        assert sorted(p.name for p in (ws.root / "trash").iterdir()) == sorted(OBAMA_UNIDENTIFIED)
        page.keyboard.press("u")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('undo of reject')"
        )
    assert all(record(state, i).category == "unidentified" for i in ids.values())
    assert not list((ws.root / "trash").iterdir())


def _digests(root: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for top in ("library", "review")
        for p in sorted((root / top).rglob("*"))
        if p.is_file() and ".thumbnails" not in p.parts
    }


def test_keep_this_one_instead_in_the_browser_and_undo(server, queue):
    ws, state = queue
    before = _digests(ws.root)
    duplicate = file_id(state, "obama-720p.jpg")
    kept = record(state, duplicate).duplicate_of_id
    kept_path = record(state, kept).current_path
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, server, "/facesort/review/queue/duplicates")
        card = page.locator(f".card[data-id='{duplicate}']")
        facts = card.locator("table.facts").inner_text()
        assert "1280×720" in facts and "1920×1080" in facts and "KB" in facts
        card.click(position={"x": 150, "y": 10})
        page.keyboard.press("i")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('swapped places')"
        )
        assert record(state, duplicate).current_path == kept_path.replace(
            "obama-1080p.jpg", "obama-720p.jpg"
        )
        assert record(state, kept).category == "duplicates"
        assert os.path.isfile(record(state, kept).current_path)
        page.keyboard.press("u")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('undo of keep_instead')"
        )
    assert _digests(ws.root) == before
    assert record(state, kept).current_path == kept_path
    assert record(state, duplicate).duplicate_of_id == kept


def test_draw_a_missed_face_and_name_it(server, queue):
    from facesort.review.reference_photos import file_faces

    ws, state = queue
    obama = file_id(state, "obama3.jpg")
    (found,) = file_faces(state, obama)
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, server, "/facesort/review/queue/unidentified")
        card = page.locator(f".card[data-id='{obama}']")
        card.locator("img").first.wait_for()
        card.click(position={"x": 150, "y": 10})
        page.keyboard.press("m")
        frame = card.locator(".frame").bounding_box()
        left, top, right, bottom = found.box
        page.mouse.move(frame["x"] + left * frame["width"], frame["y"] + top * frame["height"])
        page.mouse.down()
        page.mouse.move(
            frame["x"] + right * frame["width"], frame["y"] + bottom * frame["height"], steps=5
        )
        page.mouse.up()
        assert card.locator(".box.manual").count() == 1
        assert page.evaluate("document.activeElement.id") == "person"
        page.keyboard.type("Someone Drawn")  # typed into the name field, focused for it
        page.keyboard.press("Enter")
        page.wait_for_function(  # the drawing's hint gives way to the action's answer
            "() => (t => t && !t.startsWith('face drawn'))"
            "(document.querySelector('#message').textContent)"
        )
        assert "approved" in page.locator("#message").inner_text()
        faces = file_faces(state, obama)
        assert [f.source for f in faces] == ["local", "manual"]
        drawn = faces[1]
        assert drawn.person == "Someone Drawn" and drawn.confidence == "confirmed"
        assert all(abs(a - b) < 0.03 for a, b in zip(drawn.box, found.box, strict=True))
        assert record(state, obama).current_path == str(
            ws.root / "library" / "Someone Drawn" / "obama3.jpg"
        )
        page.keyboard.press("u")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('undo of approve')"
        )
    assert [f.id for f in file_faces(state, obama)] == [found.id]
    assert record(state, obama).category == "unidentified"
    assert not (ws.root / "library" / "Someone Drawn").exists()


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
        # "Is this X?" (docs/images/is-this-x.png): a "no" given, the next face asked.
        page.goto(server.url + "/facesort/review/is-this/unidentified")
        page.wait_for_load_state("networkidle")
        page.keyboard.press("n")
        page.wait_for_function("() => document.querySelector('#message').textContent")
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.question:not([hidden]) img'))"
            ".every(img => img.complete && img.naturalWidth > 0)"
        )
        (out / "images").mkdir(exist_ok=True)
        _shot(page, out / "images" / "is-this-x.png")
        page.keyboard.press("u")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('undo of not_person')"
        )
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
