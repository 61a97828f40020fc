"""The results table (Markdown) from what the benchmarks wrote to bench/results/.

.venv/bin/python bench/report.py        (`make bench` runs every benchmark, then this)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _load(results: Path, name: str) -> dict | None:
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def rows(results: Path = RESULTS) -> list[tuple[str, str, str, str]]:
    """(benchmark, measured, target, command)."""
    table = []
    speed = _load(results, "sorting_speed")
    if speed:
        tools = speed["tools"]
        ours, theirs = tools["facesort"], tools["face_recognition"]
        acc_ours, acc_theirs = ours["accuracy"], theirs["accuracy"]
        met = ours["speedup_wall"] >= 5 and acc_ours["mistakes"] <= acc_theirs["mistakes"]
        table.append(
            (
                f"photos per second, {speed['photos']} photos, {speed['cpus']} processes each",
                f"facesort {ours['photos_per_s']}/s, face_recognition {theirs['photos_per_s']}/s:"
                f" **{ours['speedup_wall']}x** (CPU time: {ours['speedup_cpu']}x); mistakes "
                f"{acc_ours['mistakes']} vs {acc_theirs['mistakes']}",
                f">= 5x, no more mistakes: {_verdict(met)}",
                "`.venv/bin/python bench/sorting_speed.py`",
            )
        )
    hashing = _load(results, "hashing")
    if hashing:
        ratio = hashing["ratio_facesort_to_sha256sum"]
        table.append(
            (
                f"SHA-256, {hashing['mib']:.0f} MiB in {hashing['files']} files",
                f"facesort {hashing['mib_per_s']['facesort']} MiB/s, sha256sum "
                f"{hashing['mib_per_s']['sha256sum']} MiB/s: **{ratio}x**",
                f">= 0.8x: {_verdict(ratio >= 0.8)}",
                "`.venv/bin/python bench/hashing.py`",
            )
        )
    rescan = _load(results, "rescan")
    if rescan:
        table.append(
            (
                f"rescan of {rescan['files']:,} unchanged files ({rescan['state_database']})",
                f"**{rescan['best_rescan_s']} s** (first scan, registering them: "
                f"{rescan['first_scan_s']} s)",
                f"< 5 s: {_verdict(rescan['best_rescan_s'] < 5)}",
                "`.venv/bin/python bench/rescan.py`",
            )
        )
    immich = _load(results, "immich_lookup")
    if immich:
        factor = immich["query_per_file_s"] / immich["one_query_s"]
        table.append(
            (
                f"Immich name lookup, {immich['paths']:,} files",
                f"one query per batch **{immich['one_query_s']} s**, one per file "
                f"{immich['query_per_file_s']} s ({factor:.0f}x slower)",
                "batch beats per-file",
                "`.venv/bin/python bench/immich_lookup.py`",
            )
        )
    parse = _load(results, "dag_parse")
    if parse:
        slowest = max(f["slowest_s"] for f in parse["files"].values())
        files = ", ".join(f"{n} {f['slowest_s']:.3f} s" for n, f in parse["files"].items())
        table.append(
            (
                "DAG file parse time (`airflow dags report`)",
                f"slowest of {parse['rounds']}: {files}",
                f"< 0.5 s per file: {_verdict(slowest < 0.5)}",
                "`.venv/bin/python bench/dag_parse.py`",
            )
        )
    memory = _load(results, "batch_memory")
    if memory:
        big, small = memory["batches"]
        table.append(
            (
                f"peak memory, one batch of {big['photos']} photos",
                f"**{big['peak_rss_mib']:.0f} MiB** ({small['photos']} photos: "
                f"{small['peak_rss_mib']:.0f} MiB)",
                "(measured)",
                "`.venv/bin/python bench/batch_memory.py`",
            )
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    table = rows(args.results)
    if not table:
        print(f"no results in {args.results}: run `make bench`", file=sys.stderr)
        return 1
    print(f"Machine: {os.cpu_count()} CPUs\n")
    print("| benchmark | result | target | reproduce |")
    print("|---|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
