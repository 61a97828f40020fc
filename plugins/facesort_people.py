"""Airflow plugin: facesort's people page, inside the Airflow UI.

A FastAPI app served under ``/facesort/people/``, linked from the UI's navigation
(*Browse > People*): everyone facesort knows, with a face, their reference photos and
files; rename, merge, remove a reference photo, split wrongly sorted files out, undo.
The routes are thin: the views and actions are in :mod:`facesort.people`; templates and
script in ``plugins/facesort_people/``, over those shared with the review page
(:mod:`facesort_web`; the shared script is served by the review page).

Security is the review page's, shared with it (:mod:`facesort_web`): every route
signs the user in with Airflow's resolver and asks the auth manager about the custom
view ``facesort review``; actions are JSON posts from the page's own origin. Files and
faces are shown through the review page's routes (by id); a reference photo is served
by its plain name, looked up in the person's folder, never as a path from the request.
"""

from __future__ import annotations

from pathlib import Path

import facesort_review as review_page  # the module, not its plugin class: one plugin each
import facesort_web as web
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from facesort.errors import FacesortError

ASSETS = Path(__file__).resolve().parent / "facesort_people"
URL_PREFIX = "/facesort/people"
REVIEW_URL = review_page.URL_PREFIX + "/"

templates = web.page_templates(ASSETS / "templates")

app = FastAPI(title="facesort people", docs_url=None, redoc_url=None, openapi_url=None)
app.mount("/static", StaticFiles(directory=ASSETS / "static"), name="static")
Viewer = Depends(web.signed_in_user)
SameOrigin = Depends(web.same_origin_only)
app.add_exception_handler(web.NotSignedIn, web.not_signed_in)


@app.exception_handler(FacesortError)
async def _facesort_error(request: Request, exc: FacesortError) -> Response:
    if web.wants_html(request):
        return _page(request, "error.html", {"message": str(exc)}, status_code=400)
    return JSONResponse({"detail": str(exc)}, status_code=400)


def _page(request: Request, template: str, context: dict, status_code: int = 200) -> Response:
    context = {"base": web.base_url(request), "review": REVIEW_URL, **context}
    return templates.TemplateResponse(request, template, context, status_code=status_code)


# --------------------------------------------------------------------------- pages


@app.get("/")
def people(request: Request, user=Viewer) -> Response:
    from facesort.people.overview import people_overview
    from facesort.people.undo import recent

    config, state = web.facesort()
    return _page(
        request,
        "people.html",
        {
            "people": people_overview(state, config),
            "actions": recent(state, limit=10),
            "user": user.get_name(),
        },
    )


@app.get("/person/{name}")
def person(request: Request, name: str, user=Viewer) -> Response:
    from facesort.people.overview import person_view
    from facesort.people.own import learnt_names, own_thresholds
    from facesort.people.photos import reference_views
    from facesort.people.rename import known_person
    from facesort.people.split import library_files
    from facesort.people.undo import recent
    from facesort.review.queue import people_names

    config, state = web.facesort()
    name = known_person(state, config, name)
    return _page(
        request,
        "person.html",
        {
            "person": person_view(state, config, name),
            "references": reference_views(state, config, name),
            "files": library_files(state, config, name),
            "thresholds": own_thresholds(state, config, name),
            "learnt": learnt_names(state, config, name),
            "others": [p for p in people_names(state, config) if p != name],
            "actions": recent(state, limit=10),
            "user": user.get_name(),
        },
    )


@app.get("/person/{name}/reference/{photo}")
def reference_photo(name: str, photo: str, user=Viewer) -> Response:
    from facesort.people.photos import photo_path

    config, _ = web.facesort()
    return FileResponse(photo_path(config, name, photo), headers=web.PRIVATE_CACHE)


@app.get("/api/people")
def people_json(user=Viewer) -> Response:
    from facesort.people.overview import people_overview

    config, state = web.facesort()
    return JSONResponse([v.as_dict() for v in people_overview(state, config)])


@app.get("/api/person/{name}")
def person_json(name: str, user=Viewer) -> Response:
    from dataclasses import asdict

    from facesort.people.overview import person_view
    from facesort.people.own import learnt_names, own_thresholds
    from facesort.people.photos import reference_views
    from facesort.people.rename import known_person
    from facesort.people.split import library_files

    config, state = web.facesort()
    name = known_person(state, config, name)
    return JSONResponse(
        {
            **person_view(state, config, name).as_dict(),
            "thresholds": own_thresholds(state, config, name).as_dict(),
            "learnt_photos": sorted(learnt_names(state, config, name)),
            "reference_photos": [asdict(r) for r in reference_views(state, config, name)],
            "files": [
                {"id": m.id, "path": m.current_path} for m in library_files(state, config, name)
            ],
        }
    )


# --------------------------------------------------------------------------- actions


class RenameBody(BaseModel):
    person: str = Field(max_length=500)
    new_name: str = Field(max_length=500)


class MergeBody(BaseModel):
    people: list[str] = Field(min_length=2, max_length=2)
    keep: str = Field(max_length=500)


class ReferenceBody(BaseModel):
    person: str = Field(max_length=500)
    photo: str = Field(max_length=500)


class SplitBody(BaseModel):
    person: str = Field(max_length=500)
    file_ids: list[int] = Field(min_length=1, max_length=5000)
    to: str | None = Field(None, max_length=500)  # None: back to the review queue


class ThresholdsBody(BaseModel):
    person: str = Field(max_length=500)
    sure_distance: float | None = None  # None: the shared value (both None: clear)
    review_distance: float | None = None


class UndoBody(BaseModel):
    group_id: str | None = Field(None, max_length=250)  # None: the last people action


@app.post("/api/rename", dependencies=[SameOrigin])
def rename(body: RenameBody, user=Viewer) -> Response:
    from facesort.people.rename import rename_person

    config, state = web.facesort()
    return web.done(rename_person(config, state, web.actor(user), body.person, body.new_name))


@app.post("/api/merge", dependencies=[SameOrigin])
def merge(body: MergeBody, user=Viewer) -> Response:
    from facesort.people.rename import merge_people

    config, state = web.facesort()
    first, second = body.people
    return web.done(merge_people(config, state, web.actor(user), first, second, body.keep))


@app.post("/api/remove-reference", dependencies=[SameOrigin])
def remove_reference(body: ReferenceBody, user=Viewer) -> Response:
    from facesort.people.photos import remove_reference

    config, state = web.facesort()
    actor = web.actor(user)
    return web.done(remove_reference(config, state, actor, body.person, body.photo))


@app.post("/api/split", dependencies=[SameOrigin])
def split(body: SplitBody, user=Viewer) -> Response:
    from facesort.people.split import split_files

    config, state = web.facesort()
    actor = web.actor(user)
    return web.done(split_files(config, state, actor, body.person, body.file_ids, to=body.to))


@app.post("/api/thresholds", dependencies=[SameOrigin])
def thresholds(body: ThresholdsBody, user=Viewer) -> Response:
    from facesort.people.own import own_thresholds
    from facesort.people.rename import known_person
    from facesort.thresholds import set_person_thresholds

    config, state = web.facesort()
    name = known_person(state, config, body.person)
    set_person_thresholds(state, name, sure=body.sure_distance, review=body.review_distance,
                          config=config, actor=web.actor(user))  # fmt: skip
    own = own_thresholds(state, config, name)
    summary = (
        f"{name} is judged by sure {own.sure_distance:.2f} ({own.sure_source}), review "
        f"{own.review_distance:.2f} ({own.review_source})"
    )
    return JSONResponse({"summary": summary, **own.as_dict()})


@app.post("/api/forget-learnt", dependencies=[SameOrigin])
def forget_learnt(body: ReferenceBody, user=Viewer) -> Response:
    from facesort.people.own import forget_learnt
    from facesort.people.rename import known_person

    config, state = web.facesort()
    name = known_person(state, config, body.person)
    report = forget_learnt(state, config, web.actor(user), name, body.photo)
    return JSONResponse(
        {
            "summary": f"forgot {body.photo}, learnt for {name} (undo of its copy)",
            "group_id": report.group_id,
            "skipped": report.skipped or [],
        }
    )


@app.post("/api/undo", dependencies=[SameOrigin])
def undo(body: UndoBody, user=Viewer) -> Response:
    from facesort.people.undo import last_undoable, undo

    config, state = web.facesort()
    group = body.group_id or last_undoable(state)
    return web.done(undo(config, state, web.actor(user), group))


# --------------------------------------------------------------------------- plugin


class FacesortPeoplePlugin(AirflowPlugin):
    name = "facesort_people"
    fastapi_apps, external_views = web.nav_plugin(
        app, URL_PREFIX, "facesort people", view="People", route="facesort-people"
    )
