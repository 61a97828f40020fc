"""A test double of Immich: a real HTTP server with the routes facesort uses.

Shapes follow the OpenAPI description of Immich v1.137.3 (``../shared/immich``; the
contract test checks them), behaviour follows what a real v1.137.3 server was seen to do
(``IMMICH_FACTS.md``, section "Observed"):

- an external library sees files through a "container" path: the double maps its
  import paths onto real host folders and lists the files there when a scan runs;
- an external-library asset IS its path. When a scan finds an asset's file gone, the
  asset goes offline and is trashed (``isOffline``, ``deletedAt``): search finds it only
  with ``withDeleted: true``, its faces and their people stay on it. The file at its new
  path is a NEW asset (new id) without faces. A file that comes back to a trashed
  asset's path brings that asset back (its faces too);
- assets appear only once the library job of a scan has run; then each new asset moves
  through metadataExtraction -> thumbnailGeneration -> faceDetection, a pause in which
  every queue is idle, and facialRecognition (recognition starts after detection
  drains): queues drain over a few polls, each queue-status request being one tick;
- faces come from ``tests/fixtures/immich/faces.json`` (real boxes of the fixture
  photos, looked up by file name, or by content for a renamed copy). With machine
  learning on, detection adds them unassigned and sets ``facesRecognizedAt``;
  recognition then gives each the person the catalogue names, EXCEPT on an asset whose
  content is also on a trashed asset (or one whose file is gone, trashed by the next
  scan): Immich's recognition searches only faces on non-trashed assets, so a moved
  file's new faces stay unassigned. ``machine_learning=False`` (ML unreachable):
  detection finishes without faces and without ``facesRecognizedAt``;
  ``facial_recognition=False`` (the feature off): no detection job at all;
- people: each catalogue person with a thumbnail is named on an uploaded photo of the
  user (a "seed" asset at ``/data/upload/...``, in no library, ``seeded=False`` to have
  none), so they are listed before any scan. ``GET /api/people`` lists only people with
  a face on a visible, non-trashed asset (unnamed ones only from 3 faces, hidden ones
  only with ``withHidden``); ``total`` counts them all, ``hidden`` the hidden ones.
  ``GET /api/people/{id}`` answers for every person that exists. A person's thumbnail
  is 404 ``{"message":"Not Found","statusCode":404}`` until the person has a feature
  face (a machine-learning face assigned to them), ``image/jpeg`` after;
- ``updatedAt`` of a person is ``...807Z`` in the people routes, ``...807696+00:00``
  inside search results and ``/api/faces``;
- the path search: ``f_unaccent(path) ILIKE '%' || f_unaccent(P) || '%'`` (case- and
  accent-insensitive substring, ``%`` and ``_`` wildcards, ``\\`` escapes), only
  ``timeline`` assets without ``visibility``, newest ``fileCreatedAt`` first, a string
  ``nextPage``; 400 (NestJS body, ``message`` a list) for ``size`` over 1000, ``page``
  under 1 or a ``libraryId`` that is not a UUID; items always carry ``people``;
- errors as Immich words them: 401 ``Authentication required`` (no key) / ``Invalid API
  key``; 403 ``Missing required permission: X`` / plain ``Forbidden`` (``admin=False``:
  a non-admin user's key on libraries, scans, jobs and queues); unknown routes 404
  ``Cannot GET /api/x``; unknown ids 400 ``Not found or no asset.read access``; failures
  can be injected (500s, slow answers);
- flavours: ``v1`` (1.137.3: ``/api/jobs``), ``v1-old`` (1.106: ``/api/server-info/*``),
  ``v2`` (2.4.1: ``/api/queues`` and ``/api/jobs``), ``v3`` (3.0.0: ``/api/queues`` only).

Face writes (v1.137.3): ``PUT /api/faces/{personId}`` with ``{"id": faceId}``
(``face.update``: gives that face to that person, answers with the person), ``POST
/api/faces`` ``{assetId, personId, imageWidth, imageHeight, x, y, width, height}``
(``face.create``: a ``manual`` face, no ``facesRecognizedAt``), ``DELETE
/api/faces/{id}`` ``{"force": bool}`` (``face.delete``). Each successful write is also
recorded in ``double.face_writes``.

Public helpers for tests (kept stable):

- ``double.url``, ``double.port``, ``start()``, ``stop()``; ``add_library(paths,
  exclusion_patterns)`` -> library id; ``double.libraries``; ``double.mounts``;
- ``double.exchanges`` (every request and answer, :class:`Exchange`),
  ``double.violations`` (``force: true`` sent to a job), ``double.face_writes``
  (:class:`FaceWrite`: action ``"assign" | "create" | "delete"``, person key, face id,
  asset id);
- ``double.permissions`` (None: ``all``), ``double.admin``, ``double.machine_learning``,
  ``double.facial_recognition``, ``double.fail_next[prefix] = n``,
  ``double.delay[prefix] = seconds``, ``double.never_recognised`` (file names);
- ``scan_now()``: every library's scan, at once; ``settle()``: tick until every queue
  is idle (both without any HTTP); ``tick()``: one queue step;
- ``asset_at(container_path, with_deleted=False)`` -> the live :class:`Asset` at a path
  (or, with ``with_deleted``, the newest one, trashed or not); ``assets_at(path)`` ->
  every asset ever at that path, oldest first; ``double.assets`` (id -> Asset);
  ``Asset.faces`` (list of :class:`Face`), ``Asset.trashed``, ``Asset.offline``,
  ``Asset.recognized_at`` (``facesRecognizedAt``, None until a successful detection);
- ``face(face_id)`` -> the :class:`Face` (``box`` pixels x1, y1, x2, y2; ``size``;
  ``person`` key or None; ``source``), on any asset, trashed ones too;
- ``person_id(key)`` / ``person_key(id)``; ``listed_people(with_hidden=False)`` -> names
  of the people ``GET /api/people`` lists now; ``name_face(face_id, key)`` (the user
  naming a face in Immich's UI); ``rename_person(key, name)``; ``delete_person(key)``
  (the person is gone, their faces unassigned); ``drop_thumbnail(key)`` (no feature
  face: thumbnail 404); ``set_visibility(container_path, visibility)``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import paths
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

FIXTURE = paths.FIXTURES / "immich" / "faces.json"
PHOTOS = paths.PHOTOS
API_KEY = "test-api-key"
OWNER_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "immich-double/user"))
UPLOAD = f"/data/upload/{OWNER_ID}"
ALL_QUEUES = (
    "thumbnailGeneration", "metadataExtraction", "videoConversion", "faceDetection",
    "facialRecognition", "smartSearch", "duplicateDetection", "backgroundTask",
    "storageTemplateMigration", "migration", "search", "sidecar", "library",
    "notifications", "backupDatabase",
)  # fmt: skip
VERSIONS = {"v1": (1, 137, 3), "v1-old": (1, 106, 4), "v2": (2, 4, 1), "v3": (3, 0, 0)}
# Stages a new asset goes through, one per tick; "pause" is in no queue.
STAGES = ("metadataExtraction", "thumbnailGeneration", "faceDetection", "pause",
          "facialRecognition", "done")  # fmt: skip
DONE = len(STAGES) - 1
MEDIA = {".jpg", ".jpeg", ".png", ".mp4", ".mov", ".heic", ".webp", ".gif", ".tif", ".tiff"}
VISIBILITIES = ("archive", "timeline", "hidden", "locked")
MIN_FACES = 3  # an unnamed person is listed from this many faces (Immich's minFaces)
# The routes only an admin user's key may call (a non-admin key gets plain "Forbidden").
ADMIN_ROUTES = ("/libraries", "/jobs", "/queues")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
MIME = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".mp4": "video/mp4",
        ".mov": "video/quicktime", ".heic": "image/heic", ".webp": "image/webp",
        ".gif": "image/gif", ".tif": "image/tiff", ".tiff": "image/tiff"}  # fmt: skip


def _fold(text: str) -> str:
    """Case- and accent-insensitive form, as Immich's path search compares."""
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).lower()


def _like(pattern: str) -> re.Pattern[str]:
    """PostgreSQL's ``ILIKE '%' || P || '%'`` (after folding): ``%`` any run, ``_`` any
    one character, ``\\`` makes the next character literal."""
    parts, chars = [], iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.S)


def _now() -> datetime:
    return datetime.now(UTC)


def _ms(moment: datetime) -> str:
    """``2026-12-02T06:30:35.807Z``: the form of the people routes and file times."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _pg(moment: datetime) -> str:
    """``2026-12-02T06:30:35.807696+00:00``: the form inside search results and faces."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass
class Face:
    id: str
    asset_id: str
    box: tuple[int, int, int, int]  # pixels of the preview: x1, y1, x2, y2
    size: tuple[int, int]  # imageWidth, imageHeight
    person: str | None = None  # a key of double.people
    source: str = "machine-learning"  # | "manual" | "exif"
    will_be: str | None = None  # whom recognition gives it to (the catalogue)


@dataclass
class Asset:
    id: str
    library_id: str | None  # None: uploaded, in no library
    path: str  # container path
    host_path: str
    kind: str
    modified_at: datetime
    content: str = ""  # SHA-1 of the file's bytes (to know a moved copy)
    size: int = 0  # bytes, when the scan read the file (exifInfo.fileSizeInByte)
    stage: int = 0
    faces: list[Face] = field(default_factory=list)
    recognized_at: datetime | None = None  # asset_job_status.facesRecognizedAt
    visibility: str = "timeline"
    offline: bool = False
    deleted_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def trashed(self) -> bool:
        return self.deleted_at is not None

    @property
    def archived(self) -> bool:
        return self.visibility == "archive"

    @archived.setter
    def archived(self, value: bool) -> None:
        self.visibility = "archive" if value else "timeline"


@dataclass
class Exchange:
    method: str
    path: str  # without /api
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int
    response_type: str
    response_body: bytes


@dataclass(frozen=True)
class FaceWrite:
    action: str  # "assign" (PUT /faces/{personId}) | "create" (POST) | "delete"
    person: str | None  # key of double.people
    face_id: str
    asset_id: str


def _sha1(path: Path) -> str:
    try:
        return hashlib.sha1(path.read_bytes()).hexdigest()
    except OSError:
        return ""


class ImmichDouble:
    def __init__(
        self,
        *,
        flavour: str = "v1",
        mounts: dict[str, Path] | None = None,
        libraries: list[dict[str, Any]] | None = None,
        permissions: set[str] | None = None,
        facial_recognition: bool = True,
        machine_learning: bool = True,
        admin: bool = True,
        seeded: bool = True,
        never_recognised: set[str] = frozenset(),
    ):
        self.flavour = flavour
        self.version = VERSIONS[flavour]
        self.mounts = {c.rstrip("/"): Path(h) for c, h in (mounts or {}).items()}
        self.libraries = libraries or []
        self.permissions = permissions  # None: the key has 'all'
        self.admin = admin
        self.facial_recognition = facial_recognition
        self.machine_learning = machine_learning
        # File names whose face detection never finishes (for timeouts).
        self.never_recognised = set(never_recognised)
        self.catalogue = json.loads(FIXTURE.read_text())
        self.people: dict[str, dict[str, Any]] = {}
        base = datetime(2026, 12, 2, 6, 30, 35, 807696, tzinfo=UTC)
        for key, person in self.catalogue["people"].items():
            self.people[key] = {
                "isHidden": False, **person, "updated_at": base, "feature_face": None,
            }  # fmt: skip
        self.assets: dict[str, Asset] = {}
        self.library_jobs: list[str] = []  # queued scans (library ids)
        self.library_active: str | None = None
        self.exchanges: list[Exchange] = []
        self.violations: list[str] = []
        self.face_writes: list[FaceWrite] = []
        self.fail_next: dict[str, int] = {}  # path prefix -> how many 500s to answer
        self.delay: dict[str, float] = {}  # path prefix -> seconds before answering
        self.lock = threading.RLock()
        if seeded:
            self._seed()
        self.app = self._build_app()
        self._server = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ImmichDouble:
        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Immich double did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # ---------------------------------------------------------------- helpers for tests

    def add_library(self, import_paths: list[str], exclusion_patterns=()) -> str:
        library_id = str(uuid.uuid4())
        self.libraries.append(
            {
                "id": library_id,
                "name": f"External {len(self.libraries) + 1}",
                "ownerId": OWNER_ID,
                "importPaths": list(import_paths),
                "exclusionPatterns": list(exclusion_patterns),
                "assetCount": 0,
                "createdAt": _ms(_now()),
                "updatedAt": _ms(_now()),
                "refreshedAt": None,
            }
        )
        return library_id

    def scan_now(self) -> None:
        """Every library's scan, at once (as if queued and run)."""
        with self.lock:
            for library in self.libraries:
                self._run_library_scan(library["id"])

    def settle(self, limit: int = 100) -> None:
        """Tick until every scan ran and every asset is through its jobs (a stuck
        detection stops at ``limit`` ticks)."""
        for _ in range(limit):
            with self.lock:
                busy = (
                    self.library_jobs
                    or self.library_active
                    or any(
                        STAGES[a.stage] != "done" and not a.trashed for a in self.assets.values()
                    )
                )
                if not busy:
                    return
                self.tick()

    def asset_at(self, path: str, *, with_deleted: bool = False) -> Asset | None:
        """The live asset at a container path; with ``with_deleted`` the newest one."""
        found = [a for a in self.assets_at(path) if with_deleted or not a.trashed]
        return found[-1] if found else None

    def assets_at(self, path: str) -> list[Asset]:
        """Every asset ever at a container path, oldest first."""
        with self.lock:
            return [a for a in self.assets.values() if a.path == path]

    def person_id(self, key: str) -> str:
        return self.people[key]["id"]

    def person_key(self, person_id: str) -> str | None:
        return next((k for k, p in self.people.items() if p["id"] == person_id), None)

    def listed_people(self, *, with_hidden: bool = False) -> list[str]:
        """The names ``GET /api/people`` lists now."""
        return [self.people[k]["name"] for k in self._people_listed(with_hidden)[0]]

    def face(self, face_id: str) -> Face | None:
        return next((f for a in self.assets.values() for f in a.faces if f.id == face_id), None)

    def name_face(self, face_id: str, key: str) -> None:
        """The user gives a face to a person in Immich's UI."""
        with self.lock:
            face = self.face(face_id)
            assert face is not None, face_id
            self._assign(face, key)

    def rename_person(self, key: str, name: str) -> None:
        with self.lock:
            self.people[key]["name"] = name
            self.people[key]["updated_at"] = _now()

    def delete_person(self, key: str) -> None:
        """The person is gone (deleted, or merged away): their faces are unassigned."""
        with self.lock:
            for asset in self.assets.values():
                for face in asset.faces:
                    if face.person == key:
                        face.person = None
            self.people[key]["deleted"] = True

    def drop_thumbnail(self, key: str) -> None:
        """The person has no feature face: their thumbnail is 404."""
        self.people[key]["feature_face"] = None

    def set_visibility(self, path: str, visibility: str) -> None:
        assert visibility in VISIBILITIES, visibility
        asset = self.asset_at(path)
        assert asset is not None, path
        asset.visibility = visibility

    # ---------------------------------------------------------------- simulation

    def _seed(self) -> None:
        """The user's own uploaded photos on which they named the catalogue's people."""
        for key, person in self.people.items():
            spec = person.get("thumbnail")
            if not spec:
                continue
            photo = PHOTOS / spec["photo"]
            asset = Asset(
                id=str(uuid.uuid4()),
                library_id=None,
                path=f"{UPLOAD}/{key}/{photo.name}",
                host_path=str(photo),
                kind="IMAGE",
                modified_at=datetime(2025, 6, 1, tzinfo=UTC),
                content=_sha1(photo),
                stage=DONE,
                recognized_at=datetime(2025, 6, 1, tzinfo=UTC),
            )
            from PIL import Image

            with Image.open(photo) as image:
                size = image.size
            face = Face(str(uuid.uuid4()), asset.id, tuple(spec["box"]), size, person=key)
            asset.faces.append(face)
            person["feature_face"] = face.id
            self.assets[asset.id] = asset

    def _host(self, container: str) -> Path | None:
        for prefix, host in sorted(self.mounts.items(), key=lambda m: -len(m[0])):
            if container == prefix or container.startswith(prefix + "/"):
                return host / container[len(prefix) :].lstrip("/")
        return None

    def _run_library_scan(self, library_id: str) -> None:
        library = next(lib for lib in self.libraries if lib["id"] == library_id)
        mine = [a for a in self.assets.values() if a.library_id == library_id]
        for import_path in library["importPaths"]:
            root = self._host(import_path)
            if root is None or not root.is_dir():
                continue
            for host_file in sorted(root.rglob("*")):
                if not host_file.is_file() or host_file.suffix.lower() not in MEDIA:
                    continue
                container = import_path.rstrip("/") + "/" + str(host_file.relative_to(root))
                if any(fnmatch(container, p) for p in library["exclusionPatterns"]):
                    continue
                at_path = [a for a in mine if a.path == container]
                if any(not a.offline for a in at_path):
                    continue
                if at_path:  # the file came back: Immich brings its asset back
                    at_path[-1].offline = False
                    at_path[-1].deleted_at = None
                    continue
                stat = host_file.stat()
                asset = Asset(
                    id=str(uuid.uuid4()),
                    library_id=library_id,
                    path=container,
                    host_path=str(host_file),
                    kind="VIDEO" if host_file.suffix.lower() in {".mp4", ".mov"} else "IMAGE",
                    modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
                    content=_sha1(host_file),
                    size=stat.st_size,
                )
                if not self.facial_recognition:
                    asset.stage = STAGES.index("facialRecognition")  # no detection job
                self.assets[asset.id] = asset
                mine.append(asset)
        # A file gone from disk (or excluded now): its asset goes offline and to the trash.
        for asset in mine:
            if asset.offline:
                continue
            gone = not Path(asset.host_path).exists()
            excluded = any(fnmatch(asset.path, p) for p in library["exclusionPatterns"])
            if gone or excluded:
                asset.offline = True
                asset.deleted_at = _now()
                asset.stage = DONE
        library["assetCount"] = sum(1 for a in mine if not a.trashed)
        library["refreshedAt"] = _ms(_now())

    def tick(self) -> None:
        """One step of the job queues (each queue-status request is one)."""
        with self.lock:
            for asset in self.assets.values():
                stage = STAGES[asset.stage]
                if stage == "done" or asset.trashed:
                    continue
                if asset.name in self.never_recognised and stage == "faceDetection":
                    continue  # stuck: detection never finishes for it
                if stage == "faceDetection":
                    self._detect(asset)
                elif stage == "facialRecognition":
                    self._recognise(asset)
                asset.stage += 1
            if self.library_active is not None:
                self._run_library_scan(self.library_active)
                self.library_active = None
            elif self.library_jobs:
                self.library_active = self.library_jobs.pop(0)

    def _spec(self, asset: Asset) -> dict[str, Any]:
        files = self.catalogue["files"]
        if asset.name in files:
            return files[asset.name]
        # A renamed copy of a catalogue file: the same faces.
        for name, spec in files.items():
            for photo in PHOTOS.rglob(name):
                if _sha1(photo) == asset.content:
                    return spec
        return {"faces": []}

    def _detect(self, asset: Asset) -> None:
        if not self.machine_learning:
            return  # ML unreachable: the job ends without faces or facesRecognizedAt
        spec = self._spec(asset)
        width, height = spec.get("size") or (0, 0)
        asset.faces = [
            Face(str(uuid.uuid4()), asset.id, tuple(face["box"]), (width, height),
                 will_be=face["person"])
            for face in spec["faces"]
        ]  # fmt: skip
        asset.recognized_at = _now()

    def _moved_copy(self, asset: Asset) -> bool:
        """Another asset has the same content and is trashed (or will be at the next
        scan, its file gone): recognition would find only the trashed asset's faces."""
        return any(
            other.id != asset.id
            and other.content == asset.content
            and (other.trashed or not Path(other.host_path).exists())
            for other in self.assets.values()
        )

    def _recognise(self, asset: Asset) -> None:
        if self._moved_copy(asset):
            return  # Immich's recognition skips trashed assets: new faces stay unassigned
        for face in asset.faces:
            if (
                face.person is None
                and face.will_be
                and not self.people[face.will_be].get("deleted")
            ):
                self._assign(face, face.will_be)

    def _assign(self, face: Face, key: str) -> None:
        face.person = key
        person = self.people[key]
        if person["feature_face"] is None and face.source == "machine-learning":
            person["feature_face"] = face.id

    def queue_counts(self) -> dict[str, dict[str, int]]:
        counts = {name: {"active": 0, "completed": 0, "failed": 0, "delayed": 0, "waiting": 0,
                         "paused": 0} for name in ALL_QUEUES}  # fmt: skip
        for asset in self.assets.values():
            stage = STAGES[asset.stage]
            if stage not in counts or asset.trashed:
                continue
            if asset.name in self.never_recognised and stage == "faceDetection":
                counts[stage]["active"] += 1  # a stuck job stays active; the queue never idles
            else:
                counts[stage]["waiting"] += 1
        if self.library_active:
            counts["library"]["active"] += 1
        counts["library"]["waiting"] += len(self.library_jobs)
        return counts

    def _people_listed(self, with_hidden: bool) -> tuple[list[str], int, int]:
        """(keys listed, total, hidden) as ``GET /api/people`` computes them."""
        faces: dict[str, int] = {}
        for asset in self.assets.values():
            if asset.trashed or asset.offline or asset.visibility not in {"timeline", "archive"}:
                continue
            for face in asset.faces:
                if face.person is not None:
                    faces[face.person] = faces.get(face.person, 0) + 1
        counted = [k for k in self.people if k in faces and not self.people[k].get("deleted")]
        hidden = sum(1 for k in counted if self.people[k]["isHidden"])
        listed = [
            k for k in counted
            if (with_hidden or not self.people[k]["isHidden"])
            and (self.people[k]["name"] or faces[k] >= MIN_FACES)
        ]  # fmt: skip
        return listed, len(counted), hidden

    # ---------------------------------------------------------------- JSON shapes

    def _person(self, key: str, *, in_search: bool = False) -> dict[str, Any]:
        person = self.people[key]
        updated = person["updated_at"]
        return {
            "id": person["id"],
            "name": person["name"],
            "isHidden": person["isHidden"],
            "birthDate": None,
            "thumbnailPath": f"/data/thumbs/{OWNER_ID}/{person['id']}.jpeg"
            if person["feature_face"]
            else "",
            "isFavorite": False,
            "updatedAt": _pg(updated) if in_search else _ms(updated),
        }

    @staticmethod
    def _face_box(face: Face) -> dict[str, Any]:
        x1, y1, x2, y2 = face.box
        return {
            "id": face.id,
            "boundingBoxX1": x1, "boundingBoxY1": y1, "boundingBoxX2": x2, "boundingBoxY2": y2,
            "imageWidth": face.size[0], "imageHeight": face.size[1],
            "sourceType": face.source,
        }  # fmt: skip

    def asset_json(
        self, asset: Asset, with_people: bool, with_exif: bool = False
    ) -> dict[str, Any]:
        suffix = Path(asset.path).suffix.lower()
        item = {
            "id": asset.id,
            "checksum": "c2hhMS1vZi1wYXRo",
            "deviceAssetId": asset.name,
            "deviceId": "Library Import",
            "duplicateId": None,
            "duration": "0:00:00.00000",
            "fileCreatedAt": _ms(asset.modified_at),
            "fileModifiedAt": _ms(asset.modified_at),
            "hasMetadata": True,
            "isArchived": asset.visibility == "archive",
            "isFavorite": False,
            "isOffline": asset.offline,
            "isTrashed": asset.trashed,
            "livePhotoVideoId": None,
            "localDateTime": _ms(asset.modified_at),
            "originalFileName": asset.name,
            "originalMimeType": MIME.get(suffix, "application/octet-stream"),
            "originalPath": asset.path,
            "ownerId": OWNER_ID,
            "resized": True,
            "thumbhash": None,
            "type": asset.kind,
            "updatedAt": _pg(_now()),
            "visibility": asset.visibility,
            "libraryId": asset.library_id,
            "people": [],
        }
        if with_exif:
            item["exifInfo"] = {"fileSizeInByte": asset.size, "orientation": None}
        if with_people:
            people: dict[str, dict[str, Any]] = {}
            unassigned = []
            for face in asset.faces:
                if face.person is None:
                    unassigned.append(self._face_box(face))
                    continue
                entry = people.setdefault(
                    face.person, {**self._person(face.person, in_search=True), "faces": []}
                )
                entry["faces"].append(self._face_box(face))
            item["people"] = list(people.values())
            item["unassignedFaces"] = unassigned
        return item

    def thumbnail(self, key: str) -> bytes:
        from PIL import Image

        spec = self.people[key]["thumbnail"]
        image = Image.open(PHOTOS / spec["photo"]).convert("RGB")
        left, top, right, bottom = spec["box"]
        margin = (right - left) * 0.6
        crop = image.crop(
            (max(0, left - margin), max(0, top - margin), right + margin, bottom + margin)
        )
        crop.thumbnail((250, 250))
        buffer = io.BytesIO()
        crop.save(buffer, format="JPEG", quality=90)
        return buffer.getvalue()

    # ---------------------------------------------------------------- HTTP

    def _build_app(self):
        app = FastAPI()
        double = self
        old = self.flavour == "v1-old"
        has_jobs = self.flavour != "v3"
        has_queues = self.flavour in {"v2", "v3"}

        def error(status: int, message: str | list[str], name: str | None) -> JSONResponse:
            body: dict[str, Any] = {"message": message}
            if name:
                body["error"] = name
            body["statusCode"] = status
            if name:
                body["correlationId"] = uuid.uuid4().hex[:8]
            return JSONResponse(body, status_code=status)

        def invalid(*messages: str) -> JSONResponse:
            return error(400, list(messages), "Bad Request")

        def not_found(kind: str) -> JSONResponse:
            return error(400, f"Not found or no {kind} access", "Bad Request")

        @app.exception_handler(StarletteHTTPException)
        async def nest_404(request: Request, exc: StarletteHTTPException):
            if exc.status_code in {404, 405}:
                return error(404, f"Cannot {request.method} {request.url.path}", "Not Found")
            return error(exc.status_code, str(exc.detail), None)

        @app.exception_handler(RequestValidationError)
        async def nest_400(request: Request, exc: RequestValidationError):
            return invalid(
                *(f"{'.'.join(map(str, e['loc'][1:]))} {e['msg']}" for e in exc.errors())
            )

        def guard(request: Request, permission: str | None) -> JSONResponse | None:
            key = request.headers.get("x-api-key")
            if not key:
                return error(401, "Authentication required", "Unauthorized")
            if key != API_KEY:
                return error(401, "Invalid API key", "Unauthorized")
            path = request.url.path.removeprefix("/api")
            if not double.admin and path.startswith(ADMIN_ROUTES):
                return error(403, "Forbidden", "Forbidden")
            allowed = double.permissions
            if permission and allowed is not None and not {permission, "all"} & allowed:
                return error(403, f"Missing required permission: {permission}", "Forbidden")
            return None

        @app.middleware("http")
        async def record(request: Request, call_next):
            import asyncio

            body = await request.body()
            path = request.url.path.removeprefix("/api")
            for prefix, seconds in double.delay.items():
                if path.startswith(prefix):
                    await asyncio.sleep(seconds)
            failing = next(
                (p for p, n in double.fail_next.items() if path.startswith(p) and n), None
            )
            if failing is not None:
                double.fail_next[failing] -= 1
                response = error(500, "Internal server error", "Internal Server Error")
            else:
                response = await call_next(request)
            if hasattr(response, "body_iterator"):
                content = b"".join([chunk async for chunk in response.body_iterator])
            else:
                content = response.body
            with double.lock:
                double.exchanges.append(
                    Exchange(request.method, path, dict(request.query_params),
                             dict(request.headers), body, response.status_code,
                             response.headers.get("content-type", ""), content)
                )  # fmt: skip
            return Response(
                content=content,
                status_code=response.status_code,
                headers={k: v for k, v in response.headers.items() if k != "content-length"},
                media_type=response.media_type,
            )

        prefix = "/api/server-info" if old else "/api/server"

        @app.get(f"{prefix}/ping")
        def ping():
            return {"res": "pong"}

        @app.get(f"{prefix}/version")
        def version():
            major, minor, patch = double.version
            return {"major": major, "minor": minor, "patch": patch}

        @app.get(f"{prefix}/features")
        def features():
            flags = dict.fromkeys(
                ["configFile", "duplicateDetection", "email", "importFaces", "map", "oauth",
                 "oauthAutoLaunch", "passwordLogin", "reverseGeocoding", "search", "sidecar",
                 "smartSearch", "trash"], True)  # fmt: skip
            return {**flags, "facialRecognition": double.facial_recognition}

        @app.get("/api/libraries")
        def libraries(request: Request):
            return guard(request, "library.read") or double.libraries

        @app.post("/api/libraries/{library_id}/scan")
        def scan(library_id: str, request: Request):
            denied = guard(request, "library.update")
            if denied:
                return denied
            if not UUID_RE.match(library_id):
                return invalid("id must be a UUID")
            if not any(lib["id"] == library_id for lib in double.libraries):
                return not_found("library.update")
            with double.lock:
                double.library_jobs.append(library_id)
            return Response(status_code=204)

        if has_jobs:

            @app.get("/api/jobs")
            def jobs(request: Request):
                denied = guard(request, "job.read")
                if denied:
                    return denied
                double.tick()
                return {
                    name: {"jobCounts": counts, "queueStatus": {"isActive": bool(
                        counts["active"] + counts["waiting"]), "isPaused": False}}
                    for name, counts in double.queue_counts().items()
                }  # fmt: skip

            @app.put("/api/jobs/{name}")
            async def job_command(name: str, request: Request):
                denied = guard(request, "job.create")
                if denied:
                    return denied
                body = await request.json()
                if name not in ALL_QUEUES:
                    return invalid(
                        f"id must be one of the following values: {', '.join(ALL_QUEUES)}"
                    )
                if body.get("force"):
                    double.violations.append(f"force sent to {name}: {body}")
                    return error(400, "force is not allowed by the test double", "Bad Request")
                counts = double.queue_counts().get(name) or {}
                return {"jobCounts": counts, "queueStatus": {"isActive": False, "isPaused": False}}

        if has_queues:

            @app.get("/api/queues")
            def queues(request: Request):
                denied = guard(request, "queue.read")
                if denied:
                    return denied
                double.tick()
                return [
                    {"name": name, "isPaused": False, "statistics": counts}
                    for name, counts in double.queue_counts().items()
                ]

        @app.post("/api/search/metadata")
        async def search(request: Request):
            denied = guard(request, "asset.read")
            if denied:
                return denied
            body = await request.json()
            problems = []
            size, page = body.get("size", 250), body.get("page", 1)
            if not isinstance(size, int | float) or size > 1000:
                problems.append("size must not be greater than 1000")
            elif size < 1:
                problems.append("size must not be less than 1")
            if not isinstance(page, int | float) or page < 1:
                problems.append("page must not be less than 1")
            library_id = body.get("libraryId")
            if library_id is not None and not UUID_RE.match(str(library_id)):
                problems.append("libraryId must be a UUID")
            visibility = body.get("visibility") or "timeline"
            if visibility not in VISIBILITIES:
                problems.append(f"visibility must be one of: {', '.join(VISIBILITIES)}")
            if problems:
                return invalid(*problems)
            size, page = int(size), int(page)
            pattern = _like(_fold(body.get("originalPath") or ""))
            with_deleted = bool(body.get("withDeleted"))
            with double.lock:
                matches = [
                    a for a in double.assets.values()
                    if pattern.search(_fold(a.path))
                    and (library_id is None or a.library_id == library_id)
                    and a.visibility == visibility
                    and (with_deleted or not a.trashed)
                    and ("isOffline" not in body or a.offline == bool(body["isOffline"]))
                ]  # fmt: skip
                # Newest fileCreatedAt first, as Immich orders them (not by path).
                matches.sort(key=lambda a: (a.modified_at, a.path), reverse=True)
                chunk = matches[(page - 1) * size : page * size]
                items = [
                    double.asset_json(a, bool(body.get("withPeople")), bool(body.get("withExif")))
                    for a in chunk
                ]
            more = page * size < len(matches)
            return {
                "albums": {"count": 0, "total": 0, "items": [], "facets": []},
                "assets": {"count": len(items), "total": len(items), "items": items,
                           "facets": [], "nextPage": str(page + 1) if more else None},
            }  # fmt: skip

        @app.get("/api/assets/{asset_id}")
        def asset_info(asset_id: str, request: Request):
            denied = guard(request, "asset.read")
            if denied:
                return denied
            if not UUID_RE.match(asset_id):
                return invalid("id must be a UUID")
            asset = double.assets.get(asset_id)
            if asset is None:
                return not_found("asset.read")
            return double.asset_json(asset, True, True)

        @app.get("/api/faces")
        def faces(request: Request, id: str):
            denied = guard(request, "face.read")
            if denied:
                return denied
            if not UUID_RE.match(id):
                return invalid("id must be a UUID")
            asset = double.assets.get(id)
            if asset is None:
                return not_found("asset.read")
            return [
                {**double._face_box(f),
                 "person": double._person(f.person, in_search=True) if f.person else None}
                for f in asset.faces
            ]  # fmt: skip

        @app.put("/api/faces/{person_id}")
        async def reassign_face(person_id: str, request: Request):
            # v1.137.3 reassignFacesById: the path names the PERSON, the body the face.
            denied = guard(request, "face.update")
            if denied:
                return denied
            body = await request.json()
            face_id = body.get("id") if isinstance(body, dict) else None
            if not UUID_RE.match(person_id) or not UUID_RE.match(str(face_id or "")):
                return invalid("id must be a UUID")
            with double.lock:
                key = double.person_key(person_id)
                if key is None or double.people[key].get("deleted"):
                    return not_found("person.update")
                face = double.face(face_id)
                if face is None:
                    return not_found("face.update")
                double._assign(face, key)
                double.face_writes.append(FaceWrite("assign", key, face.id, face.asset_id))
                return double._person(key)

        @app.post("/api/faces", status_code=201)
        async def create_face(request: Request):
            denied = guard(request, "face.create")
            if denied:
                return denied
            body = await request.json()
            numbers = ("imageWidth", "imageHeight", "x", "y", "width", "height")
            problems = [f"{n} must be an integer number" for n in numbers
                        if not isinstance(body.get(n), int)]  # fmt: skip
            problems += [f"{n} must be a UUID" for n in ("assetId", "personId")
                         if not UUID_RE.match(str(body.get(n) or ""))]  # fmt: skip
            if problems:
                return invalid(*problems)
            with double.lock:
                asset = double.assets.get(body["assetId"])
                if asset is None:
                    return not_found("asset.read")
                key = double.person_key(body["personId"])
                if key is None or double.people[key].get("deleted"):
                    return not_found("person.read")
                x, y = body["x"], body["y"]
                face = Face(
                    str(uuid.uuid4()), asset.id, (x, y, x + body["width"], y + body["height"]),
                    (body["imageWidth"], body["imageHeight"]), person=key, source="manual",
                )  # fmt: skip
                asset.faces.append(face)
                double.face_writes.append(FaceWrite("create", key, face.id, asset.id))
            return Response(status_code=201)

        @app.delete("/api/faces/{face_id}")
        async def delete_face(face_id: str, request: Request):
            denied = guard(request, "face.delete")
            if denied:
                return denied
            if not UUID_RE.match(face_id):
                return invalid("id must be a UUID")
            with double.lock:
                face = double.face(face_id)
                if face is None:
                    return not_found("face.delete")
                double.assets[face.asset_id].faces.remove(face)
                double.face_writes.append(FaceWrite("delete", face.person, face.id, face.asset_id))
            return Response(status_code=200)

        @app.get("/api/people")
        def people(request: Request, page: int = 1, size: int = 500, withHidden: str = "false"):
            denied = guard(request, "person.read")
            if denied:
                return denied
            if page < 1 or not 1 <= size <= 1000:
                return invalid("page must not be less than 1")
            with double.lock:
                listed, total, hidden = double._people_listed(withHidden == "true")
                chunk = [double._person(k) for k in listed[(page - 1) * size : page * size]]
            return {"people": chunk, "total": total, "hidden": hidden,
                    "hasNextPage": page * size < len(listed)}  # fmt: skip

        @app.get("/api/people/{person_id}")
        def person(person_id: str, request: Request):
            denied = guard(request, "person.read")
            if denied:
                return denied
            if not UUID_RE.match(person_id):
                return invalid("id must be a UUID")
            key = double.person_key(person_id)
            if key is None or double.people[key].get("deleted"):
                return not_found("person.read")
            return double._person(key)

        @app.get("/api/people/{person_id}/thumbnail")
        def thumbnail(person_id: str, request: Request):
            denied = guard(request, "person.read")
            if denied:
                return denied
            if not UUID_RE.match(person_id):
                return invalid("id must be a UUID")
            key = double.person_key(person_id)
            if key is None or double.people[key].get("deleted"):
                return not_found("person.read")
            if not double.people[key]["feature_face"] or "thumbnail" not in double.people[key]:
                return error(404, "Not Found", None)  # no feature face: no `error` key
            return Response(double.thumbnail(key), media_type="image/jpeg")

        return app
