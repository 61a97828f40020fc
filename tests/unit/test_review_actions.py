"""Review actions on the shared photos: each action, its undo, and what it refuses.

The queue is the shared photos sorted without obama's reference photos, so obama's
photos are unknown faces in review/unidentified (see review_helpers).
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from review_helpers import OBAMA_UNIDENTIFIED, file_id, queue_without_obama, record

from facesort.files.hashing import sha256_file
from facesort.matching import match_encodings
from facesort.references import ReferenceLoader
from facesort.review.actions import Reviewer
from facesort.review.recheck import recheck_queue
from facesort.review.results import ReviewError
from facesort.review.trash import purge_trash
from facesort.sample import BYTE_COPY_NAME
from facesort.sorting.evaluate import stored_faces
from facesort.sorting.run import run_once
from facesort.state import State
from facesort.state.models import Event, Face, MediaFile, OriginalHash, ReviewAction
from facesort.vocab import Confidence

CONFIRMED = Confidence.CONFIRMED

pytestmark = pytest.mark.slow

ACTOR = "tester"


def _digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _faces(state, id_):
    with state.session() as session:
        return list(session.scalars(sa.select(Face).where(Face.file_id == id_).order_by(Face.id)))


def _events(state, id_):
    with state.session() as session:
        return [
            e.action
            for e in session.scalars(
                sa.select(Event).where(Event.file_id == id_).order_by(Event.id)
            )
        ]


@pytest.fixture
def make_queue(make_workspace):
    """(workspace, state, reviewer) of a queue sorted from some of the shared photos
    (sorting only those keeps the tests quick)."""
    states = []

    def make(*names):
        ws = make_workspace()
        state = queue_without_obama(ws, stage_only=set(names) or None)
        states.append(state)
        return ws, state, Reviewer(ws.config(), state, ACTOR)

    yield make
    for state in states:
        state.dispose()


def test_approve_moves_labels_adds_reference_and_undo_restores_all(make_queue):
    ws, state, reviewer = make_queue("lin-manuel-miranda.png")
    lin = file_id(state, "lin-manuel-miranda.png")
    before = record(state, lin)
    content = _digest(before.current_path)

    result = reviewer.approve([lin], "Lin-Manuel Miranda", add_reference=True)

    target = ws.library / "Lin-Manuel Miranda" / "lin-manuel-miranda.png"
    assert target.is_file() and _digest(target) == content
    assert not os.path.exists(before.current_path)
    media = record(state, lin)
    assert (media.place, media.category, media.people) == ("library", None, ["Lin-Manuel Miranda"])
    assert media.reason["rule"] == "approved" and media.reason["was"] == "review/unidentified"
    (face,) = _faces(state, lin)
    assert (face.person, face.confidence) == ("Lin-Manuel Miranda", CONFIRMED)
    # The face crop is a reference photo now, and matching uses exactly that face.
    (reference,) = result.references
    assert reference == str(ws.references / "Lin-Manuel Miranda" / "lin-manuel-miranda face 1.jpg")
    references = ReferenceLoader(state, ws.config()).load()
    assert references.count_by_person()["Lin-Manuel Miranda"] == 1
    (match,) = match_encodings(
        stored_faces(state, lin)[0][0].encoding, references, ws.config().matching
    )
    assert match.person == "Lin-Manuel Miranda" and match.confidence == "sure"
    assert "approved" in _events(state, lin)

    undo = reviewer.undo(result.group_id)

    assert os.path.isfile(before.current_path) and _digest(before.current_path) == content
    assert not target.exists() and not os.path.exists(reference)
    media = record(state, lin)
    assert (media.place, media.category, media.people) == ("review", "unidentified", [])
    assert media.reason == before.reason
    (face,) = _faces(state, lin)
    assert face.confidence == "unknown" and face.person != "Lin-Manuel Miranda"
    with state.session() as session:
        action = session.scalar(
            sa.select(ReviewAction).where(ReviewAction.group_id == result.group_id)
        )
        assert action.undone_by == undo.group_id
    assert _events(state, lin)[-1] == "undo"


def test_batch_approve_uses_the_existing_spelling_and_undo_last(make_queue):
    ws, state, reviewer = make_queue(*OBAMA_UNIDENTIFIED, "lin-manuel-miranda.png")
    ids = [file_id(state, name) for name in sorted(OBAMA_UNIDENTIFIED)]
    (ws.references / "Barack Obama").mkdir()  # a known person, spelled this way

    result = reviewer.approve(ids, "  BARACK   obama ")

    assert len(result.moved) == len(ids)
    assert sorted(os.listdir(ws.library / "Barack Obama")) == sorted(OBAMA_UNIDENTIFIED)
    assert ws.files()["obama1.jpg"] == "library/Barack Obama"
    # An unrelated action after it, then undo the last two.
    lin = file_id(state, "lin-manuel-miranda.png")
    reviewer.reject([lin])
    undone = reviewer.undo_last(2)

    assert [u.summary.split(" (")[0] for u in undone] == ["undo of reject", "undo of approve"]
    files = ws.files()
    assert all(files[name] == "review/unidentified" for name in OBAMA_UNIDENTIFIED)
    assert files["lin-manuel-miranda.png"] == "review/unidentified"
    with pytest.raises(ReviewError, match="no review action to undo"):
        reviewer.undo_last()


def test_a_new_name_close_to_a_known_one_asks_and_undo_removes_the_emptied_folder(make_queue):
    from facesort.review.spelling import NewPersonUnconfirmed

    ws, state, reviewer = make_queue("lin-manuel-miranda.png")
    lin = file_id(state, "lin-manuel-miranda.png")
    before = record(state, lin).current_path

    # "bidn" is nobody yet, and one letter from biden (a reference folder): asked.
    with pytest.raises(
        NewPersonUnconfirmed, match=r"new person 'bidn'\? did you mean 'biden'"
    ) as asked:
        reviewer.approve([lin], "bidn")
    assert asked.value.did_you_mean == ["biden"]
    for action in (
        lambda: reviewer.add_reference([lin], "Bidn"),
        lambda: reviewer.approve([lin], "bidenn", add_reference=True),
    ):
        with pytest.raises(NewPersonUnconfirmed):
            action()
    assert record(state, lin).current_path == before and os.path.isfile(before)
    assert not (ws.library / "bidn").exists() and not (ws.references / "Bidn").exists()
    with state.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ReviewAction)) == 0

    # Confirmed, it is a new person; a name close to nobody never asks.
    result = reviewer.approve([lin], "bidn", add_reference=True, confirm_new_person=True)
    assert result.moved[0].destination == str(ws.library / "bidn" / "lin-manuel-miranda.png")
    assert len(list((ws.references / "bidn").iterdir())) == 1
    # Undone: the file is back, and the person folders the typo made are gone.
    reviewer.undo(result.group_id)
    assert record(state, lin).current_path == before and os.path.isfile(before)
    assert not (ws.library / "bidn").exists() and not (ws.references / "bidn").exists()
    assert (ws.references / "biden").is_dir()
    reviewer.approve([lin], "Lin-Manuel Miranda")
    assert ws.files()["lin-manuel-miranda.png"] == "library/Lin-Manuel Miranda"


def test_actions_refuse_what_they_cannot_do_and_change_nothing(make_queue):
    ws, state, reviewer = make_queue(
        "obama-240p.jpg",
        "obama-1080p.jpg",
        "alex_lacamoire1.jpg",
        "obama_and_biden.jpg",
        "lin-manuel-miranda.png",
        "truncated.jpg",
    )
    before = ws.files()
    duplicate = file_id(state, "obama-240p.jpg")
    library = file_id(state, "alex_lacamoire1.jpg")
    crowd = file_id(state, "obama_and_biden.jpg")
    lin = file_id(state, "lin-manuel-miranda.png")
    truncated = file_id(state, "truncated.jpg")

    with pytest.raises(ReviewError, match="duplicate of a file facesort kept"):
        reviewer.approve([duplicate], "obama")
    with pytest.raises(ReviewError, match="is in library/alex_lacamoire, not in the review queue"):
        reviewer.approve([library, lin], "alex")
    with pytest.raises(ReviewError, match="has 3 faces: say which one"):
        reviewer.approve([crowd], "obama", add_reference=True)
    with pytest.raises(ReviewError, match="no face 4"):
        reviewer.approve([crowd], "obama", face=4)
    with pytest.raises(ReviewError, match="has no face"):
        reviewer.add_reference([truncated], "someone")
    with pytest.raises(ReviewError, match="not review/duplicates"):
        reviewer.not_duplicate([lin])
    with pytest.raises(ReviewError, match="No file #99999"):
        reviewer.reject([99999])
    assert ws.files() == before
    with state.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ReviewAction)) == 0


@pytest.mark.parametrize("hostile", ["../../etc", "/tmp/x", "ｏｂａｍａ"])
def test_hostile_names_stay_inside_the_library(make_queue, hostile):
    ws, state, reviewer = make_queue("lin-manuel-miranda.png")
    lin = file_id(state, "lin-manuel-miranda.png")

    result = reviewer.approve([lin], hostile, add_reference=True)

    (moved,) = result.moved
    destination = os.path.realpath(moved.destination)
    assert os.path.dirname(os.path.dirname(destination)) == str(ws.library)
    (reference,) = result.references
    assert os.path.dirname(os.path.dirname(os.path.realpath(reference))) == str(ws.references)
    if hostile == "ｏｂａｍａ":  # full-width letters fold to the plain name
        assert os.path.basename(os.path.dirname(destination)) == "obama"


def test_names_with_nothing_usable_are_refused(make_queue):
    ws, state, reviewer = make_queue("lin-manuel-miranda.png")
    lin = file_id(state, "lin-manuel-miranda.png")
    for name in ("..", "", "\u202e", "///"):
        with pytest.raises(ReviewError, match="cannot be a person's name"):
            reviewer.approve([lin], name)
    assert ws.files()["lin-manuel-miranda.png"] == "review/unidentified"


def test_reject_moves_to_trash_and_undo_brings_it_back(make_queue):
    ws, state, reviewer = make_queue("obama1.jpg", "truncated.jpg")
    ids = [file_id(state, "obama1.jpg"), file_id(state, "truncated.jpg")]
    contents = {i: _digest(record(state, i).current_path) for i in ids}

    result = reviewer.reject(ids)

    trash = ws.root / "trash"
    assert sorted(os.listdir(trash)) == ["obama1.jpg", "truncated.jpg"]
    for i in ids:
        media = record(state, i)
        assert media.place == "trash" and media.current_path.startswith(str(trash))
        assert _digest(media.current_path) == contents[i]  # moved, never deleted on the spot
    assert "rejected" in _events(state, ids[0])

    reviewer.undo(result.group_id)

    assert not os.listdir(trash)
    assert ws.files()["obama1.jpg"] == "review/unidentified"
    assert ws.files()["truncated.jpg"] == "review/unreadable"


def test_trash_keeps_rejected_files_for_trash_days(make_queue):
    ws, state, reviewer = make_queue("obama1.jpg", "obama3.jpg")
    config = ws.config()
    days = config.review.trash_days
    keep, changed = file_id(state, "obama1.jpg"), file_id(state, "obama3.jpg")
    result = reviewer.reject([keep, changed])
    rejected_at = record(state, keep).decided_at
    changed_path = record(state, changed).current_path
    with open(changed_path, "ab") as handle:  # someone edits a file in the trash
        handle.write(b"edited")

    report = purge_trash(state, config, actor="night", now=rejected_at + timedelta(days=days - 1))
    assert report.deleted == [] and report.waiting == 2
    assert len(os.listdir(ws.root / "trash")) == 2

    report = purge_trash(
        state, config, actor="night", now=rejected_at + timedelta(days=days, hours=1)
    )

    kept_path = str(ws.root / "trash" / "obama1.jpg")
    assert report.deleted == [kept_path] and not os.path.exists(kept_path)
    assert "changed since it was rejected" in report.problems[0] and os.path.exists(changed_path)
    media = record(state, keep)
    assert media.place == "deleted" and media.current_path is None and not media.is_original
    assert _events(state, keep)[-1] == "purged"
    # Undo after the purge cannot bring back what is gone: it says so, and moves nothing.
    undo = reviewer.undo(result.group_id)
    assert any("obama1.jpg" in s for s in undo.skipped)
    assert record(state, keep).place == "deleted"


def test_add_reference_then_recheck_makes_the_queue_sortable(make_queue):
    ws, state, reviewer = make_queue(
        *OBAMA_UNIDENTIFIED, "lin-manuel-miranda.png", "two_people.jpg"
    )
    config = ws.config()
    # Before: nothing in the queue matches anybody.
    assert recheck_queue(state, config, actor="night", group_id="recheck-1").moved == []

    two = [file_id(state, "obama1.jpg"), file_id(state, "obama_small.jpg")]
    added = reviewer.add_reference(two, "obama")  # a batch: one face of each
    assert ws.files()["obama1.jpg"] == "review/unidentified"  # the files themselves stay
    assert len(added.references) == 2
    reference = added.references[0]
    assert sha256_file(reference) != record(state, two[0]).sha256  # a crop, not the photo

    result = recheck_queue(state, config, actor="night", group_id="recheck-2")

    files = ws.files()
    # All of obama's unknown photos are within sure_distance of those faces.
    assert {os.path.basename(r.source) for r in result.moved} == OBAMA_UNIDENTIFIED
    assert all(files[name] == "library/obama" for name in OBAMA_UNIDENTIFIED)
    # Only sure matches leave the queue; the rest stays where it was.
    assert files["lin-manuel-miranda.png"] == "review/unidentified"
    assert files["two_people.jpg"] == "review/multiple_faces"
    assert {r.folder for r in result.moved} == {"library/obama"}
    with state.session() as session:
        action = session.scalar(sa.select(ReviewAction).where(ReviewAction.group_id == "recheck-2"))
        assert action.kind == "recheck" and sorted(action.file_ids) == sorted(
            r.file_id for r in result.moved
        )
    # The re-check is undoable like any review action; so is the reference.
    reviewer.undo("recheck-2")
    reviewer.undo(added.group_id)
    assert all(ws.files()[name] == "review/unidentified" for name in OBAMA_UNIDENTIFIED)
    assert not any(os.path.exists(r) for r in added.references)


def test_not_a_duplicate_sorts_it_by_its_faces_and_undo_and_redo(make_workspace):
    ws = make_workspace()  # with every reference photo: obama is known
    run_once(ws.config(), workers=1)
    state = State(ws.config().database_url)
    reviewer = Reviewer(ws.config(), state, ACTOR)
    copy = file_id(state, BYTE_COPY_NAME)
    before = record(state, copy)
    assert before.category == "duplicates" and before.duplicate_of_id and not before.is_original

    result = reviewer.not_duplicate([copy])

    assert ws.files()[BYTE_COPY_NAME] == "library/obama"
    media = record(state, copy)
    assert media.is_original and media.duplicate_of_id is None and media.phash
    assert media.reason["summary"].startswith("not a duplicate")
    assert [f.person for f in _faces(state, copy)] == ["obama"]
    with state.session() as session:
        assert session.scalar(sa.select(OriginalHash).where(OriginalHash.file_id == copy))

    undo = reviewer.undo(result.group_id)

    assert ws.files()[BYTE_COPY_NAME] == "review/duplicates"
    media = record(state, copy)
    assert not media.is_original and media.duplicate_of_id == before.duplicate_of_id
    with state.session() as session:
        assert session.scalar(sa.select(OriginalHash).where(OriginalHash.file_id == copy)) is None

    redo = reviewer.undo(undo.group_id)  # undo the undo: it is not a duplicate after all

    assert redo.kind == "redo"
    assert ws.files()[BYTE_COPY_NAME] == "library/obama"
    assert record(state, copy).is_original
    state.dispose()


@pytest.mark.postgres
def test_review_actions_on_postgresql(make_workspace, pg_url):
    ws = make_workspace(settings={"state_url": pg_url})
    state = queue_without_obama(ws, stage_only={"obama1.jpg", "obama_small.jpg", "two_people.jpg"})
    reviewer = Reviewer(ws.config(), state, ACTOR)
    ids = [file_id(state, "obama1.jpg"), file_id(state, "obama_small.jpg")]

    approved = reviewer.approve([ids[0]], "obama", add_reference=True)
    rejected = reviewer.reject([ids[1]])
    named = reviewer.approve([file_id(state, "two_people.jpg")], "obama", face=1)

    files = ws.files()
    assert files["obama1.jpg"] == "library/obama" and files["two_people.jpg"] == "library/obama"
    assert os.listdir(ws.root / "trash") == ["obama_small.jpg"]
    with state.session() as session:
        faces = session.scalars(sa.select(Face).where(Face.confidence == CONFIRMED)).all()
        assert sorted(f.person for f in faces) == ["obama", "obama"]
    undone = reviewer.undo_last(3)
    assert [u.kind for u in undone] == ["undo"] * 3
    assert {approved.group_id, rejected.group_id, named.group_id} == {
        u.summary.split("(")[1].split(")")[0] for u in undone
    }
    files = ws.files()
    assert files["obama1.jpg"] == files["obama_small.jpg"] == "review/unidentified"
    assert files["two_people.jpg"] == "review/multiple_faces"
    with state.session() as session:
        assert not session.scalars(sa.select(Face).where(Face.confidence == CONFIRMED)).all()
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(MediaFile).where(MediaFile.place == "trash")
            )
            == 0
        )
    state.dispose()


def test_a_face_from_a_video_frame_becomes_a_reference(make_workspace):
    """A video's faces come from several frames: one of them, cut out of its frame, is
    a reference photo like any other, and the re-check then sorts the video by it."""
    from PIL import Image

    from facesort.media import probe_video

    ws = make_workspace(stage=("video",), extras=False)
    config = ws.config()
    run_once(config, workers=1)
    state = State(config.database_url)
    try:
        # Nobody's reference is lin-manuel-miranda: the clip waits in the queue (an uncertain
        # look-alike puts it in low_confidence).
        queued = ws.files()["short_hamilton_clip.mp4"]
        assert queued in {"review/unidentified", "review/low_confidence"}
        video = file_id(state, "short_hamilton_clip.mp4")
        faces = _faces(state, video)
        frames = {face.frame for face in faces}
        assert len(frames) > 1 and None not in frames  # faces from several frames
        reviewer = Reviewer(config, state, ACTOR)
        with pytest.raises(ReviewError, match="say which one"):
            reviewer.add_reference([video], "Lin-Manuel Miranda")
        biggest = max(range(len(faces)), key=lambda i: faces[i].box[3] - faces[i].box[1])

        added = reviewer.add_reference([video], "Lin-Manuel Miranda", face=biggest + 1)

        (reference,) = added.references
        assert os.path.dirname(reference) == str(config.references_dir / "Lin-Manuel Miranda")
        info = probe_video(record(state, video).current_path)
        with Image.open(reference) as crop:
            assert crop.format == "JPEG"
            assert crop.width < info.width and crop.height < info.height  # the face, not the frame
        assert ws.files() == {"short_hamilton_clip.mp4": queued}  # the video stays
        references = ReferenceLoader(state, config).load()
        assert "Lin-Manuel Miranda" in references.people

        result = recheck_queue(state, config, actor="night", group_id="recheck-video")

        assert [r.folder for r in result.moved] == ["library/Lin-Manuel Miranda"]
        assert ws.files() == {"short_hamilton_clip.mp4": "library/Lin-Manuel Miranda"}
        reviewer.undo("recheck-video")
        reviewer.undo(added.group_id)
        assert ws.files() == {"short_hamilton_clip.mp4": queued}
        assert not os.path.exists(reference)
    finally:
        state.dispose()


def test_no_to_is_this_x_is_a_record_suggestions_and_recheck_respect_and_undo(make_workspace):
    """ "Is this X?": with a strict sure_distance, alex's and kit's test photos are
    uncertain matches (review/low_confidence) whose nearest person is right."""
    from facesort.config import with_overrides
    from facesort.review.suggestions import said_not, suggestions

    ws = make_workspace(extras=False, settings={"matching": {"sure_distance": 0.35}})
    for path in ws.staging.iterdir():
        if path.name not in {"alex_lacamoire1.jpg", "johnsnow_test1.jpg"}:
            path.unlink()
    config = ws.config()
    run_once(config, workers=1)
    state = State(config.database_url)
    reviewer = Reviewer(config, state, ACTOR)
    alex, john = file_id(state, "alex_lacamoire1.jpg"), file_id(state, "johnsnow_test1.jpg")

    asked = {s.item.id: s.person for s in suggestions(state, config, "low_confidence")}
    assert asked == {alex: "alex_lacamoire", john: "kit_harington"}

    no = reviewer.not_person(john, 1, "kit_harington")
    assert ws.files()["johnsnow_test1.jpg"] == "review/low_confidence"  # nothing moved
    (face,) = _faces(state, john)
    assert said_not(state) == {face.id: {"kit_harington"}}
    asked = {s.item.id: s.person for s in suggestions(state, config, "low_confidence")}
    assert asked.get(john) != "kit_harington" and asked[alex] == "alex_lacamoire"

    # A looser sure_distance makes both sure matches: the re-check moves alex's photo,
    # not the one said not to be kit.
    looser = with_overrides(config, {"matching": {"sure_distance": 0.5}})
    moved = recheck_queue(state, looser, actor="night", group_id="recheck-1").moved
    assert [r.file_id for r in moved] == [alex]
    assert ws.files()["johnsnow_test1.jpg"] == "review/low_confidence"

    # Undone, kit is suggested again; the undo undone (redo), not again.
    undo = reviewer.undo(no.group_id)
    assert said_not(state) == {}
    assert {s.person for s in suggestions(state, config, "low_confidence")} == {"kit_harington"}
    reviewer.undo(undo.group_id)
    assert said_not(state) == {face.id: {"kit_harington"}}
    assert suggestions(state, config, "low_confidence")[0].person != "kit_harington"
    with pytest.raises(ReviewError, match="no face 2"):
        reviewer.not_person(john, 2, "kit_harington")
    state.dispose()


def _disk(root) -> dict[str, str]:
    """Every file under the workspace's library and review folders: path -> content."""
    return {
        str(p.relative_to(root)): _digest(p)
        for top in ("library", "review")
        for p in sorted((root / top).rglob("*"))
        if p.is_file() and ".thumbnails" not in p.parts
    }


def test_keep_this_one_instead_swaps_the_files_and_undo_puts_them_back(make_workspace):
    ws = make_workspace(extras=False)
    sizes = {"obama-1080p.jpg", "obama-720p.jpg", "obama-240p.jpg"}
    for path in ws.staging.iterdir():
        if path.name not in sizes:
            path.unlink()
    config = ws.config()
    run_once(config, workers=1)
    state = State(config.database_url)
    reviewer = Reviewer(config, state, ACTOR)
    big, mid, small = (file_id(state, n) for n in sorted(sizes, key=lambda n: -int(n[6:-5])))
    before = _disk(ws.root)
    assert ws.files()["obama-1080p.jpg"] == "library/obama"
    assert record(state, mid).duplicate_of_id == big == record(state, small).duplicate_of_id
    with pytest.raises(ReviewError, match="not in the review queue"):
        reviewer.keep_instead(big)

    result = reviewer.keep_instead(mid)

    files = ws.files()
    assert files["obama-720p.jpg"] == "library/obama"
    assert files["obama-1080p.jpg"] == "review/duplicates"
    kept, swapped, other = record(state, mid), record(state, big), record(state, small)
    assert kept.is_original and kept.duplicate_of_id is None and kept.people == ["obama"]
    assert not swapped.is_original and swapped.duplicate_of_id == mid
    assert other.duplicate_of_id == mid  # the other duplicate points at the one kept now
    assert len(_faces(state, mid)) == len(_faces(state, big)) == 1  # its face, copied
    with state.session() as session:
        originals = set(session.scalars(sa.select(OriginalHash.file_id)))
    assert mid in originals and big not in originals
    # The same bytes, in swapped places: nothing lost, nothing copied.
    assert sorted(_disk(ws.root).values()) == sorted(before.values())

    reviewer.undo(result.group_id)
    assert _disk(ws.root) == before
    assert record(state, big).is_original and record(state, big).duplicate_of_id is None
    assert record(state, mid).duplicate_of_id == big == record(state, small).duplicate_of_id
    assert _faces(state, mid) == []
    with state.session() as session:
        originals = set(session.scalars(sa.select(OriginalHash.file_id)))
    assert big in originals and mid not in originals
    state.dispose()


# Killed with the second file (the duplicate) under both names: the kept file has moved.
@pytest.mark.parametrize("crash_at", ["journal.linked#2"])
def test_keep_this_one_instead_killed_and_retried(tmp_path, photos, crash_at):
    from lifecycle import assert_lifecycle_holds, make_space
    from lifecycle import file_id as space_file_id

    staged = {"obama1.jpg": "incoming/obama1.jpg", "obama1 again.jpg": "incoming/obama1.jpg"}
    space = make_space(tmp_path / "ws", photos, staged, people=("obama",))
    space.run()
    expected = space.contents()
    where = space.where()
    (duplicate,) = [name for name, folder in where.items() if folder == "review/duplicates"]
    (kept,) = [name for name in where if name != duplicate]
    command = ["review", "keep-instead", space_file_id(space, duplicate)]
    crashed = space.facesort(*command, crash_at=crash_at)
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    retried = space.facesort(*command)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert space.where() == {duplicate: "library/obama", kept: "review/duplicates"}
    assert_lifecycle_holds(space, expected)
    undone = space.facesort("review", "undo", "--last", "1")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert space.where() == where
    assert_lifecycle_holds(space, expected)


def test_a_face_drawn_by_hand_is_named_and_undo_removes_it(make_queue):
    ws, state, reviewer = make_queue("obama_small.jpg")
    obama = file_id(state, "obama_small.jpg")
    (found,) = _faces(state, obama)
    with pytest.raises(ReviewError, match="too small"):
        reviewer.approve([obama], "obama", manual_box=[0.5, 0.5, 0.501, 0.6])
    # The box of the face the detector found, drawn again by hand (corners in any order).
    left, top, right, bottom = found.box
    drawn = [right, bottom, left, top]

    result = reviewer.approve(
        [obama], "Barack Obama", manual_box=drawn, add_reference=True, confirm_new_person=True
    )

    assert ws.files()["obama_small.jpg"] == "library/Barack Obama"
    detected, manual = _faces(state, obama)
    assert detected.id == found.id and detected.person == found.person  # left as it was
    assert manual.source == "manual" and manual.confidence == CONFIRMED
    assert manual.person == "Barack Obama" and manual.box == [round(v, 5) for v in found.box]
    # Its encoding is the face's: as near the detected face's as two encodings of it.
    distance = match_encodings(
        [np.frombuffer(manual.encoding, "<f8")],
        _one_person(found),
        ws.config().matching,
    )[0].distance
    assert distance < 0.2
    (reference,) = result.references
    assert os.path.isfile(reference) and "Barack Obama" in reference

    undone = reviewer.undo(result.group_id)
    assert ws.files()["obama_small.jpg"] == "review/unidentified"
    assert [f.id for f in _faces(state, obama)] == [found.id]
    assert not os.path.exists(reference)
    reviewer.undo(undone.group_id)  # redo: the drawn face is made again
    assert [f.source for f in _faces(state, obama)] == ["local", "manual"]
    assert ws.files()["obama_small.jpg"] == "library/Barack Obama"


def _one_person(face):
    from facesort.matching import ReferenceSet

    return ReferenceSet.build([("found", "found.jpg", np.frombuffer(face.encoding, "<f8"))])
