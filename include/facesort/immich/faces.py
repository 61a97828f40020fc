"""Immich's faces of one asset, from the API or the database, in one shape.

Boxes are kept as fractions of the picture (left, top, right, bottom), like facesort's
own faces: Immich gives pixels of its preview image (orientation applied), so they are
divided by ``imageWidth`` / ``imageHeight``.

A face *decides* only when its person is named and not hidden. Unnamed clusters
(``name == ""``), faces without a person and hidden people count as unknown faces,
which local matching then tries to identify.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _box(face: dict[str, Any]) -> tuple[float, float, float, float] | None:
    try:
        width = float(face["imageWidth"])
        height = float(face["imageHeight"])
        x1, y1 = float(face["boundingBoxX1"]), float(face["boundingBoxY1"])
        x2, y2 = float(face["boundingBoxX2"]), float(face["boundingBoxY2"])
    except (KeyError, TypeError, ValueError):
        return None
    if width <= 0 or height <= 0:
        return None

    def clamp(v: float) -> float:
        return round(min(1.0, max(0.0, v)), 5)

    return (clamp(x1 / width), clamp(y1 / height), clamp(x2 / width), clamp(y2 / height))


@dataclass(frozen=True)
class ImmichFace:
    box: tuple[float, float, float, float] | None
    person_id: str | None = None
    name: str | None = None  # "" for a cluster nobody named yet
    hidden: bool = False

    @property
    def named(self) -> bool:
        return bool(self.person_id and self.name and self.name.strip() and not self.hidden)

    def describe(self) -> str:
        if self.named:
            return f"{self.name} (named in Immich)"
        if self.person_id and self.hidden:
            return "a person hidden in Immich"
        if self.person_id:
            return "an unnamed person in Immich"
        return "a face Immich did not assign"

    def as_json(self) -> dict[str, Any]:
        return {
            "box": list(self.box) if self.box else None,
            "person_id": self.person_id,
            "name": self.name,
            "hidden": self.hidden,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImmichFace:
        box = data.get("box")
        return cls(
            box=tuple(box) if box else None,  # type: ignore[arg-type]
            person_id=data.get("person_id"),
            name=data.get("name"),
            hidden=bool(data.get("hidden")),
        )

    @classmethod
    def from_api(cls, face: dict[str, Any], person: dict[str, Any] | None) -> ImmichFace:
        return cls(
            box=_box(face),
            person_id=str(person["id"]) if person and person.get("id") else None,
            name=(person or {}).get("name"),
            hidden=bool((person or {}).get("isHidden")),
        )


@dataclass
class AssetFaces:
    """One Immich asset of a staged file, and its faces."""

    asset_id: str
    path: str  # the container path Immich knows the file by
    kind: str  # IMAGE | VIDEO | ...
    faces: list[ImmichFace] = field(default_factory=list)
    modified_at: datetime | None = None  # the file's mtime when Immich last read it
    # Detection finished (asset_job_status.facesRecognizedAt): only the database knows.
    recognized: bool | None = None
    offline: bool = False
    size: int | None = None  # bytes of the file when Immich read it (exifInfo), if known

    @classmethod
    def from_api_item(cls, item: dict[str, Any]) -> AssetFaces:
        """From a search result with ``withPeople``: named and unnamed people, with their
        faces, and the faces assigned to nobody."""
        faces = []
        for person in item.get("people") or []:
            for face in person.get("faces") or []:
                faces.append(ImmichFace.from_api(face, person))
        for face in item.get("unassignedFaces") or []:
            faces.append(ImmichFace.from_api(face, None))
        return cls(
            asset_id=str(item["id"]),
            path=str(item.get("originalPath")),
            kind=str(item.get("type") or ""),
            faces=faces,
            modified_at=_parse_time(item.get("fileModifiedAt")),
            offline=bool(item.get("isOffline")),
            size=_size((item.get("exifInfo") or {}).get("fileSizeInByte")),
        )


def _size(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
