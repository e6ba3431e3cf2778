"""The DuckDB warehouse: schema migrations, staging writes, transactional loads and sync state."""
