"""Compare a warehouse file with the sandbox tenant's own data, table by table, exactly."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import duckdb

from bridged_auth0_pipeline.sandbox import SandboxTenant

IDP_TOKEN_KEYS = ("access_token", "refresh_token", "access_token_secret")


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def expected_users(tenant: SandboxTenant) -> dict[str, tuple]:
    return {
        user_id: (
            user.get("email"), user.get("email_verified"), user.get("phone_number"), user.get("name"),
            _ts(user.get("created_at")), _ts(user.get("updated_at")), _ts(user.get("last_login")),
            user.get("logins_count"), user.get("blocked"), user.get("multifactor"),
        )
        for user_id, user in tenant.users.items()
    }


def expected_identities(tenant: SandboxTenant) -> set[tuple]:
    return {
        (user_id, identity["provider"], str(identity["user_id"]), identity.get("connection"), index == 0)
        for user_id, user in tenant.users.items()
        for index, identity in enumerate(user.get("identities") or [])
    }


def expected_metadata(tenant: SandboxTenant) -> set[tuple]:
    return {
        (user_id, source, key, json.dumps(value, sort_keys=True))
        for user_id, user in tenant.users.items()
        for source in ("user_metadata", "app_metadata")
        for key, value in (user.get(source) or {}).items()
    }


def expected_memberships(tenant: SandboxTenant) -> set[tuple]:
    return {
        (user_id, role_id, tenant.roles[role_id]["name"])
        for role_id, members in tenant.role_members.items()
        for user_id in members
    }


def warehouse_rows(path: Path) -> dict[str, object]:
    with duckdb.connect(str(path), read_only=True) as con:
        users = {
            row[0]: tuple(row[1:])
            for row in con.execute(
                """SELECT user_id, email, email_verified, phone_number, name, created_at, updated_at, last_login,
                          logins_count, blocked, multifactor
                   FROM auth0.users WHERE deleted_at IS NULL"""
            ).fetchall()
        }
        deleted = {row[0] for row in con.execute("SELECT user_id FROM auth0.users WHERE deleted_at IS NOT NULL").fetchall()}
        live = "user_id IN (SELECT user_id FROM auth0.users WHERE deleted_at IS NULL)"
        identities = set(
            con.execute(f"SELECT user_id, provider, identity_user_id, connection, is_primary FROM auth0.user_identities WHERE {live}").fetchall()
        )
        metadata = {
            (user_id, source, key, json.dumps(json.loads(value), sort_keys=True))
            for user_id, source, key, value in con.execute(f"SELECT user_id, source, key, value FROM auth0.user_metadata WHERE {live}").fetchall()
        }
        memberships = set(con.execute("SELECT user_id, role_id, role_name FROM auth0.user_roles").fetchall())
        log_ids = [row[0] for row in con.execute("SELECT log_id FROM auth0.login_events ORDER BY log_id").fetchall()]
    return {"users": users, "deleted": deleted, "identities": identities, "metadata": metadata,
            "memberships": memberships, "log_ids": log_ids}


def assert_warehouse_equals_tenant(path: Path, tenant: SandboxTenant, *, deleted: set[str] = frozenset()) -> dict:
    """Every user, identity, metadata key, membership and log event exactly once; deletions marked."""
    rows = warehouse_rows(path)
    want_users = expected_users(tenant)
    assert set(rows["users"]) == set(want_users), "live users differ"
    mismatched = [uid for uid in want_users if rows["users"][uid] != tuple(_normalise(v) for v in want_users[uid])]
    assert not mismatched, f"{len(mismatched)} users differ, e.g. {mismatched[0]}: {rows['users'][mismatched[0]]} != {want_users[mismatched[0]]}"
    assert deleted <= rows["deleted"], f"deletions not marked: {sorted(deleted - rows['deleted'])[:5]}"
    assert rows["identities"] == expected_identities(tenant)
    assert rows["metadata"] == expected_metadata(tenant)
    assert rows["memberships"] == expected_memberships(tenant)
    tenant_log_ids = sorted(event["log_id"] for event in tenant.logs)
    assert rows["log_ids"] == sorted(set(rows["log_ids"])), "a log event landed twice"
    assert set(tenant_log_ids) <= set(rows["log_ids"]), f"{len(set(tenant_log_ids) - set(rows['log_ids']))} log events missing"
    return rows


def _normalise(value):
    return list(value) if isinstance(value, tuple) else value


# Column types that cannot hold a token's text; every other column (VARCHAR, JSON, BLOB, lists,
# structs, maps, enums) is cast to VARCHAR and searched.
_NOT_TEXT = re.compile(
    r"(BOOLEAN|U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL\(.*\)|DATE|TIME.*|INTERVAL|UUID)")


def secrets_in_warehouse(path: Path, secrets: Iterable[str]) -> tuple[dict[str, set[str]], int]:
    """Which of `secrets` appear in which table of the DuckDB file, by SQL over every text-bearing
    column of every table in every schema (the file's own bytes say nothing: DuckDB compresses
    strings). Returns the hits by table and the number of columns searched."""
    secrets = sorted(set(secrets))
    assert secrets and all(secrets), "nothing to look for"
    found: dict[str, set[str]] = {}
    searched = 0
    with duckdb.connect(str(path), read_only=True) as con:
        columns: dict[tuple[str, str], list[str]] = {}
        for schema, table, column, data_type in con.execute(
                "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
                "WHERE database_name = current_database() AND NOT internal ORDER BY schema_name, table_name, column_index").fetchall():
            if not _NOT_TEXT.fullmatch(data_type):
                columns.setdefault((schema, table), []).append(column)
        for (schema, table), names in columns.items():
            # One text per row (all its text columns joined), crossed with the secrets: one pass per table.
            row_text = "concat_ws(chr(31), " + ", ".join(f'"{name}"::VARCHAR' for name in names) + ")"
            hits = {row[0] for row in con.execute(
                f'SELECT DISTINCT s.secret FROM (SELECT {row_text} AS text FROM "{schema}"."{table}") AS t, '
                f"(SELECT unnest(?::VARCHAR[]) AS secret) AS s WHERE contains(t.text, s.secret)", [secrets]).fetchall()}
            if hits:
                found[f"{schema}.{table}"] = hits
            searched += len(names)
    return found, searched


def assert_no_secrets_in_warehouse(path: Path, secrets: Iterable[str]) -> int:
    """None of `secrets` in any table of the warehouse; returns how many columns were searched."""
    found, searched = secrets_in_warehouse(path, secrets)
    assert searched, "the warehouse has no text column to search"
    assert not found, "secrets found in the warehouse: " + "; ".join(
        f"{table}: {len(hits)}, e.g. {sorted(hits)[0][:12]}…" for table, hits in sorted(found.items()))
    return searched


def idp_tokens(tenant: SandboxTenant) -> set[str]:
    return {
        identity[key]
        for user in tenant.users.values()
        for identity in user.get("identities") or []
        if isinstance(identity, dict)
        for key in IDP_TOKEN_KEYS
        if isinstance(identity.get(key), str)
    }


def assert_no_idp_tokens(path: Path, tenant: SandboxTenant) -> int:
    """No identity-provider token value from the tenant appears in any table of the warehouse."""
    tokens = idp_tokens(tenant)
    assert tokens, "the tenant should carry identity-provider tokens for this check to mean anything"
    assert_no_secrets_in_warehouse(path, tokens)
    return len(tokens)
