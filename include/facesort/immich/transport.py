"""The transport under :class:`~facesort.immich.api.ImmichApi`: one call, retried, its
errors named (401, 403, 5xx, refused, not JSON), and the server's version probe.

Split from ``api.py`` so that the verbs (libraries, queues, assets, faces, people) read
apart from how a call is made and how it fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Self

import httpx

from facesort.errors import (
    ImmichAuthError,
    ImmichError,
    ImmichNotAdminError,
    ImmichPermissionError,
    ImmichUnavailable,
)
from facesort.immich.endpoint import ImmichEndpoint

log = logging.getLogger("facesort.immich.api")  # the name the retries always logged under


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


@dataclass(frozen=True)
class ServerInfo:
    version: tuple[int, int, int]
    facial_recognition: bool

    @property
    def version_text(self) -> str:
        return "v" + ".".join(str(v) for v in self.version)


class ImmichTransport:
    """How facesort calls one Immich server (httpx): retries with backoff, named errors."""

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

    def __enter__(self) -> Self:
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
