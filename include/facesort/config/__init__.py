"""The facesort configuration: one YAML file, validated on load.

The path comes from ``--config`` or the ``FACESORT_CONFIG`` environment variable.
Relative paths in the file are relative to the file's own folder, ``~`` is expanded,
and ``${VAR}`` / ``${VAR:-default}`` in string values are taken from the environment
(so secrets such as a database password need not be written into the file).

Every mistake is reported by key with the expected form, all at once::

    Invalid facesort config /srv/facesort.yaml:
      - matching.sure_distance: expected a number (got 'close')
      - staging_dir: unknown key (did you mean 'staging_dirs'?)

The package: ``loading.py`` (the file, ``${VAR}``, relative paths), ``validation.py``
(every problem by key, ``with_overrides``), ``model.py`` (``Config``), ``sections.py``
(its sections and their defaults), ``people.py`` (settings about single people:
their own distances, learning), ``values.py`` (the kinds of value several keys share,
with their bounds), ``folders.py`` (refusing risky folder layouts). The
readers a DAG file uses while it is parsed are in ``facesort/airflow/settings.py``.
Import from here: ``from facesort.config import Config, load_config``.
"""

from facesort.config.folders import _case_insensitive, comparable_path, folder_layout_problems
from facesort.config.loading import CONFIG_ENV, config_path_from_env, load_config, parse_config
from facesort.config.model import Config
from facesort.config.sections import (
    DEFAULT_IGNORE_PATTERNS,
    DEFAULT_INGEST_SCHEDULE,
    DEFAULT_RECLUSTER_SCHEDULE,
    DEFAULT_REPORT_SCHEDULE,
    REVIEW_CATEGORIES,
    DuplicateSettings,
    ImmichSettings,
    ImmichWaitSettings,
    LimitSettings,
    MatchingSettings,
    PolicySettings,
    ReportSettings,
    ReviewSettings,
    ScanSettings,
    ScheduleSettings,
    VideoSettings,
)
from facesort.config.validation import with_overrides
from facesort.config.values import NonEmptyStr

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_IGNORE_PATTERNS",
    "DEFAULT_INGEST_SCHEDULE",
    "DEFAULT_RECLUSTER_SCHEDULE",
    "DEFAULT_REPORT_SCHEDULE",
    "REVIEW_CATEGORIES",
    "Config",
    "DuplicateSettings",
    "ImmichSettings",
    "ImmichWaitSettings",
    "LimitSettings",
    "MatchingSettings",
    "NonEmptyStr",
    "PolicySettings",
    "ReportSettings",
    "ReviewSettings",
    "ScanSettings",
    "ScheduleSettings",
    "VideoSettings",
    "_case_insensitive",
    "comparable_path",
    "config_path_from_env",
    "folder_layout_problems",
    "load_config",
    "parse_config",
    "with_overrides",
]
