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
        return any(fnmatch.fnmatch(name, pattern) for pattern in self.ignore_patterns)


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
    min_face_fraction: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Faces smaller than this fraction of the picture's shorter side are "
        "ignored (0 keeps every detected face).",
    )

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


class ScheduleSettings(_Section):
    ingest: str = Field(DEFAULT_INGEST_SCHEDULE, description="Cron expression of facesort_ingest.")
    recluster: str = Field(
        DEFAULT_RECLUSTER_SCHEDULE, description="Cron expression of facesort_recluster (nightly)."
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

    # Where the file was loaded from; set by load_config, not by the user.
    source: Path | None = Field(None, exclude=True)

    @field_validator("staging_dirs")
    @classmethod
    def _distinct_staging(cls, dirs: list[Path]) -> list[Path]:
        if len(set(dirs)) != len(dirs):
            raise ValueError("lists the same folder twice")
        return dirs

    @model_validator(mode="after")
    def _folders_do_not_nest(self) -> Config:
        # A library inside a staging folder would be rescanned and sorted again forever.
        outputs = {
            "library_dir": self.library_dir,
            "review_dir": self.review_dir,
            "references_dir": self.references_dir,
            "trash_dir": self.trash_path,
        }
        for staging in self.staging_dirs:
            for key, out in outputs.items():
                if _is_within(out, staging) or _is_within(staging, out):
                    raise ValueError(
                        f"{key} ({out}) and staging folder {staging} must not contain one "
                        "another: sorted files would be picked up again"
                    )
        if self.library_dir == self.review_dir:
            raise ValueError("library_dir and review_dir must be different folders")
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

    def review_path(self, category: str) -> Path:
        if category not in REVIEW_CATEGORIES:
            raise ValueError(f"unknown review category {category!r}")
        return self.review_dir / category


def _is_within(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand_env(value: Any, where: str, problems: list[str]) -> Any:
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            problems.append(
                f"{where}: environment variable {name} is not set "
                f"(set it, or write ${{{name}:-default}})"
            )
            return ""

        return _ENV_REF.sub(substitute, value)
    if isinstance(value, dict):
        return {
            k: _expand_env(v, f"{where}.{k}" if where else str(k), problems)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_expand_env(v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    return value


_PATH_KEYS = ("library_dir", "review_dir", "references_dir", "trash_dir", "thumbnail_dir")


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


def ingest_schedule_from_env() -> str:
    """The facesort_ingest cron expression, read cheaply at DAG-parse time.

    Order: ``FACESORT_INGEST_SCHEDULE``, then ``schedule.ingest`` in the config file named
    by ``FACESORT_CONFIG``, then the default. Any problem falls back to the default: the
    task that runs later validates the config fully and reports it.
    """
    return _schedule_from_env("ingest", DEFAULT_INGEST_SCHEDULE)


def recluster_schedule_from_env() -> str:
    """The facesort_recluster cron expression (``FACESORT_RECLUSTER_SCHEDULE``, then
    ``schedule.recluster``, then the default), read like :func:`ingest_schedule_from_env`."""
    return _schedule_from_env("recluster", DEFAULT_RECLUSTER_SCHEDULE)


def _schedule_from_env(key: str, default: str) -> str:
    override = os.environ.get(f"FACESORT_{key.upper()}_SCHEDULE")
    if override:
        return override
    path = os.environ.get(CONFIG_ENV)
    if not path:
        return default
    try:
        import yaml

        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or {}
        value = (raw.get("schedule") or {}).get(key)
    except Exception:
        return default
    return value if isinstance(value, str) and value.strip() else default
