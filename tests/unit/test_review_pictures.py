"""Thumbnails and face crops of the review page: made once, and the boxes line up."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image
from review_helpers import file_id, record

from facesort.config import MatchingSettings
from facesort.faces import find_faces
from facesort.review.actions import Reviewer
from facesort.review.pictures import face_thumbnail, thumbnail
from facesort.review.queue import queue_items
from facesort.review.reference_photos import file_faces
from facesort.sorting.run import run_once
from facesort.state import State

pytestmark = pytest.mark.slow


def _overlap(a, b) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def _boxes_found_in(path) -> list[tuple[float, ...]]:
    """Faces detected afresh in a thumbnail, as fractions of it."""
    with Image.open(path) as picture:
        rgb = np.asarray(picture.convert("RGB"))
    faces = find_faces(rgb, MatchingSettings(upsample=2, detect_max_side=800))
    return [f.box for f in faces] if faces else []


def test_thumbnails_are_made_once_and_face_boxes_line_up(make_workspace, photos):
    ws = make_workspace(stage=("video",), extras=False)
    shutil.copy(photos / "incoming" / "two_people.jpg", ws.staging)
    config = ws.config()
    run_once(config, workers=1)
    state = State(config.database_url)
    items = {item.name: item for item in queue_items(state)}
    photo, video = items["two_people.jpg"], items["short_hamilton_clip.mp4"]

    path = thumbnail(config, record(state, photo.id))
    made = path.stat().st_mtime_ns
    with Image.open(path) as picture:
        assert max(picture.size) == config.review.thumbnail_size
    # Every face box drawn on the thumbnail is where a detector finds a face in it.
    found = _boxes_found_in(path)
    assert len(photo.shown_faces) == 2
    for face in photo.shown_faces:
        assert max(_overlap(face.box, box) for box in found) > 0.5, (face.box, found)
    # A video's thumbnail is the frame with the most faces, and its boxes are that frame's.
    video_path = thumbnail(config, record(state, video.id), video.thumb_frame)
    assert video.shown_faces and all(f.frame == video.thumb_frame for f in video.shown_faces)
    found = _boxes_found_in(video_path)
    for face in video.shown_faces:
        assert max((_overlap(face.box, box) for box in found), default=0) > 0.4, (face.box, found)
    # Its boxes are numbered 1..n (the keys that choose them), each naming its face by
    # the face's number among all the video's faces (what the action is sent).
    keys = [key for key, _ in video.drawn_faces]
    assert keys == list(range(1, len(video.shown_faces) + 1))
    assert [face.number for _, face in video.drawn_faces] == [f.number for f in video.shown_faces]
    assert [key for key, _ in photo.drawn_faces] == [1, 2]

    # Made once: asking again (after the file moved, too) reuses the cached picture.
    Reviewer(config, state, "tester").approve([photo.id], "somebody", face=1)
    assert thumbnail(config, record(state, photo.id)) == path
    assert path.stat().st_mtime_ns == made
    crop = face_thumbnail(config, record(state, photo.id), file_faces(state, photo.id)[0])
    with Image.open(crop) as picture:
        assert max(picture.size) <= 160 and min(picture.size) > 40
    assert crop.parent == path.parent  # cached by the file's content hash
    assert file_id(state, "two_people.jpg") == photo.id
    state.dispose()
