"""Names carried over, step 2: the pass that waits for Immich and then writes.

After the rescan, once Immich has the moved file's new asset and has run its own face
detection on it (the face queues idle over ``immich.wait.quiet_polls`` looks in a row,
with the asset there), the file's recorded names are written (:mod:`facesort.immich.
carry_write`). Never before detection ran: Immich would then add a second, unnamed face
at that place. :func:`carry_pass` is one look (and the writes it allows);
:func:`carry_until_done` (``facesort run``) repeats it until nothing waits or
``immich.wait.max_wait_seconds`` passed; what still waits stays ``pending`` and the next
run (or the next ``immich_carry_names`` task) finishes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.errors import ImmichError, ImmichPermissionError, ImmichUnavailable
from facesort.immich.api import FACE_QUEUES
from facesort.immich.carry_record import carrying
from facesort.immich.carry_result import CarryResult, permission_message
from facesort.immich.carry_write import CarryWriter
from facesort.immich.endpoint import ImmichEndpoint, PathMap
from facesort.immich.writes import ImmichFaceWrites
from facesort.state import State
from facesort.state.models import ImmichCarry, MediaFile
from facesort.vocab import CarryStatus, FileStatus
from facesort.words import plural

log = logging.getLogger(__name__)

WAITING = (CarryStatus.PENDING, CarryStatus.WRITING)


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
        self.writer = CarryWriter(state, actor)

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
                        self.writer.carry_file(
                            api, file_rows, asset_id, targets[file_id].size, counts
                        )
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
            return CarryResult(
                left == 0, f"{plural(len(ready), 'file')} ready", counts, len(waiting)
            )
        done = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing written"
        detail = f"{done}; {len(waiting)} waiting"
        return CarryResult(left == 0, detail, counts, len(waiting), files=self.writer.files)

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
                self.writer.close(row, CarryStatus.NOT_MOVED, target, counts)
                continue
            if not any(
                PathMap.covers(path, target.container_path)
                for library in libraries
                for path in library.get("importPaths") or []
            ):
                self.writer.close(
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
