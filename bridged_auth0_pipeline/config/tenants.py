"""Which tenants this deployment syncs, and everything one of them needs for a run.

Two sources: the environment's tenant `default` (AUTH0_* and BRIDGED_* variables, never stored;
present when AUTH0_DOMAIN is set) and the connection registry. A tenant's secret is decrypted (or,
for `default`, read from the environment) only in `Tenant.client()`, in the process that calls Auth0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from bridged_auth0_pipeline.auth0 import Auth0Client
from bridged_auth0_pipeline.auth0.connection import Auth0Connection
from bridged_auth0_pipeline.auth0.management_token import ManagementTokenSession, expired_message
from bridged_auth0_pipeline.config.registry import DEFAULT_TENANT, ConnectionRegistry, StoredConnection
from bridged_auth0_pipeline.config.secrets import SecretBox
from bridged_auth0_pipeline.config.settings import CHOICE_FLAGS, CHOICE_NAMES, EnvironmentTenant, SyncSettings


@dataclass(frozen=True)
class Tenant:
    key: str
    settings: SyncSettings  # effective: duckdb_path is this tenant's warehouse, audience its audience
    domain: str | None
    client_id: str | None
    method: str = "client_credentials"
    stored: StoredConnection | None = None  # None for `default`
    token_expires_at: datetime | None = None

    @property
    def warehouse_path(self) -> str:
        return self.settings.duckdb_path

    def setting(self, flag: str, variable: str) -> str:
        """Where a person changes one of this tenant's sync settings, for an error's fix: the BRIDGED_*
        variable for the environment's tenant, `bridged-auth0 settings KEY --flag` for a connected one."""
        return variable if self.stored is None else f"`bridged-auth0 settings {self.key} {flag}`"

    def client(self, *, interactive: bool = False) -> Auth0Client:
        """An Auth0 client with this tenant's credentials (decrypted here, held only in memory).
        `interactive`: a person waits, so an unreachable host fails within seconds, named."""
        settings = self.settings
        if self.stored is None:  # the environment's tenant: its secret is read here, at run time
            return Auth0Client.connect(
                self.domain, self.client_id, os.environ.get("AUTH0_CLIENT_SECRET"),
                audience=settings.audience, page_size=settings.page_size,
                max_rate_limit_wait_seconds=settings.rate_limit_max_wait_seconds, interactive=interactive,
            )
        secret = SecretBox.from_env().decrypt(self.stored.secret_encrypted, owner=self.key)
        if self.method == "client_credentials":
            return Auth0Client.connect(
                self.domain, self.client_id, secret, audience=settings.audience, page_size=settings.page_size,
                max_rate_limit_wait_seconds=settings.rate_limit_max_wait_seconds, interactive=interactive,
            )
        session = ManagementTokenSession(
            Auth0Connection.from_settings(self.domain, settings.audience), secret, tenant=self.key,
            max_rate_limit_wait_seconds=settings.rate_limit_max_wait_seconds, interactive=interactive,
        )
        return Auth0Client(session, page_size=settings.page_size)

    def expired_token_message(self, now: datetime | None = None) -> str | None:
        """For a pasted token past its `exp`: the error that says what to do."""
        now = now or datetime.now(timezone.utc)
        if self.token_expires_at is not None and now >= self.token_expires_at:
            return expired_message(self.token_expires_at, self.key)
        return None


class TenantDirectory:
    """The deployment's tenants: `default` from the environment plus the registry's."""

    def __init__(self, settings: SyncSettings):
        self.settings = settings
        self.environment = EnvironmentTenant.from_env()
        self.registry = ConnectionRegistry(settings.connections_path)

    def keys(self) -> list[str]:
        env_tenant = [DEFAULT_TENANT] if self.environment.domain else []
        return env_tenant + self.registry.keys()

    def tenant(self, key: str) -> Tenant:
        if key == DEFAULT_TENANT:
            return Tenant(DEFAULT_TENANT, self.settings, self.environment.domain, self.environment.client_id)
        return self.from_stored(self.registry.get(key))

    def from_stored(self, stored: StoredConnection) -> Tenant:
        """A connected tenant; a stored choice the pipeline cannot use is named as this tenant's, with
        the command that changes it."""
        key = stored.key
        chosen = self.settings.with_choices(
            stored.settings, label=lambda variable: f"tenant {key}'s stored {CHOICE_NAMES[variable]}",
            fix=lambda variable: f"`bridged-auth0 settings {key} {CHOICE_FLAGS[variable]} <value>`.",
        )
        settings = replace(
            chosen,
            duckdb_path=str(Path(self.settings.warehouse_dir) / f"{stored.key}.duckdb"),
            audience=stored.audience,
        )
        expires = datetime.fromisoformat(stored.token_expires_at) if stored.token_expires_at else None
        return Tenant(stored.key, settings, stored.domain, stored.client_id, stored.method, stored, expires)
