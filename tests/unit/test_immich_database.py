"""The Immich database reader against real PostgreSQL holding both schema generations.

The tables are made as IMMICH_FACTS.md describes them: ``asset`` / ``asset_face`` (with
``visibility`` and the v2 ``isVisible`` on faces) and the older ``assets`` /
``asset_faces`` (``isArchived``, no ``isVisible``, faces without ``deletedAt``). Each
holds 10,000 assets; one call reads them all with one query.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from facesort.errors import ImmichError
from facesort.immich.database import ImmichDatabase

pytestmark = pytest.mark.postgres

N = 10_000
OBAMA = "00000000-0000-0000-0000-00000000000a"
UNNAMED = "00000000-0000-0000-0000-00000000000b"
HIDDEN = "00000000-0000-0000-0000-00000000000c"
LIBRARY = "00000000-0000-0000-0000-0000000000ff"

SCHEMAS = {
    "v1.136+": """
        CREATE TABLE asset (
            id uuid PRIMARY KEY, "ownerId" uuid NOT NULL, "libraryId" uuid,
            type varchar NOT NULL, "originalPath" text NOT NULL, "originalFileName" varchar,
            checksum bytea, "deletedAt" timestamptz, "isOffline" boolean DEFAULT false,
            visibility varchar DEFAULT 'timeline', status varchar DEFAULT 'active',
            "fileModifiedAt" timestamptz);
        CREATE INDEX "asset_originalPath_idx" ON asset ("libraryId", "originalPath");
        CREATE INDEX asset_path_idx ON asset ("originalPath");
        CREATE TABLE asset_face (
            id uuid PRIMARY KEY, "assetId" uuid NOT NULL, "personId" uuid,
            "imageWidth" int, "imageHeight" int, "boundingBoxX1" int, "boundingBoxY1" int,
            "boundingBoxX2" int, "boundingBoxY2" int, "sourceType" varchar,
            "deletedAt" timestamptz, "isVisible" boolean NOT NULL DEFAULT true);
        CREATE INDEX ON asset_face ("assetId");
    """,
    "before v1.136": """
        CREATE TABLE assets (
            id uuid PRIMARY KEY, "ownerId" uuid NOT NULL, "libraryId" uuid,
            type varchar NOT NULL, "originalPath" text NOT NULL, "originalFileName" varchar,
            checksum bytea, "deletedAt" timestamptz, "isOffline" boolean DEFAULT false,
            "isArchived" boolean DEFAULT false, "isVisible" boolean DEFAULT true,
            "fileModifiedAt" timestamptz);
        CREATE INDEX ON assets ("originalPath");
        CREATE TABLE asset_faces (
            id uuid PRIMARY KEY, "assetId" uuid NOT NULL, "personId" uuid,
            "imageWidth" int, "imageHeight" int, "boundingBoxX1" int, "boundingBoxY1" int,
            "boundingBoxX2" int, "boundingBoxY2" int, "sourceType" varchar);
        CREATE INDEX ON asset_faces ("assetId");
    """,
}
COMMON = """
    CREATE TABLE person (
        id uuid PRIMARY KEY, "ownerId" uuid, name varchar NOT NULL DEFAULT '',
        "isHidden" boolean NOT NULL DEFAULT false, "birthDate" date,
        "thumbnailPath" varchar DEFAULT '', "faceAssetId" uuid,
        "isFavorite" boolean DEFAULT false);
    CREATE TABLE asset_job_status (
        "assetId" uuid PRIMARY KEY, "facesRecognizedAt" timestamptz,
        "metadataExtractedAt" timestamptz);
    CREATE TABLE face_search ("faceId" uuid PRIMARY KEY, embedding real[]);
"""


def path(i: int) -> str:
    return f"/mnt/downloads/batch/IMG_{i:05d}.jpg"


def fill(url: str, generation: str) -> None:
    """10,000 assets, one face each: i % 4 -> obama, an unnamed cluster, a hidden person,
    nobody. Asset 7 of each thousand is soft-deleted; detection is unfinished for 9 of
    each thousand; every 100th face is gone (soft-deleted, or invisible on v2)."""
    new = generation == "v1.136+"
    asset, face = ("asset", "asset_face") if new else ("assets", "asset_faces")
    engine = sa.create_engine(url)
    with engine.begin() as conn:

        def run(sql: str) -> None:
            conn.exec_driver_sql(sql.replace("%", "%%"))  # psycopg2 formats with %

        run(SCHEMAS[generation] + COMMON)
        run(
            f"""INSERT INTO person (id, name, "isHidden") VALUES
            ('{OBAMA}', 'obama', false), ('{UNNAMED}', '', false),
            ('{HIDDEN}', 'Someone', true)"""
        )
        run(
            f"""INSERT INTO {asset} (id, "ownerId", "libraryId", type, "originalPath",
                "fileModifiedAt", "deletedAt")
            SELECT md5('a' || i)::uuid, '{OBAMA}', '{LIBRARY}', 'IMAGE',
                   '/mnt/downloads/batch/IMG_' || lpad(i::text, 5, '0') || '.jpg',
                   '2026-01-01T00:00:00Z',
                   CASE WHEN i % 1000 = 7 THEN now() END
            FROM generate_series(0, {N - 1}) i"""
        )
        gone = ', "deletedAt"' if new else ""
        gone_value = ", CASE WHEN i % 100 = 50 THEN now() END" if new else ""
        visible = ', "isVisible"' if new else ""
        visible_value = ", i % 100 <> 60" if new else ""
        run(
            f"""INSERT INTO {face} (id, "assetId", "personId", "imageWidth", "imageHeight",
                "boundingBoxX1", "boundingBoxY1", "boundingBoxX2", "boundingBoxY2",
                "sourceType"{gone}{visible})
            SELECT md5('f' || i)::uuid, md5('a' || i)::uuid,
                   (ARRAY['{OBAMA}', '{UNNAMED}', '{HIDDEN}', NULL])[i % 4 + 1]::uuid,
                   1440, 960, 144, 96, 432, 480, 'machine-learning'{gone_value}{visible_value}
            FROM generate_series(0, {N - 1}) i"""
        )
        run(
            f"""INSERT INTO asset_job_status ("assetId", "facesRecognizedAt")
            SELECT md5('a' || i)::uuid, CASE WHEN i % 1000 <> 9 THEN now() END
            FROM generate_series(0, {N - 1}) i"""
        )
    engine.dispose()


@pytest.mark.parametrize("generation", ["v1.136+", "before v1.136"])
def test_a_batch_of_10000_paths_is_read_with_one_query(pg_url, generation):
    fill(pg_url, generation)
    database = ImmichDatabase(pg_url)
    try:
        assert database.schema.generation == generation
        statements = []
        sa.event.listen(
            database.engine, "before_cursor_execute", lambda *a: statements.append(a[2])
        )
        wanted = [path(i) for i in range(N)] + ["/mnt/downloads/batch/not-in-immich.jpg"]
        found = database.assets_for_paths(wanted, [LIBRARY])
        assert len(statements) == 1
    finally:
        database.dispose()

    assert len(found) == N - N // 1000  # soft-deleted assets are not found
    assert path(7) not in found and path(1007) not in found
    obama = found[path(4)]
    assert [(f.name, f.named, f.box) for f in obama.faces] == [
        ("obama", True, (0.1, 0.1, 0.3, 0.5))
    ]
    assert obama.recognized and obama.kind == "IMAGE"
    assert [(f.name, f.named) for f in found[path(1)].faces] == [("", False)]  # unnamed
    assert [(f.hidden, f.named) for f in found[path(2)].faces] == [(True, False)]
    assert [(f.person_id, f.named) for f in found[path(3)].faces] == [(None, False)]
    assert not found[path(9)].recognized
    if generation == "v1.136+":
        assert found[path(50)].faces == [] and found[path(60)].faces == []  # gone, invisible
    else:
        assert len(found[path(50)].faces) == 1 and len(found[path(60)].faces) == 1
    named = sum(1 for a in found.values() if any(f.named for f in a.faces))
    invisible_counts = generation == "before v1.136"  # no isVisible column there
    assert named == len(
        [i for i in range(0, N, 4) if i % 1000 != 7 and (invisible_counts or i % 100 != 60)]
    )


def test_progress_counts_found_and_recognised_assets_in_one_query(pg_url):
    fill(pg_url, "v1.136+")
    database = ImmichDatabase(pg_url)
    try:
        found, recognised = database.progress([path(i) for i in range(2000)] + ["/nope.jpg"])
    finally:
        database.dispose()
    assert (found, recognised) == (1998, 1996)


def test_a_database_that_is_not_immichs_is_named(pg_url):
    database = ImmichDatabase(pg_url, source="the Airflow connection immich_db")
    try:
        with pytest.raises(ImmichError, match="neither asset/asset_face nor assets/asset_faces"):
            database.assets_for_paths(["/x.jpg"])
    finally:
        database.dispose()


@pytest.mark.slow
def test_db_mode_uses_the_queues_for_faces_without_faces_recognized_at(
    pg_url, make_workspace, immich_double
):
    """A face made by hand (or one there while Immich's machine learning failed) never
    sets facesRecognizedAt: DB mode uses the idle queues then, as API mode does, and says
    which signal decided. The size Immich read (asset_exif) tells a stale asset."""
    import shutil
    from datetime import UTC, datetime

    from conftest import configure_immich
    from immich_double import PHOTOS

    from facesort.sorting.run import run_once

    ws = make_workspace(stage=(), extras=False)
    shutil.copy(next(PHOTOS.rglob("lin-manuel-miranda.png")), ws.staging)
    shutil.copy(next(PHOTOS.rglob("obama1.jpg")), ws.staging)
    double = immich_double(ws, machine_learning=False)  # the queues; faces come from the DB
    configure_immich(ws, double.url, db_url=pg_url)
    library = double.libraries[0]["id"]
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql((SCHEMAS["v1.136+"] + COMMON).replace("%", "%%"))
        conn.exec_driver_sql(
            'CREATE TABLE asset_exif ("assetId" uuid PRIMARY KEY, "fileSizeInByte" bigint)'
        )
        person = "00000000-0000-4000-8000-0000000000aa"
        conn.execute(
            sa.text("INSERT INTO person (id, name) VALUES (:p, 'lin-manuel-miranda')"),
            {"p": person},
        )
        for i, name in enumerate(["lin-manuel-miranda.png", "obama1.jpg"]):
            asset = f"00000000-0000-4000-8000-00000000010{i}"
            mtime = datetime.fromtimestamp((ws.staging / name).stat().st_mtime, UTC)
            conn.execute(
                sa.text(
                    'INSERT INTO asset (id, "ownerId", "libraryId", type, "originalPath", '
                    '"fileModifiedAt") VALUES (:a, :p, :l, \'IMAGE\', :path, :m)'
                ),
                {"a": asset, "p": person, "l": library, "path": f"/mnt/downloads/{name}",
                 "m": mtime},
            )  # fmt: skip
            # The size Immich read: right for lin-manuel-miranda.png, not for obama1.jpg.
            size = (ws.staging / name).stat().st_size + (0 if i == 0 else 1)
            conn.execute(
                sa.text('INSERT INTO asset_exif ("assetId", "fileSizeInByte") VALUES (:a, :s)'),
                {"a": asset, "s": size},
            )
            # facesRecognizedAt NULL for both: machine learning failed.
            conn.execute(
                sa.text('INSERT INTO asset_job_status ("assetId") VALUES (:a)'), {"a": asset}
            )
            if i == 0:  # a face the user drew by hand, named
                conn.execute(
                    sa.text(
                        'INSERT INTO asset_face (id, "assetId", "personId", "imageWidth", '
                        '"imageHeight", "boundingBoxX1", "boundingBoxY1", "boundingBoxX2", '
                        '"boundingBoxY2", "sourceType") VALUES '
                        "(:f, :a, :p, 704, 612, 241, 170, 562, 491, 'manual')"
                    ),
                    {"f": "00000000-0000-4000-8000-0000000002aa", "a": asset, "p": person},
                )
    engine.dispose()

    summary = run_once(ws.config(), workers=1, sleep=lambda _: None)

    assert summary.immich["wait"] == "ready", summary.immich
    files = ws.files()
    assert files["lin-manuel-miranda.png"] == "library/lin-manuel-miranda"  # only Immich knows
    assert files["obama1.jpg"] == "library/obama"  # Immich's asset is stale: matched locally
    from facesort.state import State
    from facesort.state.models import ImmichFile

    state = State(ws.config().database_url)
    try:
        with state.session() as session:
            rows = {r.container_path: r for r in session.scalars(sa.select(ImmichFile))}
    finally:
        state.dispose()
    lin = rows["/mnt/downloads/lin-manuel-miranda.png"]
    assert (lin.status, lin.source) == ("faces", "db")
    assert "Immich's face queues idle after the scan" in lin.detail
    obama = rows["/mnt/downloads/obama1.jpg"]
    size = (ws.root / "library" / "obama" / "obama1.jpg").stat().st_size
    assert obama.status == "stale"
    assert f"({size + 1} bytes in Immich, {size} now)" in obama.detail
