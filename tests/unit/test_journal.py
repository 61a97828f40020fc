"""Journaled transfers: never overwrite, never collide, recover only what is abandoned."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from facesort.files.hashing import sha256_file
from facesort.files.journal import (
    Journal,
    OutcomeEvent,
    SourceChanged,
    TransferOutcome,
    TransferRequest,
)
from facesort.files.owners import owner_token
from facesort.files.recovery import recover_transfers
from facesort.files.undo import undo_group
from facesort.state import State, sqlite_url
from facesort.state.models import Event, MediaFile, Transfer, utcnow

LEASE_S = 900


@pytest.fixture
def state(tmp_path):
    state = State(sqlite_url(tmp_path / "state.db"))
    yield state
    state.dispose()


def make_file(state, path, content=b"picture") -> MediaFile:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    st = path.stat()
    with state.session() as session:
        media = MediaFile(
            source_path=str(path), staging_dir=str(path.parent), size=st.st_size,
            mtime_ns=st.st_mtime_ns, kind="image", file_type="jpg", status="claimed",
        )  # fmt: skip
        session.add(media)
    return media


def request(media, dest, name="photo.jpg", **kwargs) -> TransferRequest:
    src = kwargs.pop("src", media.source_path)
    return TransferRequest(
        file_id=media.id,
        src=src,
        dest_dir=str(dest),
        name=name,
        outcome=TransferOutcome({"status": "done", "place": "library", "people": ["x"]},
                                OutcomeEvent("routed")),
        expected_sha256=sha256_file(src) if os.path.exists(src) else None,
        **kwargs,
    )  # fmt: skip


def test_move_updates_record_and_audit_trail(state, tmp_path):
    media = make_file(state, tmp_path / "staging" / "photo.jpg")
    final = Journal(state, "tester", lease_s=LEASE_S).transfer(request(media, tmp_path / "lib"))
    assert final == str(tmp_path / "lib" / "photo.jpg")
    assert not os.path.exists(media.source_path)
    with state.session() as session:
        row = session.get(MediaFile, media.id)
        assert (row.current_path, row.status, row.place) == (final, "done", "library")
        (event,) = session.scalars(sa.select(Event)).all()
        assert (event.action, event.from_path, event.to_path) == (
            "routed",
            media.source_path,
            final,
        )
        assert session.scalar(sa.select(Transfer.state)) == "done"


def test_existing_names_are_never_overwritten(state, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "photo.jpg").write_bytes(b"someone else's photo")
    (lib / "photo (1).jpg").write_bytes(b"another one")
    media = make_file(state, tmp_path / "staging" / "photo.jpg")
    final = Journal(state, "tester", lease_s=LEASE_S).transfer(request(media, lib))
    assert final == str(lib / "photo (2).jpg")
    assert (lib / "photo.jpg").read_bytes() == b"someone else's photo"
    assert (lib / "photo (2).jpg").read_bytes() == b"picture"


def test_a_name_taken_while_moving_is_not_overwritten(state, tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    media = make_file(state, tmp_path / "staging" / "photo.jpg")
    real_link = os.link
    raced = []

    def link_after_someone_else(src, dst, *args, **kwargs):
        if not raced:
            raced.append(dst)
            with open(dst, "wb") as handle:  # another program writes the name first
                handle.write(b"theirs")
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "link", link_after_someone_else)
    final = Journal(state, "tester", lease_s=LEASE_S).transfer(request(media, lib))
    assert raced == [str(lib / "photo.jpg")]
    assert (lib / "photo.jpg").read_bytes() == b"theirs"
    assert (
        final == str(lib / "photo (1).jpg") and (lib / "photo (1).jpg").read_bytes() == b"picture"
    )
    with state.session() as session:
        states = sorted(session.scalars(sa.select(Transfer.state)))
    assert states == ["abandoned", "done"]


def test_two_planned_transfers_cannot_share_a_destination(state, tmp_path):
    media = make_file(state, tmp_path / "staging" / "photo.jpg")

    def planned():
        return Transfer(
            file_id=media.id, action="route", op="move", src="/a", dst="/lib/x.jpg", tmp=None,
            state="planned", outcome={}, actor="t",
        )  # fmt: skip

    with state.session() as session:
        session.add(planned())
    with pytest.raises(IntegrityError), state.session() as session:
        session.add(planned())


def test_a_source_that_changed_is_left_alone(state, tmp_path):
    media = make_file(state, tmp_path / "staging" / "photo.jpg")
    req = request(media, tmp_path / "lib", expected_stat=(1, 2, 3))
    with pytest.raises(SourceChanged):
        Journal(state, "tester", lease_s=LEASE_S).transfer(req)
    assert os.path.exists(media.source_path)
    assert not (tmp_path / "lib" / "photo.jpg").exists()


def test_copy_mode_keeps_the_original(state, tmp_path):
    media = make_file(state, tmp_path / "staging" / "photo.jpg")
    final = Journal(state, "tester", lease_s=LEASE_S).transfer(
        request(media, tmp_path / "lib", op="copy")
    )
    assert os.path.exists(media.source_path)
    assert Path(final).read_bytes() == b"picture"
    assert not os.path.samefile(final, media.source_path)
    assert not [p for p in os.listdir(tmp_path / "lib") if p.startswith(".facesort-")]


def test_recovery_leaves_transfers_of_live_processes_alone(state, tmp_path):
    media = make_file(state, tmp_path / "staging" / "photo.jpg")
    with state.session() as session:
        session.add(
            Transfer(
                file_id=media.id, action="route", op="move", src=media.source_path,
                dst=str(tmp_path / "lib" / "photo.jpg"), tmp=str(tmp_path / "lib" / ".t.part"),
                state="planned", outcome={"file": {"status": "done"}, "event": {}},
                actor="t", owner=owner_token(), lease_until=utcnow(),
            )
        )  # fmt: skip
    report = recover_transfers(state, lease_s=LEASE_S)
    assert report.skipped_live == 1 and os.path.exists(media.source_path)

    # The same transfer owned by a process that has exited is finished.
    dead = subprocess.run(
        [sys.executable, "-c",
         "from facesort.files.owners import owner_token; print(owner_token())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    with state.session() as session:
        session.execute(sa.update(Transfer).values(owner=dead))
    (tmp_path / "lib").mkdir()
    before = utcnow()
    report = recover_transfers(state, lease_s=123)  # claim_lease_seconds, not a default
    assert report.replanned == 1
    with state.session() as session:
        redone = session.scalars(sa.select(Transfer).where(Transfer.state == "done")).one()
    assert 123 <= (redone.lease_until - before).total_seconds() < 123 + 60
    assert (tmp_path / "lib" / "photo.jpg").read_bytes() == b"picture"
    assert not os.path.exists(media.source_path)


def test_recovery_of_a_vanished_source(state, tmp_path):
    media = make_file(state, tmp_path / "staging" / "photo.jpg")
    with state.session() as session:
        session.add(
            Transfer(
                file_id=media.id, action="route", op="move", src=media.source_path,
                dst=str(tmp_path / "lib" / "photo.jpg"), tmp=None, state="planned",
                outcome={"file": {"status": "done"}, "event": {}}, actor="t", owner=None,
                lease_until=utcnow(),
            )
        )  # fmt: skip
    os.unlink(media.source_path)  # the user deleted it before facesort moved it
    assert recover_transfers(state, lease_s=LEASE_S).vanished == 1
    with state.session() as session:
        assert session.get(MediaFile, media.id).status == "left"


def test_undo_a_group_and_undo_the_undo(state, tmp_path):
    files = [
        make_file(state, tmp_path / "staging" / f"p{i}.jpg", f"{i}".encode()) for i in range(3)
    ]
    journal = Journal(state, "tester", group_id="resort-7", lease_s=LEASE_S)
    for media in files:
        journal.transfer(request(media, tmp_path / "lib", name=os.path.basename(media.source_path)))
    assert sorted(os.listdir(tmp_path / "lib")) == ["p0.jpg", "p1.jpg", "p2.jpg"]

    undone = undo_group(state, "resort-7", "tester", lease_s=LEASE_S)
    assert undone.reverted == 3 and not undone.skipped
    assert sorted(os.listdir(tmp_path / "staging")) == ["p0.jpg", "p1.jpg", "p2.jpg"]
    with state.session() as session:
        rows = session.scalars(sa.select(MediaFile)).all()
        # Back in staging means waiting to be sorted again (not "claimed" by a batch
        # that is long done): the next run sorts them.
        assert {r.status for r in rows} == {"pending"} and {r.place for r in rows} == {None}
        assert {r.batch_id for r in rows} == {None}

    before = utcnow()
    redone = undo_group(state, undone.group_id, "tester", lease_s=77)
    assert redone.reverted == 3
    with state.session() as session:
        leases = session.scalars(
            sa.select(Transfer.lease_until).where(Transfer.group_id == redone.group_id)
        ).all()
    assert len(leases) == 3
    assert all(77 <= (lease - before).total_seconds() < 77 + 60 for lease in leases)
    assert sorted(os.listdir(tmp_path / "lib")) == ["p0.jpg", "p1.jpg", "p2.jpg"]


def test_undo_skips_a_file_moved_again_since(state, tmp_path):
    media = make_file(state, tmp_path / "staging" / "p.jpg")
    Journal(state, "tester", group_id="g1", lease_s=LEASE_S).transfer(
        request(media, tmp_path / "lib", name="p.jpg")
    )
    with state.session() as session:
        moved = session.get(MediaFile, media.id)
    moved_request = request(moved, tmp_path / "elsewhere", name="p.jpg", src=moved.current_path)
    Journal(state, "tester", group_id="g2", lease_s=LEASE_S).transfer(moved_request)
    report = undo_group(state, "g1", "tester", lease_s=LEASE_S)
    assert report.reverted == 0 and len(report.skipped) == 1
    assert os.path.exists(tmp_path / "elsewhere" / "p.jpg")
    shutil.rmtree(tmp_path / "staging")
