"""Property-based tests (hypothesis) for name sanitising and the routing policy."""

from __future__ import annotations

import os
import unicodedata

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from facesort.config import REVIEW_CATEGORIES, PolicySettings, VideoSettings
from facesort.matching import FaceMatch
from facesort.names import UnsafeNameError, person_key, safe_file_name, safe_folder_name
from facesort.policy import decide_photo, decide_video

# Names from anywhere: reference folders, Immich, the review page. Include the nasty
# parts on purpose: separators, dots, controls, format characters, full-width letters.
hostile_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list('/\\.:*?"<>| \t\n\x00\u202e\u200b\u200dＡａ．／')),
        st.characters(codec="utf-8"),
    ),
    max_size=300,
)


@given(hostile_text)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_a_person_folder_never_leaves_the_library(name):
    try:
        folder = safe_folder_name(name)
    except UnsafeNameError:
        return
    library = "/srv/library"
    target = os.path.normpath(os.path.join(library, folder))
    assert os.path.dirname(target) == library  # exactly one level below, never outside
    assert folder not in {".", ".."} and not folder.startswith(".")
    assert "/" not in folder and "\x00" not in folder and "\\" not in folder
    assert len(folder.encode("utf-8")) <= 120
    assert safe_folder_name(folder) == folder  # stable: the same name gives the same folder
    assert unicodedata.normalize("NFKC", folder) == folder


@given(hostile_text)
def test_look_alike_spellings_of_a_name_share_one_identity(name):
    try:
        key = person_key(name)
    except UnsafeNameError:
        return
    assert person_key(unicodedata.normalize("NFKC", name)) == key
    assert person_key(name.upper()) == person_key(name.lower()) or not name.isascii()


@given(hostile_text)
def test_file_names_are_safe(name):
    safe = safe_file_name(name)
    assert "/" not in safe and "\x00" not in safe and not safe.startswith(".")
    assert safe not in {"", ".", ".."}
    assert len(safe.encode("utf-8")) <= 240


people = st.sampled_from(["anna", "bob", "carla", "dieter"])


@st.composite
def face_matches(draw):
    confidence = draw(st.sampled_from(["sure", "uncertain", "unknown"]))
    person = draw(people)
    distance = {"sure": 0.4, "uncertain": 0.6, "unknown": 0.8}[confidence]
    return FaceMatch(person, confidence, distance, None, None, f"{person}/1.jpg")


policies = st.builds(
    PolicySettings,
    multiple_faces=st.sampled_from(["review", "each_person"]),
    unwanted_people=st.lists(people, max_size=2),
    wanted_people=st.lists(people, max_size=2),
)


@given(st.lists(face_matches(), max_size=5), policies)
@settings(max_examples=500)
def test_photo_routing_invariants(matches, policy):
    decision = decide_photo(matches, policy)
    if decision.category is not None:
        assert decision.category in REVIEW_CATEGORIES and decision.people == ()
        return
    # Only sure matches reach the library ...
    assert matches and all(m.confidence == "sure" for m in matches)
    assert set(decision.people) <= {m.person for m in matches}
    # ... one face, unless the user asked for a copy per person ...
    assert len(matches) == 1 or policy.multiple_faces == "each_person"
    # ... never with an unwanted person in the picture, and only wanted people.
    assert not {m.person for m in matches} & set(policy.unwanted_people)
    if policy.wanted_people:
        assert set(decision.people) <= set(policy.wanted_people)


@given(st.lists(st.lists(face_matches(), max_size=3), max_size=12), policies)
@settings(max_examples=300)
def test_video_routing_invariants(frames, policy):
    video = VideoSettings(min_sure_frames=3, min_vote_share=0.6)
    decision = decide_video(frames, policy, video)
    if decision.category is not None:
        assert decision.category in REVIEW_CATEGORIES
        return
    (person,) = decision.people
    sure_frames = sum(
        1 for frame in frames if any(m.person == person and m.confidence == "sure" for m in frame)
    )
    assert sure_frames >= video.min_sure_frames  # never decided from one frame
    assert person not in policy.unwanted_people
    assume(policy.wanted_people)
    assert person in policy.wanted_people
