"""Where the time of a run goes: `facesort run --workers 1` under cProfile, by step.

Sorts the speed benchmark's photos (bench/photoset.py) in one process, cold (a new
state database, the reference photos encoded too), under cProfile (CPU time, its overhead
included), and prints the milliseconds a photo of each step: the cumulative time of
the functions that do it. "bookkeeping" is everything of the run that is not one of
the steps above it (hashing, the database, the batch's claims and leases, the scan).

    .venv/bin/python bench/profile_run.py [--count 140] [--workdir DIR] [--photos DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import photoset

RESULTS = Path(__file__).resolve().parent / "results"

# step -> [(module file ending, function name)]: their cumulative times added up (none
# of a step's functions calls another)
STEPS = {
    "decode (JPEG draft) and reduce": [("facesort/media.py", "open_image")],
    "face detection (HOG passes)": [
        ("facesort/faces.py", "face_locations"),  # one pass (no quick pass, the CNN)
        ("facesort/hog.py", "scored_faces"),  # the quick pass and the second passes
    ],
    "the grey copy and the copies for second passes": [
        ("facesort/faces.py", "detection_copy"),
        ("facesort/faces.py", "_resized"),
        ("facesort/faces.py", "_scaled"),
    ],
    "landmarks, chips and encoding": [("facesort/faces.py", "face_encodings")],
    "perceptual hash": [("facesort/media.py", "perceptual_hash")],
    "SHA-256": [("facesort/files/hashing.py", "sha256_file")],
    "duplicate check (exact, near)": [
        ("facesort/dedupe.py", "find_exact"),
        ("facesort/dedupe.py", "keep_or_find"),
    ],
    "journaled move (plan, link, fsyncs, finalize)": [("facesort/files/journal.py", "transfer")],
    "  of which fsync of folders": [("facesort/files/journal.py", "fsync_dir")],
    "face rows": [("facesort/sorting/route.py", "store_faces")],
    "  reference photos (once; in the rows above)": [("facesort/references.py", "load")],
}


def _cumulative(stats: pstats.Stats, where: str, name: str) -> float:
    total = 0.0
    for (path, _, function), (_, _, _, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and path.endswith(where):
            total += cumtime
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=140)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--photos", type=Path, help="a photo set made by photoset.py")
    parser.add_argument("--set", action="append", default=[], help="matching.KEY=VALUE")
    args = parser.parse_args()
    import yaml

    from facesort import cli

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="facesort-profile-"))
    photos = args.photos or workdir / "set"
    if not (photos / "truth.json").exists():
        photoset.build(photos, args.count)
    work = workdir / "run"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(photos / "photos", work / "staging", copy_function=shutil.copyfile)
    shutil.copytree(photos / "references", work / "references", copy_function=shutil.copyfile)
    matching = {}
    for item in args.set:
        key, _, value = item.partition("=")
        matching[key.removeprefix("matching.")] = yaml.safe_load(value)
    config = {
        "staging_dirs": ["staging"],
        "library_dir": "library",
        "review_dir": "review",
        "references_dir": "references",
        "workers": 1,
        "scan": {"stable_seconds": 0},
        "matching": matching,
    }
    (work / "facesort.yaml").write_text(yaml.safe_dump(config))
    count = len(list((work / "staging").iterdir()))
    # CPU time, not wall time: the development machine is shared, the load varies
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        cli.main(["--config", str(work / "facesort.yaml"), "run", "--json"])
    except SystemExit:
        pass
    profiler.disable()
    RESULTS.mkdir(exist_ok=True)
    profiler.dump_stats(RESULTS / "profile_run.prof")  # for pstats: sort_stats("cumulative")
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]  # tottime
    rows = {}
    for step, functions in STEPS.items():
        rows[step] = 1000 * sum(_cumulative(stats, w, n) for w, n in functions) / count
    counted = sum(ms for step, ms in rows.items() if not step.startswith(" "))
    rows["bookkeeping and the rest"] = 1000 * total / count - counted
    rows["total"] = 1000 * total / count
    print(f"{count} photos, one process, under cProfile: {total:.1f} s of CPU")
    for step, ms in rows.items():
        print(f"| {step} | {ms:.0f} |")
    (RESULTS / "profile_run.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
