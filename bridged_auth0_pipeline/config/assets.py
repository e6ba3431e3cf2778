"""How the assets are grouped, typed and owned in the Dagster UI, defined once.

Groups follow the warehouse's layers, read left to right in the lineage: what Auth0 returned
(`extraction`: the auth0_staging.* assets), the typed tables (`warehouse`), then the views, each in
the group of its schema (`auth0_views` for auth0.*, `playbooks` for playbooks.*), so the staging
`users` and the warehouse `users` never sit in one box.
"""

from __future__ import annotations

EXTRACTION_GROUP = "extraction"
WAREHOUSE_GROUP = "warehouse"
# A view's group is its schema's: auth0.user_auth_methods is auth0 data, not a playbook.
VIEW_GROUPS = {"auth0": "auth0_views", "playbooks": "playbooks"}

EXTRACTION_KINDS = {"auth0", "duckdb"}
WAREHOUSE_KINDS = {"duckdb"}
VIEW_KINDS = {"duckdb", "sql"}

OWNERS = ["team:data"]
