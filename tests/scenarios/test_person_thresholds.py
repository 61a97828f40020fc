"""A person's own sure/review distances (``matching.people``, or stored by the people
page) on real photos: sorting, re-sorting and the nightly re-check judge that person's
faces by them, and the reason names them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from facesort.state import State
from facesort.state.models import MediaFile

# obama1.jpg matches obama at 0.34, alex_lacamoire1.jpg matches alex_lacamoire at 0.36,
# alex-lacamoire.png at 0.52: all sure by the shared sure_distance 0.55.
PHOTOS = ("obama1.jpg", "alex_lacamoire1.jpg")


def _sort(ws, photos, names=PHOTOS):
    from facesort.sorting.run import run_once

    for name in names:
        (ws.staging / name).write_bytes((photos / "incoming" / name).read_bytes())
    run_once(ws.config(), workers=1)
    return ws.files()


def _reason(ws, name: str) -> dict:
    with State(ws.config().database_url) as state, state.session() as session:
        for media in session.scalars(sa.select(MediaFile)):
            if (media.current_path or "").endswith("/" + name):
                return media.reason
    raise AssertionError(f"{name} has no record")


def test_a_stricter_threshold_in_the_config_sends_one_persons_sure_match_to_review(
    make_workspace, photos
):
    people = {"Obama": {"sure_distance": 0.3}}  # as the folder's name is spelt or not
    ws = make_workspace(stage=(), extras=False, settings={"matching": {"people": people}})

    files = _sort(ws, photos)

    assert files["obama1.jpg"] == "review/low_confidence"  # 0.34: sure for anyone else
    assert files["alex_lacamoire1.jpg"] == "library/alex_lacamoire"  # 0.36, shared 0.55
    reason = _reason(ws, "obama1.jpg")
    assert reason["rule"] == "uncertain_match"
    assert "obama's own thresholds: sure 0.30, review 0.65 (matching.people)" in reason["summary"]
    (face,) = reason["faces"]
    assert face["thresholds"] == {"person": "obama", "sure_distance": 0.3,
                                  "review_distance": 0.65, "source": "matching.people"}  # fmt: skip
    assert "thresholds" not in _reason(ws, "alex_lacamoire1.jpg")["faces"][0]


def test_thresholds_stored_by_the_people_page_drive_resort_and_recheck(
    make_workspace, photos, facesort_cli
):
    from facesort.resort import Scope, plan_resort
    from facesort.review.recheck import recheck_queue
    from facesort.thresholds import (
        clear_person_thresholds,
        set_person_thresholds,
        stored_person_thresholds,
    )

    # A shared sure_distance of 0.45 leaves alex-lacamoire.png (0.52) uncertain.
    ws = make_workspace(stage=(), extras=False, settings={"matching": {"sure_distance": 0.45}})
    files = _sort(ws, photos, ("obama1.jpg", "alex-lacamoire.png"))
    assert files == {"obama1.jpg": "library/obama", "alex-lacamoire.png": "review/low_confidence"}
    config = ws.config()
    with State(config.database_url) as state:
        # Stricter for obama, looser for alex_lacamoire, as the people page sets them.
        set_person_thresholds(state, "obama", sure=0.3, config=config, actor="people page test")
        set_person_thresholds(state, "alex_lacamoire", sure=0.55, review=0.7, config=config)
        stored = stored_person_thresholds(state)
        assert {n: (t.sure_distance, t.review_distance) for n, t in stored.items()} == {
            "alex_lacamoire": (0.55, 0.7), "obama": (0.3, None)}  # fmt: skip

        plan = plan_resort(state, config, Scope(library=True))
        (move,) = plan
        assert (move.from_folder, move.to_folder) == ("library/obama", "review/low_confidence")
        assert "obama's own thresholds: sure 0.30, review 0.65 (the people page)" in (
            move.decision.summary
        )

        result = recheck_queue(state, config, actor="test", group_id="recheck-test")
        assert len(result.moved) == 1
        assert ws.files()["alex-lacamoire.png"] == "library/alex_lacamoire"
        reason = _reason(ws, "alex-lacamoire.png")
        assert reason["rule"] == "sure_match"
        assert (
            "alex_lacamoire's own thresholds: sure 0.55, review 0.70 (the people page)"
            in (reason["summary"])
        )

        clear_person_thresholds(state, "obama")
        assert plan_resort(state, config, Scope(library=True)) == []
        assert set(stored_person_thresholds(state)) == {"alex_lacamoire"}


def test_thresholds_that_cannot_work_are_refused_by_name(make_workspace, tmp_path):
    from facesort.config import MatchingSettings
    from facesort.errors import ConfigError
    from facesort.thresholds import ThresholdError, set_person_thresholds

    with pytest.raises(ValueError, match=r"people.Emma: review_distance must be at least "
                       r"sure_distance \(got 0.65 < 0.7\)"):  # fmt: skip
        MatchingSettings(people={"Emma": {"sure_distance": 0.7}})
    with pytest.raises(ValueError, match=r"'emma' and 'Emma' are the same person"):
        MatchingSettings(people={"emma": {}, "Emma": {}})
    typo = {"people": {"Emma": {"sure_distanc": 0.3}}}
    ws = make_workspace(stage=(), extras=False, settings={"matching": typo})
    with pytest.raises(ConfigError, match=r"matching.people.Emma.sure_distanc"):
        ws.config()
    with State(f"sqlite:///{tmp_path / 'state.db'}") as state:
        with pytest.raises(ThresholdError, match=r"must be at least their sure distance"):
            set_person_thresholds(state, "Emma", sure=0.5, review=0.4)
        with pytest.raises(ThresholdError, match=r"sure distance 3 is not a distance"):
            set_person_thresholds(state, "Emma", sure=3)


def test_stored_thresholds_follow_a_rename_and_a_merge_keeps_the_survivors(tmp_path):
    from facesort.thresholds import (
        move_person_thresholds,
        set_person_thresholds,
        stored_person_thresholds,
    )

    with State(f"sqlite:///{tmp_path / 'state.db'}") as state:
        set_person_thresholds(state, "Emma", sure=0.4)
        set_person_thresholds(state, "Leo", review=0.7)
        move_person_thresholds(state, "Emma", "Emma Stone")  # a rename
        move_person_thresholds(state, "Leo", "Emma Stone")  # a merge into Emma Stone
        stored = stored_person_thresholds(state)
        assert {n: (t.sure_distance, t.review_distance) for n, t in stored.items()} == {
            "Emma Stone": (0.4, None)
        }
