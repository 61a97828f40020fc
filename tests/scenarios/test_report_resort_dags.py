"""dag.test() of facesort_review_report and facesort_resort, and the re-sort form.

The report DAG runs for a past Monday (what a backfill creates) over a known history
and mails the page to a real SMTP server (aiosmtpd) through an Airflow connection. The
re-sort DAG runs on photos sorted by the real pipeline: a dry run changes nothing, a
real run moves exactly the planned files, ``facesort undo <run id>`` puts them back.
"""

from __future__ import annotations

import csv
import email
import importlib.util
import json
import re
import socket
from datetime import UTC, datetime
from pathlib import Path

import paths
import pytest
from history_fixture import W04, HistoryWriter, write_history_to_w04

from facesort.report import render_report
from facesort.state import State

pytestmark = pytest.mark.airflow

REPO = paths.REPO


def load_dag(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "dags" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)()


class _Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.recipients: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.recipients.extend(envelope.rcpt_tos)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def _write_config(path: Path, **settings) -> Path:
    import yaml

    root = path.parent
    for folder in ("staging", "library", "review", "references"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    config = {"staging_dirs": ["staging"], "library_dir": "library", "review_dir": "review",
              "references_dir": "references", **settings}  # fmt: skip
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_report_dag_makes_a_past_week_like_a_backfill_and_mails_it(
    airflow_db, tmp_path, monkeypatch, smtp_server
):
    from facesort.config import load_config

    port, inbox = smtp_server
    config_path = _write_config(
        tmp_path / "photos" / "facesort.yaml",
        report={"email_to": ["me@example.test"], "smtp_conn_id": "facesort_test_smtp",
                "trend_weeks": 4},
    )  # fmt: skip
    config = load_config(config_path)
    state = State(config.database_url)
    write_history_to_w04(HistoryWriter(state, tmp_path / "photos"))
    _, expected_files = render_report(config, state, W04, now=datetime.now(UTC))
    state.dispose()
    monkeypatch.setenv("FACESORT_CONFIG", str(config_path))
    connection = {"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                  "extra": {"disable_tls": True, "disable_ssl": True, "retry_limit": 0,
                            "from_email": "facesort@example.test", "timeout": 10}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_FACESORT_TEST_SMTP", json.dumps(connection))

    dag = load_dag("facesort_review_report")
    # The scheduled run of Monday 26 January 2026, 06:00: its data interval is the week
    # before, so it reports week 4 (what `airflow backfill create` would run).
    run = dag.test(logical_date=datetime(2026, 1, 26, 6, tzinfo=UTC))

    assert run.state == "success"
    folder = config.reports_path / "2026-W04"
    for name, data in expected_files.items():
        if name not in {"report.html", "unknown_clusters.csv"}:
            assert (folder / name).read_bytes() == data, name
    assert (config.reports_path / "latest").resolve() == folder.resolve()
    (message,) = inbox.messages
    assert inbox.recipients == ["me@example.test"]
    assert message["Subject"] == (
        "facesort review queue, week 2026-W04: 4 waiting (0), auto-sort 33%"
    )
    parts = {part.get_filename(): part for part in message.walk() if part.get_filename()}
    assert sorted(parts) == ["report.html", "summary.csv"]
    assert parts["report.html"].get_payload(decode=True) == (folder / "report.html").read_bytes()
    body = next(p for p in message.walk() if p.get_content_type() == "text/html")
    assert "waiting in the review queue" in body.get_payload(decode=True).decode()


def test_report_email_without_its_connection_fails_with_the_fix(tmp_path, monkeypatch):
    from facesort.airflow.email import EmailSetupError, send_report_email
    from facesort.config import load_config

    config = load_config(_write_config(tmp_path / "p" / "facesort.yaml",
                                       report={"email_to": ["me@example.test"]}))  # fmt: skip
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    with pytest.raises(EmailSetupError, match=r"connection 'smtp_default' does not exist: add it"):
        send_report_email(config, {"page": str(tmp_path / "x.html"), "summary": {}})


# --------------------------------------------------------------------------- re-sort


@pytest.fixture
def sorted_workspace(make_workspace, photos, monkeypatch):
    """A few real photos sorted by the pipeline; lin-manuel-miranda waits as unidentified."""
    from facesort.sorting.run import run_once

    ws = make_workspace(stage=(), extras=False)
    for name in ("lin-manuel-miranda.png", "obama1.jpg", "alex_lacamoire1.jpg", "two_people.jpg"):
        (ws.staging / name).write_bytes((photos / "incoming" / name).read_bytes())
    run_once(ws.config(), workers=1)
    assert ws.files()["lin-manuel-miranda.png"] == "review/unidentified"
    monkeypatch.setenv("FACESORT_CONFIG", str(ws.config_path))
    return ws


def _plan_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_resort_dag_dry_run_then_real_run_then_undo(
    airflow_db, sorted_workspace, photos, facesort_cli
):
    ws = sorted_workspace
    lin = photos / "incoming" / "lin-manuel-miranda.png"
    code, _, err = facesort_cli(
        "--config", ws.config_path, "references", "add", "lin-manuel-miranda", lin
    )
    assert code == 0, err
    before = ws.files()
    dag = load_dag("facesort_resort")

    dry = dag.test(run_conf={"scope": "review"})

    assert dry.state == "success"
    assert ws.files() == before  # a dry run moves nothing
    tis = {ti.task_id: ti.state for ti in dry.get_task_instances()}
    assert tis == {"plan": "success", "approve": "skipped", "apply": "skipped"}
    (plan_csv,) = (ws.root / "reports" / "resorts").glob("*.csv")
    rows = _plan_rows(plan_csv)
    assert [(Path(r["file"]).name, r["from"], r["to"]) for r in rows] == [
        ("lin-manuel-miranda.png", "review/unidentified", "library/lin-manuel-miranda")
    ]
    assert rows[0]["reason"].startswith("sure match: lin-manuel-miranda")

    # A scripted run: the form's skip_approval lets apply run without asking anyone.
    real = dag.test(
        run_conf={"scope": "review", "dry_run": False, "skip_approval": True}, logical_date=None
    )

    assert real.state == "success"
    tis = {ti.task_id: ti.state for ti in real.get_task_instances()}
    assert tis == {"plan": "success", "approve": "success", "apply": "success"}
    after = ws.files()
    moved = {name for name in before if after[name] != before[name]}
    assert moved == {"lin-manuel-miranda.png"}  # exactly the planned files
    assert after["lin-manuel-miranda.png"] == "library/lin-manuel-miranda"

    code, out, err = facesort_cli("--config", ws.config_path, "undo", real.run_id)
    assert code == 0, err
    assert f"Reverted 1 move of {real.run_id}." in out
    assert ws.files() == before
    code, out, _ = facesort_cli("--config", ws.config_path, "undo", "--json")
    groups = {g["group_id"]: g for g in json.loads(out)}
    assert groups[real.run_id]["actions"] == ["resort"]
    assert groups[real.run_id]["undone_by"] == [next(g for g in groups if g.startswith("undo-"))]


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"scope": "everything"}, r"Invalid input for param scope: 'everything' is not one of"),
        ({"sure_distance": -0.1}, r"Invalid input for param sure_distance: -0.1 is less than"),
        ({"review_categories": ["nope"]}, r"param review_categories: 'nope' is not one of"),
        ({"dry_run": "no"}, r"param dry_run: 'no' is not of type 'boolean'"),
    ],
)
def test_resort_form_refuses_bad_values(airflow_db, conf, message):
    from airflow.sdk.exceptions import ParamValidationError

    dag = load_dag("facesort_resort")
    with pytest.raises(ParamValidationError, match=message):
        dag.test(run_conf=conf)


def test_resort_requests_that_cannot_work_are_refused_by_name(sorted_workspace):
    from facesort.airflow import TaskRun
    from facesort.airflow.resort import plan
    from facesort.errors import ConfigError
    from facesort.resort import ResortRequestError

    cases = [
        ({"scope": "person"}, ResortRequestError, r"scope 'person' needs the person's name"),
        ({"scope": "person", "person": "Bidenn"}, ResortRequestError,
         r"person 'Bidenn' has no folder .* known people: alex_lacamoire, biden"),
        ({"scope": "folders", "folders": ["/etc"]}, ResortRequestError,
         r"folder /etc is not inside the library"),
        ({"scope": "review", "review_categories": ["duplicates"]}, ResortRequestError,
         r"review/duplicates is not re-sorted"),
        ({"scope": "library", "sure_distance": 0.7}, ConfigError,
         r"review_distance must be at least sure_distance \(got 0.65 < 0.7\)"),
    ]  # fmt: skip
    for params, error, message in cases:
        with pytest.raises(error, match=message):
            plan(TaskRun(dag_id="facesort_resort", run_id="test-group", params=params))
    assert not (sorted_workspace.root / "reports" / "resorts").exists()


def test_resort_dag_refuses_a_person_scope_without_a_person(airflow_db, sorted_workspace):
    before = sorted_workspace.files()
    dag = load_dag("facesort_resort")

    run = dag.test(run_conf={"scope": "person", "dry_run": False})

    assert run.state == "failed"
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    assert tis["plan"].state == "failed" and tis["plan"].try_number == 1  # no retries
    assert sorted_workspace.files() == before


# ------------------------------------------------------------ approval in the Airflow UI

API_USER, API_PASSWORD = "approver", "approval-test-password"


@pytest.fixture
def airflow_api(airflow_db, tmp_path, monkeypatch):
    """Airflow's own REST API (the app ``airflow api-server`` serves, in this process, on
    the same metadata database), signed in as a user of the simple auth manager: yields
    (client, headers)."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({API_USER: API_PASSWORD}))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", f"{API_USER}:admin")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    with TestClient(create_app(apps="core")) as client:
        response = client.post("/auth/token", json={"username": API_USER, "password": API_PASSWORD})
        assert response.status_code == 201, response.text
        yield client, {"Authorization": f"Bearer {response.json()['access_token']}"}


class _Approver:
    """A person at the UI's *Required actions* page, in a thread while dag.test() runs
    (in the main thread: Airflow's task timeouts are signals): waits for the re-sort's
    approval request (GET .../hitlDetails, what the page reads) and answers it like the
    page's Approve / Reject buttons (PATCH the task's hitlDetails). Without a request in
    time it fails the run through the API, so dag.test() ends."""

    def __init__(self, client, headers, option: str | None, look=None, timeout: float = 120):
        """``option`` None: nobody answers, and once the request's deadline has passed
        the scheduler's timeout sweep runs (what a scheduler does every few seconds).
        ``look()`` is called while the request waits; its result is kept as ``seen``."""
        import threading

        self.client, self.headers, self.option, self.timeout = client, headers, option, timeout
        self.look, self.seen = look, None
        self.detail: dict | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _waiting(self) -> list[dict]:
        response = self.client.get(
            "/api/v2/dags/facesort_resort/dagRuns/~/hitlDetails",
            params={"response_received": False},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        return response.json()["hitl_details"]

    def _run(self) -> None:
        import time

        try:
            deadline = time.monotonic() + self.timeout
            # The request is written just before the task parks: answer once it waits.
            while not (
                waiting := [
                    d for d in self._waiting() if d["task_instance"]["state"] == "awaiting_input"
                ]
            ):
                if time.monotonic() > deadline:
                    self._fail_runs()
                    raise AssertionError("the re-sort never asked for approval")
                time.sleep(0.5)
            (self.detail,) = waiting
            ti = self.detail["task_instance"]
            if self.look is not None:
                self.seen = self.look()
            if self.option is None:
                self._time_out()
                return
            response = self.client.patch(
                f"/api/v2/dags/facesort_resort/dagRuns/{ti['dag_run_id']}/taskInstances/"
                f"{ti['task_id']}/{ti['map_index']}/hitlDetails",
                json={"chosen_options": [self.option], "params_input": {}},
                headers=self.headers,
            )
            assert response.status_code == 200, response.text
            assert response.json()["chosen_options"] == [self.option]
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc

    def _time_out(self) -> None:
        import time

        from airflow.jobs.job import Job
        from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

        sweep = SchedulerJobRunner(job=Job())
        deadline = time.monotonic() + self.timeout
        while self._waiting():
            assert time.monotonic() < deadline, "the approval never timed out"
            sweep.check_awaiting_input_timeouts()
            time.sleep(0.5)

    def _fail_runs(self) -> None:
        runs = self.client.get(
            "/api/v2/dags/facesort_resort/dagRuns", params={"state": "running"},
            headers=self.headers,
        ).json()["dag_runs"]  # fmt: skip
        for run in runs:
            self.client.patch(
                f"/api/v2/dags/facesort_resort/dagRuns/{run['dag_run_id']}",
                json={"state": "failed"},
                headers=self.headers,
            )

    def result(self) -> dict:
        self.thread.join(timeout=30)
        if self.error is not None:
            raise self.error
        assert self.detail is not None
        return self.detail


@pytest.mark.parametrize("option", ["Approve", "Reject", None])
def test_resort_waits_for_approval_in_the_ui(
    airflow_api, sorted_workspace, photos, facesort_cli, option
):
    client, headers = airflow_api
    ws = sorted_workspace
    lin = photos / "incoming" / "lin-manuel-miranda.png"
    assert facesort_cli("--config", ws.config_path, "references", "add", "lin-manuel-miranda",
                        lin)[0] == 0  # fmt: skip
    before = ws.files()
    dag = load_dag("facesort_resort")

    approver = _Approver(client, headers, option, look=ws.files)
    conf = {"scope": "review", "dry_run": False}
    if option is None:  # nobody answers: the request times out after 2 seconds
        conf["approval_timeout_hours"] = 2 / 3600
    run = dag.test(run_conf=conf, logical_date=None)
    detail = approver.result()

    # What the approver saw: the plan's summary and where the plan CSV is; nothing had
    # moved while the request waited.
    assert detail["task_instance"]["state"] == "awaiting_input"
    assert approver.seen == before
    assert detail["subject"] == "Re-sort: move 1 file?"
    assert detail["options"] == ["Approve", "Reject"]
    assert detail["defaults"] == ["Reject"]  # what a timeout answers
    assert "| review/unidentified | library/lin-manuel-miranda | 1 |" in detail["body"]
    (plan_csv,) = (ws.root / "reports" / "resorts").glob("*.csv")
    assert f"`{plan_csv}`" in detail["body"]
    link = re.search(r"\]\((/facesort/review/reports/resorts/[^)]+)\)", detail["body"])[1]
    served = client.get(link, headers=headers)  # the link, behind the same sign-in
    assert served.status_code == 200 and served.content == plan_csv.read_bytes()
    assert run.state == "success"
    tis = {ti.task_id: ti.state for ti in run.get_task_instances()}
    after = ws.files()
    if option == "Approve":
        assert tis == {"plan": "success", "approve": "success", "apply": "success"}
        assert {n for n in before if after[n] != before[n]} == {"lin-manuel-miranda.png"}
        assert after["lin-manuel-miranda.png"] == "library/lin-manuel-miranda"
    else:  # rejected, or no answer in time (the default, Reject): nothing moved
        assert tis == {"plan": "success", "approve": "success", "apply": "skipped"}
        assert after == before
        import sqlalchemy as sa

        from facesort.state.models import Transfer

        with State(ws.config().database_url) as state, state.session() as session:
            moves = session.scalar(
                sa.select(sa.func.count()).where(Transfer.group_id == run.run_id)
            )
        assert moves == 0  # not even planned
