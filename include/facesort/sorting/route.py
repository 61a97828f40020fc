"""Where a file goes, and moving it there: the destination folder, the journaled move,
the extra copies for other people, and the face rows that go with the decision.

:meth:`Router.route_decision` is the one way a decided file moves: the run, re-sorts
and review actions all go through it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facesort.config import Config
from facesort.faces import encoding_to_bytes
from facesort.files.journal import Journal, OutcomeEvent, TransferOutcome, TransferRequest
from facesort.matching import FaceMatch
from facesort.names import UnsafeNameError, display_file_name, safe_file_name, safe_folder_name
from facesort.people.folders import PersonFolders
from facesort.policy import Decision
from facesort.references import person_folders
from facesort.sorting.evaluate import Evaluation
from facesort.state import State
from facesort.state.models import Face as FaceRow
from facesort.state.models import MediaFile, Transfer
from facesort.vocab import (
    Category,
    Confidence,
    EventAction,
    FaceSource,
    FileStatus,
    Place,
    TransferAction,
    TransferOp,
    TransferState,
)

# The audit-trail name of each journal action.
EVENT_OF_ACTION = {
    TransferAction.ROUTE: EventAction.ROUTED,
    TransferAction.RESORT: EventAction.RESORTED,
    TransferAction.UNDO: EventAction.UNDO,
    TransferAction.APPROVE: EventAction.APPROVED,
    TransferAction.REJECT: EventAction.REJECTED,
    TransferAction.NOT_DUPLICATE: EventAction.NOT_DUPLICATE,
    TransferAction.RECHECK: EventAction.RECHECKED,
}


@dataclass
class FileResult:
    """Where one file went: small and printable."""

    file_id: int
    source: str
    destination: str | None  # None: left in staging
    folder: str  # library/<person>, review/<category>, or "staging"
    summary: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Router:
    """Moves decided files for one actor and journal group.

    ``readonly``: person folders are not looked up in the state (dry runs, which only
    ask :meth:`guard_names` and :meth:`destination_dir`).
    """

    def __init__(
        self,
        config: Config,
        state: State,
        *,
        actor: str,
        group_id: str | None = None,
        readonly: bool = False,
    ):
        self.config = config
        self.state = state
        self.actor = actor
        self.readonly = readonly
        self.journal = Journal(state, actor, group_id, lease_s=config.claim_lease_seconds)
        self._person_folders: PersonFolders | None = None

    @property
    def person_folders(self) -> PersonFolders:
        if self._person_folders is None:
            self._person_folders = PersonFolders(
                person_folders(self.config.references_dir), None if self.readonly else self.state
            )
        return self._person_folders

    def folder_problem(self, person: str) -> tuple[str, str] | None:
        """Why ``person`` cannot have a library folder of their own (rule, summary): an
        unusable name, or one that clashes with another person's folder; None if they can.
        """
        try:
            safe_folder_name(person)
        except UnsafeNameError:
            return "unusable_name", f"{person!r} cannot be a folder name: rename the person"
        owner = self.person_folders.clash(person)
        if owner is not None:
            return "name_clash", (
                f"{person!r} and {owner!r} would share the folder "
                f"library/{safe_folder_name(owner)}: rename one of them (in the "
                "references folder, in Immich, or when approving)"
            )
        return None

    def guard_names(self, decision: Decision) -> Decision:
        """Never two people in one folder: a name that cannot have a folder of its own
        (unusable, or clashing with another person's) sends the file to review."""
        if decision.category is not None:
            return decision
        for person in decision.people:
            problem = self.folder_problem(person)
            if problem is not None:
                rule, summary = problem
                return Decision.review(Category.UNIDENTIFIED, rule, summary, **decision.details)
        return decision

    def destination_dir(self, decision: Decision) -> Path:
        if decision.category:
            return self.config.review_path(decision.category)
        return self.config.library_dir / safe_folder_name(decision.people[0])

    def route_decision(
        self,
        media: MediaFile,
        decision: Decision,
        *,
        action: TransferAction = TransferAction.ROUTE,
        found: Evaluation | None = None,
    ) -> FileResult:
        """Move the file where ``decision`` says, through the journal, and record it.

        ``found``: what evaluating the file found (hashes, faces, matches); without it,
        the file's record and stored faces stay as they are and only the decision
        changes (a person's decision in review). ``action`` "route" takes the file from
        staging (``transfer_mode`` applies); any other action (a re-sort, a review
        decision) moves it from where it is now. A name that cannot have a folder of its
        own sends the file to review instead (:meth:`guard_names`).
        """
        evaluation = found or _unchanged(media, decision)
        decision = evaluation.decision = self.guard_names(decision)
        from_staging = action == TransferAction.ROUTE
        source = media.source_path if from_staging else (media.current_path or media.source_path)
        name = safe_file_name(display_file_name(source))
        reason = decision.reason()
        file_fields = {
            "status": FileStatus.DONE,
            "place": decision.place,
            "category": decision.category,
            "people": list(decision.people),
            "reason": reason,
            "sha256": evaluation.sha256,
            "phash": evaluation.phash,
            "width": evaluation.width,
            "height": evaluation.height,
            "duplicate_of_id": decision.duplicate_of,
            "last_error": None,
        }
        event = OutcomeEvent(
            action=EVENT_OF_ACTION.get(action, action),
            place=decision.place,
            category=decision.category,
            people=list(decision.people),
            reason=reason,
        )
        if decision.category is None and len(decision.people) > 1:
            self._copy_to_other_people(media, evaluation, source, name, reason)
        destination = self.journal.transfer(
            TransferRequest(
                file_id=media.id,
                src=source,
                dest_dir=str(self.destination_dir(decision)),
                name=name,
                outcome=TransferOutcome(file_fields, event),
                action=action,
                op=TransferOp(self.config.transfer_mode) if from_staging else TransferOp.MOVE,
                expected_sha256=evaluation.sha256,
                expected_stat=evaluation.stat,
            )
        )
        if evaluation.detected:
            store_faces(self.state, media.id, evaluation)
        else:
            renew_face_matches(self.state, media.id, evaluation.matches)
        for person in decision.people:
            self.person_folders.taken(person)
        return FileResult(media.id, source, destination, decision.folder, decision.summary)

    def _copy_to_other_people(
        self, media: MediaFile, evaluation: Evaluation, source: str, name: str, reason: dict
    ) -> None:
        decision = evaluation.decision
        with self.state.session() as session:
            done = {
                (TransferOutcome.from_json(t.outcome).event.people or [None])[0]
                for t in session.scalars(
                    sa.select(Transfer).where(
                        Transfer.file_id == media.id,
                        Transfer.action == TransferAction.COPY,
                        Transfer.state == TransferState.DONE,
                    )
                )
            }
        for person in decision.people[1:]:
            if person in done:
                continue  # copied before a crash; not again
            self.journal.transfer(
                TransferRequest(
                    file_id=media.id,
                    src=source,
                    dest_dir=str(self.config.library_dir / safe_folder_name(person)),
                    name=name,
                    outcome=TransferOutcome(
                        None,
                        OutcomeEvent(
                            EventAction.COPIED, Place.LIBRARY, people=[person], reason=reason
                        ),
                    ),
                    action=TransferAction.COPY,
                    op=TransferOp.COPY,
                    expected_sha256=evaluation.sha256,
                    expected_stat=evaluation.stat,
                )
            )


def _unchanged(media: MediaFile, decision: Decision) -> Evaluation:
    """An evaluation that changes only the decision: hashes, size and the stored faces
    (rows, clusters, labels) stay as they are."""
    return Evaluation(
        decision,
        sha256=media.sha256,
        phash=media.phash,
        width=media.width,
        height=media.height,
        detected=False,
    )


def renew_face_matches(state: State, file_id: int, matches: list[FaceMatch]) -> None:
    """Re-evaluated from stored faces: keep the rows (and their ids), renew the match."""
    with state.session() as session:
        rows = session.scalars(
            sa.select(FaceRow).where(FaceRow.file_id == file_id).order_by(FaceRow.id)
        ).all()
        for row, match in zip(rows, matches, strict=False):
            if row.confidence == Confidence.CONFIRMED:
                continue  # a person named this face in review: their word stands
            row.person, row.confidence = match.person, match.confidence
            row.distance, row.source = match.distance, match.source


def store_faces(state: State, file_id: int, evaluation: Evaluation) -> None:
    """Replace the file's face rows with the faces just found and their matches."""
    matches = evaluation.matches if len(evaluation.matches) == len(evaluation.faces) else []
    with state.session() as session:
        session.execute(sa.delete(FaceRow).where(FaceRow.file_id == file_id))
        for index, face in enumerate(evaluation.faces):
            match = matches[index] if matches else None
            session.add(
                FaceRow(
                    file_id=file_id,
                    frame=face.frame,
                    box=list(face.box),
                    encoding=(
                        encoding_to_bytes(face.encoding) if face.encoding is not None else None
                    ),
                    person=match.person if match else None,
                    confidence=match.confidence if match else Confidence.UNKNOWN,
                    distance=match.distance if match else None,
                    source=match.source if match else FaceSource.LOCAL,
                )
            )
