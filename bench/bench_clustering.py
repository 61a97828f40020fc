"""Benchmark: clustering 50,000 unknown face encodings (issue #4: under 60 s here).

    .venv/bin/python bench/bench_clustering.py [--faces 50000] [--no-db]

What it times:

1. ``cluster``: :func:`facesort.review.clustering.cluster_faces` on the encodings
   (video tracks, then DBSCAN with the default ``review.cluster_distance`` and
   ``cluster_min_faces``), plus the stable ids against a previous night and the
   representative faces of every cluster: the in-memory work of a night;
2. ``night``: the whole nightly :func:`facesort.review.clustering.recluster` on a SQLite
   state database holding those faces (loading them, clustering, writing every face's
   cluster and the clusters), twice: the first night and a second one with 2% more
   faces (what stays stable is reported).

How the encodings are made: there are no 50,000 real unknown faces to ship, so they are
synthetic at that scale but shaped like real dlib encodings. The faces in
``tests/fixtures/faces`` are detected and encoded with facesort's own code; from the
people with several photos the bench measures the spread of one person's faces around
their mean (per dimension) and the spread of different people's means, and the mean
of all faces. It then draws identities (means around the real mean with the real
between-people spread) whose sizes follow a Zipf law (a few people in thousands of
photos, many in a handful), their faces with the real within-person spread, and 35% of
the faces from strangers seen once. It prints the median same-person and
different-person distances of the real faces next to the synthetic ones, so the
geometry can be checked, and how well the clusters match the identities (adjusted Rand
index on the faces of recurring people).

Results go to ``bench/results/clustering.json`` (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO / "tests" / "fixtures" / "faces"


def real_encodings() -> tuple[np.ndarray, np.ndarray]:
    """Encodings of the fixture faces whose person is known: (encodings, person index).

    The known/ folders name the people; a face elsewhere is given the person whose
    reference photos are nearest when that is a sure match (< 0.5), else left out.
    """
    from facesort.config import MatchingSettings
    from facesort.faces import find_faces, largest_face
    from facesort.media import UnreadableMedia, open_image

    settings = MatchingSettings()

    def faces_of(path: Path):
        try:
            image = open_image(path, max_side=settings.encode_max_side, max_pixels=10**9)
        except UnreadableMedia:
            return []
        return find_faces(np.asarray(image.image), settings)

    people = sorted(p.name for p in (PHOTOS / "known").iterdir() if p.is_dir())
    encodings, owners = [], []
    for index, person in enumerate(people):
        for path in sorted((PHOTOS / "known" / person).iterdir()):
            face = largest_face(faces_of(path))
            if face is not None:
                encodings.append(face.encoding)
                owners.append(index)
    references, reference_owners = np.array(encodings), np.array(owners)
    for folder in ("incoming", "edge"):
        for path in sorted((PHOTOS / folder).iterdir()):
            for face in faces_of(path):
                distances = np.linalg.norm(references - face.encoding, axis=1)
                if distances.min() < 0.5:
                    encodings.append(face.encoding)
                    owners.append(int(reference_owners[distances.argmin()]))
    return np.array(encodings), np.array(owners)


def median_distances(encodings: np.ndarray, owners: np.ndarray, limit: int = 3000):
    """Median distance between faces of the same person, and of different people."""
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(1)
    if len(encodings) > limit:
        keep = rng.choice(len(encodings), limit, replace=False)
        encodings, owners = encodings[keep], owners[keep]
    distances = pdist(encodings.astype(np.float64))  # pairs (i, j), i < j, row by row
    first, second = np.triu_indices(len(encodings), 1)
    same = owners[first] == owners[second]
    return float(np.median(distances[same])), float(np.median(distances[~same]))


def synthetic(real: np.ndarray, owners: np.ndarray, count: int, seed: int = 0):
    """``count`` encodings and their identity (-1: a stranger seen once)."""
    rng = np.random.default_rng(seed)
    people = [real[owners == p] for p in np.unique(owners) if (owners == p).sum() >= 2]
    within = np.sqrt(np.mean(np.concatenate([(p - p.mean(0)) ** 2 for p in people])))
    means = np.array([p.mean(0) for p in people])
    between = np.sqrt(np.mean((means - means.mean(0)) ** 2))
    centre = real.mean(0)
    recurring = int(count * 0.65)
    sizes = []
    while sum(sizes) < recurring:
        sizes.append(int(min(rng.zipf(1.7), 3000)) + 1)
    sizes[-1] -= sum(sizes) - recurring
    faces, identity = [], []
    for person, size in enumerate(s for s in sizes if s > 0):
        mean = centre + rng.normal(0, between, 128)
        faces.append(mean + rng.normal(0, within, (size, 128)))
        identity += [person] * size
    strangers = count - recurring
    faces.append(
        centre + rng.normal(0, between, (strangers, 128)) + rng.normal(0, within, (strangers, 128))
    )
    identity += [-1] * strangers
    order = rng.permutation(count)
    encodings = np.vstack(faces)[order].astype(np.float32)
    return encodings, np.array(identity)[order], float(within), float(between)


def time_cluster(encodings: np.ndarray, settings) -> tuple[float, np.ndarray, int]:
    from facesort.review.clustering import UnknownFaces, cluster_faces, representatives, stable_ids

    n = len(encodings)
    faces = UnknownFaces(
        face_ids=np.arange(1, n + 1),
        file_ids=np.arange(1, n + 1),
        encodings=encodings,
        video=np.zeros(n, dtype=bool),
        previous=np.full(n, -1),
    )
    started = time.perf_counter()
    labels = cluster_faces(
        faces, distance=settings.cluster_distance, min_faces=settings.cluster_min_faces
    )
    # A previous night that knew 98% of these faces, clustered the same way.
    previous = np.where(np.arange(n) % 50 == 0, -1, labels)
    stable_ids(labels, previous)
    clusters = 0
    for label in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == label)
        representatives(encodings[members], faces.file_ids[members], settings.cluster_shown_faces)
        clusters += 1
    return time.perf_counter() - started, labels, clusters


def time_nights(encodings: np.ndarray, config_settings) -> dict:
    """recluster() on a SQLite state with the faces as photos in review/unidentified."""
    import sqlalchemy as sa

    from facesort.config import parse_config
    from facesort.review.clustering import recluster
    from facesort.state import State
    from facesort.state.models import Face, MediaFile, utcnow

    with tempfile.TemporaryDirectory(prefix="facesort-bench-") as tmp:
        root = Path(tmp)
        config = parse_config(
            {
                "staging_dirs": [str(root / "staging")],
                "library_dir": str(root / "library"),
                "review_dir": str(root / "review"),
                "references_dir": str(root / "references"),
                "state_url": f"sqlite:///{root / 'state.db'}",
            }
        )
        state = State(config.database_url)
        first_night = int(len(encodings) * 0.98)

        def add(rows: range) -> None:
            now = utcnow()
            with state.session() as session:
                session.execute(
                    sa.insert(MediaFile),
                    [
                        {
                            "id": i + 1,
                            "source_path": f"/staging/{i}.jpg",
                            "staging_dir": "/staging",
                            "size": 1,
                            "mtime_ns": 1,
                            "kind": "image",
                            "file_type": "jpg",
                            "status": "done",
                            "place": "review",
                            "category": "unidentified",
                            "current_path": f"/review/unidentified/{i}.jpg",
                            "attempts": 1,
                            "is_original": True,
                            "discovered_at": now,
                            "updated_at": now,
                        }
                        for i in rows
                    ],
                )
                session.execute(
                    sa.insert(Face),
                    [
                        {
                            "id": i + 1,
                            "file_id": i + 1,
                            "box": [0.4, 0.3, 0.6, 0.6],
                            "encoding": encodings[i].astype("<f8").tobytes(),
                            "confidence": "unknown",
                            "source": "local",
                            "created_at": now,
                        }
                        for i in rows
                    ],
                )

        add(range(first_night))
        started = time.perf_counter()
        night1 = recluster(state, config)
        first = time.perf_counter() - started
        add(range(first_night, len(encodings)))
        started = time.perf_counter()
        night2 = recluster(state, config)
        second = time.perf_counter() - started
        state.dispose()
    return {
        "night1_seconds": round(first, 2),
        "night1": night1.as_dict(),
        "night2_seconds": round(second, 2),
        "night2": night2.as_dict(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=50_000)
    parser.add_argument("--no-db", action="store_true", help="skip the nightly run on SQLite")
    args = parser.parse_args(argv)

    from sklearn.metrics import adjusted_rand_score

    from facesort.config import ReviewSettings

    settings = ReviewSettings()
    real, owners = real_encodings()
    encodings, identity, within, between = synthetic(real, owners, args.faces)
    real_same, real_other = median_distances(real, owners)
    synth_same, synth_other = median_distances(
        encodings, np.where(identity < 0, -np.arange(len(identity)) - 1, identity)
    )
    print(
        f"real fixture faces: {len(real)}; median distance same person {real_same:.3f}, "
        f"different people {real_other:.3f}"
    )
    print(
        f"synthetic: {len(encodings)} faces; same person {synth_same:.3f}, "
        f"different people {synth_other:.3f}"
    )

    seconds, labels, clusters = time_cluster(encodings, settings)
    recurring = identity >= 0
    ari = adjusted_rand_score(identity[recurring], labels[recurring])
    print(
        f"cluster {len(encodings)} faces: {seconds:.1f} s; {clusters} clusters, "
        f"{(labels < 0).sum()} faces as noise; adjusted Rand index on recurring people {ari:.3f}"
    )
    result = {
        "faces": len(encodings),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "settings": settings.model_dump(),
        "geometry": {
            "within_sigma": round(within, 4),
            "between_sigma": round(between, 4),
            "real_median_same": round(real_same, 3),
            "real_median_different": round(real_other, 3),
            "synthetic_median_same": round(synth_same, 3),
            "synthetic_median_different": round(synth_other, 3),
        },
        "cluster_seconds": round(seconds, 2),
        "clusters": clusters,
        "noise_faces": int((labels < 0).sum()),
        "adjusted_rand_index": round(float(ari), 3),
    }
    if not args.no_db:
        result["recluster_on_sqlite"] = nights = time_nights(encodings, settings)
        print(
            f"recluster() on SQLite: night 1 ({nights['night1']['faces']} faces) "
            f"{nights['night1_seconds']} s; night 2 (+2%) {nights['night2_seconds']} s, "
            f"{nights['night2']['kept']} clusters kept their id, {nights['night2']['new']} new"
        )
    out = REPO / "bench" / "results" / "clustering.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out.relative_to(REPO)}")
    return 0 if seconds < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
