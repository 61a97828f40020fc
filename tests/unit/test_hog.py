"""dlib's HOG detector from its saved copy, limited to the top levels of its pyramid, and
the faces of a quick and a second pass merged (facesort.hog, faces._detect_on)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facesort import faces, hog
from facesort.config import MatchingSettings
from facesort.media import open_image


def _grey(path, long_side: int) -> np.ndarray:
    picture = Image.open(path).convert("L")
    scale = long_side / max(picture.size)
    size = (round(picture.width * scale), round(picture.height * scale))
    return np.asarray(picture.resize(size, Image.Resampling.BILINEAR))


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for cached in (hog.detector_bytes, hog.frontal_detector, hog.top_levels_detector):
        cached.cache_clear()
    yield tmp_path / "facesort"
    for cached in (hog.detector_bytes, hog.frontal_detector, hog.top_levels_detector):
        cached.cache_clear()


def test_the_saved_detector_is_dlibs_own(photos, fresh_cache):
    import dlib

    built = dlib.get_frontal_face_detector()
    saved = hog.frontal_detector()  # built and saved into the (empty) cache folder
    [copy] = list(fresh_cache.glob("dlib-*-frontal_face_detector.svm"))
    assert [p.name for p in fresh_cache.iterdir()] == [copy.name]  # no temporary left
    hog.detector_bytes.cache_clear()
    hog.frontal_detector.cache_clear()
    loaded = hog.frontal_detector()  # read back from the file
    assert hog.detector_bytes() == copy.read_bytes()
    for name in (
        "incoming/two_people.jpg",
        "incoming/obama_and_biden.jpg",
        "known/obama/obama.jpg",
    ):
        image = _grey(photos / name, 1000)
        expected = hog.scored_faces(built, image, 1)
        assert expected, name
        assert hog.scored_faces(saved, image, 1) == expected, name
        assert hog.scored_faces(loaded, image, 1) == expected, name


def test_a_damaged_saved_copy_is_built_again(photos, fresh_cache):
    fresh_cache.mkdir(parents=True)
    hog.frontal_detector()
    [copy] = list(fresh_cache.glob("*.svm"))
    copy.write_bytes(copy.read_bytes()[:50_000])  # cut short
    hog.detector_bytes.cache_clear()
    hog.frontal_detector.cache_clear()
    image = _grey(photos / "incoming/two_people.jpg", 1000)
    assert len(hog.scored_faces(hog.frontal_detector(), image, 0)) == 2
    assert copy.stat().st_size > 100_000  # saved anew


def test_a_cache_folder_that_cannot_be_made_only_costs_time(photos, tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_folder))  # .../file/facesort: no mkdir
    for cached in (hog.detector_bytes, hog.frontal_detector, hog.top_levels_detector):
        cached.cache_clear()
    try:
        image = _grey(photos / "incoming/two_people.jpg", 1000)
        assert len(hog.scored_faces(hog.frontal_detector(), image, 0)) == 2
        assert hog.top_levels_detector(2) is not None
    finally:
        for cached in (hog.detector_bytes, hog.frontal_detector, hog.top_levels_detector):
            cached.cache_clear()
    assert list(tmp_path.iterdir()) == [not_a_folder]


def test_top_levels_find_only_faces_near_the_window_size(photos):
    """Two levels of the pyramid find a face about as large as the 80 px window, and not
    the same face four times larger, which the whole pyramid finds."""
    full = faces._detector("hog")
    top = hog.top_levels_detector(2)
    assert top is not None
    portrait = photos / "known/obama/obama.jpg"
    [(_, (t, _, b, _))] = hog.scored_faces(full, _grey(portrait, 1000), 0)
    near_window = _grey(portrait, round(1000 * 85 / (b - t)))  # the face ~85 px high
    four_times = _grey(portrait, round(1000 * 340 / (b - t)))
    assert len(hog.scored_faces(full, near_window, 0)) == 1
    assert len(hog.scored_faces(top, near_window, 0)) == 1
    assert len(hog.scored_faces(full, four_times, 0)) == 1
    assert hog.scored_faces(top, four_times, 0) == []
    assert [hog.top_levels(scale) for scale in (1.0, 1.1, 1.2, 1.6)] == [1, 1, 2, 3]


def test_merged_keeps_each_face_once_most_confident_first():
    second = [(1.5, (100, 300, 200, 200)), (0.2, (400, 120, 450, 70))]
    quick = [
        (2.0, (50, 150, 100, 100)),  # the first face again (x2): found by both
        (0.9, (10, 50, 60, 0)),  # a large face only the quick pass sees
    ]
    assert hog.merged(second, quick, 2.0, (1000, 1000)) == [
        (100, 300, 200, 200),
        (20, 100, 120, 0),
        (400, 120, 450, 70),
    ]


def test_the_second_pass_on_top_levels_finds_what_the_whole_pyramid_does(photos, monkeypatch):
    """On every photo, each face the whole pyramid finds is found by the top levels and
    the quick pass's faces, at nearly the same box; the group photos keep their people."""
    settings = MatchingSettings()
    second_passes = []
    second_pass = faces._second_pass
    monkeypatch.setattr(
        faces, "_second_pass", lambda *a, **k: second_passes.append(1) or second_pass(*a, **k)
    )
    counts = {}
    for path in sorted((photos / "incoming").iterdir()):
        decoded = open_image(  # as a run decodes it
            path, max_side=faces.decode_side(settings), max_pixels=10**8, exact=False
        )
        rgb = np.asarray(decoded.image)
        found = {}
        for top in (False, True):
            monkeypatch.setattr(faces, "TOP_LEVELS_ONLY", top)
            found[top] = faces.locate_faces(rgb, settings)
        for box in found[False]:
            assert max(hog.overlap(box, other) for other in found[True]) > 0.5, path.name
        counts[path.name] = (len(found[False]), len(found[True]))
    assert len(second_passes) >= 2 * 5  # five photos or more needed a second pass
    assert counts["obama_and_biden.jpg"][1] == 3  # obama, biden and a third person
    assert counts["two_people.jpg"][1] == 2 and counts["kit_with_rose.jpg"][1] == 2
