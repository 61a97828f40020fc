"""``Config``: the whole configuration, its folders and the paths derived from them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from facesort.config import sections
from facesort.config.folders import folder_layout_problems
from facesort.config.sections import REVIEW_CATEGORIES, _Section
from facesort.config.values import Count, NonEmptyStr


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
    batch_size: Count = Field(50, le=10_000)
    workers: Count = Field(default_factory=lambda: os.cpu_count() or 1, le=256)
    claim_lease_seconds: int = Field(900, ge=10)
    scan: sections.ScanSettings = Field(default_factory=sections.ScanSettings)
    matching: sections.MatchingSettings = Field(default_factory=sections.MatchingSettings)
    duplicates: sections.DuplicateSettings = Field(default_factory=sections.DuplicateSettings)
    video: sections.VideoSettings = Field(default_factory=sections.VideoSettings)
    policy: sections.PolicySettings = Field(default_factory=sections.PolicySettings)
    limits: sections.LimitSettings = Field(default_factory=sections.LimitSettings)
    review: sections.ReviewSettings = Field(default_factory=sections.ReviewSettings)
    schedule: sections.ScheduleSettings = Field(default_factory=sections.ScheduleSettings)
    immich: sections.ImmichSettings = Field(default_factory=sections.ImmichSettings)
    report: sections.ReportSettings = Field(default_factory=sections.ReportSettings)

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
        problems = folder_layout_problems(
            staging_dirs=self.staging_dirs,
            library_dir=self.library_dir,
            review_dir=self.review_dir,
            references_dir=self.references_dir,
            trash_dir=self.trash_path,
            thumbnail_dir=self.thumbnail_path,
            reports_dir=self.reports_dir,
        )
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
