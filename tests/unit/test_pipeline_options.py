"""Routing options and awkward moments, on real photos."""

from __future__ import annotations

import hashlib
import shutil

import pytest
import sqlalchemy as sa

from facesort.sorting.batches import process_batch, scan_and_plan
from facesort.sorting.run import run_once
from facesort.state import State
from facesort.state.models import Event, MediaFile

pytestmark = pytest.mark.slow

PAIR = ["incoming/two_people.jpg", "incoming/obama1.jpg", "incoming/alex_lacamoire1.jpg"]


def stage_only(ws, photos, names):
    for name in names:
        shutil.copyfile(photos / name, ws.staging / name.split("/")[-1])


def test_copy_mode_keeps_staging_and_does_not_take_files_twice(make_workspace):
    ws = make_workspace(stage=("incoming",), extras=False, settings={"transfer_mode": "copy"})
    staged = sorted(p.name for p in ws.staging.iterdir())
    run_once(ws.config(), workers=1)
    assert sorted(p.name for p in ws.staging.iterdir()) == staged
    assert ws.files()["obama1.jpg"] == "library/obama"
    second = run_once(ws.config(), workers=1)
    assert second.results == [] and second.scan.known == len(staged)


def test_each_person_option_puts_a_copy_in_every_persons_folder(make_workspace, photos):
    ws = make_workspace(
        stage=(), extras=False, settings={"policy": {"multiple_faces": "each_person"}}
    )
    stage_only(ws, photos, PAIR)
    run_once(ws.config(), workers=1)
    assert (ws.library / "obama" / "two_people.jpg").exists()
    assert (ws.library / "biden" / "two_people.jpg").exists()
    a, b = (ws.library / p / "two_people.jpg" for p in ("obama", "biden"))
    assert a.read_bytes() == b.read_bytes() and not a.samefile(b)


def test_unwanted_and_wanted_people(make_workspace, photos):
    ws = make_workspace(stage=(), extras=False, settings={"policy": {"unwanted_people": ["biden"]}})
    stage_only(ws, photos, PAIR)
    run_once(ws.config(), workers=1)
    assert ws.files()["two_people.jpg"] == "review/unwanted_person"
    assert ws.files()["obama1.jpg"] == "library/obama"

    ws = make_workspace(
        stage=(), extras=False, settings={"policy": {"wanted_people": ["obama"]}}, name="ws2"
    )
    stage_only(ws, photos, PAIR)
    run_once(ws.config(), workers=1)
    assert ws.files()["obama1.jpg"] == "library/obama"
    assert ws.files()["alex_lacamoire1.jpg"] == "review/unidentified"


def test_uncertain_band_goes_to_low_confidence(make_workspace, photos):
    # alex-lacamoire.png lies at 0.53 from his reference: sure at 0.55, uncertain at 0.5.
    ws = make_workspace(stage=(), extras=False, settings={"matching": {"sure_distance": 0.5}})
    stage_only(ws, photos, ["incoming/alex-lacamoire.png", "incoming/alex_lacamoire1.jpg"])
    run_once(ws.config(), workers=1)
    assert ws.files() == {
        "alex-lacamoire.png": "review/low_confidence",
        "alex_lacamoire1.jpg": "library/alex_lacamoire",
    }


def test_existing_library_files_are_never_overwritten(make_workspace, photos):
    ws = make_workspace(stage=(), extras=False)
    stage_only(ws, photos, ["incoming/obama1.jpg"])
    (ws.library / "obama").mkdir(parents=True)
    (ws.library / "obama" / "obama1.jpg").write_bytes(b"the user's own file")
    run_once(ws.config(), workers=1)
    assert (ws.library / "obama" / "obama1.jpg").read_bytes() == b"the user's own file"
    assert (ws.library / "obama" / "obama1 (1).jpg").read_bytes() == (
        photos / "incoming/obama1.jpg"
    ).read_bytes()


def test_a_later_copy_is_a_duplicate_of_what_was_kept(make_workspace, photos):
    ws = make_workspace(stage=(), extras=False)
    stage_only(ws, photos, ["incoming/obama-720p.jpg"])
    run_once(ws.config(), workers=1)
    stage_only(ws, photos, ["incoming/obama-480p.jpg"])
    shutil.copyfile(photos / "incoming/obama-720p.jpg", ws.staging / "again.jpg")
    run_once(ws.config(), workers=1)
    assert ws.files() == {
        "obama-720p.jpg": "library/obama",
        "obama-480p.jpg": "review/duplicates",
        "again.jpg": "review/duplicates",
    }
    state = State(ws.config().database_url)
    with state.session() as session:
        rows = {r.current_path.rsplit("/", 1)[1]: r for r in session.scalars(sa.select(MediaFile))}
    kept = rows["obama-720p.jpg"]
    assert rows["obama-480p.jpg"].duplicate_of_id == kept.id
    assert rows["again.jpg"].duplicate_of_id == kept.id
    assert rows["again.jpg"].reason["rule"] == "exact_duplicate"
    assert rows["obama-480p.jpg"].reason["rule"] == "near_duplicate"
    state.dispose()


def test_files_that_change_or_vanish_before_the_move_stay_in_staging(make_workspace, photos):
    ws = make_workspace(stage=(), extras=False)
    stage_only(ws, photos, ["incoming/obama1.jpg", "incoming/johnsnow_test1.jpg"])
    config = ws.config()
    state = State(config.database_url)
    _, batches = scan_and_plan(state, config, "run-1", actor="test")
    # The downloader rewrites one file and deletes the other after the scan.
    (ws.staging / "obama1.jpg").write_bytes((photos / "incoming/obama-240p.jpg").read_bytes())
    (ws.staging / "johnsnow_test1.jpg").unlink()
    report = process_batch(state, config, batches[0], actor="test")
    assert {r.folder for r in report.results} == {"staging"}
    assert (ws.staging / "obama1.jpg").exists() and ws.files() == {}
    with state.session() as session:
        actions = sorted(
            session.scalars(sa.select(Event.action).where(Event.action != "discovered"))
        )
    assert actions == ["changed", "vanished"]
    # Once stable again the changed file is taken and sorted by its new content.
    run_once(config, workers=1)
    assert ws.files() == {"obama1.jpg": "library/obama"}
    digest = hashlib.sha256((ws.library / "obama" / "obama1.jpg").read_bytes()).hexdigest()
    assert digest == hashlib.sha256((photos / "incoming/obama-240p.jpg").read_bytes()).hexdigest()
    state.dispose()


def test_a_file_that_keeps_failing_ends_in_unreadable(make_workspace, photos, monkeypatch):
    ws = make_workspace(stage=(), extras=False)
    stage_only(ws, photos, ["incoming/obama1.jpg", "incoming/johnsnow_test1.jpg"])
    import facesort.sorting.evaluate

    real = facesort.sorting.evaluate.find_faces

    def crashes_on_obama(rgb, settings, frame=None, **kwargs):
        # obama1.jpg is the landscape one (johnsnow_test1.jpg is portrait), at any
        # size the photo is decoded to
        if rgb.shape[1] > rgb.shape[0]:
            raise RuntimeError("dlib crashed")
        return real(rgb, settings, frame, **kwargs)

    monkeypatch.setattr(facesort.sorting.evaluate, "find_faces", crashes_on_obama)
    for attempt in range(1, 4):
        summary = run_once(ws.config(), workers=1)
        folders = {r.source.rsplit("/", 1)[1]: r.folder for r in summary.results}
        if attempt < 3:
            assert folders["obama1.jpg"] == "staging", attempt
    assert ws.files() == {
        "johnsnow_test1.jpg": "library/kit_harington",
        "obama1.jpg": "review/unreadable",
    }
    state = State(ws.config().database_url)
    with state.session() as session:
        media = session.scalar(sa.select(MediaFile).where(MediaFile.category == "unreadable"))
    assert media.reason["summary"].startswith("processing failed 3 times")
    assert "dlib crashed" in media.reason["summary"]
    state.dispose()


def test_a_resort_renews_face_matches_without_replacing_the_faces(make_workspace, photos):
    from facesort.resort import Scope, apply_resort, plan_resort
    from facesort.state.models import Face as FaceRow

    ws = make_workspace(stage=(), extras=False)
    stage_only(ws, photos, ["incoming/lin-manuel-miranda.png"])
    config = ws.config()
    run_once(config, workers=1)
    state = State(config.database_url)
    with state.session() as session:
        (before,) = session.scalars(sa.select(FaceRow)).all()
    assert before.confidence == "unknown"
    (ws.references / "lin").mkdir()
    shutil.copyfile(photos / "incoming/lin-manuel-miranda.png", ws.references / "lin" / "l.png")
    plan = plan_resort(state, config, Scope(review=("unidentified",)))
    apply_resort(state, config, plan, actor="test", group_id="g")
    assert ws.files() == {"lin-manuel-miranda.png": "library/lin"}
    with state.session() as session:
        (after,) = session.scalars(sa.select(FaceRow)).all()
    assert after.id == before.id and after.encoding == before.encoding
    assert (after.person, after.confidence) == ("lin", "sure")
    state.dispose()


def test_a_resort_never_overrules_what_a_person_approved(make_workspace, photos):
    from facesort.config import with_overrides
    from facesort.resort import Scope, plan_resort
    from facesort.review.actions import Reviewer

    # alex-lacamoire.png lies at 0.53 from his reference: uncertain at sure_distance 0.5.
    ws = make_workspace(stage=(), extras=False, settings={"matching": {"sure_distance": 0.5}})
    stage_only(ws, photos, ["incoming/alex-lacamoire.png", "incoming/alex_lacamoire1.jpg"])
    config = ws.config()
    run_once(config, workers=1)
    state = State(config.database_url)
    with state.session() as session:
        queued = session.scalar(
            sa.select(MediaFile.id).where(MediaFile.category == "low_confidence")
        )
    Reviewer(config, state, "a person").approve([queued], "alex_lacamoire")
    assert ws.files()["alex-lacamoire.png"] == "library/alex_lacamoire"

    # Much stricter thresholds: the file sorted by facesort moves, the approved one stays.
    strict = with_overrides(config, {"matching": {"sure_distance": 0.3}})
    plan = plan_resort(state, strict, Scope(library=True))
    assert [m.media.current_path.rsplit("/", 1)[1] for m in plan] == ["alex_lacamoire1.jpg"]
    state.dispose()
