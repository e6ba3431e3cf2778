"""Settings, resources, the auth0_sync job, its schedule and the 429 re-run sensor."""
