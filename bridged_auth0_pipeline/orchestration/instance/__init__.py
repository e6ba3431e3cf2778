"""Dagster instance storage that keeps its database connections (named in dagster.yaml).

Dagster's run workers and CLI open a new database connection for every statement they store. A run
of auth0_sync stores about 150 events, so a small tenant's run spent more time connecting than
syncing. `sqlite` serves ./dagster.yaml, `postgres` deploy/dagster.yaml; each module says what it
measured. Nothing here changes what is stored or where.
"""
