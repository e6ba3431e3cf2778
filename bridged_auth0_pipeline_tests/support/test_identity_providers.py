"""sql/seeds/identity_providers.csv and sql/seeds/method_types.csv are the one classification of
identity providers and their method types: the migration runner seeds them, the views and
`bridged-auth0 user` (support/user_answer.py) both answer from them."""

from __future__ import annotations

import duckdb

from bridged_auth0_pipeline.support.user_answer import identity_providers, label, method_type, method_types
from bridged_auth0_pipeline.store.migrations import apply_migrations
from bridged_auth0_pipeline.store.sql_files import read_sql, sql_files


def _warehouse(path):
    con = duckdb.connect(str(path))
    apply_migrations(con)
    return con


def test_sql_and_python_classify_every_provider_alike(tmp_path):
    seed = identity_providers()
    assert seed and {row["method_type"] for row in seed.values()} <= set(method_types())
    con = _warehouse(tmp_path / "w.duckdb")
    assert con.execute("SELECT count(*) FROM auth0.identity_providers").fetchone()[0] == len(seed)
    for n, (provider, row) in enumerate(sorted(seed.items())):
        user_id = f"{provider}|{n}"
        con.execute("INSERT INTO auth0.users (user_id, synced_at) VALUES (?, now())", [user_id])
        # isSocial as Auth0 sends it for that kind of provider
        con.execute("INSERT INTO auth0.user_identities VALUES (?, ?, ?, ?, ?, true, NULL, now())",
                    [user_id, provider, str(n), f"{provider}-connection", row["method_type"] == "social"])
    for view in sql_files("views"):
        con.execute(read_sql(view))
    in_sql = dict(con.execute("SELECT primary_provider, primary_method_type FROM auth0.user_auth_methods").fetchall())
    in_python = {p: method_type({"provider": p, "isSocial": row["method_type"] == "social"}) for p, row in seed.items()}
    assert in_sql == in_python == {p: row["method_type"] for p, row in seed.items()}
    assert label("samlp", "enterprise") == "SAML single sign-on" and label("acme-idp", "enterprise") == "acme-idp single sign-on"


def test_the_method_types_table_decides_sql_and_python_alike(tmp_path, monkeypatch):
    """Move passwordless from 'settled by the provider' to 'by isSocial' in the seed alone: the view
    and the CLI both follow it (an `sms` identity that is not social becomes enterprise)."""
    con = _warehouse(tmp_path / "w.duckdb")
    assert con.execute("SELECT count(*) FROM auth0.method_types").fetchone()[0] == len(method_types()) == 4
    changed = {**method_types(), "passwordless": {**method_types()["passwordless"], "decided_by": "is_social"}}
    monkeypatch.setattr("bridged_auth0_pipeline.support.user_answer.method_types", lambda: changed)
    con.execute("UPDATE auth0.method_types SET decided_by = 'is_social' WHERE method_type = 'passwordless'")
    con.execute("INSERT INTO auth0.users (user_id, synced_at) VALUES ('sms|1', now()), ('auth0|1', now())")
    con.execute("INSERT INTO auth0.user_identities VALUES ('sms|1', 'sms', '1', 'sms', false, true, NULL, now()),"
                " ('auth0|1', 'auth0', '1', 'Username-Password-Authentication', false, true, NULL, now())")
    for view in sql_files("views"):
        con.execute(read_sql(view))
    in_sql = dict(con.execute("SELECT primary_provider, primary_method_type FROM auth0.user_auth_methods").fetchall())
    in_python = {p: method_type({"provider": p, "isSocial": False}) for p in ("sms", "auth0")}
    assert in_sql == in_python == {"sms": "enterprise", "auth0": "database"}
