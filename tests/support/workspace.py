"""The workspace the tests sort in: ``root/{staging,library,review,references,trash}``
and ``root/facesort.yaml``, with what the tests ask of it (its files, its config and
state database, the ``facesort`` command or a DAG step run on it in a subprocess).

``conftest.make_workspace`` builds one with the sample photos; ``lifecycle.make_space``
a smaller one for the file-lifecycle tests.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import paths


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Workspace:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "facesort.yaml"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def library(self) -> Path:
        return self.root / "library"

    @property
    def review(self) -> Path:
        return self.root / "review"

    @property
    def references(self) -> Path:
        return self.root / "references"

    @property
    def trash(self) -> Path:
        return self.root / "trash"

    def config(self):
        from facesort.config import load_config

        return load_config(self.config_path)

    def state(self):
        from facesort.state import State

        return State(self.config().database_url)

    def files(self) -> dict[str, str]:
        """Every file under library/ and review/: name -> folder relative to the root."""
        found = {}
        for top in (self.library, self.review):
            if not top.exists():
                continue
            for path in top.rglob("*"):
                if path.is_file() and not path.name.startswith("."):
                    assert path.name not in found, f"{path.name} is in two places"
                    found[path.name] = str(path.parent.relative_to(self.root))
        return found

    def all_files(self) -> list[Path]:
        """Every file in staging, library, review and trash (the places files live)."""
        return sorted(
            p
            for top in (self.staging, self.library, self.review, self.trash)
            if top.exists()
            for p in top.rglob("*")
            if p.is_file() and ".thumbnails" not in p.parts
        )

    def where(self) -> dict[str, str]:
        """File name -> its folder relative to the workspace (staging and trash too)."""
        return {p.name: str(p.parent.relative_to(self.root)) for p in self.all_files()}

    def contents(self) -> Counter:
        return Counter(digest(p) for p in self.all_files())

    def facesort(
        self,
        *args: str,
        crash_at: str | None = None,
        prefix: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        """``facesort --config ... ARGS`` in a subprocess (SIGKILLed at ``crash_at``)."""
        command = [sys.executable, "-m", "facesort.cli", "--config", str(self.config_path)]
        return run_subprocess([*(prefix or []), *command, *map(str, args)], crash_at, env)

    def run(self, *extra: str, **kwargs) -> subprocess.CompletedProcess:
        """``facesort run --workers 1``, which must succeed."""
        done = self.facesort("run", "--workers", "1", *extra, **kwargs)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def task(
        self,
        module: str,
        call: str,
        *,
        dag_id: str,
        run_id: str,
        params: dict | None = None,
        crash_at: str | None = None,
    ) -> subprocess.CompletedProcess:
        """A step of a facesort DAG in a fresh process, as an Airflow worker runs it (and
        runs it again on a retry). ``call`` is a Python expression on ``step`` (the
        module ``facesort.airflow.<module>``) and ``run`` (the TaskRun of ``dag_id`` /
        ``run_id``); its JSON-able result is printed as the last line."""
        code = (
            "import json\n"
            "from facesort.airflow.step import TaskRun\n"
            f"import facesort.airflow.{module} as step\n"
            f"run = TaskRun(dag_id={dag_id!r}, run_id={run_id!r}, params={params or {}!r},"
            f" config_path={str(self.config_path)!r})\n"
            f"print(json.dumps({call}))\n"
        )
        return run_subprocess([sys.executable, "-c", code], crash_at, None)


def run_subprocess(
    command: list[str], crash_at: str | None, extra_env: dict[str, str] | None
) -> subprocess.CompletedProcess:
    """``command`` with this repository's package on the path (``FACESORT_CRASH_AT`` set
    to ``crash_at``, so that facesort SIGKILLs itself there)."""
    env = {k: v for k, v in os.environ.items() if k != "FACESORT_CRASH_AT"}
    include = str(paths.INCLUDE)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (include, env.get("PYTHONPATH")) if p)
    env.update(extra_env or {})
    if crash_at:
        env["FACESORT_CRASH_AT"] = crash_at
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
