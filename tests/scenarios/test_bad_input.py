"""Bad input and a hostile filesystem: every file ends in review/unreadable or stays in
staging with a logged reason; the run succeeds and no other file is affected.

The corpus is generated here from the bundled photos: empty and truncated files, a
lying extension, a decompression bomb, 16-bit, CMYK and animated images, a HEIC, a
corrupt video and one without frames, names that are not UTF-8 or very long, a symbolic
link out of staging. Destinations that are full or read-only are real filesystems
(tmpfs mounts), not simulations, where this machine allows mounting.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from facesort.sorting.run import run_once
from facesort.state import State
from facesort.state.models import Event, MediaFile

pytestmark = pytest.mark.slow

NON_UTF8 = os.fsdecode(b"caf\xe9 \xff.jpg")
LONG = "x" * 240 + ".jpg"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_corpus(staging: Path, photos: Path, outside: Path) -> dict[str, str]:
    """Write the corpus; returns file name -> where it must end up."""
    incoming, edge = photos / "incoming", photos / "edge"

    def take(source: Path, name: str) -> Path:
        target = staging / name
        shutil.copyfile(source, target)
        return target

    (staging / "zero.jpg").write_bytes(b"")
    for source, name in [
        (edge / "obama3.jpg", "truncated.jpg"),
        (incoming / "alex-lacamoire.png", "truncated.png"),
    ]:
        data = source.read_bytes()
        (staging / name).write_bytes(data[: len(data) // 3])
    import pillow_heif

    pillow_heif.register_heif_opener()
    with Image.open(incoming / "alex_lacamoire1.jpg") as im:
        im.save(staging / "phone.heic", format="HEIF", quality=70)
    data = (staging / "phone.heic").read_bytes()
    (staging / "truncated.heic").write_bytes(data[: len(data) // 2])
    take(incoming / "alex-lacamoire.png", "png_named.jpg")  # the extension lies
    Image.new("1", (60000, 60000)).save(staging / "bomb.png")
    with Image.open(incoming / "johnsnow_test1.jpg") as im:
        grey = np.asarray(im.convert("L"), dtype=np.uint16) * 257
        Image.fromarray(grey).save(staging / "grey16.png")
    with Image.open(edge / "obama3.jpg") as im:
        im.convert("CMYK").save(staging / "cmyk.jpg")
    with Image.open(incoming / "obama_small.jpg") as im:
        frames = [im, im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
        frames[0].save(staging / "animated.gif", save_all=True, append_images=frames[1:])
    video = (photos / "video" / "short_hamilton_clip.mp4").read_bytes()
    (staging / "corrupt.mp4").write_bytes(video[:2048] + bytes(8192))
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1",
         str(staging / "no_frames.mp4")],
        check=True,
    )  # fmt: skip
    take(edge / "obama_partial_face.jpg", NON_UTF8)
    take(edge / "obama_partial_face2.jpg", LONG)
    shutil.copyfile(incoming / "obama1.jpg", outside)
    (staging / "link.jpg").symlink_to(outside)
    (staging / "release.nfo").write_text("not media")
    take(incoming / "two_people.jpg", "two_people.jpg")  # a well-behaved neighbour
    return {
        "zero.jpg": "review/unreadable",
        "truncated.jpg": "review/unreadable",
        "truncated.png": "review/unreadable",
        "truncated.heic": "review/unreadable",
        "bomb.png": "review/unreadable",
        "corrupt.mp4": "review/unreadable",
        "no_frames.mp4": "review/unreadable",
        "phone.heic": "library/alex_lacamoire",
        "png_named.jpg": "library/alex_lacamoire",
        "grey16.png": "library/kit_harington",
        "cmyk.jpg": "library/obama",
        "animated.gif": "library/obama",
        NON_UTF8: "library/obama",
        LONG: "library/obama",
        "two_people.jpg": "review/multiple_faces",
        "link.jpg": "staging",
        "release.nfo": "staging",
    }


def where(ws, name: str, digest: str | None) -> str:
    """Where the staged file of that name is now, found by its content (sorted files may
    get a shorter or safer name)."""
    if (ws.staging / name).exists() or (ws.staging / name).is_symlink():
        return "staging"
    found = [
        p for top in (ws.library, ws.review) for p in top.rglob("*")
        if p.is_file() and _digest(p) == digest
    ]  # fmt: skip
    assert len(found) <= 1, found
    return str(found[0].parent.relative_to(ws.root)) if found else "missing"


def test_bad_input_corpus(make_workspace, photos, tmp_path):
    ws = make_workspace(stage=(), extras=False)
    outside = tmp_path / "outside.jpg"
    expected = build_corpus(ws.staging, photos, outside)
    digests = {p.name: _digest(p) for p in ws.staging.iterdir() if not p.is_symlink()}
    before = Counter(digests.values())

    summary = run_once(ws.config(), workers=1)

    assert {name: where(ws, name, digests.get(name)) for name in expected} == expected
    sorted_names = [os.fsencode(p.name) for p in ws.library.rglob("*") if p.is_file()]
    assert max(len(n) for n in sorted_names) <= 240  # the long name was shortened
    assert all(n.decode("utf-8") for n in sorted_names)  # and every name is UTF-8 now
    # Nothing lost, nothing doubled; the link's target outside staging is untouched.
    after = Counter(
        _digest(p) for top in (ws.staging, ws.library, ws.review)
        for p in top.rglob("*") if p.is_file() and not p.is_symlink()
    )  # fmt: skip
    assert after == before
    assert outside.exists()
    assert len(summary.results) == len(expected) - 2  # the link and the .nfo were not taken
    reasons = {os.path.basename(r.source): r.summary for r in summary.results}
    assert "empty" in reasons["zero.jpg"]
    assert "truncated" in reasons["truncated.jpg"]
    assert "decompression bomb" in reasons["bomb.png"]
    assert "no video stream" in reasons["no_frames.mp4"]
    assert "symbolic link" in " ".join(summary.scan.notes) or summary.scan.ignored == 2


@pytest.fixture
def mount_tmpfs():
    """Mount a small tmpfs (skips where this machine does not allow mounting)."""
    mounted: list[Path] = []

    def mount(path: Path, size: str, readonly: bool = False) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True, check=False,
        )  # fmt: skip
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(path)
        if readonly:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def test_full_and_read_only_destinations_leave_files_in_staging(
    make_workspace, photos, mount_tmpfs
):
    ws = make_workspace(stage=("incoming",), extras=False)
    before = Counter(_digest(p) for p in ws.staging.iterdir())
    mount_tmpfs(ws.library, "8k")  # far too small for any photo
    mount_tmpfs(ws.review, "1m", readonly=True)

    summary = run_once(ws.config(), workers=1)

    assert {r.folder for r in summary.results} == {"staging"}
    assert sorted(p.name for p in ws.staging.iterdir()) == sorted(
        p.name for p in (photos / "incoming").iterdir()
    )
    assert not [p for p in ws.library.rglob("*") if p.is_file()]  # no partial copies
    state = State(ws.config().database_url)
    with state.session() as session:
        reasons = [e.reason["summary"] for e in session.scalars(
            sa.select(Event).where(Event.action == "failed"))]  # fmt: skip
        attempts = set(session.scalars(sa.select(MediaFile.attempts)))
    assert any("No space left on device" in r for r in reasons), reasons
    assert any("Read-only file system" in r for r in reasons), reasons
    assert attempts == {0}  # the files are not at fault

    # Space and write access come back: the next run sorts everything.
    subprocess.run(["umount", str(ws.review)], check=True)
    subprocess.run(["umount", str(ws.library)], check=True)
    run_once(ws.config(), workers=1)
    assert not list(ws.staging.iterdir())
    assert ws.files()["obama1.jpg"] == "library/obama"
    after = Counter(_digest(p) for p in ws.all_files())
    assert after == before
    state.dispose()
