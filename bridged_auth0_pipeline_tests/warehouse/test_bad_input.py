"""Odd records from the API land typed where they can, and are quarantined with a reason where
they cannot — never a crash that loses the batch."""

from __future__ import annotations

import json

from bridged_auth0_pipeline.sandbox import SandboxTenant
from bridged_auth0_pipeline_tests.helpers import query
from bridged_auth0_pipeline_tests.warehouse_assertions import assert_no_secrets_in_warehouse


def _deep(levels: int) -> dict:
    node: dict = {"leaf": "🌳"}
    for level in range(levels):
        node = {f"level{level}": node}
    return node


ODD_USERS = [
    {"user_id": "auth0|string-numbers", "email": "numbers@example.com", "logins_count": "7", "email_verified": "true",
     "blocked": "false", "identities": [{"provider": "auth0", "user_id": "string-numbers", "connection": "Username-Password-Authentication", "isSocial": False}]},
    {"user_id": "github|424242", "email": "int-id@example.com",
     "identities": [{"provider": "github", "user_id": 424242, "connection": "github", "isSocial": True,
                     "access_token": "gho_SECRETIDPTOKEN", "refresh_token": "ghr_SECRETREFRESH"}]},
    {"user_id": "auth0|null-identities", "email": "null-ids@example.com", "identities": None},
    {"user_id": "auth0|empty-identities", "email": "empty-ids@example.com", "identities": []},
    {"user_id": "auth0|odd-dates", "email": "dates@example.com", "created_at": "2026-01-02 03:04:05",
     "last_login": "last tuesday", "identities": [{"provider": "auth0", "user_id": "odd-dates", "connection": "db"}]},
    {"user_id": "auth0|big-metadata", "email": "big@example.com", "user_metadata": {"blob": "x" * 1_000_000, "deep": _deep(60)},
     "identities": [{"provider": "auth0", "user_id": "big-metadata", "connection": "db"}]},
    {"user_id": "auth0|unicode", "name": "Zoë 😀 中文 עברית \u0007 ctrl", "email": "unicode@example.com",
     "app_metadata": {"a.b": 1, 'q"uote': "it's", "": "empty key", "nested": {"x": [1, None, {"y": "z"}]}, "null": None},
     "user_metadata": "not an object",
     "identities": [{"provider": "auth0", "user_id": "unicode", "connection": "db"}]},
    {"user_id": "auth0|wrong-types", "email": "wrong@example.com", "logins_count": "many", "multifactor": "guardian",
     "identities": [{"provider": "auth0", "user_id": "wrong-types", "connection": "db"}, {"connection": "no-provider"}]},
    {"user_id": "auth0|linked-twice", "email": "twice@example.com",
     "identities": [{"provider": "auth0", "user_id": "twice", "connection": "db", "profileData": {"email": "twice@example.com"}},
                    "not an object", {"provider": "auth0", "user_id": "twice", "connection": "db-copy"}]},
]


def test_odd_records_land_or_are_quarantined(sandbox_factory, pipeline_env, run_sync, warehouse_path):
    tenant = SandboxTenant()
    for profile in ODD_USERS:
        tenant.add_user(dict(profile))
    tenant.add_log("brand_new_type_2027", user_id="auth0|unicode", description="a type Auth0 adds tomorrow")
    tenant.add_log("s", user_id="auth0|unicode")
    tenant.logs[-1]["date"] = "yesterday-ish"
    server = sandbox_factory(tenant)
    pipeline_env(server)

    result = run_sync()
    assert result.success, "odd input never fails the batch"
    users = dict(query(warehouse_path, "SELECT user_id, logins_count FROM auth0.users"))
    assert set(users) == {profile["user_id"] for profile in ODD_USERS}
    assert users["auth0|string-numbers"] == 7 and users["auth0|wrong-types"] is None

    identities = set(query(warehouse_path, "SELECT user_id, provider, identity_user_id FROM auth0.user_identities"))
    assert ("github|424242", "github", "424242") in identities
    assert not [i for i in identities if i[0] in ("auth0|null-identities", "auth0|empty-identities")]
    assert ("auth0|wrong-types", None, None) not in identities
    # A (provider, id) pair listed twice lands once, from its first entry; a non-object entry is skipped.
    assert query(warehouse_path, "SELECT connection, is_primary, profile_data->>'email' FROM auth0.user_identities "
                                 "WHERE user_id = 'auth0|linked-twice'") == [("db", True, "twice@example.com")]

    assert query(warehouse_path, "SELECT name FROM auth0.users WHERE user_id = 'auth0|unicode'")[0][0] == "Zoë 😀 中文 עברית \u0007 ctrl"
    metadata = {k: json.loads(v) for k, v in query(
        warehouse_path, "SELECT key, value FROM auth0.user_metadata WHERE user_id = 'auth0|unicode' AND source = 'app_metadata'")}
    assert metadata == {"a.b": 1, 'q"uote': "it's", "": "empty key", "nested": {"x": [1, None, {"y": "z"}]}, "null": None}
    blob = query(warehouse_path, "SELECT length(value) FROM auth0.user_metadata WHERE user_id = 'auth0|big-metadata' AND key = 'blob'")
    assert blob[0][0] == 1_000_002

    rejected = set(query(warehouse_path, "SELECT record_key, reason FROM auth0._rejected"))
    assert ("auth0|odd-dates", "field last_login cannot be typed as TIMESTAMPTZ: last tuesday") in rejected
    assert ("auth0|wrong-types", "field logins_count cannot be typed as BIGINT: many") in rejected
    assert ("auth0|wrong-types", "field multifactor cannot be typed as VARCHAR[]: guardian") in rejected
    assert ("auth0|unicode", "field user_metadata cannot be typed as object: not an object") in rejected
    assert any(reason.startswith("field date cannot be typed") for _, reason in rejected)
    check = [e for e in result.get_asset_check_evaluations() if e.check_name == "no_rejected_records"][0]
    assert not check.passed and check.metadata["rejected"].value == len(rejected)

    events = dict(query(warehouse_path, "SELECT type, category FROM auth0.login_events"))
    assert events["brand_new_type_2027"] == "other", "unknown log types are kept"
    assert_no_secrets_in_warehouse(warehouse_path, ["SECRETIDPTOKEN", "SECRETREFRESH"])
