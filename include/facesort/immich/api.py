"""Immich's REST API, as facesort uses it: read-mostly, and never destructive.

facesort only ever *writes* to Immich by queueing a library scan
(``POST /api/libraries/{id}/scan``). It never sends ``force: true`` to a job: on
``faceDetection`` that deletes every detected face, on ``facialRecognition`` it
un-assigns every face the user named.

Errors become one clear message each (:mod:`facesort.errors`):

- 401 -> :class:`ImmichAuthError`, naming where the key came from;
- 403 -> :class:`ImmichPermissionError`, naming the permission to add to the key;
- refused connections, timeouts and 5xx answers are retried with exponential backoff
  (``immich.retries``, ``immich.retry_backoff_seconds``), then
  :class:`ImmichUnavailable`; 4xx answers are never retried.

Servers from v1.1xx to v3.x are handled: ``/api/server/*`` (``/api/server-info/*``
before v1.113), and queue counts from ``/api/queues`` (v2.3+) or ``/api/jobs``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from facesort.errors import (
    ImmichAuthError,
    ImmichError,
    ImmichNotAdminError,
    ImmichPermissionError,
    ImmichUnavailable,
)
from facesort.immich.endpoint import ImmichEndpoint

log = logging.getLogger(__name__)

# The queues a new file passes through before its face data is final.
FACE_QUEUES = (
    "library",
    "metadataExtraction",
    "thumbnailGeneration",
    "faceDetection",
    "facialRecognition",
)
SEARCH_PAGE_SIZE = 1000  # the most Immich allows
# Every visibility a staged file can have ("locked" needs a PIN-unlocked session, which a
# key never has; a file moved to the locked folder is not in its library any more).
SEARCHED_VISIBILITIES = ("timeline", "archive", "hidden")
PEOPLE_PAGE_SIZE = 500


class _ServerError(Exception):
    def __init__(self, response: httpx.Response):
        super().__init__(f"{response.status_code} {response.reason_phrase}")
        self.response = response


def _server_message(response: httpx.Response) -> str:
    """Immich's own words from an error answer ({"message": ..., "error": ...})."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or ""
        if isinstance(message, list):
            message = "; ".join(str(m) for m in message)
        return str(message)[:200]
    return str(body)[:200]


def like_escape(text: str) -> str:
    """``text`` as a literal inside PostgreSQL's ``LIKE`` (backslash is its escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class ServerInfo:
    version: tuple[int, int, int]
    facial_recognition: bool

    @property
    def version_text(self) -> str:
        return "v" + ".".join(str(v) for v in self.version)


@dataclass(frozen=True)
class QueueCounts:
    active: int = 0
    waiting: int = 0
    delayed: int = 0
    paused: int = 0
    is_paused: bool = False

    @property
    def pending(self) -> int:
        """Jobs not finished yet (``paused`` counts jobs of a paused queue)."""
        return self.active + self.waiting + self.delayed + self.paused

    @classmethod
    def from_counts(cls, counts: dict[str, Any], is_paused: bool = False) -> QueueCounts:
        def number(key: str) -> int:
            value = counts.get(key) or 0
            return int(value) if isinstance(value, int | float) else 0

        return cls(
            number("active"), number("waiting"), number("delayed"), number("paused"), is_paused
        )


class ImmichApi:
    """A synchronous client for one Immich server (httpx), with retries."""

    def __init__(
        self,
        endpoint: ImmichEndpoint,
        *,
        server_version: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        """``server_version`` ("v1.137.3"), when the run already probed the server, saves
        probing it again: the probe is once per run."""
        self.endpoint = endpoint
        settings = endpoint.settings
        self._client = httpx.Client(
            base_url=endpoint.api_url,
            headers={
                "x-api-key": endpoint.api_key,
                "accept": "application/json",
                "user-agent": "facesort",
            },
            timeout=settings.request_timeout_seconds,
            transport=transport,
        )
        self._info: ServerInfo | None = None
        if server_version:
            parts = server_version.lstrip("v").split(".")
            numbers = tuple(int(p) if p.isdigit() else 0 for p in [*parts, "0", "0"][:3])
            self._info = ServerInfo(numbers, True)  # type: ignore[arg-type]

    def __enter__(self) -> ImmichApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        permission: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> httpx.Response | None:
        """One call, retried on transient failures; None for 404/400 when ``missing_ok``."""
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

        settings = self.endpoint.settings
        retrying = Retrying(
            stop=stop_after_attempt(settings.retries + 1),
            wait=wait_exponential(multiplier=settings.retry_backoff_seconds, max=60),
            retry=retry_if_exception_type((httpx.TransportError, _ServerError)),
            before_sleep=lambda state: log.warning(
                "Immich %s %s failed (%s); retry %d of %d",
                method,
                path,
                state.outcome.exception() if state.outcome else "?",
                state.attempt_number,
                settings.retries,
            ),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = self._client.request(method, path, json=json, params=params)
                    if response.status_code >= 500:
                        raise _ServerError(response)
        except (httpx.TransportError, _ServerError) as exc:
            raise self._unavailable(exc, what) from None
        return self._check(response, what, permission, missing_ok)

    def _unavailable(self, exc: Exception, what: str) -> ImmichUnavailable:
        url = self.endpoint.base_url
        tries = self.endpoint.settings.retries + 1
        if isinstance(exc, _ServerError):
            detail = f"answered {exc} ({_server_message(exc.response)}) to {what}"
        elif isinstance(exc, httpx.TimeoutException):
            timeout = self.endpoint.settings.request_timeout_seconds
            detail = f"did not answer {what} within {timeout:g} s"
        else:
            detail = f"cannot be reached ({type(exc).__name__}: {exc}) for {what}"
        return ImmichUnavailable(
            f"Immich at {url} {detail}, {tries} tries with backoff. Check that Immich is "
            f"running and that the address in {self.endpoint.api_source} is right; files are "
            "matched locally meanwhile."
        )

    def _check(
        self, response: httpx.Response, what: str, permission: str | None, missing_ok: bool
    ) -> httpx.Response | None:
        status = response.status_code
        if status < 400:
            return response
        message = _server_message(response)
        if status == 401:
            raise ImmichAuthError(
                f"Immich at {self.endpoint.base_url} rejected the API key from "
                f"{self.endpoint.key_source or self.endpoint.api_source} (401 Unauthorized: "
                f"{message or 'no reason given'}) when asked for {what}. Create a key in Immich "
                f"(Account Settings > API Keys) and put it there."
            )
        if status == 403:
            raise self._forbidden(message, what, permission)
        if missing_ok and status in {400, 404}:
            return None
        raise ImmichError(
            f"Immich at {self.endpoint.base_url} refused {what}: {status} "
            f"{response.reason_phrase} ({message}). This Immich version may not support it; "
            "please report it with your Immich version."
        )

    def _forbidden(self, message: str, what: str, permission: str | None) -> ImmichPermissionError:
        """Tell "the key lacks X" (a scoped key) from "the user is not an admin"."""
        prefix = "Missing required permission:"
        if message.startswith(prefix):
            needed = message[len(prefix) :].strip() or permission
            return ImmichPermissionError(
                f"Immich at {self.endpoint.base_url} refused {what} (403 {message}): the API "
                f"key lacks the permission {needed}. In Immich, edit the key (Account Settings "
                f"> API Keys) and add {needed}, or use a key with 'all'.",
                permission=needed,
            )
        return ImmichNotAdminError(
            f"Immich at {self.endpoint.base_url} refused {what} (403 "
            f"{message or 'Forbidden'}): the API key's user is not an admin. Library scans and "
            "job queues need the key of an admin user (Administration > Users), the user who "
            "owns the library and named its people.",
            permission=permission,
        )

    def _json(self, response: httpx.Response | None, what: str) -> Any:
        assert response is not None
        try:
            return response.json()
        except ValueError:
            raise ImmichUnavailable(
                f"Immich at {self.endpoint.base_url} answered {what} with something that is "
                f"not JSON ({response.text[:80]!r}): is {self.endpoint.api_url} really Immich?"
            ) from None

    # ------------------------------------------------------------------ probe

    def server_info(self) -> ServerInfo:
        """Version and whether face recognition is on (both routes generations)."""
        if self._info is not None:
            return self._info
        version = features = None
        for prefix in ("/server", "/server-info"):
            response = self._request(
                "GET", f"{prefix}/version", what="its version", missing_ok=True
            )
            if response is None:
                continue
            version = self._json(response, "its version")
            features = self._json(
                self._request("GET", f"{prefix}/features", what="its features"), "its features"
            )
            break
        if not isinstance(version, dict) or not isinstance(features, dict):
            raise ImmichError(
                f"{self.endpoint.api_url} has neither /server/version nor /server-info/version: "
                f"is {self.endpoint.base_url} the address of Immich (without /api)?"
            )
        parsed = tuple(int(version.get(k) or 0) for k in ("major", "minor", "patch"))
        self._info = ServerInfo(parsed, bool(features.get("facialRecognition")))  # type: ignore[arg-type]
        return self._info

    # ------------------------------------------------------------------ libraries

    def libraries(self) -> list[dict[str, Any]]:
        response = self._request(
            "GET", "/libraries", what="the list of libraries", permission="library.read"
        )
        libraries = self._json(response, "the list of libraries")
        return libraries if isinstance(libraries, list) else []

    def scan_library(self, library_id: str) -> None:
        """Queue a scan of new and changed files (no body: never a forced refresh)."""
        self._request(
            "POST",
            f"/libraries/{library_id}/scan",
            what=f"a scan of library {library_id}",
            permission="library.update",
        )

    # ------------------------------------------------------------------ queues

    def queue_counts(self) -> dict[str, QueueCounts]:
        """Counts per queue, from /api/queues (v2.3+) or /api/jobs (older, maybe gone in v3)."""
        routes = [("/jobs", "job.read"), ("/queues", "queue.read")]
        if self.server_info().version >= (2, 3, 0):
            routes.reverse()
        for path, permission in routes:
            response = self._request(
                "GET", path, what="the job queues", permission=permission, missing_ok=True
            )
            if response is None:
                continue
            body = self._json(response, "the job queues")
            if isinstance(body, list):  # /api/queues
                return {
                    str(q.get("name")): QueueCounts.from_counts(
                        q.get("statistics") or {}, bool(q.get("isPaused"))
                    )
                    for q in body
                    if isinstance(q, dict)
                }
            if isinstance(body, dict):  # /api/jobs
                return {
                    name: QueueCounts.from_counts(
                        (status or {}).get("jobCounts") or {},
                        bool(((status or {}).get("queueStatus") or {}).get("isPaused")),
                    )
                    for name, status in body.items()
                    if isinstance(status, dict)
                }
        raise ImmichError(
            f"Immich {self.server_info().version_text} at {self.endpoint.base_url} has neither "
            "/api/queues nor /api/jobs: facesort cannot tell when face data is ready."
        )

    # ------------------------------------------------------------------ assets

    def assets_under(
        self, folder: str, library_id: str | None, wanted: set[str]
    ) -> Iterator[dict[str, Any]]:
        """Assets whose ``originalPath`` is in ``wanted``, searched page by page under ``folder``.

        Immich's path filter is ``ILIKE '%' || P || '%'``: a case- and accent-insensitive
        substring match in which ``%`` and ``_`` are wildcards. They are escaped, and each
        item's path is compared exactly here all the same. Without ``visibility`` Immich
        searches only the timeline, so each visibility a staged file can have is asked for.
        """
        seen: set[str] = set()
        for visibility in SEARCHED_VISIBILITIES:
            if wanted and seen >= wanted:
                return  # all found: no need to ask for the rarer visibilities
            page: int | None = 1
            while page is not None:
                body: dict[str, Any] = {
                    "originalPath": like_escape(folder),
                    "withPeople": True,
                    "withExif": True,  # the file's size as Immich read it
                    "visibility": visibility,
                    "size": SEARCH_PAGE_SIZE,
                    "page": page,
                }
                if library_id:
                    body["libraryId"] = library_id
                what = f"a search for {visibility} assets under {folder} (page {page})"
                found = self._json(
                    self._request(
                        "POST", "/search/metadata", what=what, permission="asset.read", json=body
                    ),
                    what,
                )
                assets = (found or {}).get("assets") or {}
                for item in assets.get("items") or []:
                    if isinstance(item, dict) and item.get("originalPath") in wanted:
                        seen.add(item["originalPath"])
                        yield item
                next_page = assets.get("nextPage")
                page = int(next_page) if next_page not in (None, "") else None

    def probe_search(self, folder: str) -> None:
        """One smallest search under ``folder``: may the key search (``asset.read``)?"""
        body = {"originalPath": like_escape(folder), "size": 1, "page": 1}
        self._request(
            "POST", "/search/metadata", what=f"a search for assets under {folder}",
            permission="asset.read", json=body,
        )  # fmt: skip

    def faces(self, asset_id: str) -> list[dict[str, Any]]:
        what = f"the faces of asset {asset_id}"
        faces = self._json(
            self._request(
                "GET", "/faces", what=what, permission="face.read", params={"id": asset_id}
            ),
            what,
        )
        return faces if isinstance(faces, list) else []

    def assign_face(self, person_id: str, face_id: str) -> dict[str, Any]:
        """Give a face to a person (``face.update``); answers with the person.

        v1.137.3's ``PUT /api/faces/{id}`` names the PERSON in its path and the face in its
        body (``reassignFacesById``), the reverse of what the route suggests."""
        what = f"giving face {face_id} to person {person_id}"
        answer = self._json(
            self._request(
                "PUT", f"/faces/{person_id}", what=what, permission="face.update",
                json={"id": face_id},
            ),
            what,
        )  # fmt: skip
        return answer if isinstance(answer, dict) else {}

    def create_face(
        self, asset_id: str, person_id: str, box: tuple[int, int, int, int], size: tuple[int, int]
    ) -> None:
        """A face of a person on an asset (``face.create``; ``sourceType: manual``).

        ``box`` is pixels of the preview (x1, y1, x2, y2), ``size`` its width and height."""
        x1, y1, x2, y2 = box
        body = {
            "assetId": asset_id, "personId": person_id,
            "imageWidth": int(size[0]), "imageHeight": int(size[1]),
            "x": int(x1), "y": int(y1), "width": int(x2 - x1), "height": int(y2 - y1),
        }  # fmt: skip
        self._request(
            "POST", "/faces", what=f"a face of person {person_id} on asset {asset_id}",
            permission="face.create", json=body,
        )  # fmt: skip

    # ------------------------------------------------------------------ people

    def person(self, person_id: str) -> dict[str, Any] | None:
        """One person by id, listed or not (None: gone, or not the key's user's)."""
        what = f"person {person_id}"
        response = self._request(
            "GET", f"/people/{person_id}", what=what, permission="person.read", missing_ok=True
        )
        if response is None:
            return None
        answer = self._json(response, what)
        return answer if isinstance(answer, dict) else None

    def people(self) -> Iterator[dict[str, Any]]:
        """Every person of the key's user that is not hidden, page by page."""
        page = 1
        while True:
            what = f"the list of people (page {page})"
            body = self._json(
                self._request(
                    "GET",
                    "/people",
                    what=what,
                    permission="person.read",
                    params={"page": page, "size": PEOPLE_PAGE_SIZE, "withHidden": "false"},
                ),
                what,
            )
            people = (body or {}).get("people") or []
            yield from (p for p in people if isinstance(p, dict))
            more = (body or {}).get("hasNextPage")
            if more is None:  # before v1.110: a short page is the last one
                more = len(people) == PEOPLE_PAGE_SIZE
            if not more or not people:
                return
            page += 1

    def person_thumbnail(self, person_id: str) -> bytes | None:
        """The person's feature-face thumbnail; None while they have none (404)."""
        response = self._request(
            "GET",
            f"/people/{person_id}/thumbnail",
            what=f"the thumbnail of person {person_id}",
            permission="person.read",
            missing_ok=True,
        )
        return response.content if response is not None else None
