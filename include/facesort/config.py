"""The facesort configuration: one YAML file, validated on load.

The path comes from ``--config`` or the ``FACESORT_CONFIG`` environment variable.
Relative paths in the file are relative to the file's own folder, ``~`` is expanded,
and ``${VAR}`` / ``${VAR:-default}`` in string values are taken from the environment
(so secrets such as a database password need not be written into the file).

Every mistake is reported by key with the expected form, all at once::

    Invalid facesort config /srv/facesort.yaml:
      - matching.sure_distance: expected a number (got 'close')
      - staging_dir: unknown key (did you mean 'staging_dirs'?)
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from facesort.errors import ConfigError

CONFIG_ENV = "FACESORT_CONFIG"

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


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


NonEmptyStr = Annotated[str, AfterValidator(_non_empty)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScanSettings(_Section):
    """Which files in the staging folders are taken, and when."""

    stable_seconds: float = Field(
        60.0,
        ge=0,
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

    sure_distance: float = Field(
        0.55,
        gt=0,
        le=2,
        description="A face this close to a person's nearest reference is that person.",
    )
    review_distance: float = Field(
        0.65,
        gt=0,
        le=2,
        description="Between sure_distance and this, the match is uncertain (low_confidence).",
    )
    min_margin: float = Field(
        0.08,
        ge=0,
        le=2,
        description="The next person must be at least this much further away than the best "
        "one, else the match is uncertain.",
    )
    detector: Literal["hog", "cnn"] = "hog"
    upsample: int = Field(1, ge=0, le=3)
    detect_max_side: int = Field(
        800, ge=160, le=10000, description="Faces are detected on a copy this large."
    )
    encode_max_side: int = Field(
        1600, ge=160, le=10000, description="Faces are encoded from a copy this large."
    )
    num_jitters: int = Field(1, ge=1, le=100)
    encoder: Literal["onnx", "dlib"] = Field(
        "onnx",
        description="'onnx' runs dlib's face encoder (same network, same weights) on "
        "onnxruntime, several times faster; 'dlib' runs it in dlib itself.",
    )
    encoder_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="onnxruntime threads per process; facesort's parallelism is its worker "
        "processes (workers, Airflow's pool), so one thread each keeps a core per process.",
    )
    quick_detect: bool = Field(
        True,
        description="Look for faces without upsampling first and upsample only where a "
        "face too small for that could change the outcome (see docs/matching.md).",
    )
    background_face_ratio: float = Field(
        0.5,
        ge=0,
        lt=1,
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
    min_face_fraction: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Faces smaller than this fraction of the picture's shorter side are "
        "ignored (0 keeps every detected face).",
    )

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
    max_frames: int = Field(24, ge=1, le=500, description="At most this many frames per video.")
    max_side: int = Field(640, ge=160, le=4000, description="Frames are scaled to this size.")
    min_sure_frames: int = Field(
        3, ge=1, description="A person needs this many frames with a sure match."
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
    max_attempts: int = Field(
        3, ge=1, le=100, description="A file that fails this often goes to review/unreadable."
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
    cluster_distance: float = Field(
        0.5,
        gt=0,
        le=2,
        description="Two unknown faces this close (dlib distance) are neighbours when clustering.",
    )
    cluster_min_faces: int = Field(
        3,
        ge=2,
        le=10000,
        description="A cluster needs at least this many similar faces (a video counts once).",
    )
    cluster_shown_faces: int = Field(
        6, ge=1, le=50, description="Representative faces shown for each cluster."
    )
    cluster_reference_faces: int = Field(
        10,
        ge=1,
        le=1000,
        description="Naming a cluster adds up to this many of its faces, spread across the "
        "cluster, as reference photos.",
    )


class ImmichWaitSettings(_Section):
    """How long to wait for Immich's face data for a run's files."""

    poll_seconds: float = Field(
        15.0, gt=0, le=3600, description="Seconds between two looks at Immich's queues."
    )
    max_wait_seconds: float = Field(
        900.0,
        ge=0,
        le=86_400,
        description="Stop waiting after this long; files without face data are matched "
        "locally (0: do not wait at all).",
    )
    quiet_polls: int = Field(
        2,
        ge=1,
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
    retry_backoff_seconds: float = Field(
        1.0, ge=0, le=60, description="First wait before a retry; it doubles each time."
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
    waiting_rows: int = Field(
        50,
        ge=1,
        le=10_000,
        description="Oldest waiting items listed in the page (the CSV has all).",
    )
    largest_clusters: int = Field(10, ge=1, le=1000, description="Unknown clusters listed.")
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


class Config(_Section):
    """The whole configuration. Paths are absolute after loading."""

    staging_dirs: list[Path] = Field(min_length=1)
    library_dir: Path
    review_dir: Path
    references_dir: Path
    trash_dir: Path | None = Field(
        None, description="Rejected files wait here; default: 'trash' beside review_dir."
    )
    thumbnail_dir: Path | None = Field(
        None, description="Cached thumbnails of the review page; default: review_dir/.thumbnails."
    )
    reports_dir: Path | None = Field(
        None, description="Weekly reports and re-sort plans; default: 'reports' beside review_dir."
    )
    state_url: NonEmptyStr | None = Field(
        None, description="SQLAlchemy URL of the state database; default: a SQLite file."
    )
    transfer_mode: Literal["move", "copy"] = "move"
    batch_size: int = Field(50, ge=1, le=10_000)
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=256)
    claim_lease_seconds: int = Field(900, ge=10)
    scan: ScanSettings = Field(default_factory=ScanSettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    duplicates: DuplicateSettings = Field(default_factory=DuplicateSettings)
    video: VideoSettings = Field(default_factory=VideoSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    immich: ImmichSettings = Field(default_factory=ImmichSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)

    # Where the file was loaded from; set by load_config, not by the user.
    source: Path | None = Field(None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _default_reports_dir(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("reports_dir") is None:
            review = data.get("review_dir")
            if isinstance(review, str | Path) and str(review).strip():
                data = {**data, "reports_dir": Path(review).parent / "reports"}
        return data

    @field_validator("staging_dirs")
    @classmethod
    def _distinct_staging(cls, dirs: list[Path]) -> list[Path]:
        if len(set(dirs)) != len(dirs):
            raise ValueError("lists the same folder twice")
        return dirs

    @model_validator(mode="after")
    def _folders_do_not_nest(self) -> Config:
        problems = folder_layout_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def database_url(self) -> str:
        if self.state_url:
            return self.state_url
        base = self.source.parent if self.source else Path.cwd()
        return f"sqlite:///{base / 'facesort-state.db'}"

    @property
    def trash_path(self) -> Path:
        """Where rejected files wait until ``review.trash_days`` have passed."""
        return self.trash_dir or self.review_dir.parent / "trash"

    @property
    def thumbnail_path(self) -> Path:
        return self.thumbnail_dir or self.review_dir / ".thumbnails"

    @property
    def reports_path(self) -> Path:
        """The reports folder (always set after validation)."""
        assert self.reports_dir is not None
        return self.reports_dir

    def review_path(self, category: str) -> Path:
        if category not in REVIEW_CATEGORIES:
            raise ValueError(f"unknown review category {category!r}")
        return self.review_dir / category


# ---------------------------------------------------------------- folder layout
#
# Folders are compared as the filesystem sees them: symlinks and ``..`` resolved, and
# case folded where the filesystem ignores case. A staging folder given as a symlink to
# the folder that holds the library is the library's parent, whatever its spelling.


@functools.lru_cache(maxsize=256)
def _case_insensitive(folder: str) -> bool:
    """Whether the filesystem holding ``folder`` (an existing folder) ignores case:
    some ancestor's name with its case swapped is the same folder."""
    current = folder
    while True:
        parent, name = os.path.split(current)
        if not name:
            return False
        swapped = name.swapcase()
        if swapped != name:
            other = os.path.join(parent, swapped)
            try:
                return os.path.samefile(current, other)
            except OSError:
                return False
        current = parent


def _existing_ancestor(path: str) -> str:
    while not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def comparable_path(path: Path) -> tuple[str, ...]:
    """``path`` as the filesystem sees it, as parts to compare: symlinks and ``..``
    resolved, case folded on a filesystem that ignores case."""
    real = os.path.realpath(path)
    if _case_insensitive(_existing_ancestor(real)):
        real = real.casefold()
    return Path(real).parts


def _inside(inner: tuple[str, ...], outer: tuple[str, ...]) -> bool:
    return inner[: len(outer)] == outer


# (inner, outer, why): ``inner`` must be neither ``outer`` nor inside it.
_NOT_INSIDE = (
    ("library_dir", "review_dir", "the library would be part of the review queue"),
    ("review_dir", "library_dir", "review categories would look like people's folders"),
    ("trash_dir", "library_dir", "the trash would look like a person's folder"),
    ("trash_dir", "review_dir", "the trash would look like a review category"),
    ("library_dir", "trash_dir", "emptying the trash would reach the library"),
    ("review_dir", "trash_dir", "emptying the trash would reach the review queue"),
    ("references_dir", "library_dir", "reference folders would look like people's folders"),
    ("library_dir", "references_dir", "people's folders would be read as reference photos"),
    ("references_dir", "review_dir", "reference folders would look like review categories"),
    ("review_dir", "references_dir", "review categories would be read as people"),
    ("references_dir", "trash_dir", "emptying the trash would reach the reference photos"),
    ("reports_dir", "library_dir", "it would look like a person's folder"),
    ("reports_dir", "review_dir", "it would look like a review category"),
    ("thumbnail_dir", "library_dir", "thumbnails would look like a person's folder"),
    ("thumbnail_dir", "references_dir", "thumbnails would be read as reference photos"),
)
_REFUSED_TOGETHER = {
    ("library_dir", "review_dir"): "library_dir and review_dir must be different folders",
    ("library_dir", "references_dir"): "references_dir must not be the library folder",
}


def folder_layout_problems(config: Config) -> list[str]:
    """Every risky nesting of the configured folders, each as one sentence with the fix."""
    folders: dict[str, Path] = {
        "library_dir": config.library_dir,
        "review_dir": config.review_dir,
        "references_dir": config.references_dir,
        "trash_dir": config.trash_path,
        "thumbnail_dir": config.thumbnail_path,
    }
    if config.reports_dir is not None:
        folders["reports_dir"] = config.reports_dir
    seen = {key: comparable_path(path) for key, path in folders.items()}
    problems: list[str] = []

    def shown(key: str) -> str:
        given = folders[key]
        real = os.path.realpath(given)
        return f"{key} ({given}{'' if real == str(given) else f', that is {real}'})"

    scanned_before: dict[tuple[str, ...], Path] = {}
    for staging in config.staging_dirs:
        scanned = comparable_path(staging)
        for parts, other in scanned_before.items():
            if _inside(parts, scanned) or _inside(scanned, parts):
                problems.append(
                    f"staging folders {other} and {staging} are the same folder or one holds "
                    "the other: every file would be found twice; list each folder once"
                )
        scanned_before[scanned] = staging
        real = os.path.realpath(staging)
        where = f"staging folder {staging}" + ("" if real == str(staging) else f" (that is {real})")
        for key in folders:
            if _inside(seen[key], scanned) or _inside(scanned, seen[key]):
                problems.append(
                    f"{shown(key)} and {where} must not contain one another: sorted files "
                    "would be picked up again; use folders side by side"
                )
    for pair, message in _REFUSED_TOGETHER.items():
        if seen[pair[0]] == seen[pair[1]]:
            problems.append(f"{message} (both are {os.path.realpath(folders[pair[0]])})")
    for inner, outer, why in _NOT_INSIDE:
        if inner not in seen or outer not in seen:
            continue
        if seen[inner] == seen[outer] and tuple(sorted((inner, outer))) in _REFUSED_TOGETHER:
            continue  # said above
        if _inside(seen[inner], seen[outer]):
            problems.append(
                f"{shown(inner)} must not be inside {shown(outer)}: {why}; move it beside it"
            )
    return problems


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand_env(value: Any, where: str, problems: list[str]) -> Any:
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            # As in the shell (and Docker Compose): ${VAR:-default} also replaces an
            # empty value, ${VAR} keeps it.
            if default is not None and not os.environ.get(name):
                return default
            if name in os.environ:
                return os.environ[name]
            problems.append(
                f"{where}: environment variable {name} is not set "
                f"(set it, or write ${{{name}:-default}})"
            )
            return ""

        return _ENV_REF.sub(substitute, value)
    if isinstance(value, dict):
        return {
            # immich.api_key stays as written: facesort.immich.endpoint expands it, as the
            # key may be in the Airflow connection instead of the variable.
            k: v
            if (where, k) == ("immich", "api_key")
            else _expand_env(v, f"{where}.{k}" if where else str(k), problems)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_expand_env(v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    return value


_PATH_KEYS = (
    "library_dir",
    "review_dir",
    "references_dir",
    "reports_dir",
    "trash_dir",
    "thumbnail_dir",
)


def _resolve_paths(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    def resolve(value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            return value
        path = Path(os.path.expanduser(value))
        if not path.is_absolute():
            path = base / path
        return Path(os.path.normpath(path))

    out = dict(raw)
    for key in _PATH_KEYS:
        if key in out:
            out[key] = resolve(out[key])
    if isinstance(out.get("staging_dirs"), list):
        out["staging_dirs"] = [resolve(v) for v in out["staging_dirs"]]
    state_url = out.get("state_url")
    if (
        isinstance(state_url, str)
        and state_url.startswith("sqlite:///")
        and state_url != "sqlite://"
    ):
        file_part = state_url[len("sqlite:///") :]
        if file_part and not file_part.startswith("/") and not file_part.startswith(":memory:"):
            out["state_url"] = "sqlite:///" + str(base / file_part)
    return out


def _describe_error(err: dict[str, Any], known: dict[str, list[str]]) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    got = err.get("input")
    if kind == "extra_forbidden":
        parent = ".".join(str(p) for p in err["loc"][:-1])
        name = str(err["loc"][-1])
        close = difflib.get_close_matches(name, known.get(parent, []), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{loc}: unknown key{hint}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    expected = {
        "float_parsing": "a number",
        "float_type": "a number",
        "int_parsing": "a whole number",
        "int_type": "a whole number",
        "int_from_float": "a whole number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "list_type": "a list",
        "string_type": "a text value",
        "path_type": "a folder path",
        "model_type": "a mapping of keys",
        "model_attributes_type": "a mapping of keys",
    }.get(kind)
    if expected:
        return f"{loc}: expected {expected} (got {got!r})"
    message = err["msg"]
    message = message.removeprefix("Value error, ")
    if kind == "literal_error":
        return f"{loc}: {message[0].lower() + message[1:]} (got {got!r})"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return f"{loc}: {message[0].lower() + message[1:]} (got {got!r})"
    return f"{loc}: {message}"


def _known_keys(model: type[BaseModel], prefix: str = "") -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {prefix: [k for k in model.model_fields if k != "source"]}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.update(_known_keys(annotation, f"{prefix}.{name}" if prefix else name))
    return keys


def parse_config(raw: Any, source: Path | None = None) -> Config:
    """Validate an already-parsed YAML document. Raises ConfigError listing every problem."""
    where = str(source) if source else "<config>"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"Invalid facesort config {where}: the file must be a mapping of keys "
            f"(staging_dirs, library_dir, ...), not {type(raw).__name__}"
        )
    problems: list[str] = []
    expanded = _expand_env(raw, "", problems)
    base = source.parent if source else Path.cwd()
    resolved = _resolve_paths(expanded, base)
    return _validate({**resolved, "source": source}, where, problems)


def _validate(data: dict[str, Any], where: str, problems: list[str]) -> Config:
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        known = _known_keys(Config)
        problems.extend(_describe_error(e, known) for e in exc.errors())
        config = None
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(
            f"Invalid facesort config {where}:\n{lines}\n"
            "Fix these keys and run again (README.md, section Configuration, lists every key)."
        )
    assert config is not None
    return config


def with_overrides(config: Config, overrides: dict[str, Any], where: str = "overrides") -> Config:
    """A copy of ``config`` with some keys replaced, validated like the file itself.

    ``overrides`` is nested like the YAML: ``{"matching": {"sure_distance": 0.5}}``.
    """

    def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
        return out

    data = merge(config.model_dump(exclude={"source"}), overrides)
    return _validate({**data, "source": config.source}, where, [])


def config_path_from_env(explicit: str | os.PathLike[str] | None = None) -> Path:
    value = explicit or os.environ.get(CONFIG_ENV)
    if not value:
        raise ConfigError(
            "No facesort config given: pass --config FILE or set the environment variable "
            f"{CONFIG_ENV} to the path of your YAML file."
        )
    return Path(os.path.abspath(os.path.expanduser(str(value))))


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate the config at ``path`` (or ``$FACESORT_CONFIG``)."""
    import yaml

    config_path = config_path_from_env(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"facesort config {config_path} does not exist: create it (see README.md, "
            f"section Configuration) or point --config / {CONFIG_ENV} at the right file."
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"facesort config {config_path} cannot be read: {exc.strerror}."
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"facesort config {config_path} is not valid YAML{at}: {problem}. Fix the syntax "
            "and run again."
        ) from None
    return parse_config(raw, config_path)
