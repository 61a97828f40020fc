"""What facesort says about Immich: one ``warning:`` line in the same words whatever the
cause, every missing permission at once, a non-admin key told apart, a key without
``job.read`` costing only the wait, the key's origin named, and the config's
``${IMMICH_API_KEY}`` working with the key in the Airflow connection instead."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import configure_immich
from immich_double import PHOTOS

from facesort.errors import ImmichError
from facesort.immich.endpoint import endpoint_from_config

pytestmark = pytest.mark.slow


def _stage(ws, *names: str) -> None:
    for name in names:
        shutil.copy(next(PHOTOS.rglob(name)), ws.staging / name)


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "warning:" in line]


def test_every_missing_permission_is_named_at_once(make_workspace, immich_double, facesort_cli):
    ws = make_workspace(stage=(), extras=False)
    _stage(ws, "obama1.jpg")
    double = immich_double(ws, permissions={"library.read", "job.read"})
    configure_immich(ws, double.url)

    code, _, err = facesort_cli("--config", ws.config_path, "run")

    assert code == 0 and ws.files()["obama1.jpg"] == "library/obama"  # sorted locally
    (warning,) = _warnings(err)
    assert warning.startswith("facesort: warning: Immich was not used: The API key")
    assert "lacks the permissions asset.read, person.read, library.update" in warning
    assert "add them all" in warning


def test_a_key_of_a_user_who_is_not_an_admin_is_told_apart(
    make_workspace, immich_double, facesort_cli
):
    ws = make_workspace(stage=(), extras=False)
    _stage(ws, "obama1.jpg")
    double = immich_double(ws, admin=False)
    configure_immich(ws, double.url)

    code, _, err = facesort_cli("--config", ws.config_path, "run")

    assert code == 0
    (warning,) = _warnings(err)
    assert "403 Forbidden" in warning and "user is not an admin" in warning
    assert "Missing required permission" not in warning


def test_a_key_without_job_read_costs_only_the_wait(make_workspace, immich_double, facesort_cli):
    ws = make_workspace(stage=(), extras=False)
    _stage(ws, "lin-manuel-miranda.png")
    double = immich_double(ws, permissions={"library.read", "library.update", "asset.read",
                                            "person.read"})  # fmt: skip
    double.scan_now()  # Immich saw the file before (its own scan)
    double.settle()
    configure_immich(ws, double.url)

    code, _, err = facesort_cli("--config", ws.config_path, "run")

    assert code == 0, err
    # Only Immich knows this person: its name was read without waiting.
    assert ws.files()["lin-manuel-miranda.png"] == "library/lin-manuel-miranda"
    (warning,) = _warnings(err)
    assert "cannot read Immich's job queues (it lacks job.read)" in warning
    assert "wait no_queues; files faces: 1" in err
    assert not [e for e in double.exchanges if e.path == "/jobs" and e.status == 200]


def test_when_immich_contributed_nothing_the_run_says_it_once(
    make_workspace, immich_double, facesort_cli
):
    ws = make_workspace(stage=(), extras=False)
    _stage(ws, "obama1.jpg", "lin-manuel-miranda.png")
    double = immich_double(ws)
    double.scan_now()
    double.settle()
    for name in ("obama1.jpg", "lin-manuel-miranda.png"):  # changed since Immich read them
        os.utime(ws.staging / name, (1_600_000_000, 1_600_000_000))
    configure_immich(ws, double.url)

    code, out, err = facesort_cli("--config", ws.config_path, "run")

    assert code == 0, err
    (warning,) = _warnings(err)
    assert warning == (
        "facesort: warning: Immich was not used: Immich said nothing usable about the run's "
        "2 files: 2 whose asset describes another file at that path"
    )
    code, out, _ = facesort_cli("--config", ws.config_path, "history", ws.staging / "obama1.jpg")
    assert "was read from another file at this path (modified " in out
    assert "in Immich, 2020-09-13 12:26:40 now (UTC))" in out


def test_the_key_from_the_connection_when_the_variable_is_unset(make_workspace, monkeypatch):
    monkeypatch.delenv("FACESORT_UNSET_KEY", raising=False)
    ws = make_workspace(stage=(), extras=False)
    configure_immich(ws, "http://immich.lan:2283", api_key="${FACESORT_UNSET_KEY}")
    config = ws.config()  # loads: the key may come from the connection
    with pytest.raises(ImmichError) as caught:
        endpoint_from_config(config)
    message = str(caught.value)
    assert "the environment variable FACESORT_UNSET_KEY, which is not set" in message
    assert "the password of the Airflow connection immich_api" in message
    connection = "the Airflow connection immich_api (password)"
    endpoint = endpoint_from_config(
        config, url="http://immich.lan:2283", api_key="k", api_source=connection
    )
    assert endpoint.api_key == "k" and endpoint.key_source == connection
    monkeypatch.setenv("FACESORT_UNSET_KEY", "from-env")
    assert endpoint_from_config(ws.config()).api_key == "from-env"


def test_an_empty_default_is_no_key_and_commands_without_immich_do_not_care(
    make_workspace, facesort_cli, monkeypatch
):
    monkeypatch.delenv("FACESORT_UNSET_KEY", raising=False)
    ws = make_workspace(stage=(), extras=False)
    configure_immich(ws, "http://immich.lan:2283", api_key="${FACESORT_UNSET_KEY:-}")
    with pytest.raises(ImmichError, match="no API key is given"):
        endpoint_from_config(ws.config())
    configure_immich(ws, "http://immich.lan:2283", api_key="${FACESORT_UNSET_KEY}")
    for command in (["status"], ["history", "nothing.jpg"], ["references", "list"]):
        code, _, err = facesort_cli("--config", ws.config_path, *command)
        assert "FACESORT_UNSET_KEY" not in err, command
        assert code in {0, 1}, (command, err)  # history of an unknown file: 1, no error


@pytest.mark.airflow
def test_the_dags_hook_takes_the_key_from_the_connection(make_workspace, monkeypatch):
    import json

    from facesort.airflow.hooks import endpoint_with_connections

    monkeypatch.delenv("IMMICH_API_KEY", raising=False)
    ws = make_workspace(stage=(), extras=False)
    configure_immich(ws, "http://immich.invalid:2283", api_key="${IMMICH_API_KEY}")
    monkeypatch.setenv(
        "AIRFLOW_CONN_IMMICH_API",
        json.dumps({"conn_type": "http", "host": "photos.lan", "password": "conn-key"}),
    )
    endpoint = endpoint_with_connections(ws.config())
    assert endpoint.api_key == "conn-key" and "immich_api" in endpoint.key_source
