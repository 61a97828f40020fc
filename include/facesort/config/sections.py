"""The config's sections: each key with its default, its bounds and what it means.

``Config`` (``model.py``) holds one of each; ``docs/configuration.md`` lists every key.
The kinds of value several keys share (a distance, a fraction, a count...) are in
``values.py``.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from facesort.config.people import (
    LearningSettings,
    PersonThresholds,
    Thresholds,
    person_thresholds_problem,
    thresholds_for,
)
from facesort.config.values import (
    Count,
    Distance,
    DistanceMargin,
    Fraction,
    ImageSide,
    NonEmptyStr,
    Seconds,
)

DEFAULT_INGEST_SCHEDULE = "*/10 * * * *"
DEFAULT_RECLUSTER_SCHEDULE = "30 3 * * *"
DEFAULT_REPORT_SCHEDULE = "0 6 * * 1"  # Mondays 06:00: the report of the week just ended
DEFAULT_IGNORE_PATTERNS = (".*", "*.part", "*.crdownload", "*.tmp", "*.download", "*.partial")

REVIEW_CATEGORIES = (
    "duplicates",
    "unidentified",
    "low_confidence",
    "multiple_faces",
    "unwanted_person",
    "unreadable",
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScanSettings(_Section):
    """Which files in the staging folders are taken, and when."""

    stable_seconds: Seconds = Field(
        60.0,
        description="A file is taken once its size and modification time have not changed "
        "for this many seconds.",
    )
    ignore_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_IGNORE_PATTERNS),
        description="Shell patterns of file and folder names never taken (partial downloads, "
        "hidden files).",
    )

    def ignored(self, name: str) -> bool:
        # One compiled expression for all patterns: a rescan asks this for every file.
        return _compiled_patterns(tuple(self.ignore_patterns)).match(name) is not None


@functools.lru_cache(maxsize=16)
def _compiled_patterns(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """Shell patterns as one regular expression (what fnmatch does per pattern)."""
    if not patterns:
        return re.compile(r"(?!)")  # matches nothing
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


class MatchingSettings(_Section):
    """Face detection and local matching against the reference photos."""

    sure_distance: Distance = Field(
        0.55,
        description="A face this close to a person's nearest reference is that person.",
    )
    review_distance: Distance = Field(
        0.65,
        description="Between sure_distance and this, the match is uncertain (low_confidence).",
    )
    min_margin: DistanceMargin = Field(
        0.08,
        description="The next person must be at least this much further away than the best "
        "one, else the match is uncertain.",
    )
    detector: Literal["hog", "cnn"] = "hog"
    upsample: int = Field(1, ge=0, le=3)
    detect_max_side: ImageSide = Field(
        800, le=10000, description="Faces are detected on a copy this large."
    )
    encode_max_side: ImageSide = Field(
        1600,
        le=10000,
        description="A face too small to fill an encoder chip in the detection copy is "
        "encoded from a copy this large (larger faces from the detection copy).",
    )
    num_jitters: Count = Field(1, le=100)
    encoder: Literal["onnx", "dlib"] = Field(
        "onnx",
        description="'onnx' runs dlib's face encoder (same network, same weights) on "
        "onnxruntime, several times faster; 'dlib' runs it in dlib itself.",
    )
    encoder_threads: Count = Field(
        1,
        le=64,
        description="onnxruntime threads per process; facesort's parallelism is its worker "
        "processes (workers, Airflow's pool), so one thread each keeps a core per process.",
    )
    quick_detect: bool = Field(
        True,
        description="Look for faces without upsampling first and upsample only where a "
        "face too small for that could change the outcome (see docs/matching.md).",
    )
    background_face_ratio: Fraction = Field(
        0.5,
        description="In a photo of one sure match, an unknown face at most this fraction "
        "of that face's height (or cut by the border) is a stranger in the background and "
        "the photo goes to the person; 0: only faces cut by the border.",
    )
    model_cache_dir: Path | None = Field(
        None,
        description="Folder for the ONNX copy of the face encoder, built once from "
        "face_recognition_models' weights; default $XDG_CACHE_HOME/facesort or "
        "~/.cache/facesort.",
    )
    min_face_fraction: Fraction = Field(
        0.0,
        description="Faces smaller than this fraction of the picture's shorter side are "
        "ignored (0 keeps every detected face).",
    )
    people: dict[str, PersonThresholds] = Field(
        default_factory=dict,
        description="A person's own sure_distance / review_distance (siblings, twins: "
        "stricter; a growing child: looser), by name.",
    )
    learning: LearningSettings = Field(default_factory=LearningSettings)

    def thresholds_for(self, person: str | None) -> Thresholds:
        """The sure/review distances a face of ``person`` is judged by."""
        return thresholds_for(self.people, self.sure_distance, self.review_distance, person)

    @field_validator("model_cache_dir")
    @classmethod
    def _expand_home(cls, path: Path | None) -> Path | None:
        return Path(os.path.expanduser(path)) if path is not None else None

    @model_validator(mode="after")
    def _band_is_ordered(self) -> MatchingSettings:
        if self.review_distance < self.sure_distance:
            raise ValueError(
                "review_distance must be at least sure_distance "
                f"(got {self.review_distance} < {self.sure_distance})"
            )
        problem = person_thresholds_problem(self.people, self.sure_distance, self.review_distance)
        if problem:
            raise ValueError(problem)
        if self.encode_max_side < self.detect_max_side:
            raise ValueError(
                "encode_max_side must be at least detect_max_side "
                f"(got {self.encode_max_side} < {self.detect_max_side})"
            )
        return self


class DuplicateSettings(_Section):
    near_duplicates: bool = Field(
        True, description="Also catch the same picture resized or re-encoded."
    )
    near_duplicate_distance: int = Field(
        6,
        ge=0,
        le=32,
        description="Largest Hamming distance between two 64-bit perceptual hashes that "
        "still counts as the same picture.",
    )


class VideoSettings(_Section):
    frames_per_second: float = Field(2.0, gt=0, le=30, description="Sampling rate for short clips.")
    max_frames: Count = Field(24, le=500, description="At most this many frames per video.")
    max_side: ImageSide = Field(640, le=4000, description="Frames are scaled to this size.")
    min_sure_frames: Count = Field(
        3, description="A person needs this many frames with a sure match."
    )
    min_vote_share: float = Field(
        0.6,
        gt=0,
        le=1,
        description="...and this share of the frames in which a face was matched at all.",
    )


class PolicySettings(_Section):
    multiple_faces: Literal["review", "each_person"] = Field(
        "review",
        description="'review' sends photos with several faces to review/multiple_faces; "
        "'each_person' copies a photo of several sure, known people to each of them.",
    )
    unwanted_people: list[NonEmptyStr] = Field(
        default_factory=list, description="Photos with any of these people go to review."
    )
    wanted_people: list[NonEmptyStr] = Field(
        default_factory=list,
        description="When set, only these people are sorted into the library.",
    )


class LimitSettings(_Section):
    max_image_pixels: int = Field(
        178_956_970,
        ge=1_000_000,
        description="Images with more pixels are treated as decompression bombs (unreadable).",
    )
    max_attempts: Count = Field(
        3, le=100, description="A file that fails this often goes to review/unreadable."
    )


class ReviewSettings(_Section):
    """The review queue: the trash, thumbnails, and clusters of unknown faces."""

    trash_days: int = Field(
        30,
        ge=0,
        le=3650,
        description="Rejected files stay in the trash folder this many days before the nightly "
        "facesort_recluster run deletes them (0: at the next run).",
    )
    thumbnail_size: int = Field(
        320, ge=64, le=2000, description="Longest side of the review page's thumbnails."
    )
    cluster_distance: Distance = Field(
        0.5,
        description="Two unknown faces this close (dlib distance) are neighbours when clustering.",
    )
    cluster_min_faces: int = Field(
        3,
        ge=2,
        le=10000,
        description="A cluster needs at least this many similar faces (a video counts once).",
    )
    cluster_shown_faces: Count = Field(
        6, le=50, description="Representative faces shown for each cluster."
    )
    cluster_reference_faces: Count = Field(
        10,
        le=1000,
        description="Naming a cluster adds up to this many of its faces, spread across the "
        "cluster, as reference photos.",
    )


class ImmichWaitSettings(_Section):
    """How long to wait for Immich's face data for a run's files."""

    poll_seconds: float = Field(
        15.0, gt=0, le=3600, description="Seconds between two looks at Immich's queues."
    )
    max_wait_seconds: Seconds = Field(
        900.0,
        le=86_400,
        description="Stop waiting after this long; files without face data are matched "
        "locally (0: do not wait at all).",
    )
    quiet_polls: Count = Field(
        2,
        le=20,
        description="Face data is final when the face queues were idle this many polls in a "
        "row (recognition starts after detection drains, and defers weak faces once).",
    )
    deferrable: bool = Field(
        True,
        description="Wait in Airflow's triggerer (deferrable sensor); false: reschedule mode, "
        "for deployments without a triggerer.",
    )


class ImmichSettings(_Section):
    """Using the faces that an existing Immich server detected and the user named."""

    enabled: bool = Field(True, description="false switches the Immich steps off.")
    url: NonEmptyStr | None = Field(
        None,
        description="Immich's address, e.g. http://immich.lan:2283 (the Airflow connection "
        "immich_api takes precedence).",
    )
    api_key: NonEmptyStr | None = Field(
        None, description="API key, best as ${IMMICH_API_KEY} (the connection's password wins)."
    )
    db_url: NonEmptyStr | None = Field(
        None,
        description="Optional read-only PostgreSQL URL of Immich's database (the Airflow "
        "connection immich_db takes precedence).",
    )
    api_conn_id: NonEmptyStr = Field("immich_api", description="Airflow connection of the API.")
    db_conn_id: NonEmptyStr = Field("immich_db", description="Airflow connection of the DB.")
    path_map: dict[str, str] = Field(
        default_factory=dict,
        description="Host folder -> the same folder as Immich's container sees it.",
    )
    request_timeout_seconds: float = Field(30.0, gt=0, le=600)
    retries: int = Field(
        4, ge=0, le=20, description="Retries on 5xx answers, timeouts and refused connections."
    )
    retry_backoff_seconds: Seconds = Field(
        1.0, le=60, description="First wait before a retry; it doubles each time."
    )
    wait: ImmichWaitSettings = Field(default_factory=ImmichWaitSettings)
    rescan_after_routing: bool = Field(
        True, description="Scan again after sorting, so Immich sees files at their new place."
    )
    sync_references: bool = Field(
        True,
        description="Each run, save the feature-face thumbnail of every person named in Immich "
        "as a reference photo, so local matching knows them too.",
    )
    carry_names: bool = Field(
        True,
        description="Give the people named in Immich back to a file's new asset after facesort "
        "moved it within Immich's libraries (needs face.read, face.create, face.update).",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(url.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"must be an http:// or https:// address with a host (got {url!r})")
        return url.strip()

    @field_validator("path_map")
    @classmethod
    def _absolute_paths(cls, mapping: dict[str, str]) -> dict[str, str]:
        for host, container in mapping.items():
            if not os.path.isabs(host) or not container.startswith("/"):
                raise ValueError(
                    "maps absolute host folders to absolute container folders, e.g. "
                    f"/srv/downloads: /mnt/downloads (got {host!r}: {container!r})"
                )
        return {os.path.normpath(h): os.path.normpath(c) for h, c in mapping.items()}


class ScheduleSettings(_Section):
    ingest: str = Field(DEFAULT_INGEST_SCHEDULE, description="Cron expression of facesort_ingest.")
    report: str = Field(
        DEFAULT_REPORT_SCHEDULE,
        description="Cron expression of facesort_review_report (in report.timezone).",
    )
    recluster: str = Field(
        DEFAULT_RECLUSTER_SCHEDULE, description="Cron expression of facesort_recluster (nightly)."
    )


def _known_timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as 'UTC' or 'Europe/Berlin')"
        ) from None
    return name


class ReportSettings(_Section):
    """The weekly review-queue report (facesort_review_report, ``facesort report``)."""

    timezone: Annotated[str, AfterValidator(_known_timezone)] = Field(
        "UTC",
        description="Weeks run from Monday 00:00 to Monday 00:00 in this time zone; the "
        "report's schedule is read in it too.",
    )
    trend_weeks: int = Field(8, ge=2, le=104, description="Weeks shown in the trend charts.")
    waiting_rows: Count = Field(
        50,
        le=10_000,
        description="Oldest waiting items listed in the page (the CSV has all).",
    )
    largest_clusters: Count = Field(10, le=1000, description="Unknown clusters listed.")
    email_to: list[NonEmptyStr] = Field(
        default_factory=list,
        description="Send each weekly report to these addresses (empty: no email).",
    )
    smtp_conn_id: NonEmptyStr = Field(
        "smtp_default", description="The Airflow connection (type smtp) the email goes through."
    )
    email_from: NonEmptyStr | None = Field(
        None, description="Sender address; default: from_email in the connection's extra."
    )
