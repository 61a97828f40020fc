"""Where things are in the repository, for the tests (one place, so moving a test file
between tests/unit, tests/scenarios and tests/support never changes a path)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
PHOTOS = FIXTURES / "faces"
DAGS = REPO / "dags"
INCLUDE = REPO / "include"
BENCH = REPO / "bench"
