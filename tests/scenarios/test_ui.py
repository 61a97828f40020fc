"""`make ui`, as the README gives it, starts the Airflow UI: the api-server answers HTTP.

One test (about a minute): `make ui` on a free port, with its sample workspace and Airflow
home in a temporary folder; it waits for the api-server's health endpoint, checks that the
review page is served (and asks for a login), then sends Ctrl-C's signal to make's
process group and checks that every process it started ends by itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import paths
import pytest

REPO = paths.REPO

pytestmark = [pytest.mark.ui, pytest.mark.airflow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def session_processes(session: int) -> list[int]:
    """The processes of a session: make, standalone (its own process group) and the rest."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def stop_like_ctrl_c(process: subprocess.Popen, timeout: float = 45) -> bool:
    """SIGINT to make's process group, as a terminal's Ctrl-C; True when every process of
    the session then ended by itself."""
    os.killpg(process.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()
        if not session_processes(process.pid):
            return True
        time.sleep(0.5)
    for pid in session_processes(process.pid):  # leave nothing behind, then fail
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=10)
    return False


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_ui_serves_the_airflow_ui_and_stops_cleanly(tmp_path):
    port = free_port()
    env = os.environ.copy()
    env["PATH"] = "/usr/bin:/bin"  # no venv on PATH: `make ui` must put it there itself
    # This checkout's package and none of the test session's Airflow settings.
    env["PYTHONPATH"] = str(REPO / "include")
    for name in list(env):
        if name.startswith("AIRFLOW") or name == "FACESORT_CONFIG":
            del env[name]
    demo, airflow_home = tmp_path / "demo", tmp_path / "airflow"
    log = tmp_path / "make-ui.log"
    command = [
        shutil.which("make"),
        "--no-print-directory",
        # The venv is this test session's own; `make test` has just installed it.
        "-o",
        ".venv/.installed",
        "ui",
        f"UI_PORT={port}",
        f"DEMO={demo}",
        f"AIRFLOW_LOCAL={airflow_home}",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a session of its own: every process of it can be found
        )
    try:
        health = None
        deadline = time.monotonic() + 100  # ~40 s on a quiet machine
        while time.monotonic() < deadline and process.poll() is None:
            if http_status(f"http://127.0.0.1:{port}/api/v2/monitor/health") == 200:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health") as a:
                    health = json.load(a)
                break
            time.sleep(1)
        output = log.read_text(errors="replace")
        assert health is not None, f"the api-server never answered on {port}:\n{output[-4000:]}"
        assert "FileNotFoundError" not in output
        assert health["metadatabase"]["status"] == "healthy"
        assert http_status(f"http://127.0.0.1:{port}/") == 200  # the UI's page
        # The review page plugin is loaded, and asks for a login.
        assert http_status(f"http://127.0.0.1:{port}/facesort/review/") == 401
        assert (demo / "facesort.yaml").is_file()  # the sample workspace was built
        assert f"Airflow UI: http://localhost:{port}" in output
        assert f"password in {airflow_home}/simple_auth_manager_passwords.json.generated" in output
        assert (airflow_home / "simple_auth_manager_passwords.json.generated").is_file()
    finally:
        stopped = stop_like_ctrl_c(process)
    assert stopped, "Ctrl-C did not stop every process of `make ui`:\n" + log.read_text()[-3000:]
    assert http_status(f"http://127.0.0.1:{port}/api/v2/monitor/health") is None
