"""Dagster resources: the Auth0 client (secrets via dg.EnvVar, so the UI never shows them), the
DuckDB warehouse, and the effective sync settings (shown in the UI's resource config)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from bridged_auth0_pipeline.auth0 import Auth0Client
from bridged_auth0_pipeline.orchestration.settings import SyncSettings, UserFilter
from bridged_auth0_pipeline.warehouse.migrations import apply_migrations


# What DuckDB may hold in memory; the Python process (Dagster, httpx, batches) adds ~300 MB.
DUCKDB_MEMORY_LIMIT = "256MB"


class Auth0Resource(dg.ConfigurableResource):
    """One Auth0 client per run: the token is fetched once and reused by every asset."""

    domain: str
    client_id: str
    client_secret: str
    audience: Optional[str] = None
    page_size: int = 50
    rate_limit_max_wait_seconds: float = 300.0

    _client: Optional[Auth0Client] = PrivateAttr(default=None)

    def get_client(self) -> Auth0Client:
        if self._client is None:
            self._client = Auth0Client.connect(
                self.domain,
                self.client_id,
                self.client_secret,
                audience=self.audience,
                page_size=self.page_size,
                max_rate_limit_wait_seconds=self.rate_limit_max_wait_seconds,
            )
        return self._client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.session.close()
            self._client = None


class SyncSettingsResource(dg.ConfigurableResource):
    """The guide's sync settings as the assets see them (BRIDGED_* variables, validated at load)."""

    data_objects: list[str]
    user_filter: str
    include_metadata: bool
    active_days: int
    full_sync_every_days: int

    @classmethod
    def from_settings(cls, settings: SyncSettings) -> "SyncSettingsResource":
        return cls(
            data_objects=list(settings.data_objects),
            user_filter=str(settings.user_filter),
            include_metadata=settings.include_metadata,
            active_days=settings.active_days,
            full_sync_every_days=settings.full_sync_every_days,
        )

    @property
    def parsed_user_filter(self) -> UserFilter:
        if self.user_filter.startswith("role:"):
            return UserFilter("role", tuple(self.user_filter[5:].split(",")))
        return UserFilter(self.user_filter)


@contextmanager
def open_warehouse(warehouse: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to an up-to-date warehouse (creates the file's folder and schema if needed).

    Closed in `finally`: DuckDBResource.get_connection skips its close() when the body raises, and
    a connection left open keeps the file locked for the rest of the process.
    """
    Path(warehouse.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    with warehouse.get_connection() as con:
        try:
            con.execute("SET TimeZone = 'UTC'")  # a timestamp without an offset means UTC, on every machine
            # DuckDB's default memory_limit is 80% of RAM, and it keeps using it as cache: the
            # full run peaked at 2.4 GB at 100k users and passed 6 GB at 1M. Bounded, it spills to
            # <database>.tmp instead (the loads in sql/loads are written to fit; see benchmarks/).
            con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
            apply_migrations(con)
            yield con
        finally:
            con.close()
