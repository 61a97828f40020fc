"""What facesort's two Airflow UI pages (review, people) share: the config and state of a
request, Airflow's sign-in and the auth manager's custom view, the same-origin check for
actions, the shapes of their answers and plugin entries, and their shared templates and
script (in ``plugins/facesort_web/``: ``page.html``, the skeleton each page's ``base.html``
extends, ``error.html``, and ``facesort.js``, which each page loads before its own).

Not a plugin itself (no :class:`AirflowPlugin` here): :mod:`facesort_review` and
:mod:`facesort_people` import it. Security is described in :mod:`facesort_review`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

RESOURCE = "facesort review"  # the custom view auth managers are asked about
PRIVATE_CACHE = {"Cache-Control": "private, max-age=86400"}
SHARED_ASSETS = Path(__file__).resolve().parent / "facesort_web"
# Where the review page serves SHARED_ASSETS/static (once, for both pages: the people
# page loads facesort.js from the review page, as it does review.css).
SHARED_STATIC = "/shared"


class NotSignedIn(Exception):
    pass


# --------------------------------------------------------------------------- facesort


@lru_cache(maxsize=4)
def _state(url: str):
    from facesort.state import State

    return State(url)


def facesort():
    """The config (re-read on every request: edits apply without a restart) and state."""
    from facesort.config import load_config

    config = load_config()
    return config, _state(config.database_url)


# --------------------------------------------------------------------------- auth


async def signed_in_user(request: Request) -> Any:
    """The Airflow user of the request (cookie or bearer token), allowed to use the page."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.security import HTTPBearer

    credentials = await HTTPBearer(auto_error=False)(request)
    try:
        user = await get_user(request, None, credentials)
    except HTTPException as exc:
        raise NotSignedIn(str(exc.detail)) from None
    method = "GET" if request.method in {"GET", "HEAD"} else "POST"
    if not get_auth_manager().is_authorized_custom_view(
        method=method, resource_name=RESOURCE, user=user
    ):
        raise HTTPException(403, f"{user.get_name()} may not use the facesort review page")
    return user


def same_origin_only(request: Request) -> None:
    """Refuse actions a page on another site could have sent (CSRF)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
        raise HTTPException(403, "cross-site request refused")
    origin = request.headers.get("origin")
    if origin and origin.split("://", 1)[-1] != request.headers.get("host"):
        raise HTTPException(403, "cross-origin request refused")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "actions are JSON posts")


def actor(user: Any) -> str:
    return f"review page/{user.get_name()}"


# --------------------------------------------------------------------------- answers


def page_templates(folder: Path) -> Jinja2Templates:
    """A page's templates: its own ``folder`` first, then the shared ones (``page.html``
    and ``error.html``, which extends the page's own ``base.html``)."""
    return Jinja2Templates(directory=[folder, SHARED_ASSETS / "templates"])


def wants_html(request: Request) -> bool:
    """A page asked for by a browser (rather than the page's script or the API)."""
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


async def not_signed_in(request: Request, exc: Exception) -> Response:
    """Pages: a redirect to Airflow's login; the API: 401."""
    from airflow.api_fastapi.app import get_auth_manager

    if wants_html(request):
        login = get_auth_manager().get_url_login(next_url=str(request.url))
        return RedirectResponse(login, status_code=303)
    return JSONResponse({"detail": f"sign in to Airflow first ({exc})"}, status_code=401)


def base_url(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/") + "/"


def done(result) -> JSONResponse:
    """An action's result as JSON (its dates and paths as text)."""
    return JSONResponse(json.loads(json.dumps(result.as_dict(), default=str)))


def nav_plugin(
    app: FastAPI, url_prefix: str, name: str, *, view: str, route: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A plugin's ``fastapi_apps`` and ``external_views``: ``app`` served under
    ``url_prefix``, linked as ``view`` in the navigation's *Browse* menu."""
    apps = [{"app": app, "url_prefix": url_prefix, "name": name}]
    views = [
        {
            "name": view,
            "href": url_prefix.lstrip("/") + "/",
            "url_route": route,
            "destination": "nav",
            "category": "browse",
        }
    ]
    return apps, views
