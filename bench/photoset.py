"""A benchmark photo set with known truth, made from the bundled fixture photos.

Each source photo of ``tests/fixtures/faces`` (whose content the fixture README
describes) is turned into several *different pictures* of the same people: mirrored or
not, turned by a few degrees, laid at some offset on a larger canvas of some colour,
scaled to a download-like size (1000-4032 px on the long side: from shared pictures to
phone camera originals) and saved as a JPEG of some quality. Every face of the source
stays whole in every variant. The same count and seed always give the same set (it is
reused when OUT_DIR already holds it).

A variant is kept only when its perceptual hash is far (more than ``MIN_PHASH_BITS``
bits) from every picture already kept: the set holds no near-duplicates, so facesort
examines every photo, exactly like the face_recognition command does, and the speed
comparison is like for like. The four pillar-boxed sizes of one obama photo are one
picture, so only obama-1080p.jpg is a source.

``truth.json`` lists, for every file, the known people in it and how many faces of
people without a reference photo it holds. ``known_flat/`` holds the reference
photos as the face_recognition command wants them (one folder, ``<person>__<n>.jpg``);
``references/`` holds them as facesort wants them (``<person>/<photo>``).

    python bench/photoset.py OUT_DIR [--count 140] [--seed 6]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "faces"

# Two photos this many perceptual-hash bits apart or less would be near-duplicates to
# facesort (duplicates.near_duplicate_distance is 6 by default): keep a margin.
MIN_PHASH_BITS = 12


@dataclass(frozen=True)
class Truth:
    people: tuple[str, ...]  # known people (reference folders) in the picture
    unknown_faces: int = 0  # faces of people without reference photos

    @property
    def faces(self) -> int:
        return len(self.people) + self.unknown_faces

    def expected_folder(self) -> str:
        """Where facesort's default policy should put the picture."""
        if self.faces >= 2:
            return "review/multiple_faces"
        if self.people:
            return f"library/{self.people[0]}"
        return "review/unidentified"


# Who is in each source photo: tests/fixtures/faces/README.md.
SOURCES: dict[str, Truth] = {
    "incoming/obama1.jpg": Truth(("obama",)),
    "incoming/obama-1080p.jpg": Truth(("obama",)),
    "incoming/obama_small.jpg": Truth(("obama",)),
    "incoming/alex_lacamoire1.jpg": Truth(("alex_lacamoire",)),
    "incoming/alex-lacamoire.png": Truth(("alex_lacamoire",)),
    "incoming/johnsnow_test1.jpg": Truth(("kit_harington",)),
    "incoming/kit_with_rose.jpg": Truth(("kit_harington", "rose_leslie")),
    "incoming/two_people.jpg": Truth(("biden", "obama")),
    "incoming/obama_and_biden.jpg": Truth(("biden", "obama"), unknown_faces=1),
    "incoming/lin-manuel-miranda.png": Truth((), unknown_faces=1),
    "edge/32bit.png": Truth(("obama",)),
    "edge/obama3.jpg": Truth(("obama",)),
    "edge/obama_partial_face.jpg": Truth(("obama",)),
    "edge/obama_partial_face2.jpg": Truth(("obama",)),
}


def _load_rgb(path: Path):
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in {"RGBA", "LA", "P"}:
            rgba = im.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return im.convert("RGB")


def _variant(picture, rng: random.Random):
    """One different picture of the same faces: (image, JPEG quality, what was done)."""
    from PIL import Image, ImageOps

    colour = tuple(rng.randrange(256) for _ in range(3))
    mirrored = rng.random() < 0.5
    angle = rng.uniform(-6.0, 6.0)
    canvas_factor = rng.uniform(1.0, 1.35)
    long_side = rng.randrange(1000, 4033)
    quality = rng.randrange(80, 96)
    image = ImageOps.mirror(picture) if mirrored else picture
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=colour)
    width, height = image.size
    canvas = Image.new(
        "RGB", (math.ceil(width * canvas_factor), math.ceil(height * canvas_factor)), colour
    )
    canvas.paste(
        image,
        (rng.randrange(canvas.width - width + 1), rng.randrange(canvas.height - height + 1)),
    )
    factor = long_side / max(canvas.size)
    size = (max(1, round(canvas.width * factor)), max(1, round(canvas.height * factor)))
    final = canvas.resize(size, Image.Resampling.LANCZOS)
    how = f"mirror={mirrored} angle={angle:.1f} canvas={canvas_factor:.2f} q={quality}"
    return final, quality, how


def _phash(path: Path) -> int:
    """The perceptual hash facesort computes for the file (same decoding, same size)."""
    from facesort.config import LimitSettings, MatchingSettings
    from facesort.media import open_image, perceptual_hash

    decoded = open_image(
        path,
        max_side=MatchingSettings().encode_max_side,
        max_pixels=LimitSettings().max_image_pixels,
    )
    return int(perceptual_hash(decoded.image), 16)


def build(out: Path, count: int, seed: int = 6) -> dict[str, Truth]:
    """Write ``count`` photos to OUT/photos, the references, and OUT/truth.json."""
    params = {"count": count, "seed": seed, "min_phash_bits": MIN_PHASH_BITS, "version": 1}
    if (out / "params.json").exists() and json.loads((out / "params.json").read_text()) == params:
        return load_truth(out)  # made before with the same parameters: the same set
    rng = random.Random(seed)
    photos = out / "photos"
    if out.exists():
        shutil.rmtree(out)
    photos.mkdir(parents=True)
    _copy_references(out)
    sources = list(SOURCES.items())
    truth: dict[str, Truth] = {}
    hashes: list[int] = []
    made = 0
    attempts = 0
    while made < count:
        attempts += 1
        if attempts > count * 20:
            raise RuntimeError(f"could only make {made} distinct pictures out of {count}")
        source, who = sources[made % len(sources)]
        picture = _load_rgb(FIXTURES / source)
        image, quality, _ = _variant(picture, rng)
        name = f"{made:04d}-{Path(source).stem}.jpg"
        target = photos / name
        image.save(target, "JPEG", quality=quality)
        phash = _phash(target)
        if any(bin(phash ^ other).count("1") <= MIN_PHASH_BITS for other in hashes):
            target.unlink()  # too close to a picture already in the set: draw again
            continue
        hashes.append(phash)
        truth[name] = who
        made += 1
    (out / "truth.json").write_text(
        json.dumps({name: asdict(t) for name, t in truth.items()}, indent=1) + "\n"
    )
    (out / "params.json").write_text(json.dumps(params) + "\n")
    return truth


# One-person sources for the small portraits (a face large enough to crop around).
PORTRAIT_SOURCES = [
    name
    for name, who in SOURCES.items()
    if who.faces == 1 and name not in {"incoming/obama_small.jpg", "edge/32bit.png"}
]
PORTRAIT_SIDE = 250


def _face_box(picture) -> tuple[float, float, float, float]:
    """The largest face of a picture as pixels (left, top, right, bottom)."""
    import numpy as np

    from facesort import faces
    from facesort.config import MatchingSettings

    rgb = np.asarray(picture)
    found = faces.largest_face(faces.find_faces(rgb, MatchingSettings()))
    if found is None:
        raise RuntimeError("no face in a portrait source")
    left, top, right, bottom = found.box
    width, height = picture.size
    return left * width, top * height, right * width, bottom * height


def _portrait(picture, box, rng: random.Random):
    """A small news-style portrait: a square around the face (about 2.2 times its
    height, off centre by a little), turned by a few degrees, 250x250 px."""
    from PIL import Image, ImageOps

    left, top, right, bottom = box
    side = (bottom - top) * rng.uniform(2.0, 2.6)
    cx = (left + right) / 2 + rng.uniform(-0.1, 0.1) * side
    cy = (top + bottom) / 2 + rng.uniform(-0.05, 0.1) * side
    image = ImageOps.mirror(picture) if rng.random() < 0.5 else picture
    if image is not picture:
        cx = picture.width - cx
    angle = rng.uniform(-6.0, 6.0)
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, center=(cx, cy))
    crop = image.crop((round(cx - side / 2), round(cy - side / 2),
                       round(cx + side / 2), round(cy + side / 2)))  # fmt: skip
    final = crop.resize((PORTRAIT_SIDE, PORTRAIT_SIDE), Image.Resampling.LANCZOS)
    return final, rng.randrange(80, 96)


def build_portraits(out: Path, count: int, seed: int = 6) -> dict[str, Truth]:
    """Like :func:`build`, but ``count`` small (250x250) portraits of one person each,
    like the news portraits of the issue: where the fixed costs of a photo weigh most."""
    params = {"count": count, "seed": seed, "portraits": PORTRAIT_SIDE, "version": 1}
    if (out / "params.json").exists() and json.loads((out / "params.json").read_text()) == params:
        return load_truth(out)
    rng = random.Random(seed)
    photos = out / "photos"
    if out.exists():
        shutil.rmtree(out)
    photos.mkdir(parents=True)
    _copy_references(out)
    sources = [(name, _load_rgb(FIXTURES / name)) for name in PORTRAIT_SOURCES]
    boxes = [_face_box(picture) for _, picture in sources]
    truth: dict[str, Truth] = {}
    hashes: list[int] = []
    attempts = 0
    while len(truth) < count:
        attempts += 1
        if attempts > count * 20:
            raise RuntimeError(f"could only make {len(truth)} distinct portraits of {count}")
        index = len(truth) % len(sources)
        source, picture = sources[index]
        image, quality = _portrait(picture, boxes[index], rng)
        name = f"{len(truth):04d}-{Path(source).stem}.jpg"
        target = photos / name
        image.save(target, "JPEG", quality=quality)
        phash = _phash(target)
        if any(bin(phash ^ other).count("1") <= MIN_PHASH_BITS for other in hashes):
            target.unlink()
            continue
        hashes.append(phash)
        truth[name] = SOURCES[source]
    (out / "truth.json").write_text(
        json.dumps({name: asdict(t) for name, t in truth.items()}, indent=1) + "\n"
    )
    (out / "params.json").write_text(json.dumps(params) + "\n")
    return truth


def _copy_references(out: Path) -> None:
    known = FIXTURES / "known"
    references = out / "references"
    flat = out / "known_flat"
    flat.mkdir(parents=True)
    shutil.copytree(known, references, copy_function=shutil.copyfile)
    for person in sorted(p for p in known.iterdir() if p.is_dir()):
        for index, photo in enumerate(sorted(person.iterdir())):
            shutil.copyfile(photo, flat / f"{person.name}__{index}{photo.suffix.lower()}")


def load_truth(out: Path) -> dict[str, Truth]:
    raw = json.loads((out / "truth.json").read_text())
    return {name: Truth(tuple(t["people"]), t["unknown_faces"]) for name, t in raw.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=140)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    truth = build(args.out, args.count, args.seed)
    print(f"{len(truth)} photos in {args.out / 'photos'}, truth in {args.out / 'truth.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
