"""Reading faces straight from Immich's PostgreSQL database (read-only, optional).

One query answers a whole batch of paths. The schema is detected, not assumed:

- tables ``asset`` / ``asset_face`` since v1.136, ``assets`` / ``asset_faces`` before;
- ``visibility`` (since v1.133) or the older ``isArchived`` on assets;
- ``isVisible`` on faces where it exists (v2.x), and ``deletedAt`` filters wherever the
  column exists: soft-deleted assets and faces are never read;
- ``asset_job_status."facesRecognizedAt"``: detection has finished for the asset, which
  is what makes an empty face list mean "no face" rather than "not yet" (it is set only
  by a successful machine-learning detection: faces made by hand never set it);
- ``asset_exif."fileSizeInByte"`` (``exif`` before v1.136), where it exists: the size of
  the file Immich read, to tell an asset of another file at the same path.

Identifiers are camelCase and double-quoted. Every transaction is read-only on the
server side (``default_transaction_read_only``), on top of the read-only role the README
asks for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from facesort.errors import ImmichError, ImmichUnavailable
from facesort.immich.faces import AssetFaces, ImmichFace


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


class ImmichDatabase:
    def __init__(self, url: str, *, source: str = "immich.db_url"):
        self.source = source
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            raise ImmichError(
                f"{source} is not a database URL: write it like "
                "postgresql://facesort_reader:PASSWORD@immich-db:5432/immich"
            ) from None
        if parsed.get_backend_name() != "postgresql":
            raise ImmichError(f"{source} must be a PostgreSQL URL (Immich's database).")
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg2")
        self.url = parsed
        self.engine = sa.create_engine(
            parsed,
            pool_pre_ping=True,
            connect_args={"options": "-c default_transaction_read_only=on", "connect_timeout": 10},
        )

    def describe(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()

    def _connect(self):
        try:
            return self.engine.connect()
        except sa.exc.OperationalError as exc:
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise ImmichUnavailable(
                f"Immich's database {self.describe()} cannot be used ({detail}): check "
                f"{self.source}, that the server accepts connections from here and the role "
                "can log in; facesort reads face data over the API meanwhile."
            ) from None

    @cached_property
    def schema(self) -> ImmichSchema:
        with self._connect() as conn:
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
                    f"{self.describe()} has neither asset/asset_face nor assets/asset_faces "
                    f"tables: is {self.source} Immich's database (usually named immich), and "
                    "may the role read its tables?"
                )
            missing = {"person", "asset_job_status"} - tables
            if missing:
                raise ImmichError(
                    f"{self.describe()} lacks the table(s) {', '.join(sorted(missing))}: the "
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
                (
                    t
                    for t in ("asset_exif", "exif")
                    if t in tables and "fileSizeInByte" in columns(t)
                ),
                None,
            )
            return ImmichSchema(asset, face, columns(asset), columns(face), exif)

    def _assets_query(self, library_ids: list[str] | None, with_faces: bool) -> str:
        s = self.schema
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

    def assets_for_paths(
        self, paths: Iterable[str], library_ids: list[str] | None = None
    ) -> dict[str, AssetFaces]:
        """Container path -> its asset and faces, in ONE query for all ``paths``."""
        wanted = sorted(set(paths))
        if not wanted:
            return {}
        query = sa.text(self._assets_query(library_ids, with_faces=True))
        params: dict[str, Any] = {"paths": wanted}
        if library_ids:
            params["library_ids"] = list(library_ids)
        found: dict[str, AssetFaces] = {}
        with self._connect() as conn:
            for row in conn.execute(query, params).mappings():
                asset = found.get(row["path"])
                if asset is not None and asset.asset_id != row["asset_id"]:
                    # Two assets for one path (two libraries): prefer the one online.
                    if asset.offline and not row["offline"]:
                        asset = None
                    else:
                        continue
                if asset is None:
                    asset = AssetFaces(
                        asset_id=row["asset_id"],
                        path=row["path"],
                        kind=row["kind"],
                        modified_at=row["modified_at"],
                        recognized=bool(row["recognized"]),
                        offline=bool(row["offline"]),
                        size=int(row["size"]) if row["size"] is not None else None,
                    )
                    found[row["path"]] = asset
                if row["face_id"] is not None:
                    asset.faces.append(
                        ImmichFace.from_api(
                            {
                                "imageWidth": row["imageWidth"],
                                "imageHeight": row["imageHeight"],
                                "boundingBoxX1": row["boundingBoxX1"],
                                "boundingBoxY1": row["boundingBoxY1"],
                                "boundingBoxX2": row["boundingBoxX2"],
                                "boundingBoxY2": row["boundingBoxY2"],
                            },
                            {
                                "id": row["person_id"],
                                "name": row["person_name"],
                                "isHidden": row["person_hidden"],
                            }
                            if row["person_id"]
                            else None,
                        )
                    )
        return found

    def progress(
        self, paths: Iterable[str], library_ids: list[str] | None = None
    ) -> tuple[int, int]:
        """(assets found, assets whose face detection finished) for ``paths``: one query."""
        wanted = sorted(set(paths))
        if not wanted:
            return 0, 0
        inner = self._assets_query(library_ids, with_faces=False)
        query = sa.text(
            f"SELECT count(DISTINCT path), count(DISTINCT path) FILTER (WHERE recognized) "
            f"FROM ({inner}) found"
        )
        params: dict[str, Any] = {"paths": wanted}
        if library_ids:
            params["library_ids"] = list(library_ids)
        with self._connect() as conn:
            found, recognized = conn.execute(query, params).one()
        return int(found), int(recognized)
