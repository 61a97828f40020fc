"""Names carried over: the people the user named in Immich stay on a file facesort moves.

An external-library asset is its path. When facesort moves a file and the library is
rescanned, Immich trashes the old asset *with the user's names on it* and makes a new
asset without faces at the new path; its recognition skips trashed assets, so the new
faces stay unnamed, and after the trash period the old asset and then the people are
deleted. So, for every file whose destination an Immich library imports:

1. :func:`prepare_for_run`, before any file of the run moves: each named Immich face
   of the file (its box as fractions of the picture, and the person), as read for the
   run (``immich_file``), is recorded in ``immich_carry`` (status ``pending``). It also
   warns once when the library or review folder is imported by no Immich library.
2. :func:`carry_pass`, after the rescan: once Immich has the new asset and has run its
   own face detection on it (the face queues idle over ``immich.wait.quiet_polls``
   looks in a row, with the asset there), the face at the same place (the best overlap
   of boxes, IoU >= :data:`MATCH_IOU`) is given the same person (``PUT
   /api/faces/{personId}``); where Immich found no face there (machine learning off, or
   no face detected at that place) a face is created (``POST /api/faces``). Never
   before detection ran: Immich would then add a second, unnamed face at that place.
   A face Immich or the user gave to a *named* person (or a hidden one) is never
   changed; faces in an unnamed cluster Immich made of the moved files are taken over
   (the cluster is remembered, so an undo gives the face back). Nothing is deleted,
   no people are merged.
3. :func:`carry_until_done` (``facesort run``) repeats the pass until nothing waits or
   ``immich.wait.max_wait_seconds`` passed; what still waits stays ``pending`` and the
   next run (or the next ``immich_carry_names`` task) finishes it.

Each write is recorded before it is sent (status ``writing``) and journaled after
(an ``immich_named`` event, shown by ``facesort history``); a retry after a crash looks
at the asset's faces first, so a write that arrived is never sent twice and no face is
created twice. :mod:`facesort.immich.carry_undo` takes the writes back.

One module per question: :mod:`~facesort.immich.carry_record` (what to carry, recorded
before the move), :mod:`~facesort.immich.carry_pass` (the pass that waits for Immich and
writes), :mod:`~facesort.immich.carry_match` (which face on the new asset is the named
one), :mod:`~facesort.immich.carry_write` (which write, sent and recorded) and
:mod:`~facesort.immich.carry_result` (what a pass did, in words). This module names
them in one place: callers import from here.
"""

from facesort.immich.carry_match import MATCH_IOU, Box, asset_faces, iou, match_faces
from facesort.immich.carry_pass import WAITING, CarryPass, carry_pass, carry_until_done
from facesort.immich.carry_record import (
    carrying,
    destination_warning,
    prepare_for_run,
    record_faces,
    uncovered_destinations,
)
from facesort.immich.carry_result import CarryResult, permission_message, summary_line
from facesort.immich.carry_write import CarryWriter

__all__ = [
    "MATCH_IOU",
    "WAITING",
    "Box",
    "CarryPass",
    "CarryResult",
    "CarryWriter",
    "asset_faces",
    "carry_pass",
    "carry_until_done",
    "carrying",
    "destination_warning",
    "iou",
    "match_faces",
    "permission_message",
    "prepare_for_run",
    "record_faces",
    "summary_line",
    "uncovered_destinations",
]
