"""The warehouse's DuckDB helpers, below its Dagster assets and checks: open a tenant's file
(database), migrate it, stage extractions, run loads, keep cursors (state), in transactions."""
