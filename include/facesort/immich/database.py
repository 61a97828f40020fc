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
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from facesort.errors import ImmichError, ImmichUnavailable
from facesort.immich.db_schema import ImmichSchema, assets_query, read_schema
from facesort.immich.faces import AssetFaces, ImmichFace

__all__ = ["ImmichDatabase", "ImmichSchema"]


class ImmichDatabase:
    """Immich's database, read-only: a batch of paths' assets and faces in one query."""

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
            return read_schema(conn, self.describe(), self.source)

    def _rows(
        self,
        paths: Iterable[str],
        library_ids: list[str] | None,
        *,
        with_faces: bool,
        select: str = "{assets}",
    ) -> list[sa.RowMapping]:
        """The rows of ``select`` over the assets (and faces) of ``paths``; none, with no
        round trip to the server, when there are no paths."""
        wanted = sorted(set(paths))
        if not wanted:
            return []
        query = select.format(assets=assets_query(self.schema, library_ids, with_faces))
        params: dict[str, Any] = {"paths": wanted}
        if library_ids:
            params["library_ids"] = list(library_ids)
        with self._connect() as conn:
            return list(conn.execute(sa.text(query), params).mappings())

    def assets_for_paths(
        self, paths: Iterable[str], library_ids: list[str] | None = None
    ) -> dict[str, AssetFaces]:
        """Container path -> its asset and faces, in ONE query for all ``paths``."""
        found: dict[str, AssetFaces] = {}
        for row in self._rows(paths, library_ids, with_faces=True):
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
        counts = (
            "SELECT count(DISTINCT path) AS found, "
            "count(DISTINCT path) FILTER (WHERE recognized) AS recognized FROM ({assets}) found"
        )
        rows = self._rows(paths, library_ids, with_faces=False, select=counts)
        if not rows:
            return 0, 0
        return int(rows[0]["found"]), int(rows[0]["recognized"])
