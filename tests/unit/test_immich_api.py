"""The Immich client against the test double: errors named, retries, route generations,
path search with paging and the exact-path check. No face detection here: fast."""

from __future__ import annotations

import json
import socket

import pytest
from conftest import IMMICH_STAGING, configure_immich
from immich_double import PHOTOS

from facesort.errors import (
    ImmichAuthError,
    ImmichNotAdminError,
    ImmichPermissionError,
    ImmichUnavailable,
)
from facesort.immich import api as api_module
from facesort.immich.api import ImmichApi
from facesort.immich.endpoint import endpoint_from_config


@pytest.fixture
def setup(make_workspace, immich_double):
    def make(flavour="v1", **double_kwargs):
        ws = make_workspace(stage=("incoming",), extras=False)
        double = immich_double(ws, flavour=flavour, **double_kwargs)
        configure_immich(ws, double.url)
        return ws, double, endpoint_from_config(ws.config())

    return make


def _drain(api: ImmichApi, polls: int = 30) -> None:
    for _ in range(polls):
        api.queue_counts()


def test_wrong_key_is_named_as_401_with_where_the_key_comes_from(setup, monkeypatch):
    ws, double, _ = setup()
    monkeypatch.setenv("FACESORT_TEST_IMMICH_KEY", "not-the-key")
    endpoint = endpoint_from_config(ws.config())
    with ImmichApi(endpoint) as api, pytest.raises(ImmichAuthError) as caught:
        api.libraries()
    message = str(caught.value)
    assert "401 Unauthorized" in message and "Invalid API key" in message
    where = f"immich.api_key in the facesort config {ws.config_path}"
    assert f"the environment variable FACESORT_TEST_IMMICH_KEY ({where})" in message
    # A 4xx is never retried.
    assert [e.path for e in double.exchanges] == ["/libraries"]


def test_missing_permission_names_the_permission_to_add(setup):
    _, double, endpoint = setup(permissions={"library.read", "asset.read"})
    with ImmichApi(endpoint) as api:
        api.libraries()
        with pytest.raises(ImmichPermissionError) as caught:
            api.scan_library(double.libraries[0]["id"])
    assert "403 Missing required permission: library.update" in str(caught.value)
    assert "add library.update" in str(caught.value) and "admin" not in str(caught.value)
    # A key of a user who is not an admin: plain "Forbidden", told apart.
    double.permissions, double.admin = None, False
    with ImmichApi(endpoint) as api, pytest.raises(ImmichNotAdminError) as caught:
        api.libraries()
    assert "403 Forbidden" in str(caught.value) and "not an admin" in str(caught.value)


def test_server_errors_are_retried_with_backoff_then_succeed(setup):
    _, double, endpoint = setup()
    double.fail_next["/libraries"] = 2  # retries: 2
    with ImmichApi(endpoint) as api:
        assert len(api.libraries()) == 2
    assert [e.status for e in double.exchanges if e.path == "/libraries"] == [500, 500, 200]


def test_server_errors_beyond_the_retries_make_immich_unavailable(setup):
    _, double, endpoint = setup()
    double.fail_next["/libraries"] = 10
    with ImmichApi(endpoint) as api, pytest.raises(ImmichUnavailable) as caught:
        api.libraries()
    assert "500 Internal Server Error" in str(caught.value) and "3 tries" in str(caught.value)


def test_refused_connection_and_slow_answers_make_immich_unavailable(setup, make_workspace):
    ws, double, endpoint = setup()
    double.delay["/libraries"] = 1.5
    slow = endpoint.settings.model_copy(update={"request_timeout_seconds": 0.3, "retries": 1})
    slow_endpoint = type(endpoint)(**{**endpoint.__dict__, "settings": slow})
    with (
        ImmichApi(slow_endpoint) as api,
        pytest.raises(ImmichUnavailable, match=r"did not answer the list of libraries"),
    ):
        api.libraries()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    configure_immich(ws, f"http://127.0.0.1:{closed}")
    with (
        ImmichApi(endpoint_from_config(ws.config())) as api,
        pytest.raises(ImmichUnavailable, match=r"cannot be reached \(ConnectError"),
    ):
        api.server_info()


@pytest.mark.parametrize(
    ("flavour", "version", "queue_route"),
    [
        ("v1-old", (1, 106, 4), "/jobs"),
        ("v1", (1, 137, 3), "/jobs"),
        ("v2", (2, 4, 1), "/queues"),
        ("v3", (3, 0, 0), "/queues"),
    ],
)
def test_every_generation_is_probed_and_its_queues_read(setup, flavour, version, queue_route):
    _, double, endpoint = setup(flavour=flavour)
    with ImmichApi(endpoint) as api:
        info = api.server_info()
        assert info.version == version and info.facial_recognition
        api.scan_library(double.libraries[0]["id"])
        counts = api.queue_counts()
    assert counts["library"].pending == 1  # the scan, queued
    routes = [e.path for e in double.exchanges]
    assert queue_route in routes
    assert all(e.status < 400 for e in double.exchanges if e.path == queue_route)


def test_search_pages_through_substring_matches_and_keeps_exact_paths(setup, monkeypatch):
    ws, double, endpoint = setup()
    monkeypatch.setattr(api_module, "SEARCH_PAGE_SIZE", 3)
    # A sibling folder whose path contains the staging path as a substring, in capitals.
    lookalike = ws.staging.parent / "staging-OLD"
    lookalike.mkdir()
    (lookalike / "obama1.jpg").write_bytes((ws.staging / "obama1.jpg").read_bytes())
    double.mounts["/mnt/downloads-old"] = lookalike
    double.add_library(["/MNT/DOWNLOADS-old"])
    double.mounts["/MNT/DOWNLOADS-old"] = lookalike
    with ImmichApi(endpoint) as api:
        for library in double.libraries:
            api.scan_library(library["id"])
        _drain(api)
        names = sorted(p.name for p in ws.staging.iterdir())
        wanted = {f"{IMMICH_STAGING}/{n}" for n in names}
        found = list(api.assets_under(IMMICH_STAGING, None, wanted))
    assert sorted(item["originalPath"] for item in found) == sorted(wanted)
    searches = [e for e in double.exchanges if e.path == "/search/metadata"]
    # 13 staged files + the look-alike match the substring: 14 items, 3 a page -> 5 pages.
    assert len(searches) == 5
    assert not double.violations


@pytest.mark.airflow
def test_reschedule_mode_polls_in_separate_pokes_until_two_quiet_polls(setup):
    from facesort.airflow import TaskRun
    from facesort.airflow.immich import poll_readiness, queue_scan
    from facesort.airflow.sensors import ImmichReadySensor
    from facesort.config import ImmichWaitSettings
    from facesort.sorting.batches import scan_and_plan
    from facesort.state import State

    wait = ImmichWaitSettings(deferrable=False, poll_seconds=0.05, max_wait_seconds=20)
    sensor = ImmichReadySensor(task_id="wait", wait=wait)
    assert sensor.mode == "reschedule"
    ws, _, _ = setup()
    state = State(ws.config().database_url)
    try:
        scan_and_plan(state, ws.config(), "run-1", actor="test")
    finally:
        state.dispose()
    run = TaskRun(dag_id="facesort_ingest", run_id="run-1", config_path=str(ws.config_path))
    assert queue_scan(run)["status"] == "ok"
    # Each poke is a fresh call, as in reschedule mode: the quiet streak is in the DB.
    outcomes = []
    for _ in range(40):
        status = poll_readiness(run)
        outcomes.append(status["detail"])
        if status["finished"]:
            break
    assert status["outcome"] == "ready", outcomes
    # Face detection drains, every queue is idle for one poll, then recognition runs:
    # a single quiet poll was not taken for "ready".
    first_quiet = next(i for i, o in enumerate(outcomes) if "queues idle 1/2" in o)
    assert any("facialRecognition" in o for o in outcomes[first_quiet + 1 :])


def test_archived_and_hidden_files_are_found_and_wildcards_match_literally(setup, tmp_path):
    from facesort.immich.read import search_assets

    _, double, endpoint = setup()
    real, lookalike = tmp_path / "down_loads", tmp_path / "down-loads"
    for folder, names in ((real, ["obama1.jpg", "obama_small.jpg", "two_people.jpg"]),
                          (lookalike, ["obama1.jpg"])):  # fmt: skip
        folder.mkdir()
        for name in names:
            (folder / name).write_bytes(next(PHOTOS.rglob(name)).read_bytes())
        double.mounts[f"/mnt/{folder.name}"] = folder
        double.add_library([f"/mnt/{folder.name}"])
    double.scan_now()
    double.set_visibility("/mnt/down_loads/obama1.jpg", "archive")
    double.set_visibility("/mnt/down_loads/obama_small.jpg", "hidden")
    wanted = {f"/mnt/down_loads/{n}" for n in ("obama1.jpg", "obama_small.jpg", "two_people.jpg")}
    with ImmichApi(endpoint) as api:
        found = search_assets(api, wanted, None)
    assert set(found) == wanted
    searches = [e for e in double.exchanges if e.path == "/search/metadata"]
    assert [json.loads(e.body)["visibility"] for e in searches] == ["timeline", "archive", "hidden"]
    # "_" is escaped: the look-alike folder (down-loads) never comes back at all.
    assert {json.loads(e.body)["originalPath"] for e in searches} == {"/mnt/down\\_loads"}
    assert not any(b"down-loads" in e.response_body for e in searches)
