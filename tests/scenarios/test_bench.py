"""Every benchmark in bench/ runs, on a tiny input, and writes what the table needs.

These check that the benchmark scripts work (and that the speed benchmark scores both
tools against the truth correctly); they measure nothing: speed and memory targets are
checked by running the benchmarks themselves (`make bench`), never by timed tests.
"""

from __future__ import annotations

import json
import subprocess
import sys

import paths
import pytest

pytestmark = pytest.mark.slow

BENCH = paths.BENCH


def bench(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_sorting_speed_scores_both_tools_against_the_truth(tmp_path):
    out = tmp_path / "results"
    bench("sorting_speed.py", "--count", "3", "--rounds", "1", "--workdir", str(tmp_path / "w"),
          "--json", str(out / "sorting_speed.json"))  # fmt: skip
    report = json.loads((out / "sorting_speed.json").read_text())
    assert set(report["tools"]) == {"facesort", "face_recognition"}
    truth = json.loads((tmp_path / "w" / "set" / "truth.json").read_text())
    assert len(truth) == report["photos"] == 3
    for tool in report["tools"].values():
        assert tool["accuracy"]["photos"] == 3 and tool["accuracy"]["unanswered"] == 0
        assert tool["runs"][0]["cpu_s"] > 0 and tool["photos_per_s"] > 0
    # Three pictures of obama alone: both tools name him in each, nobody else.
    assert report["tools"]["face_recognition"]["accuracy"]["mistakes"] == 0
    ours = report["tools"]["facesort"]["accuracy"]
    assert ours["mistakes"] == 0 and ours["routed_to_wrong_person"] == 0


@pytest.mark.postgres
def test_the_other_benchmarks_run_and_the_report_shows_them(tmp_path, pg_server):
    out = tmp_path / "results"
    bench("hashing.py", "--mib", "3", "--rounds", "1", "--json", str(out / "hashing.json"))
    bench("rescan.py", "--files", "300", "--rescans", "1", "--json", str(out / "rescan.json"))
    bench("dag_parse.py", "--rounds", "1", "--json", str(out / "dag_parse.json"))
    bench("batch_memory.py", "--count", "2", "--small", "1", "--workdir", str(tmp_path / "m"),
          "--json", str(out / "batch_memory.json"))  # fmt: skip
    host, port, user = pg_server
    admin_url = f"postgresql+psycopg2://{user}@{host}:{port}/postgres"
    bench("immich_lookup.py", "--url", admin_url, "--json", str(out / "immich_lookup.json"))
    rescan = json.loads((out / "rescan.json").read_text())
    assert rescan["files"] == 300 and rescan["rescan_s"]
    parse = json.loads((out / "dag_parse.json").read_text())
    assert "facesort_ingest.py" in parse["files"]
    table = bench("report.py", "--results", str(out))
    for row in ("SHA-256", "rescan of 300", "DAG file parse", "peak memory", "Immich name"):
        assert row in table, table


def test_the_small_portraits_are_250_px_pictures_of_one_known_person(tmp_path):
    from PIL import Image

    sys.path.insert(0, str(BENCH))
    try:
        import photoset
    finally:
        sys.path.remove(str(BENCH))
    truth = photoset.build_portraits(tmp_path / "set", 3)
    assert len(truth) == 3
    for name, who in truth.items():
        with Image.open(tmp_path / "set" / "photos" / name) as im:
            assert im.size == (250, 250)
        assert len(who.people) == 1 and who.expected_folder() == f"library/{who.people[0]}"
    assert (tmp_path / "set" / "references" / "obama").is_dir()
