"""The settings a DAG file needs while it is parsed: schedules and the Immich sensor's mode.

The DAG processor parses the DAG files often, so these read the config file named by
``FACESORT_CONFIG`` cheaply (YAML, no validation) and fall back to the defaults on any
problem: the tasks that run later validate the config fully and say what is wrong.
Environment variables (``FACESORT_INGEST_SCHEDULE``, ...) override the file.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError

from facesort.config import (
    CONFIG_ENV,
    DEFAULT_INGEST_SCHEDULE,
    DEFAULT_RECLUSTER_SCHEDULE,
    DEFAULT_REPORT_SCHEDULE,
    ImmichWaitSettings,
)


def _raw_section_from_env(section: str) -> dict[str, Any]:
    """One section of the config file, read without validation; empty when anything is
    missing or odd."""
    path = os.environ.get(CONFIG_ENV)
    if not path:
        return {}
    try:
        import yaml

        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or {}
        value = raw.get(section) or {}
    except Exception:
        return {}
    return value if isinstance(value, dict) else {}


def _raw_setting_from_env(section: str, key: str) -> str | None:
    value = _raw_section_from_env(section).get(key)
    return value if isinstance(value, str) and value.strip() else None


def _known_timezone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def ingest_schedule_from_env() -> str:
    """The facesort_ingest cron expression: ``FACESORT_INGEST_SCHEDULE``, then
    ``schedule.ingest`` in the config file, then the default."""
    if os.environ.get("FACESORT_INGEST_SCHEDULE"):
        return os.environ["FACESORT_INGEST_SCHEDULE"]
    return _raw_setting_from_env("schedule", "ingest") or DEFAULT_INGEST_SCHEDULE


def immich_wait_from_env() -> ImmichWaitSettings:
    """``immich.wait`` (the sensor's mode and intervals); ``FACESORT_IMMICH_DEFERRABLE``
    (true/false) overrides ``deferrable``."""
    try:
        wait = ImmichWaitSettings.model_validate(_raw_section_from_env("immich").get("wait") or {})
    except ValidationError:
        wait = ImmichWaitSettings()
    value = os.environ.get("FACESORT_IMMICH_DEFERRABLE")
    if value:
        deferrable = value.strip().lower() not in {"0", "false", "no", "off"}
        wait = wait.model_copy(update={"deferrable": deferrable})
    return wait


def report_schedule_from_env() -> tuple[str, str]:
    """facesort_review_report's cron expression and time zone, read like the ingest one
    (``FACESORT_REPORT_SCHEDULE``, then ``schedule.report``; ``report.timezone``)."""
    cron = (
        os.environ.get("FACESORT_REPORT_SCHEDULE")
        or _raw_setting_from_env("schedule", "report")
        or DEFAULT_REPORT_SCHEDULE
    )
    timezone = _raw_setting_from_env("report", "timezone") or "UTC"
    if not _known_timezone(timezone):
        timezone = "UTC"  # the report task validates the config and says what is wrong
    return cron, timezone


def recluster_schedule_from_env() -> str:
    """facesort_recluster's cron expression, read like the ingest one
    (``FACESORT_RECLUSTER_SCHEDULE``, then ``schedule.recluster``, then the default)."""
    return (
        os.environ.get("FACESORT_RECLUSTER_SCHEDULE")
        or _raw_setting_from_env("schedule", "recluster")
        or DEFAULT_RECLUSTER_SCHEDULE
    )
