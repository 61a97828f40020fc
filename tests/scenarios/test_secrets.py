"""Secrets (the Immich API key, database passwords) never reach logs, messages or the
state database, also when things go wrong."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import configure_immich

pytestmark = pytest.mark.slow

KEY = "sk-facesort-7f3a9c-TOPSECRET"
PASSWORD = "pw-9d2e-TOPSECRET"


def _run(ws, *args: str, key: str) -> str:
    env = {**os.environ, "FACESORT_TEST_IMMICH_KEY": key}
    done = subprocess.run(
        [sys.executable, "-m", "facesort.cli", "--verbose", "--config", str(ws.config_path),
         *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    return done.stdout + done.stderr


def test_the_api_key_is_never_printed_or_stored(make_workspace, immich_double, monkeypatch):
    import immich_double as double_module

    monkeypatch.setattr(double_module, "API_KEY", KEY)
    ws = make_workspace(stage=("incoming",), extras=False)
    double = immich_double(ws)
    configure_immich(ws, double.url, wait={"poll_seconds": 0.05, "max_wait_seconds": 5})
    output = _run(ws, "run", "--workers", "1", key=KEY)
    assert "library/obama" in output  # it really ran, with Immich
    # A wrong key: the message names the problem, not the key.
    ws2 = make_workspace(stage=("incoming",), extras=False, name="ws2")
    configure_immich(ws2, double.url, wait={"poll_seconds": 0.05, "max_wait_seconds": 5})
    wrong = _run(ws2, "run", "--workers", "1", key=KEY + "-wrong")
    assert "401" in wrong
    for text in (output, wrong):
        assert KEY not in text
    for state_file in (ws.root / "facesort-state.db", ws2.root / "facesort-state.db"):
        assert KEY.encode() not in state_file.read_bytes()


@pytest.mark.postgres
def test_a_database_password_is_never_printed(make_workspace, pg_url, pg_server):
    _, port, user = pg_server
    with_password = pg_url.replace(f"{user}@", f"{user}:{PASSWORD}@")
    ws = make_workspace(stage=(), extras=False, settings={"state_url": with_password})
    output = _run(ws, "status", key="unused")
    assert PASSWORD not in output
    # Unreachable: the message names the database, without the password.
    unreachable = with_password.replace(f":{port}/", ":1/")
    ws2 = make_workspace(stage=(), extras=False, settings={"state_url": unreachable}, name="b")
    failed = _run(ws2, "status", key="unused")
    assert "Cannot use the state database" in failed and "127.0.0.1:1" in failed
    assert PASSWORD not in failed
