"""A test double of Immich: a real HTTP server with the routes facesort uses.

Shapes follow the OpenAPI description of Immich v1.137.3 (``../shared/immich``; the
contract test checks them), behaviour follows Immich:

- an external library sees files through a "container" path: the double maps its
  import paths onto real host folders and lists the files there when a scan runs;
- assets appear only once the library job of a scan has run; then each new asset moves
  through metadataExtraction -> thumbnailGeneration -> faceDetection, a pause in which
  every queue is idle, and facialRecognition (recognition starts after detection
  drains): queues drain over a few polls, each queue-status request being one tick;
- faces come from ``tests/fixtures/immich/faces.json`` (real boxes of the fixture
  photos): detection adds them unassigned, recognition assigns named people and unnamed
  clusters; ``facesRecognizedAt`` is set when detection finished;
- the path search is a case- and accent-insensitive substring match with paging and a
  string ``nextPage``; the key is checked (401), permissions too (403 naming the
  missing one); failures can be injected (500s, slow answers);
- flavours: ``v1`` (1.137.3: ``/api/jobs``), ``v1-old`` (1.106: ``/api/server-info/*``),
  ``v2`` (2.4.1: ``/api/queues`` and ``/api/jobs``), ``v3`` (3.0.0: ``/api/queues`` only).

Every exchange is recorded (``double.exchanges``) for assertions and the contract test.
A ``force: true`` sent to a job is recorded as a violation and refused.
"""

from __future__ import annotations

import io
import json
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
from fastapi.responses import JSONResponse, Response

FIXTURE = paths.FIXTURES / "immich" / "faces.json"
PHOTOS = paths.PHOTOS
API_KEY = "test-api-key"
OWNER_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "immich-double/user"))
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
MEDIA = {".jpg", ".jpeg", ".png", ".mp4", ".mov", ".heic", ".webp", ".gif", ".tif", ".tiff"}


def _fold(text: str) -> str:
    """Case- and accent-insensitive form, as Immich's path search compares."""
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).lower()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Asset:
    id: str
    library_id: str
    path: str  # container path
    host_path: str
    kind: str
    modified_at: datetime
    stage: int = 0
    faces: list[dict[str, Any]] = field(default_factory=list)  # {id, box, size, person}
    recognized_at: str | None = None
    archived: bool = False

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


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


class ImmichDouble:
    def __init__(
        self,
        *,
        flavour: str = "v1",
        mounts: dict[str, Path] | None = None,
        libraries: list[dict[str, Any]] | None = None,
        permissions: set[str] | None = None,
        facial_recognition: bool = True,
        never_recognised: set[str] = frozenset(),
    ):
        self.flavour = flavour
        self.version = VERSIONS[flavour]
        self.mounts = {c.rstrip("/"): Path(h) for c, h in (mounts or {}).items()}
        self.libraries = libraries or []
        self.permissions = permissions  # None: the key has 'all'
        self.facial_recognition = facial_recognition
        # File names whose face detection never finishes (for timeouts).
        self.never_recognised = set(never_recognised)
        self.catalogue = json.loads(FIXTURE.read_text())
        self.people = {key: {"isHidden": False, **p} for key, p in self.catalogue["people"].items()}
        self.assets: dict[str, Asset] = {}
        self.library_jobs: list[str] = []  # queued scans (library ids)
        self.library_active: str | None = None
        self.exchanges: list[Exchange] = []
        self.violations: list[str] = []
        self.fail_next: dict[str, int] = {}  # path prefix -> how many 500s to answer
        self.delay: dict[str, float] = {}  # path prefix -> seconds before answering
        self.lock = threading.RLock()
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

    # ---------------------------------------------------------------- simulation

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
                "createdAt": _now(),
                "updatedAt": _now(),
                "refreshedAt": None,
            }
        )
        return library_id

    def _host(self, container: str) -> Path | None:
        for prefix, host in sorted(self.mounts.items(), key=lambda m: -len(m[0])):
            if container == prefix or container.startswith(prefix + "/"):
                return host / container[len(prefix) :].lstrip("/")
        return None

    def _run_library_scan(self, library_id: str) -> None:
        library = next(lib for lib in self.libraries if lib["id"] == library_id)
        known = {a.path for a in self.assets.values() if a.library_id == library_id}
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
                if container in known:
                    continue
                asset = Asset(
                    id=str(uuid.uuid4()),
                    library_id=library_id,
                    path=container,
                    host_path=str(host_file),
                    kind="VIDEO" if host_file.suffix.lower() in {".mp4", ".mov"} else "IMAGE",
                    modified_at=datetime.fromtimestamp(host_file.stat().st_mtime, UTC),
                )
                self.assets[asset.id] = asset
        # Files gone from disk go offline -> trash, as Immich does after a scan.
        for asset in list(self.assets.values()):
            if asset.library_id == library_id and not Path(asset.host_path).exists():
                del self.assets[asset.id]
        library["assetCount"] = sum(1 for a in self.assets.values() if a.library_id == library_id)
        library["refreshedAt"] = _now()

    def tick(self) -> None:
        """One step of the job queues (each queue-status request is one)."""
        with self.lock:
            for asset in self.assets.values():
                stage = STAGES[asset.stage]
                if stage == "done":
                    continue
                if not self.facial_recognition and stage in {"faceDetection", "facialRecognition"}:
                    continue  # machine learning is off: faces never come
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
        return self.catalogue["files"].get(asset.name) or {"faces": []}

    def _detect(self, asset: Asset) -> None:
        spec = self._spec(asset)
        width, height = spec.get("size") or (0, 0)
        asset.faces = [
            {"id": str(uuid.uuid4()), "box": face["box"], "size": [width, height], "person": None,
             "will_be": face["person"]}
            for face in spec["faces"]
        ]  # fmt: skip
        asset.recognized_at = _now()

    def _recognise(self, asset: Asset) -> None:
        for face in asset.faces:
            face["person"] = face["will_be"]

    def queue_counts(self) -> dict[str, dict[str, int]]:
        counts = {name: {"active": 0, "completed": 0, "failed": 0, "delayed": 0, "waiting": 0,
                         "paused": 0} for name in ALL_QUEUES}  # fmt: skip
        for asset in self.assets.values():
            stage = STAGES[asset.stage]
            if stage not in counts:
                continue
            if asset.name in self.never_recognised and stage == "faceDetection":
                counts[stage]["active"] += 1  # a stuck job stays active; the queue never idles
            else:
                counts[stage]["waiting"] += 1
        if self.library_active:
            counts["library"]["active"] += 1
        counts["library"]["waiting"] += len(self.library_jobs)
        return counts

    # ---------------------------------------------------------------- JSON shapes

    def _person(self, key: str) -> dict[str, Any]:
        person = self.people[key]
        return {
            "id": person["id"],
            "name": person["name"],
            "isHidden": person["isHidden"],
            "birthDate": None,
            "thumbnailPath": f"/data/thumbs/{person['id']}.jpeg",
            "isFavorite": False,
            "updatedAt": person.get("updatedAt", "2026-01-01T00:00:00.000Z"),
        }

    @staticmethod
    def _face_box(face: dict[str, Any]) -> dict[str, Any]:
        x1, y1, x2, y2 = face["box"]
        return {
            "id": face["id"],
            "boundingBoxX1": x1, "boundingBoxY1": y1, "boundingBoxX2": x2, "boundingBoxY2": y2,
            "imageWidth": face["size"][0], "imageHeight": face["size"][1],
            "sourceType": "machine-learning",
        }  # fmt: skip

    def asset_json(self, asset: Asset, with_people: bool) -> dict[str, Any]:
        item = {
            "id": asset.id,
            "checksum": "c2hhMS1vZi1wYXRo",
            "deviceAssetId": asset.name,
            "deviceId": "Library Import",
            "duration": "0:00:00.00000",
            "fileCreatedAt": asset.modified_at.isoformat().replace("+00:00", "Z"),
            "fileModifiedAt": asset.modified_at.isoformat().replace("+00:00", "Z"),
            "hasMetadata": True,
            "isArchived": asset.archived,
            "isFavorite": False,
            "isOffline": False,
            "isTrashed": False,
            "localDateTime": asset.modified_at.isoformat().replace("+00:00", "Z"),
            "originalFileName": asset.name,
            "originalPath": asset.path,
            "ownerId": OWNER_ID,
            "thumbhash": None,
            "type": asset.kind,
            "updatedAt": _now(),
            "visibility": "archive" if asset.archived else "timeline",
            "libraryId": asset.library_id,
        }
        if with_people:
            people: dict[str, dict[str, Any]] = {}
            unassigned = []
            for face in asset.faces:
                if face["person"] is None:
                    unassigned.append(self._face_box(face))
                    continue
                entry = people.setdefault(
                    face["person"], {**self._person(face["person"]), "faces": []}
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

        def error(status: int, message: str, name: str) -> JSONResponse:
            return JSONResponse(
                {"message": message, "error": name, "statusCode": status,
                 "correlationId": uuid.uuid4().hex[:8]},
                status_code=status,
            )  # fmt: skip

        def guard(request: Request, permission: str | None) -> JSONResponse | None:
            if request.headers.get("x-api-key") != API_KEY:
                return error(401, "Invalid API key", "Unauthorized")
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
            if not any(lib["id"] == library_id for lib in double.libraries):
                return error(400, "Library not found", "Bad Request")
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
            size = int(body.get("size") or 250)
            page = int(body.get("page") or 1)
            wanted = _fold(body.get("originalPath") or "")
            visibility = body.get("visibility") or "timeline"
            with double.lock:
                matches = [
                    a for a in sorted(double.assets.values(), key=lambda a: a.path)
                    if wanted in _fold(a.path)
                    and (not body.get("libraryId") or a.library_id == body["libraryId"])
                    and ("archive" if a.archived else "timeline") == visibility
                ]  # fmt: skip
                chunk = matches[(page - 1) * size : page * size]
                items = [double.asset_json(a, bool(body.get("withPeople"))) for a in chunk]
            more = page * size < len(matches)
            return {
                "albums": {"count": 0, "total": 0, "items": [], "facets": []},
                "assets": {"count": len(items), "total": len(items), "items": items,
                           "facets": [], "nextPage": str(page + 1) if more else None},
            }  # fmt: skip

        @app.get("/api/faces")
        def faces(id: str, request: Request):
            denied = guard(request, "face.read")
            if denied:
                return denied
            asset = double.assets.get(id)
            if asset is None:
                return error(400, "Not found or no asset.read access", "Bad Request")
            return [
                {**double._face_box(f),
                 "person": double._person(f["person"]) if f["person"] else None}
                for f in asset.faces
            ]  # fmt: skip

        @app.get("/api/people")
        def people(request: Request, page: int = 1, size: int = 500, withHidden: str = "false"):
            denied = guard(request, "person.read")
            if denied:
                return denied
            listed = [
                double._person(key) for key in double.people
                if withHidden == "true" or not double.people[key]["isHidden"]
            ]  # fmt: skip
            chunk = listed[(page - 1) * size : page * size]
            hidden = sum(1 for p in double.people.values() if p["isHidden"])
            return {"people": chunk, "total": len(listed), "hidden": hidden,
                    "hasNextPage": page * size < len(listed)}  # fmt: skip

        @app.get("/api/people/{person_id}/thumbnail")
        def thumbnail(person_id: str, request: Request):
            denied = guard(request, "person.read")
            if denied:
                return denied
            key = next((k for k, p in double.people.items() if p["id"] == person_id), None)
            if key is None or "thumbnail" not in double.people[key]:
                return error(400, "Not found or no person.read access", "Bad Request")
            return Response(double.thumbnail(key), media_type="application/octet-stream")

        return app
