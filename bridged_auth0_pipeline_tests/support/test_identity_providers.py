"""sql/seeds/identity_providers.csv is the one classification of identity providers: the migration
runner seeds it, the views and `bridged-auth0 user` (support/user_answer.py) both answer from it."""

from __future__ import annotations

import duckdb

from bridged_auth0_pipeline.support.user_answer import identity_providers, label, method_type
from bridged_auth0_pipeline.store.migrations import apply_migrations
from bridged_auth0_pipeline.store.sql_files import read_sql, sql_files

METHOD_TYPES = {"database", "passwordless", "social", "enterprise"}


def test_sql_and_python_classify_every_provider_alike(tmp_path):
    seed = identity_providers()
    assert seed and {row["method_type"] for row in seed.values()} <= METHOD_TYPES
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    apply_migrations(con)
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
