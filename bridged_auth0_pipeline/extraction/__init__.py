"""Extraction assets: Auth0 → auth0_staging (raw JSON, one transaction per stream)."""
