"""Configuration below the assets: deployment settings, the tenant connection registry, resources."""
