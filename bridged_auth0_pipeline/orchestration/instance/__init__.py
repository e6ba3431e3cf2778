"""Dagster instance storage that keeps its database connections (named in dagster.yaml).

Dagster's run workers and CLI open a new database connection for every statement they store. A run
of auth0_sync stores about 150 events, so a small tenant's run spent more time connecting than
syncing. `sqlite` serves ./dagster.yaml, `postgres` deploy/dagster.yaml; each module says what it
measured. Nothing here changes what is stored or where.
"""

import os

# Dagster writes the events a new run plans (one per asset and check: 44 for auth0_sync) as one
# batch, in one store_event_batch call, only when this is set. Both storages here store a batch in
# one transaction (per file on SQLite). A user's own setting wins.
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")
