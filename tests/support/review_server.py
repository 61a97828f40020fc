"""A real Airflow API server (with facesort's plugin) and a real Chromium for page tests.

``airflow api-server`` runs as a subprocess on a free port, with the test session's
AIRFLOW_HOME (SQLite metadata, this repo's plugins/), the simple auth manager with one
user, and FACESORT_CONFIG pointing at a test workspace. Chromium is Debian's
(/usr/bin/chromium), driven by Playwright, started with a fresh profile and everything
that would reach the network switched off.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = os.environ.get("FACESORT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USER, PASSWORD = "reviewer", "review-test-password"


@dataclass
class ApiServer:
    url: str
    log: Path

    def token(self) -> str:
        request = urllib.request.Request(
            f"{self.url}/auth/token",
            data=json.dumps({"username": USER, "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["access_token"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def api_server(config_path: Path, workdir: Path):
    """Start ``airflow api-server``; yields an ApiServer; stops it (and its children)."""
    port = _free_port()
    passwords = workdir / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    env = {
        **os.environ,
        "FACESORT_CONFIG": str(config_path),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
    }
    log = workdir / "api-server.log"
    airflow = str(Path(sys.executable).parent / "airflow")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [airflow, "api-server", "--port", str(port), "--host", "127.0.0.1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"airflow api-server exited: {log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"api-server not up: {log.read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield ApiServer(url, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def chromium(viewport=(1280, 900)):
    """A Playwright browser context on Debian's Chromium, with a fresh profile."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make install` installs Debian's chromium")
    profile = tempfile.mkdtemp(prefix="facesort-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": viewport[0], "height": viewport[1]},
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(page, server: ApiServer, path: str) -> None:
    """Open ``path``: Airflow asks to sign in; do it on its own login page."""
    page.goto(server.url + path)
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")
