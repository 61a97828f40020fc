"""The Immich hook: Airflow connections first, the facesort config second.

- ``immich_api`` (type HTTP): host (``immich.lan`` or ``http://immich.lan``), port
  (default 2283), schema ``https`` for TLS, the API key as the password;
- ``immich_db`` (type Postgres, optional): a read-only role on Immich's database.

A connection that does not exist is simply not used; the ids come from
``immich.api_conn_id`` / ``immich.db_conn_id``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from facesort.config import Config
from facesort.immich.endpoint import ImmichEndpoint, endpoint_from_config

DEFAULT_PORT = 2283


def _api_url(conn: Any) -> str | None:
    host = (conn.host or "").strip()
    if not host:
        return None
    if "://" in host:
        base = host.rstrip("/")
        if conn.port and base.count(":") == 1:
            base += f":{conn.port}"
        return base
    scheme = conn.schema if conn.schema in {"http", "https"} else "http"
    return f"{scheme}://{host}:{conn.port or DEFAULT_PORT}"


def _db_url(conn: Any) -> str | None:
    if not conn.host:
        return None
    import sqlalchemy as sa

    url = sa.URL.create(
        "postgresql+psycopg2",
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host,
        port=conn.port or 5432,
        database=conn.schema or "immich",
    )
    return url.render_as_string(hide_password=False)


class ImmichHook(BaseHook):
    """Resolves where Immich is for a task (``endpoint``) or a trigger (``aendpoint``)."""

    conn_name_attr = "immich_conn_id"
    default_conn_name = "immich_api"
    conn_type = "http"
    hook_name = "Immich"

    def __init__(self, config: Config):
        super().__init__()
        self.config = config

    def _overrides(self, api: Any, db: Any) -> dict[str, Any]:
        settings = self.config.immich
        values: dict[str, Any] = {}
        if api is not None and _api_url(api):
            values["url"] = _api_url(api)
            values["api_key"] = api.password or None
            values["api_source"] = f"the Airflow connection {settings.api_conn_id} (password)"
        if db is not None and _db_url(db):
            values["db_url"] = _db_url(db)
            values["db_source"] = f"the Airflow connection {settings.db_conn_id}"
        return values

    @staticmethod
    def _get(conn_id: str) -> Any:
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            return BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            return None

    @staticmethod
    async def _aget(conn_id: str) -> Any:
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            return await BaseHook.aget_connection(conn_id)
        except AirflowNotFoundException:
            return None

    def endpoint(self, config: Config | None = None) -> ImmichEndpoint | None:
        config = config or self.config
        if not config.immich.enabled:
            return None
        api = self._get(config.immich.api_conn_id)
        db = self._get(config.immich.db_conn_id)
        return endpoint_from_config(config, **self._overrides(api, db))

    async def aendpoint(self) -> ImmichEndpoint | None:
        if not self.config.immich.enabled:
            return None
        api = await self._aget(self.config.immich.api_conn_id)
        db = await self._aget(self.config.immich.db_conn_id)
        return endpoint_from_config(self.config, **self._overrides(api, db))


def resolve_endpoint(config: Config) -> ImmichEndpoint | None:
    """For facesort.tasks: the endpoint with Airflow's connections taken into account."""
    return ImmichHook(config).endpoint()
