"""Immich's schema as facesort reads it: which tables and columns exist (detected once per
:class:`~facesort.immich.database.ImmichDatabase`), and the one query built for them."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from facesort.errors import ImmichError
from facesort.words import form


@dataclass(frozen=True)
class ImmichSchema:
    asset: str  # "asset" or "assets"
    face: str  # "asset_face" or "asset_faces"
    asset_columns: frozenset[str]
    face_columns: frozenset[str]
    exif: str | None = None  # "asset_exif" (v1.136+) or "exif", when it has the file size

    @property
    def generation(self) -> str:
        return "v1.136+" if self.asset == "asset" else "before v1.136"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_schema(conn: sa.Connection, described: str, source: str) -> ImmichSchema:
    """Which generation of tables and columns this Immich has (``described``: the database
    for messages, ``source``: the setting it came from)."""
    tables = set(
        conn.scalars(
            sa.text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        )
    )
    if {"asset", "asset_face"} <= tables:
        asset, face = "asset", "asset_face"
    elif {"assets", "asset_faces"} <= tables:
        asset, face = "assets", "asset_faces"
    else:
        raise ImmichError(
            f"{described} has neither asset/asset_face nor assets/asset_faces "
            f"tables: is {source} Immich's database (usually named immich), and "
            "may the role read its tables?"
        )
    missing = {"person", "asset_job_status"} - tables
    if missing:
        raise ImmichError(
            f"{described} lacks the {form(missing, 'table')} "
            f"{', '.join(sorted(missing))}: the "
            "role needs SELECT on Immich's tables (see README, section Immich)."
        )

    def columns(table: str) -> frozenset[str]:
        return frozenset(
            conn.scalars(
                sa.text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND table_name = :t"
                ),
                {"t": table},
            )
        )

    exif = next(
        (t for t in ("asset_exif", "exif") if t in tables and "fileSizeInByte" in columns(t)),
        None,
    )
    return ImmichSchema(asset, face, columns(asset), columns(face), exif)


def assets_query(s: ImmichSchema, library_ids: list[str] | None, with_faces: bool) -> str:
    """One query over ``unnest(:paths)``: each wanted path's asset (and its faces)."""
    a_cols, f_cols = s.asset_columns, s.face_columns
    select = [
        'a.id::text AS asset_id',
        'a."originalPath" AS path',
        "a.type::text AS kind",
        'js."facesRecognizedAt" IS NOT NULL AS recognized',
        'a."fileModifiedAt" AS modified_at' if "fileModifiedAt" in a_cols else
        "NULL AS modified_at",
        'a."isOffline" AS offline' if "isOffline" in a_cols else "false AS offline",
        'x."fileSizeInByte" AS size' if s.exif else "NULL AS size",
    ]  # fmt: skip
    joins = [
        f'JOIN {_quote(s.asset)} a ON a."originalPath" = wanted.path',
        'LEFT JOIN asset_job_status js ON js."assetId" = a.id',
    ]
    if s.exif:
        joins.append(f'LEFT JOIN {_quote(s.exif)} x ON x."assetId" = a.id')
    if with_faces:
        face_filter = ['f."assetId" = a.id']
        if "deletedAt" in f_cols:
            face_filter.append('f."deletedAt" IS NULL')
        if "isVisible" in f_cols:
            face_filter.append('f."isVisible"')
        select += [
            "f.id::text AS face_id",
            'f."imageWidth"',
            'f."imageHeight"',
            'f."boundingBoxX1"',
            'f."boundingBoxY1"',
            'f."boundingBoxX2"',
            'f."boundingBoxY2"',
            "p.id::text AS person_id",
            "p.name AS person_name",
            'p."isHidden" AS person_hidden',
        ]
        joins += [
            f"LEFT JOIN {_quote(s.face)} f ON {' AND '.join(face_filter)}",
            'LEFT JOIN person p ON p.id = f."personId"',
        ]
    where = []
    if "deletedAt" in a_cols:
        where.append('a."deletedAt" IS NULL')
    if "status" in a_cols:
        where.append("a.status::text <> 'deleted'")
    if library_ids:
        where.append('a."libraryId"::text = ANY(:library_ids)')
    return (
        f"SELECT {', '.join(select)} "
        "FROM unnest(CAST(:paths AS text[])) AS wanted(path) "
        + " ".join(joins)
        + (f" WHERE {' AND '.join(where)}" if where else "")
    )
