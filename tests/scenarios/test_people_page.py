"""The people page: a real Airflow API server with the plugins, a real headless Chromium.

A small workspace: obama's two photos sorted into library/obama, obama_and_biden.jpg in
review/multiple_faces and lin-manuel-miranda.png in review/unidentified (his nearest
match is obama); obama and biden have two reference photos each. Every test leaves the
disk as it found it (its actions are undone), so they share one sorted workspace.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from lifecycle import assert_lifecycle_holds, digest, file_id, make_space, records
from review_server import api_server, chromium, sign_in

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

SCREENSHOTS = os.environ.get("FACESORT_SCREENSHOTS")  # a folder: write the docs' pictures
STAGED = {
    "obama1.jpg": "incoming/obama1.jpg",
    "obama3.jpg": "edge/obama3.jpg",
    "obama_and_biden.jpg": "incoming/obama_and_biden.jpg",
    "lin-manuel-miranda.png": "incoming/lin-manuel-miranda.png",
}
PEOPLE = "/facesort/people"


@pytest.fixture(scope="module")
def space(tmp_path_factory, photos):
    space = make_space(tmp_path_factory.mktemp("people") / "ws", photos, STAGED)
    space.run()
    assert space.where()["obama1.jpg"] == space.where()["obama3.jpg"] == "library/obama"
    return space


@pytest.fixture(scope="module")
def server(space, airflow_db, tmp_path_factory):
    with api_server(space.config_path, tmp_path_factory.mktemp("api")) as running:
        yield running


@pytest.fixture(scope="module")
def token(server):
    return server.token()


def _request(server, path, *, method="GET", body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        server.url + path, data=data, method=method, headers=headers or {}
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=120) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _post(server, token, path, body):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, _, answer = _request(server, PEOPLE + path, method="POST", body=body, headers=headers)
    return status, json.loads(answer)


def _get(server, token, path):
    status, _, answer = _request(
        server, PEOPLE + path, headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200, answer[:500]
    return json.loads(answer)


def _disk(space) -> dict[str, str]:
    """Every file of the workspace's folders (references and trash too) -> its content."""
    found = {}
    for top in (space.library, space.review, space.references, space.trash):
        for path in top.rglob("*") if top.exists() else ():
            if path.is_file() and ".thumbnails" not in path.parts:
                found[str(path.relative_to(space.root))] = digest(path)
    return found


def _records(space):
    return {m.id: (m.current_path, m.people, m.place) for m in records(space)}


def _faces(space):
    from facesort.state.models import Face

    state = space.state()
    try:
        with state.session() as session:
            return dict(session.execute(sa.select(Face.id, Face.person)).all())
    finally:
        state.dispose()


def _learn_one(space):
    """Learn one reference photo of obama the way a run with learning on does."""
    from facesort.learning import learn_references

    config = space.config()
    on = config.matching.learning.model_copy(update={"enabled": True, "max_per_person": 1})
    learning = config.model_copy(
        update={"matching": config.matching.model_copy(update={"learning": on})}
    )
    state = space.state()
    try:
        (learnt,) = learn_references(state, learning, actor="test")
    finally:
        state.dispose()
    return learnt


def _stored_thresholds(space):
    from facesort.thresholds import stored_person_thresholds

    state = space.state()
    try:
        return stored_person_thresholds(state)
    finally:
        state.dispose()


# --------------------------------------------------------------------------- security


def test_anonymous_and_cross_site_requests_are_refused(server, space, token):
    before = _disk(space)
    status, headers, _ = _request(server, PEOPLE + "/", headers={"Accept": "text/html"})
    assert status == 303 and "/auth/login" in headers["location"]
    assert _request(server, PEOPLE + "/api/people")[0] == 401
    assert _request(server, PEOPLE + "/person/obama/reference/obama.jpg")[0] == 401
    rename = {"person": "obama", "new_name": "intruder"}
    json_only = {"Content-Type": "application/json"}
    assert (
        _request(server, PEOPLE + "/api/rename", method="POST", body=rename, headers=json_only)[0]
        == 401
    )
    signed = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for extra in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        status, _, _ = _request(
            server, PEOPLE + "/api/rename", method="POST", body=rename, headers={**signed, **extra}
        )
        assert status == 403, extra
    form = {**signed, "Content-Type": "application/x-www-form-urlencoded"}
    assert (
        _request(server, PEOPLE + "/api/rename", method="POST", body=rename, headers=form)[0] == 415
    )
    # A reference photo is served by its plain name from the person's folder, nothing else.
    for sneaky in ("..%2F..%2Ffacesort.yaml", "%2E%2E", "missing.jpg"):
        path = f"{PEOPLE}/person/obama/reference/{sneaky}"
        assert _request(server, path, headers=signed)[0] in {400, 404}, sneaky
    assert _disk(space) == before


def test_plugin_is_in_airflow_navigation(server, token):
    status, _, body = _request(
        server, "/api/v2/plugins", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200
    (plugin,) = [p for p in json.loads(body)["plugins"] if p["name"] == "facesort_people"]
    (view,) = plugin["external_views"]
    assert view["href"] == "facesort/people/" and view["destination"] == "nav"
    assert plugin["fastapi_apps"][0]["url_prefix"] == PEOPLE
    # ...and the review page links to it.
    page = _request(
        server, "/facesort/review/queue/unidentified", headers={"Authorization": f"Bearer {token}"}
    )[2].decode()
    assert 'href="/facesort/review/../people/"' in page


# --------------------------------------------------------------------------- views


def test_everyone_with_their_counts(server, space, token):
    people = {p["name"]: p for p in _get(server, token, "/api/people")}
    assert set(people) == {"obama", "biden"}
    obama, biden = people["obama"], people["biden"]
    assert (obama["references"], obama["library"]) == (2, 2)
    # lin-manuel-miranda.png's nearest match is obama; obama_and_biden.jpg has both.
    assert obama["in_review"] == 2 and biden["in_review"] == 1
    assert obama["face_id"] is not None and obama["last_sorted"] is not None
    assert (biden["library"], biden["face_id"], biden["last_sorted"]) == (0, None, None)
    assert not obama["in_immich"]
    # The face shown is served by the review page.
    status, headers, _ = _request(
        server,
        f"/facesort/review/face/{obama['face_id']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert status == 200 and headers["content-type"] == "image/jpeg"


def test_immich_knows_a_name_from_facesorts_records(server, space, token):
    from facesort.state.models import ImmichFile

    state = space.state()
    media = file_id(space, "obama1.jpg")
    faces = [{"box": None, "person_id": "p1", "name": "Biden", "hidden": False}]
    with state.session() as session:
        session.add(
            ImmichFile(file_id=media, run_id="t", container_path="/x", status="faces", faces=faces)
        )
    try:
        people = {p["name"]: p for p in _get(server, token, "/api/people")}
        assert people["biden"]["in_immich"] and not people["obama"]["in_immich"]
        # Renaming someone Immich knows says to rename them there too.
        before = _disk(space)
        body = {"person": "biden", "new_name": "Joe Biden"}
        status, result = _post(server, token, "/api/rename", body)
        assert status == 200, result
        assert any("Immich still calls them biden" in s for s in result["skipped"])
        assert _post(server, token, "/api/undo", {"group_id": result["group_id"]})[0] == 200
        assert _disk(space) == before
    finally:
        with state.session() as session:
            session.execute(sa.delete(ImmichFile))
        state.dispose()


def test_reference_photos_and_the_files_each_matched(server, space, token):
    person = _get(server, token, "/api/person/obama")
    photos = {r["name"]: r for r in person["reference_photos"]}
    assert set(photos) == {"obama.jpg", "obama2.jpg"}
    matched = {m["name"] for r in photos.values() for m in r["matched"]}
    # Every file whose face's nearest match is obama names the reference that matched.
    assert {"obama1.jpg", "obama3.jpg", "lin-manuel-miranda.png"} <= matched
    status, _, body = _request(
        server,
        f"{PEOPLE}/person/obama/reference/obama.jpg",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert status == 200 and body == (space.references / "obama" / "obama.jpg").read_bytes()


# --------------------------------------------------------------------------- actions


def _named(space):
    """Who the events and the named clusters name."""
    from facesort.state.models import Event, FaceCluster

    state = space.state()
    try:
        with state.session() as session:
            events = [tuple(p) for p in session.scalars(sa.select(Event.people)) if p]
            clusters = session.scalars(sa.select(FaceCluster.person)).all()
        return Counter(events), sorted(clusters)
    finally:
        state.dispose()


def test_rename_moves_folders_and_records_and_undo_puts_everything_back(server, space, token):
    from facesort.state.models import FaceCluster

    state = space.state()
    with state.session() as session:
        session.add(FaceCluster(status="named", person="obama", face_count=2, file_count=2))
    state.dispose()
    events_before, clusters_before = _named(space)
    assert events_before[("obama",)] >= 2 and clusters_before == ["obama"]
    before, records_before, faces_before = _disk(space), _records(space), _faces(space)
    contents = space.contents()
    status, result = _post(
        server, token, "/api/rename", {"person": "obama", "new_name": "Barack Obama"}
    )
    assert status == 200, result
    assert "renamed Barack Obama" in result["summary"] and "merge" not in result["summary"]
    assert sorted(p.name for p in (space.library / "Barack Obama").iterdir()) == [
        "obama1.jpg",
        "obama3.jpg",
    ]
    assert sorted(p.name for p in (space.references / "Barack Obama").iterdir()) == [
        "obama.jpg",
        "obama2.jpg",
    ]
    assert not (space.library / "obama").exists() and not (space.references / "obama").exists()
    for media in records(space):
        if media.place == "library":
            assert media.people == ["Barack Obama"]
            assert all(
                f.get("reference", "").startswith("Barack Obama/") for f in media.reason["faces"]
            )
    assert "obama" not in _faces(space).values()
    people = {p["name"] for p in _get(server, token, "/api/people")}
    assert people == {"Barack Obama", "biden"}
    events, clusters = _named(space)
    assert ("obama",) not in events and clusters == ["Barack Obama"]

    status, undone = _post(server, token, "/api/undo", {"group_id": result["group_id"]})
    assert status == 200, undone
    assert _disk(space) == before and _records(space) == records_before
    assert _faces(space) == faces_before
    events, clusters = _named(space)
    assert clusters == clusters_before
    # The old events name obama again; the rename and its undo wrote events of their own.
    assert events[("obama",)] == events_before[("obama",)] + 2
    assert_lifecycle_holds(space, contents)


def test_a_rename_undone_from_the_review_page_puts_references_and_records_back(
    server, space, token
):
    """The review page's undo list shows people actions too: undoing one there is the
    people page's whole undo (reference photos and records), not only its journal moves."""
    from facesort.thresholds import (
        clear_person_thresholds,
        set_person_thresholds,
        stored_person_thresholds,
    )

    state = space.state()
    set_person_thresholds(state, "obama", sure=0.41)  # the person's own, set on the page
    before, records_before, faces_before = _disk(space), _records(space), _faces(space)
    status, result = _post(server, token, "/api/rename", {"person": "obama", "new_name": "Barry"})
    assert status == 200, result
    assert (space.references / "Barry").is_dir() and not (space.references / "obama").exists()
    own = stored_person_thresholds(state)
    assert "obama" not in own and own["Barry"].sure_distance == 0.41  # they follow the name
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, _, answer = _request(
        server,
        "/facesort/review/api/undo",
        method="POST",
        body={"group_id": result["group_id"]},
        headers=headers,
    )
    assert status == 200, answer
    assert _disk(space) == before and _records(space) == records_before
    assert _faces(space) == faces_before
    own = stored_person_thresholds(state)
    assert "Barry" not in own and own["obama"].sure_distance == 0.41
    clear_person_thresholds(state, "obama")
    assert stored_person_thresholds(state) == {}
    state.dispose()


def test_merge_keeps_both_photos_of_one_name_and_undo_separates_them(server, space, token):
    clash = space.references / "biden" / "obama.jpg"  # biden has a photo of that name too
    shutil.copyfile(space.references / "biden" / "biden.jpg", clash)
    try:
        before, records_before = _disk(space), _records(space)
        contents = Counter(before.values())
        # Renaming onto someone who exists is a merge, and says so.
        status, result = _post(
            server, token, "/api/rename", {"person": "obama", "new_name": "Biden"}
        )
        assert status == 200, result
        assert "merged into biden" in result["summary"] and "a merge" in result["summary"]
        names = sorted(p.name for p in (space.references / "biden").iterdir())
        assert names == ["biden.jpg", "biden2.jpg", "obama (1).jpg", "obama.jpg", "obama2.jpg"]
        assert Counter(_disk(space).values()) == contents, "a file was overwritten or lost"
        assert sorted(p.name for p in (space.library / "biden").iterdir()) == [
            "obama1.jpg",
            "obama3.jpg",
        ]
        assert {p["name"] for p in _get(server, token, "/api/people")} == {"biden"}
        status, undone = _post(server, token, "/api/undo", {})  # the last people action
        assert status == 200, undone
        assert _disk(space) == before and _records(space) == records_before
    finally:
        clash.unlink()


def test_merge_choosing_the_name_that_stays(server, space, token):
    before, records_before = _disk(space), _records(space)
    body = {"people": ["obama", "biden"], "keep": "obama"}
    status, result = _post(server, token, "/api/merge", body)
    assert status == 200, result
    assert sorted(p.name for p in (space.references / "obama").iterdir()) == [
        "biden.jpg",
        "biden2.jpg",
        "obama.jpg",
        "obama2.jpg",
    ]
    assert not (space.references / "biden").exists()
    status, _ = _post(server, token, "/api/undo", {"group_id": result["group_id"]})
    assert status == 200
    assert _disk(space) == before and _records(space) == records_before
    status, refused = _post(
        server, token, "/api/merge", {"people": ["obama", "biden"], "keep": "x"}
    )
    assert status == 400 and "Choose" in refused["detail"]
    for name, why in (("///", "cannot be a person's name"), ("OBAMA", "already called")):
        status, refused = _post(server, token, "/api/rename", {"person": "obama", "new_name": name})
        assert status == 400 and why in refused["detail"], refused
    assert _disk(space) == before


def test_remove_a_wrong_reference_photo_to_the_trash_and_undo(server, space, token):
    before = _disk(space)
    photo = space.references / "obama" / "obama2.jpg"
    status, result = _post(
        server, token, "/api/remove-reference", {"person": "obama", "photo": "obama2.jpg"}
    )
    assert status == 200, result
    assert not photo.exists()
    (trashed,) = (space.trash / "references" / "obama").iterdir()
    assert digest(trashed) == before["references/obama/obama2.jpg"]
    status, _ = _post(server, token, "/api/undo", {"group_id": result["group_id"]})
    assert status == 200
    assert _disk(space) == before  # back in its folder, nothing left in the trash


def test_split_files_back_to_review_and_to_another_person(server, space, token):
    before, records_before = _disk(space), _records(space)
    obama3 = file_id(space, "obama3.jpg")
    body = {"person": "obama", "file_ids": [obama3], "to": None}
    status, result = _post(server, token, "/api/split", body)
    assert status == 200, result
    assert space.where()["obama3.jpg"] == "review/unidentified"
    (media,) = [m for m in records(space) if m.id == obama3]
    assert media.place == "review" and media.reason["rule"] == "approved"  # re-check leaves it
    status, _ = _post(server, token, "/api/undo", {"group_id": result["group_id"]})
    assert status == 200 and _records(space) == records_before

    status, result = _post(server, token, "/api/split", {**body, "to": "biden"})
    assert status == 200, result
    assert space.where()["obama3.jpg"] == "library/biden"
    assert "biden" in _faces(space).values()
    status, refused = _post(server, token, "/api/split", {**body, "to": "biden"})
    assert status == 400 and "not in obama's library folder" in refused["detail"]
    status, _ = _post(server, token, "/api/undo", {"group_id": result["group_id"]})
    assert status == 200
    assert _disk(space) == before and _records(space) == records_before


# --------------------------------------------------------------------------- own sureness


def test_own_thresholds_set_shown_refused_and_cleared(server, space, token):
    shared = _get(server, token, "/api/person/obama")["thresholds"]
    assert shared["sure_source"] == shared["review_source"] == "shared"
    assert not shared["stored"]
    body = {"person": "obama", "sure_distance": 0.3, "review_distance": None}
    status, result = _post(server, token, "/api/thresholds", body)
    assert status == 200, result
    assert "sure 0.30 (the people page)" in result["summary"]
    shown = _get(server, token, "/api/person/obama")["thresholds"]
    assert (shown["sure_distance"], shown["sure_source"]) == (0.3, "the people page")
    assert (shown["review_distance"], shown["review_source"]) == (
        shared["shared_review"],
        "shared",
    )
    assert shown["set_by"] == "review page/reviewer"
    status, _, page = _request(
        server, PEOPLE + "/person/obama", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200 and b'id="sure-now">0.30<' in page and b"clear-thresholds" in page
    # Refused with the reason, and nothing stored: not a distance, review below sure.
    for bad, why in (
        ({"sure_distance": 3}, "is not a distance"),
        ({"sure_distance": 0.3, "review_distance": 0.2}, "must be at least their sure"),
    ):
        status, refused = _post(server, token, "/api/thresholds", {"person": "obama", **bad})
        assert status == 400 and why in refused["detail"], refused
    assert _get(server, token, "/api/person/obama")["thresholds"] == shown
    status, refused = _post(server, token, "/api/thresholds", {**body, "person": "nobody"})
    assert status == 400 and "knows nobody called" in refused["detail"], refused
    status, result = _post(
        server, token, "/api/thresholds", {"person": "obama", "sure_distance": None}
    )
    assert status == 200, result
    assert _get(server, token, "/api/person/obama")["thresholds"] == shared
    assert _stored_thresholds(space) == {}  # cleared: the shared values judge obama again


def test_learnt_reference_listed_as_learnt_and_forgotten(server, space, token):
    before = _disk(space)
    learnt = _learn_one(space)
    photo = os.path.basename(learnt.path)
    assert learnt.person == "obama" and photo.startswith("learnt-")
    person = _get(server, token, "/api/person/obama")
    assert person["learnt_photos"] == [photo]
    assert photo in [r["name"] for r in person["reference_photos"]]
    status, _, page = _request(
        server, PEOPLE + "/person/obama", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200 and f'data-photo="{photo}" data-learnt="1"'.encode() in page
    # Only a learnt photo can be forgotten; forgetting one undoes its copy.
    status, refused = _post(
        server, token, "/api/forget-learnt", {"person": "obama", "photo": "obama2.jpg"}
    )
    assert status == 400 and "not a reference photo facesort learnt" in refused["detail"]
    status, result = _post(server, token, "/api/forget-learnt", {"person": "obama", "photo": photo})
    assert status == 200, result
    assert not os.path.exists(learnt.path)
    assert _get(server, token, "/api/person/obama")["learnt_photos"] == []
    assert _disk(space) == before


# --------------------------------------------------------------------------- browser


def test_rename_split_and_undo_with_the_keyboard(server, space):
    before, records_before = _disk(space), _records(space)
    obama1 = file_id(space, "obama1.jpg")
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, server, f"{PEOPLE}/")
        cards = page.locator(".card.person")
        assert cards.count() == 2
        obama = page.locator(".card.person[data-name=obama]")
        assert obama.locator(".library").inner_text() == "2"
        assert obama.locator(".references").inner_text() == "2"
        assert obama.locator(".in-review").inner_text() == "2"
        obama.locator("img").wait_for()
        assert obama.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
        # j to the card (biden is first), Enter opens obama's page.
        page.keyboard.press("j")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**{PEOPLE}/person/obama")
        assert page.locator(".card.reference").count() == 2
        assert page.locator(".card.file").count() == 2
        # n, a new name, Enter: renamed (and the page of the new name opens).
        page.keyboard.press("n")
        page.keyboard.type("Barack Obama")
        page.keyboard.press("Enter")
        page.wait_for_url("**/person/Barack%20Obama")
        assert "renamed Barack Obama" in page.locator("#message").inner_text()
        assert (space.library / "Barack Obama" / "obama1.jpg").is_file()
        # u: undone; the list of people shows obama again.
        page.keyboard.press("u")
        page.wait_for_url(f"**{PEOPLE}/")
        assert "undo of rename_person" in page.locator("#message").inner_text()
        assert page.locator(".card.person[data-name=obama]").count() == 1
        assert _disk(space) == before
        # A file sorted to obama by mistake: select it with x, b sends it back to review.
        page.goto(f"{server.url}{PEOPLE}/person/obama")
        page.locator(f".card.file[data-id='{obama1}']").click(position={"x": 20, "y": 20})
        page.keyboard.press("x")
        assert page.locator("#selection").inner_text() == "1 selected"
        page.keyboard.press("b")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('review/unidentified')"
        )
        assert page.locator(".card.file").count() == 1
        assert space.where()["obama1.jpg"] == "review/unidentified"
        page.keyboard.press("u")
        page.wait_for_url(f"**{PEOPLE}/")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('undo of split')"
        )
        assert _disk(space) == before
        # Merge on the list: x on biden, j, x on obama, m keeps the current one's name.
        page.locator(".card.person[data-name=biden]").click(position={"x": 20, "y": 20})
        for key in ("x", "j", "x"):
            page.keyboard.press(key)
        assert page.locator("#selection").inner_text() == "2 selected"
        page.keyboard.press("m")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('merged into obama')"
        )
        assert page.locator(".card.person").count() == 1
        assert len(list((space.references / "obama").iterdir())) == 4
        page.keyboard.press("u")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('undo of merge')"
        )
        assert page.locator(".card.person").count() == 2
        # t on a person's page: their own sure distance, Enter sets it; Clear takes it off.
        page.goto(f"{server.url}{PEOPLE}/person/obama")
        page.keyboard.press("t")
        page.keyboard.type("0.3")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => document.querySelector('#message').textContent.includes('sure 0.30')"
        )
        assert page.locator("#sure-now").inner_text() == "0.30"
        page.locator("#clear-thresholds").click()
        page.wait_for_function("() => !document.querySelector('#clear-thresholds')")
        assert page.locator("#own-sure").input_value() == ""
    assert _disk(space) == before and _records(space) == records_before
    assert _stored_thresholds(space) == {}


@pytest.mark.skipif(not SCREENSHOTS, reason="set FACESORT_SCREENSHOTS=docs to remake the pictures")
def test_screenshot(server, space):
    from PIL import Image

    out = Path(SCREENSHOTS) / "images"
    out.mkdir(parents=True, exist_ok=True)
    from facesort.learning import forget_learnt_reference
    from facesort.thresholds import clear_person_thresholds, set_person_thresholds

    learnt = _learn_one(space)  # show a learnt photo and obama's own sure distance
    state = space.state()
    try:
        set_person_thresholds(state, "obama", sure=0.45, actor="review page/reviewer")
        with chromium(viewport=(1200, 820)) as browser:
            page = browser.new_page()
            sign_in(page, server, f"{PEOPLE}/person/obama")
            page.wait_for_load_state("networkidle")
            page.locator("#new-name").fill("biden")
            page.locator("#new-name").dispatch_event("input")
            path = out / "people.png"
            page.screenshot(path=str(path), full_page=True)
    finally:
        clear_person_thresholds(state, "obama")
        forget_learnt_reference(state, space.config(), learnt.path, actor="test")
        state.dispose()
    with Image.open(path) as image:
        image.convert("RGB").quantize(128, method=Image.Quantize.MEDIANCUT).save(
            path, optimize=True
        )
    assert path.stat().st_size > 10_000
