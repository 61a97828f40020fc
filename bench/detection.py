"""Face detection that costs less, judged by the outcome: where each photo goes.

For every photo of the speed benchmark's set (bench/photoset.py) and of the shared face
photos (/work/shared/datasets/faces, else tests/fixtures/faces), each candidate
detection setting finds, encodes and matches the faces as a run does (references
encoded with the same setting) and routes the photo with the default policy. Reported
per candidate: detection CPU milliseconds per photo (median and mean), the photos
routed differently from today's setting (each listed, with the faces found), and
mistakes against the set's truth. The decode is done once per photo and not counted.

    .venv/bin/python bench/detection.py [--count 140] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import photoset

RESULTS = Path(__file__).resolve().parent / "results"
SHARED = Path("/work/shared/datasets/faces")
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "faces"

# Keys starting with "_" are switches of facesort.faces for the candidate: "_fitted" is
# faces.FITTED_SECOND_PASS (the quick pass's second pass on a copy fitted to the faces
# that matter, or upsampled as before), "_grey" is faces.GREY_DETECTION (HOG on the
# luma copy, or on the colour picture as before), "_top" is faces.TOP_LEVELS_ONLY (a
# second pass scans only the largest levels of its pyramid, the quick pass's faces
# completing it, or the whole pyramid as before). The first candidate is the baseline.
SWITCHES = {"_fitted": "FITTED_SECOND_PASS", "_grey": "GREY_DETECTION", "_top": "TOP_LEVELS_ONLY"}
CANDIDATES = {
    "grey, quick first, then fitted where needed, whole pyramids (until now)": {"_top": False},
    "grey, quick first, then fitted where needed, top levels (default now)": {},
    "colour, quick first, then fitted where needed (until 4 Dec)": {"_grey": False, "_top": False},
    "today's upsampled pass only (upsample 1 on 800 px), colour": {
        "quick_detect": False,
        "_grey": False,
    },
    "grey, quick first, then upsampled where needed, top levels": {"_fitted": False},
    "grey, upsample 0 on 1000 px": {"upsample": 0, "detect_max_side": 1000},
}


def _switch(faces, extra: dict) -> None:
    for key, name in SWITCHES.items():
        setattr(faces, name, extra.get(key, True))


def _photos(workdir: Path, count: int) -> list[tuple[str, Path, str | None]]:
    """(label, path, expected folder or None)."""
    out = []
    bench = workdir / "photos"
    truth = photoset.build(bench, count) if not (bench / "truth.json").exists() else None
    truth = photoset.load_truth(bench)
    for name, t in sorted(truth.items()):
        out.append((f"bench/{name}", bench / "photos" / name, t.expected_folder()))
    shared = SHARED if SHARED.is_dir() else FIXTURES
    for path in sorted(shared.glob("*/*")):
        if path.parent.name in {"incoming", "edge"} and path.suffix.lower() in {
            ".jpg",
            ".jpeg",
            ".png",
        }:
            source = photoset.SOURCES.get(f"{path.parent.name}/{path.name}")
            expected = source.expected_folder() if source else None
            out.append((f"shared/{path.parent.name}/{path.name}", path, expected))
    return out


def _references(references_dir: Path, settings, extra: dict | None = None):
    from facesort import faces
    from facesort.matching import ReferenceSet
    from facesort.media import open_image

    rows = []
    _switch(faces, extra or {})
    for path in sorted(references_dir.glob("*/*")):
        rgb = np.asarray(
            open_image(path, max_side=settings.encode_max_side, max_pixels=10**9).image
        )
        face = faces.largest_face(faces.find_faces(rgb, settings))
        if face is not None:
            rows.append((path.parent.name, f"{path.parent.name}/{path.name}", face.encoding))
    return ReferenceSet.build(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=140)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()

    from facesort import faces
    from facesort.config import MatchingSettings, PolicySettings
    from facesort.matching import match_encodings
    from facesort.media import open_image
    from facesort.policy import decide_photo

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="facesort-detection-"))
    photos = _photos(workdir, args.count)
    policy = PolicySettings()
    settings = {
        name: MatchingSettings(**{k: v for k, v in extra.items() if k not in SWITCHES})
        for name, extra in CANDIDATES.items()
    }
    references = {
        name: _references(workdir / "photos" / "references", s, CANDIDATES[name])
        for name, s in settings.items()
    }
    rows = []
    for label, path, expected in photos:
        # decoded as a run does now (faces.decode_side, 1000 px; bench/decode.py)
        side = faces.decode_side(MatchingSettings())
        rgb = np.ascontiguousarray(open_image(path, max_side=side, max_pixels=10**9).image)
        row = {"photo": label, "expected": expected}
        height, width = rgb.shape[:2]
        for name, s in settings.items():
            _switch(faces, CANDIDATES[name])
            start = time.process_time()
            boxes = faces.locate_faces(rgb, s)
            detect_ms = 1000 * (time.process_time() - start)
            encodings = faces.face_encodings(rgb, boxes, s.num_jitters, s)
            found = [
                faces.DetectedFace((left / width, top / height, right / width, bottom / height), e)
                for (top, right, bottom, left), e in zip(boxes, encodings, strict=True)
            ]
            matches = (
                match_encodings(np.vstack([f.encoding for f in found]), references[name], s)
                if found
                else []
            )
            decision = decide_photo(matches, policy, found, s)
            row[name] = {
                "detect_ms": detect_ms,
                "faces": len(boxes),
                "face_heights": [round((b - t) / max(height, width), 3) for t, _, b, _ in boxes],
                "folder": decision.folder,
                "matches": [
                    f"{m.person}:{m.confidence}:{m.distance:.2f}" if m.distance else m.confidence
                    for m in matches
                ],
            }
        rows.append(row)
    base = next(iter(CANDIDATES))
    summary = {}
    for name in CANDIDATES:
        times = [r[name]["detect_ms"] for r in rows]
        differ = [r for r in rows if r[name]["folder"] != r[base]["folder"]]
        wrong = [r for r in rows if r["expected"] and r[name]["folder"] != r["expected"]]
        summary[name] = {
            "detect_ms_median": statistics.median(times),
            "detect_ms_mean": statistics.mean(times),
            "routed_differently": [
                {
                    "photo": r["photo"],
                    "today": r[base]["folder"],
                    "now": r[name]["folder"],
                    "faces_today": r[base]["matches"],
                    "faces_now": r[name]["matches"],
                }
                for r in differ
            ],
            "not_where_expected": len(wrong),
        }
        print(
            f"{name}: detection {statistics.median(times):.0f} ms median, "
            f"{statistics.mean(times):.0f} ms mean per photo; {len(differ)} of {len(rows)} "
            f"photos routed differently from today; {len(wrong)} not where expected"
        )
        for d in summary[name]["routed_differently"]:
            print(f"    {d['photo']}: {d['today']} -> {d['now']}")
            print(f"        faces {d['faces_today']} -> {d['faces_now']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "detection.json").write_text(
        json.dumps({"summary": summary, "photos": rows}, indent=1)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
