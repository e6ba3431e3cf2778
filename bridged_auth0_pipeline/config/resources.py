"""The Dagster resource every asset uses: the run's tenant (settings, warehouse, Auth0 client)."""

import logging
from typing import Optional

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from bridged_auth0_pipeline.auth0 import Auth0Client
from bridged_auth0_pipeline.config.registry import DEFAULT_TENANT
from bridged_auth0_pipeline.config.settings import SyncSettings
from bridged_auth0_pipeline.config.tenants import Tenant, TenantDirectory


# One partition per tenant key, kept equal to the tenants by auth0_tenants_sensor.
TENANTS_PARTITION = "tenants"
tenant_partitions = dg.DynamicPartitionsDefinition(name=TENANTS_PARTITION)
PARTITION_TAG = "dagster/partition"
TENANT_TAG = "bridged/tenant"  # on every auth0_sync run: the run queue allows one run per value


class TenantResource(dg.ConfigurableResource):
    """The tenant a run syncs (its partition): its settings, warehouse file and Auth0 client.

    Resolved once per run from the run's partition, so every asset of the run sees the same tenant.
    `settings_json` holds the deployment's settings (none secret; shown in the UI's resource page).
    A run started outside the daemon (`dagster job execute`, `bridged-auth0 sync`) registers its
    tenant's partition itself, so the run can record materializations for it.
    """

    settings_json: str

    _tenant: Optional[Tenant] = PrivateAttr(default=None)
    _client: Optional[Auth0Client] = PrivateAttr(default=None)

    @classmethod
    def for_settings(cls, settings: SyncSettings) -> "TenantResource":
        return cls(settings_json=settings.to_json())

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # The pipeline's INFO lines (export progress, 429 waits, retries) reach the run's log through
        # dagster.yaml's managed_python_loggers; Python's default level would drop them.
        logging.getLogger("bridged_auth0_pipeline").setLevel(logging.INFO)
        run = context.run
        key = (run.tags.get(PARTITION_TAG) if run else None) or DEFAULT_TENANT
        self._tenant = TenantDirectory(SyncSettings.from_json(self.settings_json)).tenant(key)
        instance = context.instance
        if instance is not None and not instance.has_dynamic_partition(TENANTS_PARTITION, key):
            instance.add_dynamic_partitions(TENANTS_PARTITION, [key])

    @property
    def tenant(self) -> Tenant:
        if self._tenant is None:  # outside a run (direct invocation in tests): the environment's tenant
            self._tenant = TenantDirectory(SyncSettings.from_json(self.settings_json)).tenant(DEFAULT_TENANT)
        return self._tenant

    @property
    def settings(self) -> SyncSettings:
        return self.tenant.settings

    @property
    def warehouse(self) -> DuckDBResource:
        return DuckDBResource(database=self.tenant.warehouse_path)

    def get_client(self) -> Auth0Client:
        """One client per run: the token is fetched once and reused by every asset."""
        if self._client is None:
            if self.tenant.stored is None and self.tenant.domain is None:
                raise dg.Failure(
                    "No Auth0 tenant is configured for this run (the environment's tenant `default` needs AUTH0_DOMAIN). "
                    "Fix: set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET where the daemon and runs start, "
                    "connect a tenant with `bridged-auth0 connect` and run its partition, or start the UI with "
                    "`make dev`, which serves the built-in sandbox when no tenant is configured.",
                    allow_retries=False,
                )
            expired = self.tenant.expired_token_message()
            if expired:
                raise dg.Failure(expired, allow_retries=False)
            self._client = self.tenant.client()
        return self._client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.session.close()
            self._client = None
