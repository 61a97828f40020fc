"""The state database on SQLite and PostgreSQL: schema, claims, duplicate locks."""

from __future__ import annotations

import multiprocessing
import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from facesort.config import REVIEW_CATEGORIES
from facesort.errors import StateError
from facesort.state import State, head_revision, sqlite_url
from facesort.state.db import VERSION_TABLE
from facesort.state.models import Base, Batch, MediaFile
from facesort.vocab import Category, FileStatus, Kind


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "state.db")
    return request.getfixturevalue("pg_url")


def test_migrations_build_exactly_the_models(url):
    state = State(url)
    assert state.current_revision() == head_revision()
    with state.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    State(url).upgrade()  # a second open is a no-op
    state.dispose()


def test_unreachable_or_malformed_database_is_named():
    with pytest.raises(StateError, match="not a database URL"):
        State("not a url")
    with pytest.raises(StateError, match=r"Cannot use the state database .*127\.0\.0\.1:1"):
        State("postgresql+psycopg2://nobody@127.0.0.1:1/none")
    with pytest.raises(StateError, match="does not exist: create it"):
        State("sqlite:////no/such/folder/state.db")


def _add_pending(url: str, count: int) -> None:
    state = State(url)
    with state.session() as session:
        session.add_all(
            MediaFile(
                source_path=f"/staging/{i}.jpg", staging_dir="/staging", size=i, mtime_ns=i,
                kind="image", file_type="jpg", status="pending",
            )
            for i in range(count)
        )  # fmt: skip
    state.dispose()


def _claim_worker(url: str, batch_size: int, start, results) -> None:
    from facesort.config import parse_config
    from facesort.sorting.batches import plan_batches

    config = parse_config(
        {"staging_dirs": ["/s"], "library_dir": "/l", "review_dir": "/r",
         "references_dir": "/f", "batch_size": batch_size}
    )  # fmt: skip
    state = State(url)
    start.wait()
    claimed = []
    for batch_id in plan_batches(state, config, f"run-{os.getpid()}"):
        with state.session() as session:
            claimed.extend(
                session.scalars(sa.select(MediaFile.id).where(MediaFile.batch_id == batch_id))
            )
    results.put(claimed)
    state.dispose()


def test_concurrent_runs_never_claim_the_same_file(url):
    _add_pending(url, 400)
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(4), ctx.Queue()
    workers = [ctx.Process(target=_claim_worker, args=(url, 7, start, results)) for _ in range(4)]
    for w in workers:
        w.start()
    claims = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    everything = [file_id for claim in claims for file_id in claim]
    assert len(everything) == len(set(everything)) == 400, [len(c) for c in claims]


def test_batches_for_workers_get_smaller_and_keep_every_worker_busy(url):
    """plan_batches for two workers: every pending file in one batch, largest files in
    the first (largest) batches, batch_size never exceeded, a batch for each worker."""
    from facesort.config import parse_config
    from facesort.sorting.batches import plan_batches, shared_batch_sizes

    assert shared_batch_sizes(140, 2, 200) == [35, 27, 20, 15, 11, 8, 6, 5, 4, 4, 4, 1]
    assert shared_batch_sizes(1000, 2, 200)[:3] == [200, 200, 150]
    assert shared_batch_sizes(3, 2, 200) == [2, 1]  # each worker gets one
    for files, workers in [(1, 2), (7, 4), (81, 3), (500, 8)]:
        sizes = shared_batch_sizes(files, workers, 50)
        assert sum(sizes) == files and max(sizes) <= 50 and sizes == sorted(sizes, reverse=True)
        assert len(sizes) >= min(files, workers)
    _add_pending(url, 60)
    config = parse_config(
        {"staging_dirs": ["/s"], "library_dir": "/l", "review_dir": "/r",
         "references_dir": "/f", "batch_size": 12}
    )  # fmt: skip
    state = State(url)
    batches = plan_batches(state, config, "run-sizes", min_batches=2)
    with state.session() as session:
        sizes = [
            session.scalar(sa.select(Batch.file_count).where(Batch.id == batch_id))
            for batch_id in batches
        ]
        claimed = session.scalar(
            sa.select(sa.func.count()).select_from(MediaFile).where(MediaFile.batch_id.is_not(None))
        )
    state.dispose()
    assert sizes == shared_batch_sizes(60, 2, 12) and claimed == 60


def _dedupe_worker(url: str, file_id: int, start, results) -> None:
    from facesort.config import DuplicateSettings
    from facesort.dedupe import DuplicateFinder

    state = State(url)
    finder = DuplicateFinder(state, DuplicateSettings())
    start.wait()
    # Same bytes in two files, or the same picture at another size.
    sha = "ab" * 32 if file_id % 2 else f"{file_id:064x}"
    found = finder.keep_or_find(file_id, sha, "cb999ae36499388e")
    results.put((file_id, None if found is None else found.original_id))
    state.dispose()


def test_concurrent_copies_of_one_picture_keep_exactly_one(url):
    _add_pending(url, 6)
    with State(url).session() as session:
        ids = list(session.scalars(sa.select(MediaFile.id)))
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(len(ids)), ctx.Queue()
    workers = [ctx.Process(target=_dedupe_worker, args=(url, i, start, results)) for i in ids]
    for w in workers:
        w.start()
    outcomes = dict(results.get(timeout=120) for _ in workers)
    for w in workers:
        w.join(timeout=60)
    originals = [i for i, original in outcomes.items() if original is None]
    assert len(originals) == 1, outcomes
    assert all(original == originals[0] for i, original in outcomes.items() if original)


@pytest.mark.postgres
@pytest.mark.slow
def test_the_pipeline_runs_on_postgresql(make_workspace, pg_url):
    from facesort.sorting.run import run_once

    ws = make_workspace(stage=("incoming",), extras=True, settings={"state_url": pg_url})
    summary = run_once(ws.config(), workers=2)
    files = ws.files()
    assert files["two_people.jpg"] == "review/multiple_faces"
    assert files["obama1.jpg"] == "library/obama"
    assert files["truncated.jpg"] == "review/unreadable"
    assert sorted(files.values()).count("review/duplicates") == 4
    assert len(summary.results) == len(files)
    state = State(pg_url)
    with state.session() as session:
        done = session.scalar(
            sa.select(sa.func.count()).select_from(MediaFile).where(MediaFile.status == "done")
        )
    assert done == len(files)
    state.dispose()


def test_a_batch_owned_by_a_live_worker_is_not_taken(make_workspace, photos):
    import socket

    import psutil

    from facesort.sorting.batches import BatchTaken, process_batch, scan_and_plan
    from facesort.state.models import Batch

    ws = make_workspace(stage=(), extras=False)
    shutil_copy = __import__("shutil").copyfile
    shutil_copy(photos / "incoming/obama1.jpg", ws.staging / "obama1.jpg")
    config = ws.config()
    state = State(config.database_url)
    _, (batch_id,) = scan_and_plan(state, config, "run", actor="test")
    parent = psutil.Process(os.getppid())
    alive = f"{socket.gethostname()}/{parent.pid}/{int(parent.create_time() * 100)}"
    with state.session() as session:
        session.get(Batch, batch_id).owner = alive
    with pytest.raises(BatchTaken, match="being processed by"):
        process_batch(state, config, batch_id, actor="test")
    assert (ws.staging / "obama1.jpg").exists()
    state.dispose()


def test_state_as_a_context_manager_disposes_its_engine_and_stores_enum_values(tmp_path):
    disposed = []
    with State(sqlite_url(tmp_path / "state.db")) as state:
        sa.event.listen(state.engine, "engine_disposed", lambda engine: disposed.append(engine))
        with state.session() as session:
            row = MediaFile(
                source_path="/s/a.jpg", staging_dir="/s", size=1, mtime_ns=1,
                kind=Kind.IMAGE, file_type="jpg", status=FileStatus.PENDING,
            )  # fmt: skip
            session.add(row)
        with state.session() as session:
            stored = session.execute(sa.text("SELECT kind, status FROM media_file")).one()
            found = session.scalars(
                sa.select(MediaFile).where(MediaFile.status == FileStatus.PENDING)
            ).one()
    assert disposed == [state.engine]
    assert tuple(stored) == ("image", "pending")  # the plain strings, as before the enums
    assert found.kind == Kind.IMAGE and found.status == FileStatus.PENDING
    assert tuple(Category) == REVIEW_CATEGORIES


def test_a_file_registered_by_a_killed_try_is_not_its_own_duplicate(url):
    """A try killed after the file was registered as an original leaves it one; the
    retry must find no duplicate in it (exact or near), while another copy still does."""
    from facesort.config import DuplicateSettings
    from facesort.dedupe import DuplicateFinder

    _add_pending(url, 3)
    with State(url) as state:
        with state.session() as session:
            first, copy, resized = list(session.scalars(sa.select(MediaFile.id)))
        sha, phash = "ab" * 32, "cb999ae36499388e"
        assert DuplicateFinder(state, DuplicateSettings()).keep_or_find(first, sha, phash) is None
        retry = DuplicateFinder(state, DuplicateSettings())  # the next process
        assert retry.find_exact(sha, first) is None
        assert retry.keep_or_find(first, sha, phash) is None
        assert retry.keep_or_find(copy, sha, phash).original_id == first
        near = retry.keep_or_find(resized, "cd" * 32, "cb999ae36499388f")
        assert near is not None and near.original_id == first and not near.exact


def test_an_original_registered_after_a_forgotten_one_is_still_read(url):
    """A finder reads the originals registered after the last seq it saw: the seq of an
    original forgotten from the top of the table (its processing failed) is never given
    to the next one (SQLite AUTOINCREMENT, migration 0007), so a near copy of that next
    one is found by a finder that had read the forgotten one."""
    from facesort.config import DuplicateSettings
    from facesort.dedupe import DuplicateFinder, forget_original

    _add_pending(url, 4)
    with State(url) as state:
        with state.session() as session:
            first, failed, later, copy = list(session.scalars(sa.select(MediaFile.id)))
        worker = DuplicateFinder(state, DuplicateSettings())
        other = DuplicateFinder(state, DuplicateSettings())  # another worker
        assert worker.keep_or_find(first, "a1" * 32, "0000000000000000") is None
        # 64 bits from `first`, not a near copy (NumPy counted the signed xor: 1 bit)
        assert other.keep_or_find(failed, "b2" * 32, "ffffffffffffffff") is None
        with state.session() as session:
            assert worker.near(session, "00000000ffffffff") is None  # it reads `failed`
            forget_original(session, failed)  # the table's top row
        assert other.keep_or_find(later, "c3" * 32, "0f0f0f0f0f0f0f0f") is None
        near = worker.keep_or_find(copy, "d4" * 32, "0f0f0f0f0f0f0f0e")
        assert near is not None and near.original_id == later and not near.exact
