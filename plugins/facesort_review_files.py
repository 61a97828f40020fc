"""The review page's pictures and files, served by id or by a plain name, never by a path
from the request: thumbnails and faces (:mod:`facesort.review.pictures`), a file itself,
the reference photo nearest a face, and the weekly report and re-sort plans.

A router that :mod:`facesort_review` includes (same sign-in: :mod:`facesort_web`); not a
plugin itself.
"""

from __future__ import annotations

import re
from typing import Any

from facesort_web import PRIVATE_CACHE, facesort, signed_in_user
from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse, Response

# Files of a week's report that may be served: its page and its CSV tables.
REPORT_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.(html|csv)")

router = APIRouter()
Viewer = Depends(signed_in_user)


# --------------------------------------------------------------------------- pictures


def _picture(found: Any, missing: str, make) -> Any:
    """``make(found)``: a picture (a JPEG's path or bytes) of a record found by id; 404
    when there is no such record, or no picture of it (:class:`NoPicture`)."""
    from facesort.review.pictures import NoPicture

    if found is None:
        raise HTTPException(404, missing)
    try:
        return make(found)
    except NoPicture as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/thumb/{file_id}")
def thumbnail(file_id: int, frame: int | None = None, user=Viewer) -> Response:
    from facesort.review.pictures import thumbnail
    from facesort.review.queue import get_file

    config, state = facesort()
    path = _picture(
        get_file(state, file_id), f"no file #{file_id}", lambda m: thumbnail(config, m, frame)
    )
    return FileResponse(path, media_type="image/jpeg", headers=PRIVATE_CACHE)


@router.get("/face/{face_id}")
def face(face_id: int, user=Viewer) -> Response:
    from facesort.review.pictures import face_thumbnail
    from facesort.review.queue import get_face

    config, state = facesort()
    path = _picture(
        get_face(state, face_id),
        f"no face #{face_id}",
        lambda found: face_thumbnail(config, found[1], found[0]),
    )
    return FileResponse(path, media_type="image/jpeg", headers=PRIVATE_CACHE)


@router.get("/file/{file_id}")
def original_file(file_id: int, user=Viewer) -> Response:
    """The file itself, to look at it in full (by id: never a path from the request)."""
    import os

    from facesort.review.queue import get_file

    _, state = facesort()
    media = get_file(state, file_id)
    if media is None or not media.current_path or not os.path.isfile(media.current_path):
        raise HTTPException(404, f"file #{file_id} is not on disk")
    return FileResponse(
        media.current_path,
        headers=PRIVATE_CACHE,
        content_disposition_type="inline",
        filename=os.path.basename(media.current_path),
    )


@router.get("/reference-photo/{face_id}")
def reference_photo(face_id: int, person: str, user=Viewer) -> Response:
    """The reference photo of ``person`` nearest to a face (found from the records,
    never a path from the request), small."""
    from facesort.review.pictures import small_picture
    from facesort.review.suggestions import best_reference

    config, state = facesort()
    data = _picture(
        best_reference(state, config, face_id, person),
        f"no reference photo of {person!r} to compare face #{face_id}",
        lambda path: small_picture(config, path),
    )
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, no-cache"})


# --------------------------------------------------------------------------- reports


@router.get("/reports/latest/")
def latest_report_page(user=Viewer) -> Response:
    """The newest weekly report (facesort_review_report), behind the same sign-in."""
    return latest_report_file("report.html", user)


@router.get("/reports/latest/{name}")
def latest_report_file(name: str, user=Viewer) -> Response:
    """A file of the newest report (its page links its CSV tables by name)."""
    missing = HTTPException(404, f"no report file {name!r}: facesort_review_report makes them")
    if not REPORT_FILE.fullmatch(name):  # a plain name: no separators, dots or NULs
        raise missing
    config, _ = facesort()
    folder = (config.reports_path / "latest").resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        raise missing
    return FileResponse(path, headers={"Cache-Control": "private, no-cache"})


@router.get("/reports/resorts/{name}")
def resort_plan_file(name: str, user=Viewer) -> Response:
    """A re-sort's plan CSV (facesort_resort's approval request links it)."""
    missing = HTTPException(404, f"no re-sort plan {name!r}: facesort_resort writes them")
    config, _ = facesort()
    folder = (config.reports_path / "resorts").resolve()
    path = (folder / name).resolve()
    if not REPORT_FILE.fullmatch(name) or path.parent != folder or not path.is_file():
        raise missing
    return FileResponse(path, headers={"Cache-Control": "private, no-cache"})
