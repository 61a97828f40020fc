"""The words of the domain, as enums.

Each member equals the string stored in the state database (``StrEnum``), so rows
written before these enums existed read back as members, and comparing a column with
a member works in Python and in SQL. Changing a value means a data migration.
"""

from __future__ import annotations

from enum import StrEnum


class FileStatus(StrEnum):
    """``media_file.status``: pending -> claimed -> done; or left (vanished or changed
    in staging, never moved)."""

    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    LEFT = "left"


class Place(StrEnum):
    """``media_file.place`` / ``event.place``: the top folder a file is in."""

    LIBRARY = "library"
    REVIEW = "review"
    TRASH = "trash"
    DELETED = "deleted"  # purged from the trash; the record stays


class Kind(StrEnum):
    """``media_file.kind``: what a file is, by its content."""

    IMAGE = "image"
    VIDEO = "video"
    UNKNOWN = "unknown"  # named like media, but neither decodes


class Category(StrEnum):
    """Review categories: the folders under ``review/``."""

    DUPLICATES = "duplicates"
    UNIDENTIFIED = "unidentified"
    LOW_CONFIDENCE = "low_confidence"
    MULTIPLE_FACES = "multiple_faces"
    UNWANTED_PERSON = "unwanted_person"
    UNREADABLE = "unreadable"


class Confidence(StrEnum):
    """``face.confidence``: how sure a face's person is."""

    SURE = "sure"
    UNCERTAIN = "uncertain"
    UNKNOWN = "unknown"
    CONFIRMED = "confirmed"  # a person named it in review; re-evaluation keeps it


class FaceSource(StrEnum):
    """``face.source``: who said whose face it is."""

    LOCAL = "local"
    IMMICH = "immich"
    REVIEW = "review"
    MANUAL = "manual"  # a box a person drew where the detector found no face


class ReviewKind(StrEnum):
    """``review_action.kind``: the review verbs, plus undoing and redoing one."""

    APPROVE = "approve"
    REJECT = "reject"
    ADD_REFERENCE = "add_reference"
    NOT_DUPLICATE = "not_duplicate"
    NAME_CLUSTER = "name_cluster"
    RECHECK = "recheck"
    NOT_PERSON = "not_person"  # "this face is not X": no move, a record
    KEEP_INSTEAD = "keep_instead"  # a duplicate and the file kept swap places
    UNDO = "undo"
    REDO = "redo"
    # The people page (facesort.people): a person renamed or merged into another, a
    # reference photo removed, files split out of a person's folder.
    RENAME_PERSON = "rename_person"
    MERGE_PEOPLE = "merge_people"
    REMOVE_REFERENCE = "remove_reference"
    SPLIT_PERSON = "split_person"


class TransferAction(StrEnum):
    """``transfer.action``: why the journal moved or copied a file."""

    ROUTE = "route"
    COPY = "copy"
    RESORT = "resort"
    UNDO = "undo"
    APPROVE = "approve"
    REJECT = "reject"
    NOT_DUPLICATE = "not_duplicate"
    RECHECK = "recheck"
    ADD_REFERENCE = "add_reference"
    RENAME_PERSON = "rename_person"  # a person renamed or merged: their files follow
    KEEP_INSTEAD = "keep_instead"
    LEARN_REFERENCE = "learn_reference"  # a sure match copied as a reference (learning)


class TransferOp(StrEnum):
    """``transfer.op`` (and ``transfer_mode``): how the bytes get there."""

    MOVE = "move"
    COPY = "copy"


class ActionState(StrEnum):
    """``review_action.state``: open (recorded before its first move; being done, or
    killed and to be continued by a retry) -> done."""

    OPEN = "open"
    DONE = "done"


class TransferState(StrEnum):
    """``transfer.state``: planned -> done | abandoned (destination name taken,
    re-planned) | failed."""

    PLANNED = "planned"
    DONE = "done"
    ABANDONED = "abandoned"
    FAILED = "failed"


class EventAction(StrEnum):
    """``event.action``: the audit trail's verbs."""

    DISCOVERED = "discovered"
    ROUTED = "routed"
    RESORTED = "resorted"
    COPIED = "copied"  # an extra copy for another person; the file itself did not move
    APPROVED = "approved"
    REJECTED = "rejected"
    NOT_DUPLICATE = "not_duplicate"
    RECHECKED = "rechecked"
    REFERENCE_ADDED = "reference_added"
    PERSON_RENAMED = "person_renamed"  # the file's person was renamed (or merged)
    KEEP_INSTEAD = "keep_instead"  # a duplicate and the file kept swapped places
    REFERENCE_LEARNT = "reference_learnt"
    UNDO = "undo"
    FAILED = "failed"
    VANISHED = "vanished"
    CHANGED = "changed"
    PURGED = "purged"
    # A person's name carried onto the file's new Immich asset (immich.carry), and that
    # write taken back by an undo. Neither moves the file.
    IMMICH_NAMED = "immich_named"
    IMMICH_UNNAMED = "immich_unnamed"


class BatchStatus(StrEnum):
    """``batch.status``."""

    OPEN = "open"
    DONE = "done"
    EXPIRED = "expired"


class IndexState(StrEnum):
    """``file_index.state``: what a scan made of a path."""

    WAITING = "waiting"  # not stable yet
    REGISTERED = "registered"  # a media_file
    IGNORED = "ignored"  # not media
    REFERENCE = "reference"  # a reference photo


class ReferenceStatus(StrEnum):
    """``reference_encoding.status``."""

    FACE = "face"
    NO_FACE = "no_face"
    UNREADABLE = "unreadable"


class ClusterStatus(StrEnum):
    """``face_cluster.status``."""

    ACTIVE = "active"  # shown for naming
    NAMED = "named"  # its faces were given a person
    DISSOLVED = "dissolved"


class ImmichStatus(StrEnum):
    """``immich_run.status``: could Immich be used in a run?"""

    OK = "ok"
    DISABLED = "disabled"  # not configured, or switched off
    UNAVAILABLE = "unavailable"  # unreachable, 5xx, timeouts: transient
    ERROR = "error"  # key, permission, library: the user must act
    NO_RECOGNITION = "no_face_recognition"  # face recognition off in Immich


class WaitOutcome(StrEnum):
    """``immich_run.wait_outcome``: how the wait for Immich's face data ended."""

    WAITING = "waiting"
    READY = "ready"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    SKIPPED = "skipped"  # nothing to wait for (no new file, Immich not used)
    NO_QUEUES = "no_queues"  # the key cannot read the queues: names read without the wait


class ImmichFileStatus(StrEnum):
    """``immich_file.status``: what Immich said about one file of a run."""

    FACES = "faces"
    NO_FACE = "no_face"
    NOT_READY = "not_ready"  # face data not final
    STALE = "stale"  # the asset describes another file at that path
    NO_ASSET = "no_asset"
    UNAVAILABLE = "unavailable"  # Immich not asked


class ReadySignal(StrEnum):
    """What decided that Immich's face data for a file is final."""

    DATABASE = "database"  # asset_job_status."facesRecognizedAt" set
    QUEUES = "queues"  # the face queues idle for quiet_polls polls
    NONE = "none"  # neither: not final


class CarryStatus(StrEnum):
    """``immich_carry.status``: one named Immich face of a file facesort moves.

    pending (recorded before the move; waiting for Immich to know the new asset and to
    finish its face detection) -> writing (a write is about to be sent: a retry looks
    first whether it arrived) -> carried (a face Immich detected was given the person)
    | created (no face there: facesort created one) | already (Immich had the person
    there) | conflict (the face there is someone else's: left alone) | not_seen (no
    Immich library imports the destination) | not_moved (the file did not move);
    carried | created -> undone.
    """

    PENDING = "pending"
    WRITING = "writing"
    CARRIED = "carried"
    CREATED = "created"
    ALREADY = "already"
    CONFLICT = "conflict"
    NOT_SEEN = "not_seen"
    NOT_MOVED = "not_moved"
    UNDONE = "undone"


class CarryOp(StrEnum):
    """``immich_carry.op``: the write that carries a name."""

    ASSIGN = "assign"  # PUT /api/faces/{personId} {"id": faceId}
    CREATE = "create"  # POST /api/faces
