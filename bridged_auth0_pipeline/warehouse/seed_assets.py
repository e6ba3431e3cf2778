"""The reference tables the migrations load from sql/seeds/, declared as assets so the lineage
draws them and the tables and views that read them (Dagster would leave an undeclared one out)."""

from __future__ import annotations

import dagster as dg

from bridged_auth0_pipeline.config.assets import OWNERS, WAREHOUSE_GROUP
from bridged_auth0_pipeline.warehouse.metadata import table_definition

SEED_KINDS = {"duckdb", "csv"}


def _seed(name: str, holds: str) -> dg.AssetSpec:
    """auth0.<name>, loaded from sql/seeds/<name>.csv; `holds` says what it holds and who reads it."""
    return dg.AssetSpec(
        ["auth0", name], group_name=WAREHOUSE_GROUP, kinds=SEED_KINDS, owners=OWNERS, metadata=table_definition(f"auth0.{name}"),
        description=f"{holds} Loaded from sql/seeds/{name}.csv whenever the warehouse is opened.",
    )


IDENTITY_PROVIDERS = _seed(
    "identity_providers",
    "Each identity provider or connection strategy with its method type (database, social, enterprise, "
    "passwordless) and its label: one table for the views and `bridged-auth0 user`.",
)
LOG_EVENT_TYPES = _seed(
    "log_event_types",
    "Every Auth0 tenant log event type with its description, its category (success, failure, signup, logout, "
    "MFA, deletion…) and whether it is evidence of an enrolled or removed MFA factor: one table for the loads, "
    "the views and `bridged-auth0 user`.",
)
METHOD_TYPES = _seed(
    "method_types",
    "The four method types (database, passwordless, social, enterprise), whether an identity's provider settles "
    "its type or Auth0's isSocial flag does, and the words a support agent reads: one table for the views and "
    "`bridged-auth0 user`.",
)
SEED_SPECS = [IDENTITY_PROVIDERS, LOG_EVENT_TYPES, METHOD_TYPES]
