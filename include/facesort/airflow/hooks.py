"""The Immich hook: Airflow connections first, the facesort config second.

- ``immich_api`` (type HTTP): host (``immich.lan`` or ``http://immich.lan``), port
  (default 2283), schema ``https`` for TLS, the API key as the password;
- ``immich_db`` (type Postgres, optional): a read-only role on Immich's database.

A connection that does not exist is simply not used; the ids come from
``immich.api_conn_id`` / ``immich.db_conn_id`` (defaults: those two).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from facesort.config import Config

if TYPE_CHECKING:
    from facesort.immich.endpoint import ImmichEndpoint

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
    """Where Immich is for a task (:meth:`endpoint`) or a trigger (:meth:`aendpoint`): the
    config's ``immich`` settings with these connections laid over them."""

    conn_name_attr = "api_conn_id"
    default_conn_name = "immich_api"
    db_conn_name_attr = "db_conn_id"
    default_db_conn_name = "immich_db"
    conn_type = "http"
    hook_name = "Immich"

    def __init__(
        self,
        api_conn_id: str = default_conn_name,
        db_conn_id: str = default_db_conn_name,
    ):
        super().__init__()
        self.api_conn_id = api_conn_id
        self.db_conn_id = db_conn_id

    @classmethod
    def from_config(cls, config: Config) -> ImmichHook:
        """The hook on the connections the config names (``immich.api_conn_id`` /
        ``immich.db_conn_id``)."""
        return cls(api_conn_id=config.immich.api_conn_id, db_conn_id=config.immich.db_conn_id)

    def _overrides(self, api: Any, db: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if api is not None and _api_url(api):
            values["url"] = _api_url(api)
            values["api_key"] = api.password or None
            values["api_source"] = f"the Airflow connection {self.api_conn_id} (password)"
        if db is not None and _db_url(db):
            values["db_url"] = _db_url(db)
            values["db_source"] = f"the Airflow connection {self.db_conn_id}"
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

    def endpoint(self, config: Config) -> ImmichEndpoint | None:
        from facesort.immich.endpoint import endpoint_from_config

        if not config.immich.enabled:
            return None
        api, db = self._get(self.api_conn_id), self._get(self.db_conn_id)
        return endpoint_from_config(config, **self._overrides(api, db))

    async def aendpoint(self, config: Config) -> ImmichEndpoint | None:
        from facesort.immich.endpoint import endpoint_from_config

        if not config.immich.enabled:
            return None
        api, db = await self._aget(self.api_conn_id), await self._aget(self.db_conn_id)
        return endpoint_from_config(config, **self._overrides(api, db))


def endpoint_with_connections(config: Config) -> ImmichEndpoint | None:
    """The config's Immich endpoint with its Airflow connections laid over it."""
    return ImmichHook.from_config(config).endpoint(config)
