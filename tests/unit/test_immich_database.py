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
