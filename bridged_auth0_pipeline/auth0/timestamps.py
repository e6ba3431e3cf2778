"""Auth0's timestamps (ISO 8601, `Z` or an offset, milliseconds) read in one place."""

from __future__ import annotations

from datetime import datetime, timezone


def parse_timestamp(value) -> datetime | None:
    """An aware datetime (UTC when the text has no offset), or None for anything that is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
