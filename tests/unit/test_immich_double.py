"""The Immich double behaves like the real v1.137.3 server (IMMICH_FACTS.md, "Observed"):
a moved file's old asset is trashed with its names, the new asset has no faces (or
unassigned ones with ML on), people drop out of the list, faces can be assigned and
created, and errors, search and people answer in Immich's shapes. Over real HTTP, no
facesort in between: fast."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from immich_double import API_KEY, PHOTOS, ImmichDouble

STAGING = "/mnt/downloads"
LIBRARY = "/mnt/photos/library"


@pytest.fixture
def double_for(tmp_path):
    started: list[ImmichDouble] = []

    def make(*names: str, **kwargs) -> tuple[ImmichDouble, httpx.Client, Path]:
        staging, library = tmp_path / "staging", tmp_path / "library"
        staging.mkdir()
        library.mkdir()
        for name in names:
            shutil.copy(next(PHOTOS.rglob(name)), staging / name)
        double = ImmichDouble(
            mounts={STAGING: staging, LIBRARY: library}, **kwargs
        )  # fmt: skip
        double.add_library([STAGING])
        double.add_library([LIBRARY])
        double.start()
        started.append(double)
        client = httpx.Client(base_url=double.url + "/api", headers={"x-api-key": API_KEY})
        return double, client, tmp_path

    yield make
    for double in started:
        double.stop()


def _search(client: httpx.Client, path: str, **extra) -> list[dict]:
    body = {"originalPath": path, "withPeople": True, "size": 1000, "page": 1, **extra}
    answer = client.post("/search/metadata", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["assets"]["items"]


def _move(root: Path, name: str, folder: str) -> None:
    target = root / "library" / folder
    target.mkdir(parents=True, exist_ok=True)
    (root / "staging" / name).rename(target / name)


def test_a_moved_file_is_a_new_asset_and_its_names_stay_on_the_trashed_one(double_for):
    double, client, root = double_for("obama1.jpg", seeded=False)
    double.scan_now()
    double.settle()
    old = double.asset_at(f"{STAGING}/obama1.jpg")
    assert [f.person for f in old.faces] == ["obama"] and old.recognized_at is not None
    obama = double.person_id("obama")
    assert double.listed_people() == ["obama"]

    _move(root, "obama1.jpg", "obama")
    double.scan_now()
    double.settle()

    # The old asset: offline, trashed, found only withDeleted, its face still named.
    assert not _search(client, STAGING)
    (trashed,) = _search(client, STAGING, withDeleted=True)
    assert trashed["id"] == old.id and trashed["isOffline"] and trashed["isTrashed"]
    assert [p["id"] for p in trashed["people"]] == [obama]
    # The new asset: a new id; detection ran (ML on), the face is unassigned at the same box.
    (moved,) = _search(client, f"{LIBRARY}/obama")
    assert moved["id"] != old.id and moved["people"] == []
    (face,) = moved["unassignedFaces"]
    old_box = trashed["people"][0]["faces"][0]
    assert [face[k] for k in ("boundingBoxX1", "boundingBoxY2", "imageWidth")] == [
        old_box[k] for k in ("boundingBoxX1", "boundingBoxY2", "imageWidth")
    ]
    assert double.asset_at(f"{LIBRARY}/obama/obama1.jpg").recognized_at is not None
    # Obama has no face on a visible asset now: not listed, but still there by id.
    listed = client.get("/people", params={"withHidden": "true"}).json()
    assert listed["people"] == [] and listed["total"] == 0
    assert client.get(f"/people/{obama}").json()["name"] == "obama"

    # face.update: the path names the person, the body the face; answers with the person.
    answer = client.put(f"/faces/{obama}", json={"id": face["id"]})
    assert answer.status_code == 200 and answer.json()["id"] == obama
    faces = client.get("/faces", params={"id": moved["id"]}).json()
    assert [(f["id"], f["person"]["name"]) for f in faces] == [(face["id"], "obama")]
    assert double.listed_people() == ["obama"]
    assert [(w.action, w.person, w.asset_id) for w in double.face_writes] == [
        ("assign", "obama", moved["id"])
    ]
    # The file coming back brings its old asset back, names and all.
    (root / "library" / "obama" / "obama1.jpg").rename(root / "staging" / "obama1.jpg")
    double.scan_now()
    (back,) = _search(client, STAGING)
    assert back["id"] == old.id and not back["isTrashed"] and back["people"]


def test_with_machine_learning_off_a_moved_file_has_no_face_and_a_manual_one_can_be_made(
    double_for,
):
    double, client, root = double_for("obama1.jpg", machine_learning=False)
    double.scan_now()
    double.settle()
    staged = double.asset_at(f"{STAGING}/obama1.jpg")
    assert staged.faces == [] and staged.recognized_at is None  # ML failed: no timestamp
    _move(root, "obama1.jpg", "obama")
    double.scan_now()
    double.settle()
    moved = double.asset_at(f"{LIBRARY}/obama/obama1.jpg")
    assert client.get("/faces", params={"id": moved.id}).json() == []
    obama = double.person_id("obama")
    body = {"assetId": moved.id, "personId": obama, "imageWidth": 1480, "imageHeight": 832,
            "x": 488, "y": 129, "width": 502, "height": 502}  # fmt: skip
    answer = client.post("/faces", json=body)
    assert answer.status_code == 201, answer.text
    (face,) = client.get("/faces", params={"id": moved.id}).json()
    assert face["sourceType"] == "manual" and face["person"]["id"] == obama
    assert (face["boundingBoxX2"], face["boundingBoxY2"], face["imageWidth"]) == (990, 631, 1480)
    assert moved.recognized_at is None  # a manual face never sets facesRecognizedAt
    assert [(w.action, w.person) for w in double.face_writes] == [("create", "obama")]
    # A manual face is no feature face: a person named only so has no thumbnail.
    double.drop_thumbnail("obama")
    thumb = client.get(f"/people/{obama}/thumbnail")
    assert thumb.status_code == 404 and thumb.json() == {"message": "Not Found", "statusCode": 404}


def test_errors_are_worded_as_immich_words_them(double_for):
    double, client, _ = double_for("obama1.jpg", permissions={"asset.read", "person.read"})
    bare = httpx.Client(base_url=double.url + "/api")
    assert bare.get("/libraries").json()["message"] == "Authentication required"
    wrong = bare.get("/libraries", headers={"x-api-key": "nope"})
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Invalid API key")
    person = double.person_id("obama")
    for method, path, body, permission in [
        ("GET", "/faces?id=" + person, None, "face.read"),
        ("PUT", f"/faces/{person}", {"id": person}, "face.update"),
        ("POST", "/faces", {}, "face.create"),
        ("DELETE", f"/faces/{person}", {"force": False}, "face.delete"),
        ("POST", f"/libraries/{double.libraries[0]['id']}/scan", None, "library.update"),
    ]:
        answer = client.request(method, path, json=body)
        assert answer.status_code == 403, path
        assert answer.json()["message"] == f"Missing required permission: {permission}"
    double.permissions = None
    bad_job = client.put("/jobs/nonsense", json={"command": "start", "force": False})
    assert bad_job.status_code == 400 and isinstance(bad_job.json()["message"], list)
    double.admin = False
    for path in ("/libraries", "/jobs"):
        assert client.get(path).json()["message"] == "Forbidden"
    assert client.get("/people").status_code == 200  # not an admin route
    missing = client.get("/queues")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Cannot GET /api/queues"
    assert missing.json()["error"] == "Not Found" and "correlationId" in missing.json()
    unknown = client.get("/people/00000000-0000-4000-8000-000000000000")
    assert unknown.json()["message"] == "Not found or no person.read access"


def test_search_is_an_ilike_substring_newest_first_with_immichs_limits(double_for):
    import os

    double, client, root = double_for("obama-1080p.jpg", "obama1.jpg", "obama_small.jpg")
    for age, name in enumerate(["obama_small.jpg", "obama1.jpg", "obama-1080p.jpg"]):
        os.utime(root / "staging" / name, (1_700_000_000 - age * 60,) * 2)
    double.scan_now()
    items = _search(client, STAGING, withPeople=False)
    assert [i["originalFileName"] for i in items] == [
        "obama_small.jpg",
        "obama1.jpg",
        "obama-1080p.jpg",
    ]  # newest fileCreatedAt first, not by path
    assert all(i["people"] == [] for i in items)  # always there, empty without withPeople
    assert items[0]["fileModifiedAt"].endswith(".000Z")  # to the millisecond
    # _ and % are wildcards: "obama_1080p" matches obama-1080p.jpg; an escaped _ does not.
    assert [i["originalFileName"] for i in _search(client, "obama_1080p")] == ["obama-1080p.jpg"]
    assert _search(client, "obama\\_1080p") == []
    assert [i["originalFileName"] for i in _search(client, "OBAMA_SMALL")] == ["obama_small.jpg"]
    for body, message in [
        ({"size": 1001}, "size must not be greater than 1000"),
        ({"page": 0}, "page must not be less than 1"),
        ({"libraryId": "library-1"}, "libraryId must be a UUID"),
    ]:
        answer = client.post("/search/metadata", json={"originalPath": STAGING, **body})
        assert answer.status_code == 400 and answer.json()["message"] == [message]
    # Without visibility only timeline assets: an archived one needs asking for it.
    double.set_visibility(f"{STAGING}/obama1.jpg", "archive")
    assert "obama1.jpg" not in {i["originalFileName"] for i in _search(client, STAGING)}
    archived = _search(client, STAGING, visibility="archive")
    assert [i["originalFileName"] for i in archived] == ["obama1.jpg"]


def test_people_list_counts_and_time_forms(double_for):
    double, client, _ = double_for(
        "kit_with_rose.jpg", "johnsnow_test1.jpg", "obama_partial_face.jpg"
    )
    double.scan_now()
    double.settle()
    listed = client.get("/people", params={"withHidden": "true"}).json()
    names = {p["name"] for p in listed["people"]}
    # Seeded people + the hidden one; the unnamed cluster (2 faces < minFaces) is counted only.
    assert names == {"obama", "biden", "kit_harington", "lin-manuel-miranda", "Someone hidden"}
    assert listed["total"] == 6 and listed["hidden"] == 1
    assert len(client.get("/people").json()["people"]) == 4
    kit = double.person_id("kit_harington")
    assert client.get(f"/people/{kit}").json()["updatedAt"] == "2026-12-02T06:30:35.807Z"
    asset = double.asset_at(f"{STAGING}/kit_with_rose.jpg")
    faces = client.get("/faces", params={"id": asset.id}).json()
    named = next(f for f in faces if f["person"] and f["person"]["id"] == kit)
    assert named["person"]["updatedAt"] == "2026-12-02T06:30:35.807696+00:00"
    thumb = client.get(f"/people/{kit}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    double.rename_person("kit_harington", "Kit Harington")
    double.delete_person("biden")
    assert client.get(f"/people/{double.person_id('biden')}").status_code == 400
    assert "Kit Harington" in double.listed_people() and "biden" not in double.listed_people()
