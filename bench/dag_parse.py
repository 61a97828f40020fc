"""DAG file parse time, as Airflow measures it: `airflow dags report`.

A throw-away AIRFLOW_HOME with SQLite metadata (migrated once), this repository's
dags/ folder, and the environment of the compose deployment's containers
(FACESORT_CONFIG naming deploy/facesort.yaml, which the DAG file reads at parse time).
The report is taken ``--rounds`` times; the slowest parse of each file is reported
against the target of 0.5 s.

    .venv/bin/python bench/dag_parse.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
AIRFLOW = str(Path(sys.executable).parent / "airflow")


def _seconds(text: str) -> float:
    hours, minutes, seconds = text.split(":")
    return timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds)).total_seconds()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=RESULTS / "dag_parse.json")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="facesort-bench-airflow-"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        FACESORT_CONFIG=str(REPO / "deploy" / "facesort.yaml"),
        FACESORT_STATE_URL="postgresql+psycopg2://facesort@postgres/facesort",
    )
    try:
        subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, check=True)
        per_file: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            out = subprocess.run(
                [AIRFLOW, "dags", "report", "-o", "json"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            # Airflow may log warnings to stdout before the report (a JSON list).
            report_line = next(line for line in out.splitlines() if line.startswith("[{"))
            rows = json.loads(report_line)
            for row in rows:
                per_file.setdefault(row["file"], []).append(_seconds(row["duration"]))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    report = {
        "rounds": args.rounds,
        "machine_cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "files": {
            name: {"seconds": times, "slowest_s": max(times)} for name, times in per_file.items()
        },
        "target_s": 0.5,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    for name, entry in report["files"].items():
        print(f"{name}: slowest parse {entry['slowest_s']:.3f} s of {args.rounds} (target < 0.5 s)")
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
