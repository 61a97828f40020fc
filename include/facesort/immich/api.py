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

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from facesort.errors import ImmichError
from facesort.immich.faces_api import PEOPLE_PAGE_SIZE, ImmichFacesApi
from facesort.immich.transport import ImmichTransport, ServerInfo

__all__ = [
    "FACE_QUEUES",
    "PEOPLE_PAGE_SIZE",
    "ImmichApi",
    "ImmichTransport",
    "QueueCounts",
    "ServerInfo",
    "like_escape",
]

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


def like_escape(text: str) -> str:
    """``text`` as a literal inside PostgreSQL's ``LIKE`` (backslash is its escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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


class ImmichApi(ImmichFacesApi):
    """A synchronous client for one Immich server (httpx), with retries.

    Transport and errors: :class:`~facesort.immich.transport.ImmichTransport`; faces and
    people: :class:`~facesort.immich.faces_api.ImmichFacesApi`; here libraries, queues and
    the asset search."""

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
