"""`connect`, `tenants`, `test`, `disconnect`, `settings`, `keygen`, `rotate-key`: Bridged's
"Connect Account" step and sync settings, for any number of customer tenants.

A secret is read from standard input (a prompt without echo on a terminal), never from the command
line, where other users of the machine could see it in `ps`. It is encrypted before it is stored.
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bridged_auth0_pipeline.auth0 import Auth0Error
from bridged_auth0_pipeline.auth0.errors import Auth0AuthorizationError
from bridged_auth0_pipeline.auth0.connection import Auth0Connection
from bridged_auth0_pipeline.auth0.management_token import token_expiry
from bridged_auth0_pipeline.config.registry import DEFAULT_TENANT, StoredConnection, check_tenant_key
from bridged_auth0_pipeline.config.secrets import SecretBox, generate_key
from bridged_auth0_pipeline.config.settings import CHOICE_FLAGS, SettingsError, SyncSettings
from bridged_auth0_pipeline.config.tenants import Tenant, TenantDirectory


def read_secret(method: str, key: str) -> str:
    what = "Management API token" if method == "management_token" else "client secret"
    if sys.stdin.isatty():
        secret = getpass.getpass(f"{what} for tenant {key} (not echoed): ")
    else:
        secret = sys.stdin.read()
    secret = secret.strip()
    if not secret:
        raise SettingsError(
            f"No {what} was given. Fix: pipe it on standard input (e.g. `bridged-auth0 connect {key} ... < secret.txt`) "
            "or type it at the prompt; it is never taken from the command line."
        )
    return secret


@dataclass(frozen=True)
class ConnectionCheck:
    result: str  # what the test proved, stored as the connection's last_test_result
    active_users: int | None  # None: the application lacks read:stats


def check_connection(tenant: Tenant) -> ConnectionCheck:
    """Token exchange, then one read of each endpoint the tenant's sync uses (which also proves the
    scopes its data objects need), and the tenant's active users if read:stats is granted.
    Raises the Auth0 error, whose message carries the fix."""
    expired = tenant.expired_token_message()
    if expired:
        raise SettingsError(expired)
    data_objects = tenant.settings.data_objects
    with tenant.client(interactive=True) as client:
        session = client.session
        reads = ["users"]
        session.get_json("users", {"per_page": 1, "page": 0, "search_engine": "v3", "fields": "user_id"})
        if "logins" in data_objects:
            session.get_json("logs", {"per_page": 1, "page": 0})
            reads.append("logs")
        if "users" in data_objects:
            roles, _ = session.get_json("roles", {"per_page": 1, "page": 0})
            reads.append("roles")
            if roles:
                session.get_json(f"roles/{roles[0]['id']}/users", {"take": 1})
                reads.append("role members")
        if "organizations" in data_objects:
            orgs, _ = session.get_json("organizations", {"take": 1})
            reads.append("organizations")
            if orgs.get("organizations"):
                org_id = orgs["organizations"][0]["id"]
                session.get_json(f"organizations/{org_id}/members", {"take": 1, "fields": "user_id,roles"})
                reads.append("organization members and their roles")
        try:
            active = client.active_users()
        except Auth0AuthorizationError:  # a 403: most often read:stats not granted; the count is optional
            return ConnectionCheck(f"ok: token and reads of {', '.join(reads)}; active users not counted "
                                   "(optional: grant read:stats so `sync --all` starts the largest first syncs first)", None)
    return ConnectionCheck(f"ok: token and reads of {', '.join(reads)}; {active:,} active users in the last 30 days", active)


def _directory() -> TenantDirectory:
    return TenantDirectory(SyncSettings.from_env())


def new_tenant_choices(deployment: SyncSettings) -> dict[str, str]:
    """A new tenant's choices: the defaults, its data objects only those the deployment syncs
    (BRIDGED_DATA_OBJECTS). Others would never be synced, yet `tenants` would list them and the
    connection test would ask for their scopes."""
    choices = SyncSettings().choices()
    wanted = [name for name in choices["data_objects"].split(",") if name in deployment.data_objects]
    return {**choices, "data_objects": ",".join(wanted)}


def connect(key: str, domain: str, client_id: str | None, audience: str | None, method: str, force: bool) -> int:
    check_tenant_key(key)
    if key == DEFAULT_TENANT:
        raise SettingsError(f"The key {DEFAULT_TENANT!r} is the tenant of the AUTH0_* variables. Fix: pick another key.")
    if method == "client_credentials" and not client_id:
        raise SettingsError("--client-id is required with --method client_credentials (the M2M application's Client ID).")
    # A malformed domain (one carrying user:password@ included) is refused even with --force, which
    # only stores a connection that cannot be tested now; it is never stored or echoed as typed.
    Auth0Connection.from_settings(domain, audience, label="--domain")
    directory = _directory()
    box = SecretBox.from_env()  # fails now, before asking for the secret, if there is no key
    secret = read_secret(method, key)
    encrypted = box.encrypt(secret)
    expires = token_expiry(secret).isoformat() if method == "management_token" else None
    previous = {stored.key: stored for stored in directory.registry.all()}.get(key)
    settings = previous.settings if previous else new_tenant_choices(directory.settings)
    fields = dict(domain=domain, client_id=client_id, audience=audience, method=method, settings=settings,
                  token_expires_at=expires)
    # Test before storing: nothing is kept unless it works (or --force).
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    trial = directory.from_stored(StoredConnection(key, domain, client_id, audience, method, encrypted,
                                                   settings, expires, now, now, None, None))
    try:
        check = check_connection(trial)
    except (Auth0Error, SettingsError) as exc:
        if not force:
            print(f"error: the connection to {domain} failed its test, so it was not stored.\n{exc}", file=sys.stderr)
            return 2
        check = ConnectionCheck(f"untested (stored with --force): {exc}", None)
    directory.registry.put(key, secret_encrypted=encrypted, test_result=check.result, active_users=check.active_users,
                           **fields)
    print(f"Connected tenant {key} ({domain}, {method}): {check.result}.")
    print(f"Its warehouse: {trial.warehouse_path}. Settings: `bridged-auth0 settings {key}`; "
          f"first sync: `bridged-auth0 sync --tenant {key}` (or wait for its schedule).")
    return 0


def retest(key: str) -> int:
    directory = _directory()
    tenant = directory.tenant(key)
    try:
        check = check_connection(tenant)
    except (Auth0Error, SettingsError) as exc:
        if tenant.stored is not None:
            directory.registry.record_test(key, f"failed: {exc}")
        print(f"error: tenant {key}: {exc}", file=sys.stderr)
        return 2
    if tenant.stored is not None:
        directory.registry.record_test(key, check.result, check.active_users)
    print(f"Tenant {key}: {check.result}.")
    return 0


def latest_runs(limit: int = 1000) -> dict[str, Any]:
    """Each tenant's latest auth0_sync run record (dagster.RunRecord) among the instance's last
    `limit` runs, if there is an instance."""
    if not os.environ.get("DAGSTER_HOME"):
        return {}
    import dagster as dg

    from bridged_auth0_pipeline.config.resources import TENANT_TAG

    found: dict[str, Any] = {}
    with dg.DagsterInstance.get() as instance:
        for record in instance.get_run_records(dg.RunsFilter(job_name="auth0_sync"), limit=limit):
            key = record.dagster_run.tags.get(TENANT_TAG)
            if key and key not in found:
                found[key] = record
    return found


def last_runs() -> dict[str, tuple[str, str]]:
    """(when, status) of each tenant's latest auth0_sync run."""
    found = {}
    for key, record in latest_runs().items():
        when = record.end_time or record.start_time or record.create_timestamp.timestamp()
        found[key] = (datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%d %H:%M"),
                      record.dagster_run.status.value.lower())
    return found


def list_tenants() -> int:
    directory = _directory()
    runs = last_runs()
    rows = [("KEY", "DOMAIN", "METHOD", "FREQUENCY", "DATA OBJECTS", "FILTER", "LAST SYNC", "LAST RESULT", "ACTIVE USERS",
             "LAST TEST")]
    for key in directory.keys():
        tenant = directory.tenant(key)
        s = tenant.settings
        when, status = runs.get(key, ("—", "—"))
        test = (tenant.stored.last_test_result or "—") if tenant.stored else "(environment)"
        # Logins in the last 30 days as the last passed test counted them (read:stats): a tenant's size.
        active = tenant.stored.active_users if tenant.stored else None
        rows.append((key, tenant.domain or "—", tenant.method if tenant.stored else "env", s.sync_frequency,
                     ",".join(s.data_objects), str(s.user_filter), when, status,
                     "—" if active is None else f"{active:,}", test[:60]))
    if len(rows) == 1:
        print("No tenant is connected. Connect one with `bridged-auth0 connect KEY --domain D --client-id ID`.")
        return 0
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def disconnect(key: str, purge: bool) -> int:
    directory = _directory()
    tenant = directory.tenant(key)
    if tenant.stored is None:
        raise SettingsError(f"{key!r} is the tenant of the AUTH0_* variables: unset AUTH0_DOMAIN to remove it.")
    directory.registry.delete(key)
    if os.environ.get("DAGSTER_HOME"):  # auth0_tenants_sensor would do it within 30 s; do it now
        import dagster as dg

        from bridged_auth0_pipeline.config.resources import TENANTS_PARTITION

        with dg.DagsterInstance.get() as instance:
            if instance.has_dynamic_partition(TENANTS_PARTITION, key):
                instance.delete_dynamic_partition(TENANTS_PARTITION, key)
    print(f"Disconnected tenant {key}: its credentials and partition are removed.")
    if purge:
        removed = [path for path in _warehouse_files(tenant.warehouse_path) if path.exists()]
        for path in removed:
            path.unlink()
        print(f"Purged its warehouse: {', '.join(map(str, removed)) or 'no file existed'}.")
    else:
        print(f"Its warehouse {tenant.warehouse_path} is kept; `--purge` deletes it.")
    return 0


def _warehouse_files(path: str) -> list[Path]:
    return [Path(path), Path(f"{path}.wal"), Path(f"{path}.users-staging.ndjson")]


def settings(key: str, changes: dict[str, str | None]) -> int:
    """Show a connected tenant's choices, or change them. Reads the stored choices, not the tenant
    built from them: a stored value the pipeline refuses must still be changeable here."""
    directory = _directory()
    if key == DEFAULT_TENANT:
        raise SettingsError(f"{key!r} takes its settings from the BRIDGED_* variables; change those instead.")
    stored = directory.registry.get(key)
    wanted = {name: value for name, value in changes.items() if value is not None}
    if wanted:
        merged = {**stored.settings, **wanted}
        updated = directory.settings.with_choices(merged, label=lambda variable: CHOICE_FLAGS[variable])
        beyond = set(updated.data_objects) - set(directory.settings.data_objects)
        if beyond:
            raise SettingsError(
                f"--data-objects asks for {', '.join(sorted(beyond))}, which this deployment does not sync "
                f"(BRIDGED_DATA_OBJECTS={','.join(directory.settings.data_objects)}). Fix: pick from those, or widen "
                "BRIDGED_DATA_OBJECTS where the Dagster code location runs."
            )
        directory.registry.update_settings(key, updated.choices())
        print(f"Updated tenant {key}.")
    for name, value in directory.tenant(key).settings.choices().items():
        print(f"  {name:<17} {value}")
    return 0


def keygen() -> int:
    print(generate_key())
    print("Set it where the CLI, the Dagster daemon and the runs start: export BRIDGED_SECRET_KEY=<the key above>. "
          "To rotate, put the new key first and the old one after it (comma-separated), then run "
          "`bridged-auth0 rotate-key`.", file=sys.stderr)
    return 0


def rotate_key() -> int:
    box = SecretBox.from_env()
    count = _directory().registry.reencrypt(box.rotate)
    print(f"Re-encrypted {count} stored secret(s) with the first key of BRIDGED_SECRET_KEY; the other keys can go.")
    return 0

