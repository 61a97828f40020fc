"""Where Immich is and how to reach it, once settings and connections are resolved.

The YAML's ``immich:`` section gives everything for the ``facesort`` command; under
Airflow the connections ``immich_api`` / ``immich_db`` take precedence where they exist
(see :mod:`facesort.airflow.hooks`). Either way the result is an :class:`ImmichEndpoint`,
which the rest of the Immich code uses without knowing where each value came from; the
``*_source`` fields only say it in messages ("fix the password of the Airflow connection
immich_api").
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field

from facesort.config import Config, ImmichSettings
from facesort.errors import ImmichError


@dataclass(frozen=True)
class PathMap:
    """Host folders and the same folders as Immich's container sees them.

    The longest matching host prefix wins; a path under no mapped folder is the same on
    both sides (Immich running on the host itself).
    """

    host_to_container: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def _under(path: str, folder: str) -> bool:
        return path == folder or path.startswith(folder.rstrip("/") + "/")

    def _translate(self, path: str, pairs: list[tuple[str, str]]) -> str:
        path = posixpath.normpath(path)
        for source, target in sorted(pairs, key=lambda p: len(p[0]), reverse=True):
            if self._under(path, source):
                rest = path[len(source) :].lstrip("/")
                return posixpath.join(target, rest) if rest else target
        return path

    def to_container(self, host_path: str) -> str:
        return self._translate(host_path, list(self.host_to_container.items()))

    def to_host(self, container_path: str) -> str:
        return self._translate(container_path, [(c, h) for h, c in self.host_to_container.items()])

    @staticmethod
    def covers(folder: str, path: str) -> bool:
        """Is ``path`` inside ``folder`` (both container paths)?"""
        return PathMap._under(posixpath.normpath(path), posixpath.normpath(folder))


@dataclass(frozen=True)
class ImmichEndpoint:
    """Resolved settings for talking to one Immich server."""

    base_url: str  # http(s)://host:port[/prefix], without /api
    api_key: str
    api_source: str  # where url and key came from, for messages
    settings: ImmichSettings
    db_url: str | None = None
    db_source: str | None = None
    path_map: PathMap = field(default_factory=PathMap)
    key_source: str = ""  # where the key alone came from ("the environment variable ...")

    @property
    def api_url(self) -> str:
        return self.base_url.rstrip("/") + "/api"

    @property
    def has_db(self) -> bool:
        return self.db_url is not None


def normalise_base_url(url: str) -> str:
    """``http://host:2283/`` or ``http://host:2283/api`` -> ``http://host:2283``."""
    url = url.strip().rstrip("/")
    return url[: -len("/api")] if url.endswith("/api") else url


# ``immich.api_key`` is kept as written in the YAML (the config does not expand it): the
# key may be in the Airflow connection instead, so an unset variable is no error there.
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def configured_key(raw: str | None, where: str) -> tuple[str | None, str]:
    """(the key, or None when there is none; where it comes from, for messages).

    ``${VAR}`` takes the variable (unset or empty: no key), ``${VAR:-default}`` the
    default when the variable is unset or empty (``${VAR:-}``: no key)."""
    if raw is None:
        return None, f"immich.api_key in {where} (not set)"
    names = [m.group(1) for m in _ENV_REF.finditer(raw)]
    if not names:
        return raw.strip() or None, f"immich.api_key in {where}"

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        return os.environ.get(name) or (default or "")

    key = _ENV_REF.sub(substitute, raw).strip() or None
    shown = ", ".join(names)
    unset = [n for n in names if not os.environ.get(n)]
    state = ", which is not set" if unset and key is None else ""
    return key, f"the environment variable {shown}{state} (immich.api_key in {where})"


def endpoint_from_config(
    config: Config,
    *,
    url: str | None = None,
    api_key: str | None = None,
    api_source: str | None = None,
    db_url: str | None = None,
    db_source: str | None = None,
) -> ImmichEndpoint | None:
    """The endpoint from the config, with values from elsewhere (connections) winning.

    None when Immich is switched off or not configured at all: facesort then matches
    everything locally, as without Immich.
    """
    settings = config.immich
    if not settings.enabled:
        return None
    where = f"the facesort config {config.source}" if config.source else "the facesort config"
    url = url or settings.url
    if url is None:
        return None
    yaml_key, yaml_key_source = configured_key(settings.api_key, where)
    if api_key:  # the connection's password wins
        key, key_source = api_key, api_source or "the Airflow connection"
    else:
        key, key_source = yaml_key, yaml_key_source
    source = api_source or f"immich.url / immich.api_key in {where}"
    if not key:
        raise ImmichError(
            f"Immich is configured at {url} but no API key is given ({yaml_key_source}): set "
            f"the variable, or immich.api_key in {where} (best as ${{IMMICH_API_KEY}}), or "
            f"the password of the Airflow connection {settings.api_conn_id}. Create the key "
            "in Immich under Account Settings > API Keys."
        )
    if db_url is None and settings.db_url:
        db_url, db_source = settings.db_url, f"immich.db_url in {where}"
    return ImmichEndpoint(
        base_url=normalise_base_url(url),
        api_key=key,
        api_source=source,
        settings=settings,
        db_url=db_url,
        db_source=db_source,
        path_map=PathMap(dict(settings.path_map)),
        key_source=key_source,
    )
