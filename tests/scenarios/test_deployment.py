"""The Docker Compose install: docker-compose.yaml, .env.example, Dockerfile, deploy/.

There is no Docker engine here, so nothing is started from these files; what can be
checked without one is: the real Docker Compose validates and resolves the file with
the settings of .env.example, every Airflow component gets the same settings, workers
can be scaled, the facesort config the containers use loads with the environment the
compose file gives them, and the image copies files that exist and pins what the
tested install pins. (tests/scenarios/test_celery.py runs the DAG with these Celery settings
against the Redis and PostgreSQL of this machine.)
"""

from __future__ import annotations

import re

import pytest
from deployment import REPO, SECRETS, compose, env_example, resolved, write_env

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
PHOTO_FOLDERS = {
    "FACESORT_STAGING_DIR": "/data/staging",
    "FACESORT_LIBRARY_DIR": "/data/library",
    "FACESORT_REVIEW_DIR": "/data/review",
    "FACESORT_REFERENCES_DIR": "/data/references",
    "FACESORT_REPORTS_DIR": "/data/reports",
    "FACESORT_TRASH_DIR": "/data/trash",
}
# The services that touch the photo folders: the workers, and the api-server, which
# serves the review page (it shows the files and carries out review actions).
FILE_SERVICES = {"airflow-worker", "airflow-apiserver"}


@pytest.fixture
def env_file(tmp_path):
    folders = {
        name: str(tmp_path / target.rsplit("/", 1)[1]) for name, target in PHOTO_FOLDERS.items()
    }
    return write_env(tmp_path / "test.env", **folders)


@pytest.fixture
def project(env_file):
    return resolved(env_file)


def test_env_example_lists_every_variable_the_compose_file_reads():
    text = (REPO / "docker-compose.yaml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))  # $${X}: the container's
    assert used - set(env_example()) == set()


def test_compose_refuses_to_start_without_the_secrets(tmp_path):
    """.env.example as shipped leaves passwords and keys empty: compose names them."""
    example = tmp_path / "example.env"
    example.write_text((REPO / ".env.example").read_text())
    result = compose(example, "config", "--quiet")
    assert result.returncode != 0
    assert re.search(r"required variable \w+ is missing a value: set \w+ in \.env", result.stderr)
    for name in SECRETS:
        filled = write_env(tmp_path / "partial.env", **{name: ""})
        result = compose(filled, "config", "--quiet")
        assert result.returncode != 0 and f"set {name} in .env" in result.stderr, name


def test_the_services_of_a_celery_install(project):
    services = project["services"]
    assert set(services) == AIRFLOW_SERVICES | {"postgres", "redis"}
    commands = {name: services[name].get("command") for name in AIRFLOW_SERVICES}
    assert commands["airflow-apiserver"] == ["api-server"]
    assert commands["airflow-scheduler"] == ["scheduler"]
    assert commands["airflow-dag-processor"] == ["dag-processor"]
    assert commands["airflow-triggerer"] == ["triggerer"]
    assert commands["airflow-worker"] == ["celery", "worker"]
    # Everything waits for healthy databases and a finished airflow-init.
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == (
        "service_healthy"
    )
    for name in [*AIRFLOW_SERVICES - {"airflow-init"}, "postgres", "redis"]:
        assert services[name].get("healthcheck", {}).get("test"), name
    init = services["airflow-init"]["command"][-1]
    for step in ("airflow db migrate", "airflow pools set facesort_cpu", "facesort db upgrade"):
        assert step in init


def test_every_airflow_component_shares_the_celery_and_security_settings(project):
    services = project["services"]
    shared = [
        "AIRFLOW__CORE__EXECUTOR",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__CORE__FERNET_KEY",
        "FACESORT_CONFIG",
        "FACESORT_STATE_URL",
    ]
    worker = services["airflow-worker"]["environment"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        for key in shared:
            assert env[key] == worker[key], (name, key)
    assert worker["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert worker["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379/")
    assert worker["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert worker["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert worker["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "http://airflow-apiserver:8080/execution/"
    )
    assert worker["AIRFLOW__API_AUTH__JWT_SECRET"] == SECRETS["AIRFLOW_JWT_SECRET"]
    # facesort's state is its own database on the same server.
    assert "@postgres:5432/facesort" in worker["FACESORT_STATE_URL"]
    assert "@postgres:5432/airflow" in worker["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def test_workers_scale_and_see_the_photo_folders(project, env_file):
    worker = project["services"]["airflow-worker"]
    # --scale needs no fixed name and no published port.
    assert "container_name" not in worker and not worker.get("ports")
    mounts = {v["target"]: v for v in worker["volumes"]}
    for name, target in PHOTO_FOLDERS.items():
        assert mounts[target]["type"] == "bind"
        assert mounts[target]["source"] == env_example_value(env_file, name)
        assert not mounts[target].get("read_only"), target
    config_mount = mounts[worker["environment"]["FACESORT_CONFIG"]]
    assert config_mount["source"] == str(REPO / "deploy" / "facesort.yaml")
    assert config_mount["read_only"]
    photo_mounts = {(v["source"], v["target"]) for v in worker["volumes"]}
    for name in AIRFLOW_SERVICES:
        mounted = {(v["source"], v["target"]) for v in project["services"][name]["volumes"]}
        targets = {target for _, target in mounted}
        if name in FILE_SERVICES:
            assert photo_mounts <= mounted, name  # the same folders at the same places
        else:
            assert not targets & set(PHOTO_FOLDERS.values()), name
    result = compose(env_file, "config", "--quiet")
    assert result.returncode == 0, result.stderr
    scaled = compose(env_file, "up", "--scale", "airflow-worker=3", "--dry-run", "--no-build")
    # Without an engine `up --dry-run` cannot connect, but it must not object to scaling.
    assert "container name" not in scaled.stderr.lower()


def env_example_value(env_file, name: str) -> str:
    for line in env_file.read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1].strip('"')
    raise KeyError(name)


def test_the_facesort_config_loads_with_the_containers_environment(project, monkeypatch):
    """deploy/facesort.yaml, with exactly the environment a worker container gets."""
    from facesort.config import load_config

    worker = project["services"]["airflow-worker"]
    for name, value in worker["environment"].items():
        monkeypatch.setenv(name, value or "")
    config = load_config(REPO / "deploy" / "facesort.yaml")
    mounted = {v["target"] for v in worker["volumes"]}
    assert {str(d) for d in config.staging_dirs} | {
        str(config.library_dir),
        str(config.review_dir),
        str(config.references_dir),
        str(config.reports_path),
        str(config.trash_path),
    } <= mounted
    assert config.thumbnail_path.parent == config.review_dir  # cached in the review folder
    assert config.database_url == worker["environment"]["FACESORT_STATE_URL"]
    assert config.immich.enabled is False  # off unless the user switches it on
    assert config.transfer_mode == "move" and config.batch_size == 50
    assert config.scan.stable_seconds == 60
    # The Immich path map: facesort's container folders -> Immich's, from .env.
    assert config.immich.path_map["/data/staging"] == "/mnt/downloads/photos"
    monkeypatch.setenv("FACESORT_IMMICH_ENABLED", "true")
    monkeypatch.setenv("IMMICH_API_KEY", "a-key")
    config = load_config(REPO / "deploy" / "facesort.yaml")
    assert config.immich.enabled and config.immich.url == "http://immich-proxy:2283"
    # The DAGs read their schedules at parse time from the environment, not the YAML.
    from facesort.airflow.settings import ingest_schedule_from_env, report_schedule_from_env

    assert ingest_schedule_from_env() == "*/10 * * * *"
    assert report_schedule_from_env() == ("0 6 * * 1", "UTC")


@pytest.mark.airflow
def test_the_dag_files_load_with_the_containers_environment(project, monkeypatch, airflow_db):
    """What the dag-processor container sees: every DAG file imports, on its schedule."""
    from airflow.dag_processing.dagbag import DagBag

    worker = project["services"]["airflow-dag-processor"]
    for name, value in worker["environment"].items():
        if not name.startswith("AIRFLOW__"):  # Airflow's own settings stay the test's
            monkeypatch.setenv(name, value or "")
    bag = DagBag(str(REPO / "dags"))
    assert bag.import_errors == {}
    assert "facesort_ingest" in bag.dags
    assert bag.dags["facesort_ingest"].schedule == worker["environment"]["FACESORT_INGEST_SCHEDULE"]


def test_the_immich_profile_joins_immichs_network(env_file):
    assert "immich" in compose(env_file, "config", "--profiles").stdout.split()
    project = resolved(env_file, "immich")
    proxy = project["services"]["immich-proxy"]
    assert set(proxy["networks"]) == {"default", "immich"}
    assert project["networks"]["immich"]["external"] is True
    assert project["networks"]["immich"]["name"] == "immich_default"
    assert "socat TCP-LISTEN:2283" in proxy["command"][-1]
    # The default install does not need Immich's network to exist: without the profile
    # no service uses it, and Compose leaves it out of the project.
    plain = resolved(env_file)
    assert "immich-proxy" not in plain["services"]
    assert set(plain["networks"]) == {"default"}


# --------------------------------------------------------------------------- the image


def _dockerfile() -> str:
    return (REPO / "Dockerfile").read_text()


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (REPO / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            package, _, version = line.partition("==")
            assert version, f"{name}: {line} is not pinned"
            pins[package.lower().replace("_", "-")] = version
    return pins


def test_the_image_is_the_official_airflow_image_of_the_pinned_version():
    match = re.search(r"^ARG AIRFLOW_IMAGE=apache/airflow:(slim-)?([\d.]+)-python([\d.]+)$",
                      _dockerfile(), re.M)  # fmt: skip
    assert match, "FROM must be an official apache/airflow image"
    assert match.group(2) == _pins("requirements.txt")["apache-airflow"]
    assert match.group(3) == "3.11"
    assert re.search(r"^FROM \$\{AIRFLOW_IMAGE\}$", _dockerfile(), re.M)
    assert "ffmpeg" in _dockerfile()


def test_the_image_copies_files_that_exist_and_are_in_the_build_context():
    included = {
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copies = re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", _dockerfile(), re.M)
    assert copies
    for sources in copies:
        for source in sources.split():
            assert (REPO / source).exists(), source
            assert source.rstrip("/") in included, f"{source} is not in the build context"


def test_the_image_installs_exactly_the_tested_pins():
    constraints = _pins("constraints.txt")
    for package, version in _pins("requirements.txt").items():
        if package in {"pip", "setuptools", "wheel"}:
            continue  # pip freeze leaves these out of constraints.txt
        assert constraints.get(package) == version, (package, version)
    assert _pins("requirements-nodeps.txt")  # each pinned (checked by _pins)
    dockerfile = _dockerfile()
    assert "-r /opt/facesort/requirements.txt -c /opt/facesort/constraints.txt" in dockerfile
    assert "--no-deps -r /opt/facesort/requirements-nodeps.txt" in dockerfile
    assert _pins("requirements.txt")["setuptools"].split(".")[0] < "81"
    # The Celery executor of the compose file, and face_recognition without dlib's sources.
    assert "apache-airflow-providers-celery" in _pins("requirements.txt")
    assert "dlib-bin" in _pins("requirements.txt")
    assert "face-recognition" in _pins("requirements-nodeps.txt")


def test_the_postgres_init_script_creates_both_databases():
    script = (REPO / "deploy" / "postgres" / "create-databases.sh").read_text()
    assert "CREATE DATABASE airflow OWNER airflow" in script
    assert "CREATE DATABASE facesort OWNER facesort" in script
