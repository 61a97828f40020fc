"""Reference photos made in review: a crop of a confirmed face, or the photo itself,
copied through the journal into ``references/<person>/``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from facesort.config import Config
from facesort.files.hashing import sha256_file
from facesort.files.journal import Journal, OutcomeEvent, TransferOutcome, TransferRequest
from facesort.names import safe_file_name
from facesort.review.pictures import NoPicture
from facesort.review.results import ActionResult, ReviewError, file_label
from facesort.state import State
from facesort.state.models import Face as FaceRow
from facesort.state.models import MediaFile, ReferenceEncoding
from facesort.vocab import EventAction, ReferenceStatus, TransferAction, TransferOp


class ReferencePhotos:
    """Adds reference photos for one person's review actions (``actor``)."""

    def __init__(self, config: Config, state: State, actor: str):
        self.config = config
        self.state = state
        self.actor = actor

    def add_face(
        self, journal: Journal, media: MediaFile, face: FaceRow, person: str, result: ActionResult
    ) -> None:
        """Copy a crop of ``face`` into the person's reference folder (journaled)."""
        from facesort.references import settings_key
        from facesort.review.pictures import face_picture

        left, top, right, bottom = face.box
        if right <= left or bottom <= top:
            raise ReviewError(
                f"A face of {file_label(media)} has no box (Immich named it without one): add a "
                "reference photo of this person with `facesort references add` instead."
            )
        try:
            crop = face_picture(
                self.config, media, face, max_side=self.config.matching.encode_max_side
            )
        except NoPicture as exc:
            raise ReviewError(f"Cannot cut the face out of {file_label(media)}: {exc}") from None
        folder = self.config.references_dir / person
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".facesort-crop-", suffix=".jpg")
        try:
            with os.fdopen(fd, "wb") as handle:
                crop.save(handle, "JPEG", quality=95)
            sha = sha256_file(tmp)
            if face.encoding is not None:
                # The reference is the face the person confirmed: cache its encoding, so
                # that matching uses exactly that face rather than whatever a detector
                # finds again in the crop.
                with self.state.session() as session:
                    session.merge(
                        ReferenceEncoding(
                            sha256=sha,
                            status=ReferenceStatus.FACE,
                            encoding=face.encoding,
                            box=None,
                            face_count=1,
                            detail=f"face confirmed in review (file #{media.id})",
                            settings_key=settings_key(self.config.matching),
                        )
                    )
            stem = Path(os.path.basename(media.current_path or media.source_path)).stem
            faces = file_faces(self.state, media.id)
            number = next((i + 1 for i, f in enumerate(faces) if f.id == face.id), 1)
            self.copy(
                journal, media, tmp, person, result, name=f"{stem} face {number}.jpg", sha256=sha
            )
            result.reference_sources[-1][1] = face.id
        finally:
            os.unlink(tmp)

    def copy(
        self,
        journal: Journal,
        media: MediaFile,
        source: str,
        person: str,
        result: ActionResult,
        *,
        name: str | None = None,
        sha256: str | None = None,
    ) -> None:
        summary = f"added as a reference photo of {person} in review by {self.actor}"
        added = journal.transfer(
            TransferRequest(
                file_id=media.id,
                src=source,
                dest_dir=str(self.config.references_dir / person),
                name=safe_file_name(name or os.path.basename(source)),
                outcome=TransferOutcome(
                    None,
                    OutcomeEvent(
                        EventAction.REFERENCE_ADDED, people=[person], reason={"summary": summary}
                    ),
                ),
                action=TransferAction.ADD_REFERENCE,
                op=TransferOp.COPY,
                expected_sha256=sha256 or media.sha256,
            )
        )
        result.references.append(added)
        result.reference_sources.append([media.id, None])


def file_faces(state: State, file_id: int) -> list[FaceRow]:
    """The faces found in a file, in detection order (face 1, face 2, ...)."""
    import sqlalchemy as sa

    with state.session() as session:
        return list(
            session.scalars(
                sa.select(FaceRow).where(FaceRow.file_id == file_id).order_by(FaceRow.id)
            )
        )
