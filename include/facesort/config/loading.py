"""Reading the config file: its path, the YAML, ``${VAR}`` substitution and relative
paths, before ``validation.py`` checks every key."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from facesort.config.model import Config
from facesort.config.validation import validate
from facesort.errors import ConfigError

CONFIG_ENV = "FACESORT_CONFIG"


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
    return validate({**resolved, "source": source}, where, problems)


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
