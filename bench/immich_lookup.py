"""Immich name lookup for 10,000 files: one query per batch vs one query per file.

Creates a throw-away database on a PostgreSQL server, fills it with 10,000 Immich
assets (v1.136+ schema, one face each, as tests/unit/test_immich_database.py does), and
times facesort's reader both ways. Reproduce with:

    .venv/bin/python bench/immich_lookup.py [--url postgresql://postgres@127.0.0.1:5432/postgres]

The timings are also written to bench/results/immich_lookup.json (``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "unit"))

from test_immich_database import LIBRARY, N, fill, path

from facesort.immich.database import ImmichDatabase


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--json", type=Path, default=Path(__file__).resolve().parent / "results/immich_lookup.json"
    )
    args = parser.parse_args()
    admin = sa.create_engine(args.url, isolation_level="AUTOCOMMIT")
    name = f"facesort_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(args.url).set(database=name).render_as_string(hide_password=False)
    try:
        fill(url, "v1.136+")
        paths = [path(i) for i in range(N)]
        database = ImmichDatabase(url)
        print(f"schema: {database.schema.generation}")  # detected once, outside the timings
        start = time.perf_counter()
        batch = database.assets_for_paths(paths, [LIBRARY])
        one_query = time.perf_counter() - start
        start = time.perf_counter()
        per_file = {}
        for p in paths:
            per_file.update(database.assets_for_paths([p], [LIBRARY]))
        per_file_s = time.perf_counter() - start
        database.dispose()
        assert batch.keys() == per_file.keys()
        print(f"{N} paths, {len(batch)} assets found")
        print(f"one query for the batch: {one_query:.3f} s")
        print(f"one query per file:      {per_file_s:.3f} s ({per_file_s / one_query:.0f}x)")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "paths": N,
            "assets_found": len(batch),
            "one_query_s": round(one_query, 3),
            "query_per_file_s": round(per_file_s, 3),
            "machine_cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        }
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
