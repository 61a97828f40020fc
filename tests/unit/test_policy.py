"""The routing policy, rule by rule, and matching against every reference photo."""

from __future__ import annotations

import numpy as np
import pytest

from facesort.config import MatchingSettings, PolicySettings, VideoSettings
from facesort.matching import FaceMatch, ReferenceSet, classify, match_encodings
from facesort.policy import decide_photo, decide_video


def sure(person, distance=0.4):
    return FaceMatch(person, "sure", distance, "someone else", 0.8, f"{person}/a.jpg")


def uncertain(person, distance=0.6):
    return FaceMatch(person, "uncertain", distance, "someone else", 0.75, f"{person}/a.jpg")


def unknown(distance=0.8):
    return FaceMatch("nearest", "unknown", distance, "next", 0.9, "nearest/a.jpg")


POLICY = PolicySettings()


def test_no_face_is_unidentified():
    decision = decide_photo([], POLICY)
    assert (decision.folder, decision.rule) == ("review/unidentified", "no_face")


def test_one_sure_match_goes_to_the_library_with_its_reason():
    decision = decide_photo([sure("obama", 0.37)], POLICY)
    assert decision.folder == "library/obama"
    assert decision.people == ("obama",)
    (face,) = decision.reason()["faces"]
    assert face["distance"] == 0.37 and face["reference"] == "obama/a.jpg"
    assert face["runner_up"] == "someone else" and face["margin"] == pytest.approx(0.43)


def test_uncertain_and_unknown():
    assert decide_photo([uncertain("obama")], POLICY).folder == "review/low_confidence"
    assert decide_photo([unknown()], POLICY).folder == "review/unidentified"


def test_several_faces_go_to_multiple_faces_by_default():
    decision = decide_photo([sure("obama"), sure("biden")], POLICY)
    assert decision.folder == "review/multiple_faces"
    assert decide_photo([sure("obama"), unknown()], POLICY).folder == "review/multiple_faces"


def test_each_person_option_copies_only_when_every_face_is_sure_and_distinct():
    each = PolicySettings(multiple_faces="each_person")
    decision = decide_photo([sure("obama"), sure("biden")], each)
    assert decision.place == "library" and decision.people == ("obama", "biden")
    assert decide_photo([sure("obama"), unknown()], each).folder == "review/multiple_faces"
    assert decide_photo([sure("obama"), uncertain("biden")], each).folder == "review/multiple_faces"
    # The same person twice (a mirror, a poster) is not two people.
    assert decide_photo([sure("obama"), sure("obama")], each).folder == "review/multiple_faces"
    wanted = PolicySettings(multiple_faces="each_person", wanted_people=["biden"])
    assert decide_photo([sure("obama"), sure("biden")], wanted).people == ("biden",)


def test_unwanted_person_wins_over_everything():
    policy = PolicySettings(unwanted_people=["Ｂｉｄｅｎ"])  # look-alike spelling still matches
    assert decide_photo([sure("biden")], policy).folder == "review/unwanted_person"
    assert decide_photo([sure("obama"), sure("biden")], policy).folder == "review/unwanted_person"
    # An uncertain match is not enough to call someone unwanted.
    assert decide_photo([uncertain("biden")], policy).folder == "review/low_confidence"


def test_whitelist():
    policy = PolicySettings(wanted_people=["obama"])
    assert decide_photo([sure("obama")], policy).folder == "library/obama"
    decision = decide_photo([sure("biden")], policy)
    assert (decision.folder, decision.rule) == ("review/unidentified", "not_wanted")


VIDEO = VideoSettings(min_sure_frames=3, min_vote_share=0.6)


def test_video_needs_several_agreeing_frames():
    frames = [[sure("lin")], [sure("lin")], [sure("lin")], [uncertain("lin")], [], [unknown()]]
    decision = decide_video(frames, POLICY, VIDEO)
    assert decision.folder == "library/lin"
    assert decision.details["sure_votes"] == {"lin": 3}
    assert decision.details["frames_sampled"] == 6
    # One sure frame is never enough.
    one = [[sure("lin")], [uncertain("lin")], [], []]
    assert decide_video(one, POLICY, VIDEO).folder == "review/low_confidence"


def test_video_vote_share_and_several_people():
    split = [[sure("a")]] * 3 + [[sure("b")]] * 3
    assert decide_video(split, POLICY, VIDEO).folder == "review/multiple_faces"
    crowded = [[sure("a"), unknown()]] * 4
    assert decide_video(crowded, POLICY, VIDEO).folder == "review/multiple_faces"
    mostly_other = [[sure("a")]] * 3 + [[uncertain("b")]] * 5
    assert decide_video(mostly_other, POLICY, VIDEO).folder == "review/low_confidence"
    assert decide_video([[], []], POLICY, VIDEO).folder == "review/unidentified"
    assert decide_video([[unknown()]] * 5, POLICY, VIDEO).folder == "review/unidentified"
    unwanted = PolicySettings(unwanted_people=["a"])
    assert decide_video([[sure("a")]] * 3, unwanted, VIDEO).folder == "review/unwanted_person"


def test_classify_band_and_margin():
    settings = MatchingSettings(sure_distance=0.55, review_distance=0.65, min_margin=0.08)
    assert classify(0.5, 0.2, settings) == "sure"
    assert classify(0.5, 0.05, settings) == "uncertain"  # too close to the next person
    assert classify(0.6, None, settings) == "uncertain"
    assert classify(0.7, None, settings) == "unknown"


def test_a_persons_own_thresholds_judge_only_their_faces():
    settings = MatchingSettings(
        sure_distance=0.55,
        review_distance=0.65,
        people={"Emma": {"sure_distance": 0.4}, "Leo": {"sure_distance": 0.6,
                                                       "review_distance": 0.7}},
    )  # fmt: skip
    assert classify(0.5, None, settings, "emma") == "uncertain"  # stricter for Emma
    assert classify(0.5, None, settings, "anna") == "sure"  # the shared values
    assert classify(0.58, None, settings, "Leo") == "sure"  # looser for Leo
    assert classify(0.68, None, settings, "Leo") == "uncertain"
    assert classify(0.5, 0.05, settings, "Leo") == "uncertain"  # min_margin is shared
    rng = np.random.default_rng(3)
    emma, anna = rng.normal(size=(2, 128)) * 0.05
    references = ReferenceSet.build([("emma", "emma/1.jpg", emma), ("anna", "anna/1.jpg",
                                                                     anna + 1.0)])  # fmt: skip
    face = emma + 0.45 / np.sqrt(128)  # at 0.45 from Emma's reference
    (match,) = match_encodings(face[None, :], references, settings)
    decision = decide_photo([match], POLICY)
    assert decision.folder == "review/low_confidence"
    assert "emma's own thresholds: sure 0.40, review 0.65 (matching.people)" in decision.summary
    assert decision.details["faces"][0]["thresholds"]["sure_distance"] == 0.4


def test_a_videos_reason_names_the_own_thresholds_its_person_was_judged_by():
    from dataclasses import replace

    from facesort.config.people import Thresholds

    own = Thresholds(0.45, 0.7, person="lin", source="the people page")
    frames = [[replace(sure("lin"), thresholds=own)]] * 3 + [[replace(uncertain("lin"),
                                                                      thresholds=own)]]  # fmt: skip
    decision = decide_video(frames, POLICY, VIDEO)
    assert decision.folder == "library/lin"
    assert decision.summary.endswith(
        "; lin's own thresholds: sure 0.45, review 0.70 (the people page)"
    )
    assert decision.details["thresholds"]["lin"]["sure_distance"] == 0.45
    assert "thresholds" not in decide_video([[sure("lin")]] * 3, POLICY, VIDEO).details


def test_matching_uses_the_nearest_reference_of_each_person():
    rng = np.random.default_rng(7)
    a1, a2, b1 = rng.normal(size=(3, 128)) * 0.05
    references = ReferenceSet.build(
        [
            ("anna", "anna/far.jpg", a1 + 1.0),
            ("anna", "anna/near.jpg", a2),
            ("bob", "bob/1.jpg", b1 + 0.3),
        ]
    )
    face = a2 + 0.01
    (match,) = match_encodings(face[None, :], references, MatchingSettings())
    assert match.person == "anna" and match.reference == "anna/near.jpg"
    assert match.distance == pytest.approx(np.linalg.norm(face - a2))
    assert match.runner_up == "bob"
    assert match.margin == pytest.approx(np.linalg.norm(face - (b1 + 0.3)) - match.distance)
    assert match_encodings(np.zeros((0, 128)), references, MatchingSettings()) == []
    (lonely,) = match_encodings(face[None, :], ReferenceSet.empty(), MatchingSettings())
    assert lonely.confidence == "unknown" and lonely.person is None
