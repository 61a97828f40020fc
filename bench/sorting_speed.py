"""Photos per second and mistakes: `facesort run` vs the `face_recognition` command.

Both tools get the same photos (bench/photoset.py: pictures of the fixture people with
known truth, no near-duplicates) and the same reference photos, and both use two
processes (`facesort run --workers 2`, `face_recognition --cpus 2`). Each round runs
both, in alternating order, from a cold start (facesort: a new state database, so the
reference photos are encoded too; the command encodes its known people each time).

Mistakes are counted per photo against the truth, the same way for both tools:

- *wrong*: a person the tool says is in the photo who is not (facesort: a face it
  matched as sure; the command: any name it prints);
- *missed*: a known person in the photo the tool did not name.

facesort's routing is checked too: a photo in ``library/<person>`` of someone who is not
in it is a wrong routing; one in the review queue that belongs to one person's folder is
a missed routing (safe: the user sees it in review).

    .venv/bin/python bench/sorting_speed.py [--count 140] [--rounds 3] [--tolerance 0.6]
        [--variant fast:matching.upsample=0,matching.detect_max_side=1000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import photoset
from measure import run_measured

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).resolve().parent / "results"


def _set_value(config: dict, dotted: str, raw: str) -> None:
    import yaml

    *parents, key = dotted.split(".")
    for part in parents:
        config = config.setdefault(part, {})
    config[key] = yaml.safe_load(raw)


def parse_variant(text: str) -> tuple[str, dict]:
    """``NAME:key.path=value,key.path=value`` -> (NAME, nested settings)."""
    name, _, settings = text.partition(":")
    config: dict = {}
    for item in filter(None, settings.split(",")):
        key, _, value = item.partition("=")
        _set_value(config, key.strip(), value.strip())
    return name, config


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def run_facesort(photos: Path, work: Path, settings: dict, workers: int) -> dict:
    import yaml

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(photos / "photos", work / "staging", copy_function=shutil.copyfile)
    shutil.copytree(photos / "references", work / "references", copy_function=shutil.copyfile)
    config = _merge(
        {
            "staging_dirs": ["staging"],
            "library_dir": "library",
            "review_dir": "review",
            "references_dir": "references",
            "workers": workers,
            "scan": {"stable_seconds": 0},
        },
        settings,
    )
    (work / "facesort.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    measured = run_measured(
        [str(BIN / "facesort"), "--config", str(work / "facesort.yaml"), "run", "--json"]
    )
    if measured.returncode != 0:
        raise RuntimeError(f"facesort run failed:\n{measured.stderr[-3000:]}")
    return {"measured": measured, "outcome": facesort_outcome(work / "facesort.yaml")}


def facesort_outcome(config_path: Path) -> dict[str, dict]:
    """Per photo name: the folder facesort chose and the people it matched as sure."""
    import sqlalchemy as sa

    from facesort.config import load_config
    from facesort.state import State
    from facesort.state.models import Face, MediaFile

    config = load_config(config_path)
    state = State(config.database_url)
    outcome: dict[str, dict] = {}
    try:
        with state.session() as session:
            files = session.execute(
                sa.select(MediaFile.id, MediaFile.source_path, MediaFile.current_path)
            ).all()
            sure = session.execute(
                sa.select(Face.file_id, Face.person).where(Face.confidence == "sure")
            ).all()
    finally:
        state.dispose()
    people: dict[int, set[str]] = {}
    for file_id, person in sure:
        people.setdefault(file_id, set()).add(person)
    root = config_path.parent
    for file_id, source, current in files:
        folder = str(Path(current).parent.relative_to(root)) if current else "staging"
        outcome[Path(source).name] = {"folder": folder, "people": people.get(file_id, set())}
    return outcome


def run_command_line(photos: Path, tolerance: float, cpus: int) -> dict:
    measured = run_measured(
        [
            str(BIN / "face_recognition"),
            str(photos / "known_flat"),
            str(photos / "photos"),
            "--cpus",
            str(cpus),
            "--tolerance",
            str(tolerance),
        ]
    )
    if measured.returncode != 0:
        raise RuntimeError(f"face_recognition failed:\n{measured.stderr[-3000:]}")
    people: dict[str, set[str]] = {}
    for line in measured.stdout.splitlines():
        path, _, name = line.rpartition(",")
        if not path:
            continue
        found = people.setdefault(Path(path).name, set())
        if name not in {"unknown_person", "no_persons_found"}:
            found.add(name.split("__")[0])
    return {"measured": measured, "outcome": {n: {"people": p} for n, p in people.items()}}


def score(truth: dict[str, photoset.Truth], outcome: dict[str, dict]) -> dict:
    wrong = missed = unanswered = 0
    examples: list[str] = []
    routed_wrong = routed_to_review = 0
    for name, who in truth.items():
        got = outcome.get(name)
        if got is None:
            unanswered += 1
            missed += len(who.people)
            continue
        claimed, actual = got["people"], set(who.people)
        wrong += len(claimed - actual)
        missed += len(actual - claimed)
        if claimed != actual and len(examples) < 12:
            examples.append(f"{name}: said {sorted(claimed)}, truth {sorted(actual)}")
        folder = got.get("folder")
        if folder is not None:
            expected = who.expected_folder()
            if folder.startswith("library/") and folder.removeprefix("library/") not in actual:
                routed_wrong += 1
            elif folder != expected and expected.startswith("library/"):
                routed_to_review += 1
    result = {
        "photos": len(truth),
        "wrong_people": wrong,
        "missed_people": missed,
        "mistakes": wrong + missed,
        "unanswered": unanswered,
        "examples": examples,
    }
    if any("folder" in o for o in outcome.values()):
        result["routed_to_wrong_person"] = routed_wrong
        result["routed_to_review_instead_of_library"] = routed_to_review
    return result


def _prepare_encoder() -> str:
    """Build the ONNX copy of the face encoder once before the rounds, like installing
    a model: it is built once per machine (and model file), not once per run."""
    import time

    from facesort import encoder_onnx, faces

    folder = encoder_onnx.default_cache_dir()
    weights = faces._model_file("face_recognition_model_location")
    path = encoder_onnx.cache_path(folder, encoder_onnx._sha256(weights))
    if path.is_file():
        return f"cached in {path}"
    start = time.perf_counter()
    encoder_onnx.load_encoder(weights, str(folder), 1)
    return f"built and checked in {time.perf_counter() - start:.1f} s ({path})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, help="photos in the set (140; 80 portraits)")
    parser.add_argument(
        "--portraits",
        action="store_true",
        help="small 250x250 portraits of one person each (photoset.build_portraits)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="runs of each tool")
    parser.add_argument("--cpus", type=int, default=2, help="processes for both tools")
    parser.add_argument(
        "--tolerance", type=float, default=0.6, help="the command's --tolerance (its default)"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="also run facesort with other settings: NAME:key.path=value,...",
    )
    parser.add_argument("--workdir", type=Path, help="keep the photos and workspaces here")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.count = args.count or (80 if args.portraits else 140)
    args.json = args.json or RESULTS / (
        "sorting_speed_portraits.json" if args.portraits else "sorting_speed.json"
    )

    work = args.workdir or Path(tempfile.mkdtemp(prefix="facesort-bench-speed-"))
    try:
        photos = work / "set"
        build = photoset.build_portraits if args.portraits else photoset.build
        truth = build(photos, args.count)
        print(f"face encoder for onnxruntime: {_prepare_encoder()}", flush=True)
        tools = {"facesort": {}} | dict(parse_variant(v) for v in args.variant)
        runs: dict[str, list] = {name: [] for name in [*tools, "face_recognition"]}
        outcomes: dict[str, dict] = {}
        for round_number in range(args.rounds):
            order = [*tools, "face_recognition"]
            if round_number % 2:
                order.reverse()  # alternate, so neither tool always runs on a warmer machine
            for name in order:
                if name == "face_recognition":
                    result = run_command_line(photos, args.tolerance, args.cpus)
                else:
                    result = run_facesort(photos, work / name, tools[name], args.cpus)
                runs[name].append(result["measured"])
                outcomes[name] = result["outcome"]
                m = result["measured"]
                print(
                    f"round {round_number + 1} {name:<18} {m.wall_s:7.1f} s wall "
                    f"{m.cpu_s:7.1f} s CPU  {len(truth) / m.wall_s:5.2f} photos/s",
                    flush=True,
                )
        report = summarize(truth, runs, outcomes, tools, args)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=sorted) + "\n")
        print_report(report)
        print(f"\nresults: {args.json}")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def summarize(truth, runs, outcomes, tools, args) -> dict:
    report: dict = {
        "photos": len(truth),
        "faces": sum(t.faces for t in truth.values()),
        "rounds": args.rounds,
        "cpus": args.cpus,
        "machine_cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "tolerance": args.tolerance,
        "tools": {},
    }
    for name, measured in runs.items():
        wall = statistics.median(m.wall_s for m in measured)
        cpu = statistics.median(m.cpu_s for m in measured)
        report["tools"][name] = {
            "settings": tools.get(name, {}),
            "median_wall_s": wall,
            "median_cpu_s": cpu,
            "photos_per_s": round(len(truth) / wall, 2),
            "cpu_ms_per_photo": round(cpu / len(truth) * 1000, 1),
            "runs": [m.as_dict() for m in measured],
            "accuracy": score(truth, outcomes[name]),
        }
    base = report["tools"]["face_recognition"]
    for entry in report["tools"].values():
        entry["speedup_wall"] = round(base["median_wall_s"] / entry["median_wall_s"], 2)
        entry["speedup_cpu"] = round(base["median_cpu_s"] / entry["median_cpu_s"], 2)
    return report


def print_report(report: dict) -> None:
    print(
        f"\n{report['photos']} photos ({report['faces']} faces), {report['cpus']} processes "
        f"each, median of {report['rounds']} rounds; load average at the end "
        f"{', '.join(f'{x:.1f}' for x in report['load_average_at_end'])}"
    )
    print(
        f"{'tool':<18} {'photos/s':>8} {'wall s':>7} {'CPU ms/photo':>12} "
        f"{'x wall':>6} {'x CPU':>6} {'wrong':>5} {'missed':>6}"
    )
    for name, entry in report["tools"].items():
        acc = entry["accuracy"]
        print(
            f"{name:<18} {entry['photos_per_s']:>8.2f} {entry['median_wall_s']:>7.1f} "
            f"{entry['cpu_ms_per_photo']:>12.0f} {entry['speedup_wall']:>6.2f} "
            f"{entry['speedup_cpu']:>6.2f} {acc['wrong_people']:>5} {acc['missed_people']:>6}"
        )
    for name, entry in report["tools"].items():
        acc = entry["accuracy"]
        if "routed_to_wrong_person" in acc:
            print(
                f"{name}: routed to a wrong person's folder: {acc['routed_to_wrong_person']}; "
                f"sent to review instead of the library: "
                f"{acc['routed_to_review_instead_of_library']}"
            )
        for example in acc["examples"]:
            print(f"  {name}: {example}")


if __name__ == "__main__":
    sys.exit(main())
