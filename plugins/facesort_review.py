"""Airflow plugin: facesort's review page, inside the Airflow UI.

A FastAPI app that Airflow's API server serves under ``/facesort/review/``, linked from
the UI's navigation (*Browse > Review queue*). The routes are thin: the queue views,
actions, thumbnails and clusters are in :mod:`facesort.review`. The templates and the
page's script are in ``plugins/facesort_review/``, over those it shares with the people
page (:mod:`facesort_web`; this page serves its shared script for both).

Security:

- Airflow does not authenticate plugin apps; every route here does, with Airflow's own
  resolver (the UI's ``_token`` cookie or an ``Authorization: Bearer`` token), and asks
  the auth manager whether the user may use the custom view ``facesort review``
  (GET to see, POST to act). Anonymous requests get 401 (pages: a redirect to login).
- Actions are JSON posts that must come from the page's own origin (``Origin`` /
  ``Sec-Fetch-Site`` checked): a cross-site form cannot send them. A CSRF token can be
  added in :func:`same_origin_only`.
- Files are served by id from facesort's records, never by a path from the request;
  person names go through :func:`facesort.names.safe_folder_name` in the actions.

The API server needs ``FACESORT_CONFIG`` in its environment, like the workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.plugins_manager import AirflowPlugin
from facesort_review_files import router as pictures_and_reports
from facesort_web import (  # shared with the people page; names kept importable here
    SHARED_ASSETS,
    SHARED_STATIC,
    NotSignedIn,
    actor,
    base_url,
    done,
    facesort,
    nav_plugin,
    not_signed_in,
    page_templates,
    same_origin_only,
    signed_in_user,
    wants_html,
)
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from facesort.errors import FacesortError
from facesort.words import plural

ASSETS = Path(__file__).resolve().parent / "facesort_review"
URL_PREFIX = "/facesort/review"

templates = page_templates(ASSETS / "templates")
templates.env.globals["plural"] = plural  # "1 file", "2 files" in the pages too


# --------------------------------------------------------------------------- app

app = FastAPI(title="facesort review", docs_url=None, redoc_url=None, openapi_url=None)
app.mount("/static", StaticFiles(directory=ASSETS / "static"), name="static")
app.mount(SHARED_STATIC, StaticFiles(directory=SHARED_ASSETS / "static"), name="shared")
Viewer = Depends(signed_in_user)


app.add_exception_handler(NotSignedIn, not_signed_in)


@app.exception_handler(FacesortError)
async def _facesort_error(request: Request, exc: FacesortError) -> Response:
    """Errors a person can act on (a bad name, a file not in the queue): the message.
    A new person's name close to a known one (:mod:`facesort.review.spelling`) is a 409
    the page answers by asking, then sending the action again confirmed."""
    did_you_mean = getattr(exc, "did_you_mean", None)
    if did_you_mean is not None:
        return JSONResponse(
            {
                "detail": str(exc),
                "confirm_new_person": True,
                "person": exc.person,
                "did_you_mean": did_you_mean,
            },
            status_code=409,
        )
    if wants_html(request):
        return _page(request, "error.html", {"message": str(exc)}, status_code=400)
    return JSONResponse({"detail": str(exc)}, status_code=400)


def _page(request: Request, template: str, context: dict, status_code: int = 200) -> Response:
    from facesort.config import REVIEW_CATEGORIES
    from facesort.review.queue import CATEGORY_TITLES

    counts: dict[str, int] = {}
    clusters = 0
    reports_url = None
    if "config" in context:
        from facesort.report.output import latest_report

        if latest_report(context["config"].reports_path) is not None:
            reports_url = f"{base_url(request)}reports/latest/"
    if "state" in context:
        from facesort.review.queue import active_clusters, queue_counts

        counts = queue_counts(context["state"])
        clusters = len(active_clusters(context["state"]))
    context = {
        "base": base_url(request),
        "categories": [(c, CATEGORY_TITLES[c], counts.get(c, 0)) for c in REVIEW_CATEGORIES],
        "cluster_count": clusters,
        "reports_url": reports_url,
        **context,
    }
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def _facesort_page(
    request: Request, template: str, user: Any, config: Any, state: Any, **context: Any
) -> Response:
    """A page with the tabs' counts: ``context`` and the config, state and user each needs."""
    return _page(
        request,
        template,
        {"config": config, "state": state, **context, "user": user.get_name()},
    )


@app.get("/", name="index")
def index(request: Request, user=Viewer) -> Response:
    from facesort.review.queue import queue_counts

    _, state = facesort()
    counts = queue_counts(state)
    first = next((c for c, n in counts.items() if n), "unidentified")
    return RedirectResponse(f"{base_url(request)}queue/{first}", status_code=303)


@app.get("/queue/{category}")
def queue(
    request: Request, category: str, page: int = 1, per_page: int = 0, user=Viewer
) -> Response:
    from facesort.review.queue import PAGE_SIZE, queue_ids, queue_items

    search = _search(request, category)
    _, state = facesort()
    page, size = max(1, page), min(max(1, per_page or PAGE_SIZE), 500)
    offset = (page - 1) * size
    items = queue_items(state, category, offset=offset, limit=size + 1, search=search)
    more = len(items) > size
    # Every matching file, for "select all" across pages (only counted when there is more).
    matching = len(queue_ids(state, category, search)) if more or page > 1 else len(items)
    return _queue_page(
        request,
        user,
        items[:size],
        category=category,
        page=page,
        more=more,
        search=search,
        matching=matching,
    )


@app.get("/api/queue/{category}/ids")
def matching_ids(request: Request, category: str, user=Viewer) -> Response:
    """The ids of every file of the category that matches the search (select all)."""
    from facesort.review.queue import queue_ids

    search = _search(request, category)
    _, state = facesort()
    return JSONResponse({"file_ids": queue_ids(state, category, search)})


def _search(request: Request, category: str):
    """The queue's search from the query string (name, person, since, until, folder,
    sort); a category that does not exist is a 404."""
    from datetime import date

    from facesort.config import REVIEW_CATEGORIES
    from facesort.review.search import QueueSearch, QueueSort

    if category not in REVIEW_CATEGORIES:
        raise HTTPException(404, f"no review category {category!r}")
    params = request.query_params
    days = {}
    for key in ("since", "until"):
        try:
            days[key] = date.fromisoformat(params[key]) if params.get(key) else None
        except ValueError:
            raise HTTPException(
                400, f"{key}: a date like 2026-12-03, not {params[key]!r}"
            ) from None
    try:
        sort = QueueSort(params.get("sort") or QueueSort.OLDEST)
    except ValueError:
        raise HTTPException(400, f"sort: one of {', '.join(QueueSort)}") from None
    text = {key: (params.get(key) or "")[:200] for key in ("name", "person", "folder")}
    return QueueSearch(**text, **days, sort=sort)


@app.get("/clusters")
def clusters(request: Request, user=Viewer) -> Response:
    from facesort.review.queue import active_clusters, people_names

    config, state = facesort()
    return _facesort_page(
        request, "clusters.html", user, config, state, page_kind="clusters",
        clusters=active_clusters(state), people=people_names(state, config),
    )  # fmt: skip


@app.get("/clusters/{cluster_id}")
def cluster_files(request: Request, cluster_id: int, user=Viewer) -> Response:
    from facesort.review.queue import queue_items

    _, state = facesort()
    items = queue_items(state, cluster_id=cluster_id, limit=500)
    return _queue_page(request, user, items, cluster_id=cluster_id)


def _queue_page(
    request: Request,
    user: Any,
    items: list,
    *,
    category: str | None = None,
    cluster_id: int | None = None,
    page: int = 1,
    more: bool = False,
    search: Any = None,
    matching: int | None = None,
) -> Response:
    """The queue page: a category's files, or a cluster's."""
    from facesort.review.queue import people_names, tab_actions

    config, state = facesort()
    return _facesort_page(
        request, "queue.html", user, config, state,
        category=category, cluster_id=cluster_id, actions=tab_actions(category), items=items,
        page=page, more=more, search=search,
        matching=len(items) if matching is None else matching,
        people=people_names(state, config),
    )  # fmt: skip


@app.get("/is-this/{category}")
def is_this(request: Request, category: str, user=Viewer) -> Response:
    """ "Is this X?": the queue's suggestions, one card at a time (y / n / s)."""
    from facesort.review.suggestions import ASKED_CATEGORIES, suggestions

    if category not in ASKED_CATEGORIES:
        raise HTTPException(404, f"no suggestions are made for {category!r}")
    config, state = facesort()
    return _facesort_page(
        request, "is_this.html", user, config, state, page_kind="is-this",
        category=category, questions=suggestions(state, config, category),
    )  # fmt: skip


@app.get("/actions")
def actions(request: Request, user=Viewer) -> Response:
    from facesort.review.queue import recent_actions

    config, state = facesort()
    return _facesort_page(
        request, "actions.html", user, config, state, page_kind="actions",
        actions=recent_actions(state, limit=50),
    )  # fmt: skip


app.include_router(pictures_and_reports)  # thumbnails, faces, files, reports: by id or name


# --------------------------------------------------------------------------- actions


class FilesBody(BaseModel):
    file_ids: list[int] = Field(min_length=1, max_length=5000)


class PersonBody(BaseModel):
    person: str = Field(max_length=500)
    # A new person whose name is close to a known one is refused (409) until confirmed.
    confirm_new_person: bool = False


class ApproveBody(FilesBody, PersonBody):
    add_reference: bool = False
    face: int | None = None
    # A face the detector missed, drawn on the photo: left, top, right, bottom fractions.
    manual_box: list[float] | None = Field(None, min_length=4, max_length=4)


class ReferenceBody(FilesBody, PersonBody):
    face: int | None = None


class FileBody(BaseModel):
    file_id: int


class NotPersonBody(BaseModel):
    file_id: int
    face: int | None = Field(None, ge=1)  # 1-based; None: the file's only face
    person: str = Field(max_length=500)


class UndoBody(BaseModel):
    group_id: str | None = Field(None, max_length=250)  # None: the last action


class NameBody(PersonBody):
    pass


Actor = Depends(signed_in_user)
SameOrigin = Depends(same_origin_only)


def _reviewer(user: Any):
    from facesort.review.actions import Reviewer

    config, state = facesort()
    return Reviewer(config, state, actor(user))


@app.post("/api/approve", dependencies=[SameOrigin])
def approve(body: ApproveBody, user=Actor) -> Response:
    result = _reviewer(user).approve(
        body.file_ids,
        body.person,
        add_reference=body.add_reference,
        face=body.face,
        confirm_new_person=body.confirm_new_person,
        manual_box=body.manual_box,
    )
    return done(result)


@app.post("/api/reject", dependencies=[SameOrigin])
def reject(body: FilesBody, user=Actor) -> Response:
    return done(_reviewer(user).reject(body.file_ids))


@app.post("/api/add-reference", dependencies=[SameOrigin])
def add_reference(body: ReferenceBody, user=Actor) -> Response:
    return done(
        _reviewer(user).add_reference(
            body.file_ids, body.person, face=body.face, confirm_new_person=body.confirm_new_person
        )
    )


@app.post("/api/not-duplicate", dependencies=[SameOrigin])
def not_duplicate(body: FilesBody, user=Actor) -> Response:
    return done(_reviewer(user).not_duplicate(body.file_ids))


@app.post("/api/keep-instead", dependencies=[SameOrigin])
def keep_instead(body: FileBody, user=Actor) -> Response:
    return done(_reviewer(user).keep_instead(body.file_id))


@app.post("/api/not-person", dependencies=[SameOrigin])
def not_person(body: NotPersonBody, user=Actor) -> Response:
    return done(_reviewer(user).not_person(body.file_id, body.face, body.person))


@app.post("/api/undo", dependencies=[SameOrigin])
def undo(body: UndoBody, user=Actor) -> Response:
    from facesort.people.undo import undo_last_listed, undo_listed

    reviewer = _reviewer(user)
    if body.group_id:
        return done(undo_listed(reviewer, body.group_id))
    return done(undo_last_listed(reviewer, 1)[0])


@app.post("/api/clusters/{cluster_id}/name", dependencies=[SameOrigin])
def name_cluster(cluster_id: int, body: NameBody, user=Actor) -> Response:
    reviewer = _reviewer(user)
    result = reviewer.name_cluster(
        cluster_id, body.person, confirm_new_person=body.confirm_new_person
    )
    return done(result)


@app.get("/api/counts")
def counts(user=Viewer) -> Response:
    from facesort.review.queue import queue_counts

    _, state = facesort()
    return JSONResponse(queue_counts(state))


# --------------------------------------------------------------------------- plugin


class FacesortReviewPlugin(AirflowPlugin):
    name = "facesort_review"
    fastapi_apps, external_views = nav_plugin(
        app, URL_PREFIX, "facesort review", view="Review queue", route="facesort-review"
    )
