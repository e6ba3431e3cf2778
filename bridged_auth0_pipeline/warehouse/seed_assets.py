"""The reference tables the migrations load from sql/seeds/, declared as assets so the lineage
draws them and the tables and views that read them (Dagster would leave an undeclared one out)."""

from __future__ import annotations

import dagster as dg

from bridged_auth0_pipeline.config.assets import OWNERS, WAREHOUSE_GROUP

SEED_KINDS = {"duckdb", "csv"}

IDENTITY_PROVIDERS = dg.AssetSpec(
    ["auth0", "identity_providers"], group_name=WAREHOUSE_GROUP, kinds=SEED_KINDS, owners=OWNERS,
    description="Each identity provider or connection strategy with its method type (database, social, "
    "enterprise, passwordless) and its label: one table for the views and `bridged-auth0 user`. Loaded from "
    "sql/seeds/identity_providers.csv whenever the warehouse is opened.",
)
LOG_EVENT_TYPES = dg.AssetSpec(
    ["auth0", "log_event_types"], group_name=WAREHOUSE_GROUP, kinds=SEED_KINDS, owners=OWNERS,
    description="Every Auth0 tenant log event type with its description, its category (success, failure, "
    "signup, logout, MFA, deletion…) and whether it is evidence of an enrolled or removed MFA factor: one table "
    "for the loads, the views and `bridged-auth0 user`. Loaded from sql/seeds/log_event_types.csv whenever the "
    "warehouse is opened.",
)
METHOD_TYPES = dg.AssetSpec(
    ["auth0", "method_types"], group_name=WAREHOUSE_GROUP, kinds=SEED_KINDS, owners=OWNERS,
    description="The four method types (database, passwordless, social, enterprise), whether an identity's "
    "provider settles its type or Auth0's isSocial flag does, and the words a support agent reads: one table for "
    "the views and `bridged-auth0 user`. Loaded from sql/seeds/method_types.csv whenever the warehouse is opened.",
)
SEED_SPECS = [IDENTITY_PROVIDERS, LOG_EVENT_TYPES, METHOD_TYPES]
