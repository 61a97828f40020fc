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
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.errors import ImmichError, ImmichPermissionError, ImmichUnavailable
from facesort.faults import crashpoint
from facesort.immich.api import FACE_QUEUES
from facesort.immich.endpoint import ImmichEndpoint, PathMap
from facesort.immich.writes import CARRY_PERMISSIONS, ImmichFaceWrites
from facesort.state import State
from facesort.state.models import Event, ImmichCarry, ImmichFile, MediaFile
from facesort.vocab import (
    CarryOp,
    CarryStatus,
    EventAction,
    FileStatus,
    ImmichFileStatus,
    ImmichStatus,
    TransferOp,
)

log = logging.getLogger(__name__)

# Two boxes are the same face when they overlap this much (intersection over union).
# Immich detects the same face of the same file at the same pixels; a manual face
# drawn by hand overlaps less, so the bar is not higher.
MATCH_IOU = 0.5
WAITING = (CarryStatus.PENDING, CarryStatus.WRITING)
Box = tuple[float, float, float, float]


def iou(a: Iterable[float], b: Iterable[float]) -> float:
    """Overlap of two (left, top, right, bottom) boxes: intersection over union."""
    l1, t1, r1, b1 = a
    l2, t2, r2, b2 = b
    width = min(r1, r2) - max(l1, l2)
    height = min(b1, b2) - max(t1, t2)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (r1 - l1) * (b1 - t1) + (r2 - l2) * (b2 - t2) - inter
    return inter / union if union > 0 else 0.0


def carrying(endpoint: ImmichEndpoint | None) -> bool:
    return endpoint is not None and bool(getattr(endpoint.settings, "carry_names", True))


def _endpoint(config: Config, resolve: Callable[[Config], ImmichEndpoint | None] | None):
    from facesort.immich.endpoint import endpoint_from_config

    try:
        return (resolve or endpoint_from_config)(config)
    except ImmichError:
        return None  # the run's Immich record already says what is wrong


# --------------------------------------------------------------------- 1. before the move


def uncovered_destinations(
    config: Config, endpoint: ImmichEndpoint, libraries: list[dict[str, Any]]
) -> dict[str, str]:
    """Host folder -> container folder, for the destinations no library imports."""
    from facesort.immich.prepare import covering_libraries

    folders = {
        str(d): endpoint.path_map.to_container(str(d))
        for d in (config.library_dir, config.review_dir)
    }
    _, uncovered = covering_libraries(libraries, folders)
    return {host: folders[host] for host in uncovered}


def destination_warning(uncovered: dict[str, str]) -> str:
    described = ", ".join(f"{h} (in Immich: {c})" for h, c in uncovered.items())
    return (
        f"facesort moves files out of Immich's libraries into {described}, which no Immich "
        "library imports: Immich then drops the names the user gave those files (the old "
        "asset is trashed with them, and after 30 days the people go too). To keep them, "
        "add these folders to the import paths of a library (Immich: Administration > "
        "External Libraries), or set transfer_mode: copy so the originals stay in staging."
    )


def prepare_for_run(
    state: State,
    config: Config,
    run_id: str,
    *,
    resolve: Callable[[Config], ImmichEndpoint | None] | None = None,
) -> dict[str, Any]:
    """Before the run's files move: warn about destinations no library sees, and
    record each named Immich face of the run's files. Never raises for Immich."""
    from facesort.immich.runs import get_run

    endpoint = _endpoint(config, resolve)
    run = get_run(state, run_id)
    if endpoint is None or run is None or run.status != ImmichStatus.OK:
        return {"recorded": 0, "skipped": "Immich is not usable in this run"}
    with state.session() as session:
        known = session.scalar(
            sa.select(sa.func.count()).select_from(ImmichFile).where(ImmichFile.run_id == run_id)
        )
    result: dict[str, Any] = {"recorded": 0}
    if known and config.transfer_mode == TransferOp.MOVE:
        try:
            with ImmichFaceWrites(endpoint, server_version=run.server_version) as api:
                uncovered = uncovered_destinations(config, endpoint, api.libraries())
        except (ImmichUnavailable, ImmichError) as exc:
            uncovered = {}
            log.info("libraries not checked: %s", exc)
        if uncovered:
            result["warning"] = destination_warning(uncovered)
            log.warning("%s", result["warning"])
    if not carrying(endpoint):
        result["skipped"] = "immich.carry_names is off"
        return result
    result["recorded"] = record_faces(state, run_id)
    return result


def record_faces(state: State, run_id: str) -> int:
    """``immich_carry`` rows for the named faces Immich had on the run's files; a retry
    of the same step records nothing twice."""
    from facesort.immich.faces import ImmichFace

    added = 0
    with state.session() as session:
        rows = session.scalars(
            sa.select(ImmichFile).where(
                ImmichFile.run_id == run_id,
                ImmichFile.status == ImmichFileStatus.FACES,
                ImmichFile.asset_id.is_not(None),
            )
        ).all()
        for row in rows:
            existing = {
                (c.person_id, tuple(c.box))
                for c in session.scalars(
                    sa.select(ImmichCarry).where(
                        ImmichCarry.file_id == row.file_id,
                        ImmichCarry.old_asset_id == row.asset_id,
                    )
                )
            }
            for data in row.faces or []:
                face = ImmichFace.from_json(data)
                name = (face.name or "").strip()
                if not face.person_id or not name or face.box is None:
                    continue  # unnamed clusters and unassigned faces: Immich redoes them
                if (face.person_id, tuple(face.box)) in existing:
                    continue
                session.add(
                    ImmichCarry(
                        file_id=row.file_id,
                        group_id=run_id,
                        old_asset_id=row.asset_id,
                        old_path=row.container_path,
                        person_id=face.person_id,
                        person_name=name,
                        box=list(face.box),
                        status=CarryStatus.PENDING,
                        quiet_polls=0,
                        missing_polls=0,
                    )
                )
                existing.add((face.person_id, tuple(face.box)))
                added += 1
    return added


# --------------------------------------------------------------------- 2. after the rescan


@dataclass
class CarryResult:
    """What one pass (or the whole wait) did; ``finished``: nothing more to wait for now."""

    finished: bool
    detail: str
    counts: dict[str, int] = field(default_factory=dict)
    waiting: int = 0
    message: str | None = None  # a problem to tell the user once (missing permission)
    files: set[int] = field(default_factory=set)  # the files a name was written to

    def as_dict(self) -> dict[str, Any]:
        return {
            "finished": self.finished,
            "detail": self.detail,
            "counts": dict(self.counts),
            "waiting": self.waiting,
            "message": self.message,
            "files": len(self.files),
        }


def summary_line(carried: dict[str, Any] | None) -> str | None:
    """One line for ``facesort run``: what was carried, and what still waits (None:
    nothing either way)."""
    from facesort.words import plural

    counts = (carried or {}).get("counts") or {}
    waiting = int((carried or {}).get("waiting") or 0)
    files = int((carried or {}).get("files") or 0)
    if not files and not waiting:
        return None
    how = [
        f"{counts[status]} {word}"
        for status, word in ((CarryStatus.CARRIED, "assigned"), (CarryStatus.CREATED, "created"))
        if counts.get(status)
    ]
    line = f"Immich: names carried to {plural(files, 'file')}"
    line += f" ({', '.join(how)})" if how else ""
    return line + (f", {waiting} waiting" if waiting else "")


def _missing_permission(exc: ImmichPermissionError) -> str:
    if getattr(exc, "permission", None):
        return str(exc.permission)  # type: ignore[attr-defined]
    text = str(exc)
    for pattern in (r"Missing required permission: ([\w.]+)", r"permission '([\w.]+)'"):
        match = re.search(pattern, text)
        if match:
            return match.group(1)
    return "a face permission"


def permission_message(exc: ImmichPermissionError, waiting: int) -> str:
    missing = _missing_permission(exc)
    why = "" if missing in CARRY_PERMISSIONS else " (to know when Immich's face detection ran)"
    return (
        f"Immich names were not carried over: the API key lacks the permission '{missing}'"
        f"{why}. Carrying names onto moved files needs {', '.join(CARRY_PERMISSIONS)}: add them to "
        "the key in Immich (Account Settings > API Keys), or set immich.carry_names: false. "
        f"Files are sorted as before; {waiting} name(s) wait to be carried."
    )


@dataclass
class _Target:
    """Where a waiting row's file is now, and its new asset once Immich has one."""

    container_path: str
    size: tuple[int, int] | None


class CarryPass:
    """One look at Immich for every waiting carry; writes those that are ready."""

    def __init__(self, state: State, config: Config, endpoint: ImmichEndpoint | None, actor: str):
        self.state = state
        self.config = config
        self.endpoint = endpoint
        self.actor = actor
        self.files: set[int] = set()

    def run(self, *, write: bool = True) -> CarryResult:
        """``write=False`` only looks (a trigger's poll): it counts quiet looks, writes
        nothing to Immich, and is finished once every waiting carry is ready."""
        if self.endpoint is None:
            return CarryResult(True, "Immich is not configured")
        if not carrying(self.endpoint):
            return CarryResult(True, "immich.carry_names is off")
        rows = self._waiting()
        if not rows:
            return CarryResult(True, "no names wait to be carried")
        targets = self._targets(rows)
        counts: dict[str, int] = {}
        try:
            with ImmichFaceWrites(self.endpoint) as api:
                seen = self._seen(api, rows, targets, counts)
                ready = self._look(api, seen, targets)
                if write:
                    for file_id, asset_id in ready.items():
                        file_rows = [r for r in seen if r.file_id == file_id]
                        self._carry_file(api, file_rows, asset_id, targets[file_id], counts)
        except ImmichPermissionError as exc:
            waiting = len(self._waiting())
            return CarryResult(
                True, "a permission is missing", counts, waiting, permission_message(exc, waiting)
            )
        except (ImmichUnavailable, ImmichError) as exc:
            # Not worth waiting for: the carry-overs stay pending for a later run.
            return CarryResult(True, f"Immich was not usable: {exc}", counts, len(rows))
        waiting = self._waiting()
        # Only files already moved are waited for; one still in staging (sorting failed,
        # or another worker's) is carried by the run after it moves. A file Immich still
        # has no asset for after twice the quiet looks is left out (an exclusion pattern,
        # no scan): a later run carries it if the asset comes.
        assert self.endpoint is not None
        give_up = 2 * self.endpoint.settings.wait.quiet_polls
        worth = {r.id for r in seen if r.missing_polls < give_up}
        left = sum(1 for r in waiting if r.id in worth)
        if not write:
            left = sum(1 for r in seen if r.file_id not in ready and r.id in worth)
            return CarryResult(left == 0, f"{len(ready)} file(s) ready", counts, len(waiting))
        done = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing written"
        detail = f"{done}; {len(waiting)} waiting"
        return CarryResult(left == 0, detail, counts, len(waiting), files=self.files)

    # ------------------------------------------------------------------ reading

    def _waiting(self) -> list[ImmichCarry]:
        with self.state.session() as session:
            rows = session.scalars(
                sa.select(ImmichCarry)
                .where(ImmichCarry.status.in_(WAITING))
                .order_by(ImmichCarry.file_id, ImmichCarry.id)
            ).all()
            session.expunge_all()
        return list(rows)

    def _targets(self, rows: list[ImmichCarry]) -> dict[int, _Target | str]:
        """file id -> where it is now (container path), or why it will not be carried;
        files still being sorted are left out (they wait)."""
        assert self.endpoint is not None
        ids = sorted({r.file_id for r in rows})
        with self.state.session() as session:
            files = session.execute(
                sa.select(
                    MediaFile.id, MediaFile.status, MediaFile.source_path,
                    MediaFile.current_path, MediaFile.width, MediaFile.height,
                ).where(MediaFile.id.in_(ids))
            ).all()  # fmt: skip
        targets: dict[int, _Target | str] = {}
        for file_id, status, source, current, width, height in files:
            if status == FileStatus.LEFT:
                targets[file_id] = "the file left staging without being sorted"
            elif status != FileStatus.DONE:
                continue  # still being sorted (or back in staging): wait
            elif not current or current == source:
                targets[file_id] = "the file did not move"
            else:
                size = (int(width), int(height)) if width and height else None
                targets[file_id] = _Target(self.endpoint.path_map.to_container(current), size)
        return targets

    def _seen(
        self,
        api: ImmichFaceWrites,
        rows: list[ImmichCarry],
        targets: dict[int, _Target | str],
        counts: dict[str, int],
    ) -> list[ImmichCarry]:
        """The rows whose destination a library imports; the others are closed."""
        libraries = api.libraries()
        seen = []
        for row in rows:
            target = targets.get(row.file_id)
            if target is None:
                continue
            if isinstance(target, str):
                self._close(row, CarryStatus.NOT_MOVED, target, counts)
                continue
            if not any(
                PathMap.covers(path, target.container_path)
                for library in libraries
                for path in library.get("importPaths") or []
            ):
                self._close(
                    row,
                    CarryStatus.NOT_SEEN,
                    f"no Immich library imports {target.container_path}: Immich drops the "
                    "name there (add the folder to a library's import paths)",
                    counts,
                )
                continue
            seen.append(row)
        return seen

    def _look(
        self, api: ImmichFaceWrites, rows: list[ImmichCarry], targets: dict[int, Any]
    ) -> dict[int, str]:
        """Count this look for each row; file id -> new asset id for the ready ones.

        Ready: the new asset is there and the face queues were idle at ``quiet_polls``
        looks in a row. Detection runs after the asset is made, so the queues being idle
        with the asset there means Immich's own detection is done (or will never run:
        machine learning off)."""
        from facesort.immich.read import search_assets

        assert self.endpoint is not None
        needed = self.endpoint.settings.wait.quiet_polls
        counts = api.queue_counts()
        quiet = not any(counts[q].pending for q in FACE_QUEUES if q in counts)
        assets = {}
        if quiet and rows:
            wanted = {targets[r.file_id].container_path for r in rows}
            assets = search_assets(api, wanted, None)
        log.debug("carry look: queues idle %s, %d of %d new assets there", quiet, len(assets),
                  len(rows))  # fmt: skip
        ready: dict[int, str] = {}
        with self.state.session() as session:
            for row in rows:
                asset = assets.get(targets[row.file_id].container_path)
                stored = session.get(ImmichCarry, row.id)
                assert stored is not None
                if asset is None or asset.offline:
                    stored.quiet_polls = 0
                    stored.missing_polls = stored.missing_polls + 1 if quiet else 0
                else:
                    stored.missing_polls = 0
                    stored.quiet_polls += 1
                    stored.new_asset_id = asset.asset_id
                    stored.new_path = asset.path
                row.quiet_polls = stored.quiet_polls
                row.missing_polls = stored.missing_polls
                row.new_asset_id = stored.new_asset_id
                if asset is not None and stored.quiet_polls >= needed:
                    ready[row.file_id] = asset.asset_id
        return ready

    # ------------------------------------------------------------------ writing

    def _carry_file(
        self,
        api: ImmichFaceWrites,
        rows: list[ImmichCarry],
        asset_id: str,
        target: _Target,
        counts: dict[str, int],
    ) -> None:
        faces = _asset_faces(api, asset_id)
        size = next((f["size"] for f in faces if f["size"]), None) or target.size or (1000, 1000)
        used: set[str] = set()
        pairs = sorted(
            (
                (iou(row.box, face["box"]), row.id, face["id"])
                for row in rows
                for face in faces
                if face["box"] is not None
            ),
            reverse=True,
        )
        matched: dict[int, dict[str, Any]] = {}
        by_id = {f["id"]: f for f in faces}
        for overlap, row_id, face_id in pairs:
            if overlap < MATCH_IOU or row_id in matched or face_id in used:
                continue
            matched[row_id] = by_id[face_id]
            used.add(face_id)
        for row in rows:
            face = matched.get(row.id)
            if face is None:
                # The person may be on the asset elsewhere already (named by hand).
                face = next(
                    (f for f in faces if f["person_id"] == row.person_id and f["id"] not in used),
                    None,
                )
                if face is not None:
                    used.add(face["id"])
                    self._close(row, CarryStatus.ALREADY, "Immich has the person there", counts)
                    continue
                self._create(api, row, asset_id, size, counts)
                continue
            if face["person_id"] == row.person_id:
                if row.status == CarryStatus.WRITING:  # it arrived before a crash
                    created = row.op == CarryOp.CREATE
                    status = CarryStatus.CREATED if created else CarryStatus.CARRIED
                    self._written(row, status, face["id"], counts)
                else:
                    self._close(row, CarryStatus.ALREADY, "Immich has the person there", counts)
            elif face["person_id"] is None or face["unnamed"]:
                self._assign(api, row, asset_id, face, counts)
            else:
                self._close(
                    row,
                    CarryStatus.CONFLICT,
                    f"the face there is {face['person_name'] or 'a hidden person'}'s in Immich: "
                    "left as it is",
                    counts,
                )

    def _assign(
        self,
        api: ImmichFaceWrites,
        row: ImmichCarry,
        asset_id: str,
        face: dict[str, Any],
        counts: dict[str, int],
    ) -> None:
        previous = face["person_id"]
        if row.status == CarryStatus.WRITING and row.previous_person_id:
            previous = row.previous_person_id  # the cluster it was in before the first try
        self._intent(row, CarryOp.ASSIGN, asset_id, face["id"], previous)
        crashpoint("immich.carry.planned")
        with self._refused_undoes_intent(row):
            api.assign_face(row.person_id, face["id"])
        crashpoint("immich.carry.sent")
        self._written(row, CarryStatus.CARRIED, face["id"], counts)

    def _create(
        self,
        api: ImmichFaceWrites,
        row: ImmichCarry,
        asset_id: str,
        size: tuple[int, int],
        counts: dict[str, int],
    ) -> None:
        self._intent(row, CarryOp.CREATE, asset_id, None, None)
        crashpoint("immich.carry.planned")
        width, height = size
        left, top, right, bottom = row.box
        pixels = (round(left * width), round(top * height), round(right * width),
                  round(bottom * height))  # fmt: skip
        with self._refused_undoes_intent(row):
            api.create_face(asset_id, row.person_id, pixels, size)
        crashpoint("immich.carry.sent")
        # Immich answers without the face's id: find it (ours, at that place).
        created = [
            f
            for f in _asset_faces(api, asset_id)
            if f["person_id"] == row.person_id and f["box"] and iou(row.box, f["box"]) >= MATCH_IOU
        ]
        self._written(row, CarryStatus.CREATED, created[-1]["id"] if created else None, counts)

    # ------------------------------------------------------------------ records

    @contextmanager
    def _refused_undoes_intent(self, row: ImmichCarry) -> Iterator[None]:
        """A write Immich refused (4xx: a permission, an unknown face) did not happen:
        the row waits again. One that may have arrived (a timeout) stays ``writing``."""
        try:
            yield
        except ImmichError:
            with self.state.session() as session:
                stored = session.get(ImmichCarry, row.id)
                assert stored is not None
                stored.status = CarryStatus.PENDING
            row.status = CarryStatus.PENDING
            raise

    def _intent(
        self, row: ImmichCarry, op: CarryOp, asset_id: str, face_id: str | None,
        previous: str | None,
    ) -> None:  # fmt: skip
        with self.state.session() as session:
            stored = session.get(ImmichCarry, row.id)
            assert stored is not None
            stored.status = CarryStatus.WRITING
            stored.op = op
            stored.new_asset_id = asset_id
            stored.face_id = face_id
            stored.previous_person_id = previous
        row.status, row.op, row.previous_person_id = CarryStatus.WRITING, op, previous

    def _written(
        self, row: ImmichCarry, status: CarryStatus, face_id: str | None, counts: dict[str, int]
    ) -> None:
        how = (
            "the face Immich found at the same place was given"
            if status == CarryStatus.CARRIED
            else "a face was created at the same place for"
        )
        summary = (
            f"Immich: {how} {row.person_name} on the new asset {row.new_asset_id} "
            f"(the name the file had in Immich before facesort moved it)"
        )
        with self.state.session() as session:
            stored = session.get(ImmichCarry, row.id)
            assert stored is not None
            stored.status = status
            stored.face_id = face_id or stored.face_id
            stored.detail = summary
            session.add(
                Event(
                    file_id=row.file_id,
                    action=EventAction.IMMICH_NAMED,
                    people=[row.person_name],
                    actor=self.actor,
                    reason={
                        "summary": summary,
                        "immich": {
                            "op": stored.op,
                            "asset_id": stored.new_asset_id,
                            "face_id": stored.face_id,
                            "person_id": row.person_id,
                            "previous_person_id": stored.previous_person_id,
                            "carry_id": row.id,
                        },
                    },
                )
            )
        counts[status] = counts.get(status, 0) + 1
        self.files.add(row.file_id)

    def _close(
        self, row: ImmichCarry, status: CarryStatus, detail: str, counts: dict[str, int]
    ) -> None:
        with self.state.session() as session:
            stored = session.get(ImmichCarry, row.id)
            assert stored is not None
            stored.status = status
            stored.detail = detail
        counts[status] = counts.get(status, 0) + 1


def _asset_faces(api: ImmichFaceWrites, asset_id: str) -> list[dict[str, Any]]:
    """The asset's faces: id, box (fractions), image size, and their person."""
    from facesort.immich.faces import _box

    faces = []
    for face in api.faces(asset_id):
        person = face.get("person") or None
        name = str((person or {}).get("name") or "").strip()
        hidden = bool((person or {}).get("isHidden"))
        width, height = face.get("imageWidth"), face.get("imageHeight")
        faces.append(
            {
                "id": str(face.get("id")),
                "box": _box(face),
                "size": (int(width), int(height)) if width and height else None,
                "person_id": str(person["id"]) if person and person.get("id") else None,
                "person_name": name,
                # A cluster Immich made and nobody named: facesort may take the face over.
                "unnamed": bool(person) and not name and not hidden,
            }
        )
    return faces


def carry_pass(
    state: State, config: Config, endpoint: ImmichEndpoint | None, actor: str, *, write=True
) -> CarryResult:
    """One look at Immich for every waiting carry, writing those that are ready."""
    return CarryPass(state, config, endpoint, actor).run(write=write)


def carry_until_done(
    state: State,
    config: Config,
    endpoint: ImmichEndpoint | None,
    actor: str,
    *,
    sleep: Callable[[float], None] | None = None,
) -> CarryResult:
    """Passes until nothing waits, a permission is missing, or the wait's time is up
    (``facesort run``); what still waits is finished by a later run."""
    sleep = sleep or time.sleep
    counts: dict[str, int] = {}
    files: set[int] = set()
    started = time.monotonic()
    while True:
        result = carry_pass(state, config, endpoint, actor)
        for key, value in result.counts.items():
            counts[key] = counts.get(key, 0) + value
        files |= result.files
        result.counts, result.files = counts, files
        if result.message:
            log.warning("%s", result.message)
        if result.finished:
            return result
        assert endpoint is not None
        wait = endpoint.settings.wait
        if time.monotonic() - started >= wait.max_wait_seconds:
            result.detail += "; left for a later run"
            result.finished = True
            return result
        log.info("carrying names to Immich: %s", result.detail)
        sleep(wait.poll_seconds)
