"""Auth0's timestamps (ISO 8601, `Z` or an offset, milliseconds) read in one place."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


def parse_timestamp(value) -> datetime | None:
    """An aware datetime (UTC when the text has no offset), or None for anything that is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def server_time(headers) -> datetime:
    """Auth0's clock (the response's Date header) rather than ours; ours when the header is missing."""
    try:
        return parsedate_to_datetime(headers.get("date")).astimezone(timezone.utc)
    except (TypeError, ValueError):
        return datetime.now(timezone.utc)
