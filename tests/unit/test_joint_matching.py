"""One person at most once per photo, and strangers in the background, on real faces.

The photos are the fixture photos, and pictures made of them: a face of one fixture
photo pasted beside another (the faces stay real faces, found and encoded as in a run).
"""

from __future__ import annotations

import numpy as np
import paths
import pytest
from PIL import Image

from facesort import faces
from facesort.config import MatchingSettings, PolicySettings
from facesort.matching import FaceMatch, ReferenceSet, assign_people, match_encodings
from facesort.media import open_image
from facesort.policy import decide_photo

FIXTURES = paths.PHOTOS
SETTINGS = MatchingSettings()
POLICY = PolicySettings()


def _rgb(name: str) -> np.ndarray:
    return np.asarray(open_image(FIXTURES / name, max_side=1600, max_pixels=10**9).image)


@pytest.fixture(scope="module")
def references() -> ReferenceSet:
    rows = []
    for path in sorted((FIXTURES / "known").rglob("*.*")):
        face = faces.largest_face(faces.find_faces(_rgb(str(path.relative_to(FIXTURES))), SETTINGS))
        rows.append((path.parent.name, f"{path.parent.name}/{path.name}", face.encoding))
    return ReferenceSet.build(rows)


def _face_crop(name: str) -> Image.Image:
    """The photo's largest face with some of its surroundings."""
    rgb = _rgb(name)
    (face,) = faces.find_faces(rgb, SETTINGS)
    height, width = rgb.shape[:2]
    left, top, right, bottom = face.box
    pad_x, pad_y = (right - left) * 0.6, (bottom - top) * 0.6
    box = (
        max(0, (left - pad_x) * width),
        max(0, (top - pad_y) * height),
        min(width, (right + pad_x) * width),
        min(height, (bottom + pad_y) * height),
    )
    return Image.fromarray(rgb).crop(tuple(round(v) for v in box))


def _beside(main: str, other: str, scale: float, at: tuple[float, float]) -> np.ndarray:
    """``main``'s face on a canvas, ``other``'s face (``scale`` times as high) with its
    top left corner at ``at`` (fractions of the canvas)."""
    canvas = Image.new("RGB", (1600, 1000), (96, 112, 120))
    first = _face_crop(main)
    first = first.resize((round(first.width * 500 / first.height), 500))
    canvas.paste(first, (300, 250))
    second = _face_crop(other)
    height = round(500 * scale)
    second = second.resize((round(second.width * height / second.height), height))
    canvas.paste(second, (round(at[0] * canvas.width), round(at[1] * canvas.height)))
    return np.asarray(canvas)


def _decide(
    rgb: np.ndarray,
    references: ReferenceSet,
    policy: PolicySettings = POLICY,
    settings: MatchingSettings = SETTINGS,
):
    found = faces.find_faces(rgb, settings)
    matches = match_encodings(np.vstack([f.encoding for f in found]), references, settings)
    return found, matches, decide_photo(matches, policy, found, settings)


@pytest.mark.parametrize("photo", ["kit_with_rose.jpg", "two_people.jpg", "obama_and_biden.jpg"])
def test_group_photos_still_go_to_review(references, photo):
    found, _, decision = _decide(_rgb(f"incoming/{photo}"), references)
    assert len(found) >= 2
    assert decision.folder == "review/multiple_faces"


def test_a_small_stranger_beside_a_sure_match_is_left_out(references):
    rgb = _beside("incoming/obama1.jpg", "incoming/lin-manuel-miranda.png", 0.4, (0.72, 0.55))
    found, matches, decision = _decide(rgb, references)
    assert len(found) == 2
    assert decision.folder == "library/obama" and decision.people == ("obama",)
    assert decision.rule == "sure_match_background_faces"
    (stranger,) = decision.details["left_out"]
    assert matches[stranger].confidence == "unknown"
    assert f"face {stranger + 1}" in decision.summary and "of the height" in decision.summary


def test_a_stranger_cut_by_the_border_is_left_out(references):
    rgb = _beside("incoming/obama1.jpg", "incoming/lin-manuel-miranda.png", 0.9, (0.8, 0.3))
    found, _, decision = _decide(rgb, references)
    assert len(found) == 2
    assert decision.folder == "library/obama"
    assert "cut by the picture's border" in decision.summary


def test_an_unknown_face_of_similar_size_still_goes_to_review(references):
    rgb = _beside("incoming/obama1.jpg", "incoming/lin-manuel-miranda.png", 0.9, (0.6, 0.2))
    found, matches, decision = _decide(rgb, references)
    assert len(found) == 2 and "unknown" in {m.confidence for m in matches}
    assert decision.folder == "review/multiple_faces"
    # and without the sizes (or with the rule off) a small stranger counts as a face too
    small = _beside("incoming/obama1.jpg", "incoming/lin-manuel-miranda.png", 0.4, (0.72, 0.55))
    found = faces.find_faces(small, SETTINGS)
    matches = match_encodings(np.vstack([f.encoding for f in found]), references, SETTINGS)
    assert decide_photo(matches, POLICY).folder == "review/multiple_faces"
    off = MatchingSettings(background_face_ratio=0)
    assert decide_photo(matches, POLICY, found, off).folder == "review/multiple_faces"


def test_a_known_person_beside_a_sure_match_is_not_a_stranger(references):
    rgb = _beside("incoming/obama1.jpg", "known/biden/biden.jpg", 0.4, (0.72, 0.55))
    # the upsampled pass: a face this small is under what the quick pass sees, and the
    # quick pass does not look again beside a face more than twice its size
    # (docs/matching.md)
    full = MatchingSettings(quick_detect=False)
    _, matches, decision = _decide(rgb, references, settings=full)
    assert sorted(m.person for m in matches if m.confidence == "sure") == ["biden", "obama"]
    assert decision.folder == "review/multiple_faces"


def test_one_person_is_in_a_photo_at_most_once(references):
    rgb = _beside("incoming/obama1.jpg", "edge/obama3.jpg", 0.9, (0.6, 0.2))
    found = faces.find_faces(rgb, SETTINGS)
    face_by_face = match_encodings(np.vstack([f.encoding for f in found]), references, SETTINGS)
    assert [m.sure_person for m in face_by_face] == ["obama", "obama"]
    joint = assign_people(face_by_face)
    nearer = min(range(2), key=lambda i: face_by_face[i].distance)
    # the nearer face keeps obama (its margin now to the next person still free)
    assert joint[nearer].sure_person == "obama"
    assert joint[nearer].distance == face_by_face[nearer].distance
    other = joint[1 - nearer]
    assert other.person != "obama" and other.confidence != "sure"
    assert other.instead_of == "obama"
    assert other.instead_of_distance == face_by_face[1 - nearer].distance
    # it was judged against its next person
    assert other.person == face_by_face[1 - nearer].runner_up
    assert "another face of this photo" in other.describe()
    # a copy for each known person: not two copies for obama
    each = PolicySettings(multiple_faces="each_person")
    decision = decide_photo(face_by_face, each, found, SETTINGS)
    assert decision.folder == "review/multiple_faces"
    assert [f["person"] for f in decision.details["faces"]].count("obama") == 1


def test_a_face_immich_named_keeps_its_name(references):
    found = faces.find_faces(_rgb("incoming/obama1.jpg"), SETTINGS)
    (local,) = match_encodings(found[0].encoding[None, :], references, SETTINGS)
    assert local.sure_person == "obama"
    named = FaceMatch(person="Obama", confidence="sure", source="immich")
    kept, moved = assign_people([named, local])
    assert kept == named
    assert moved.instead_of == "obama" and moved.sure_person is None
    # two faces, each with their own nearest person, keep them
    two = faces.find_faces(_rgb("incoming/two_people.jpg"), SETTINGS)
    matches = match_encodings(np.vstack([f.encoding for f in two]), references, SETTINGS)
    joint = assign_people(matches)
    assert [(m.sure_person, m.distance) for m in joint] == [
        (m.sure_person, m.distance) for m in matches
    ]
    assert {m.sure_person for m in matches} == {"obama", "biden"}


def test_a_run_sorts_a_photo_with_a_stranger_in_the_background_to_the_person(make_workspace):
    from facesort.sorting.run import run_once

    ws = make_workspace(stage=(), extras=False)
    ws.staging.mkdir(parents=True, exist_ok=True)
    small = _beside("incoming/obama1.jpg", "incoming/lin-manuel-miranda.png", 0.4, (0.72, 0.55))
    similar = _beside("incoming/obama1.jpg", "incoming/lin-manuel-miranda.png", 0.9, (0.6, 0.2))
    Image.fromarray(small).save(ws.staging / "stranger.jpg", quality=92)
    Image.fromarray(similar).save(ws.staging / "two_faces.jpg", quality=92)
    summary = run_once(ws.config())
    assert ws.files() == {
        "stranger.jpg": "library/obama",
        "two_faces.jpg": "review/multiple_faces",
    }
    (result,) = [r for r in summary.results if r.source.endswith("stranger.jpg")]
    assert "strangers in the background" in result.summary
