"""What every extraction stream shares: request metadata and the high-water mark."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from bridged_auth0_pipeline.auth0 import Auth0Client


def request_metadata(client: Auth0Client, before: int) -> dict:
    """`before`: stats.management_requests_of_this_stream() when the stream started (streams run
    at the same time, each in its own thread, so the run-wide counter would mix them)."""
    stats = client.stats
    return {
        "auth0/management_requests": stats.management_requests_of_this_stream() - before,
        "auth0/run_management_requests": stats.management_requests,
        "auth0/token_requests": stats.token_requests,
        "auth0/seconds_waited_on_429": round(client.session.pacer.waited_on_429, 2),
    }


def requests_by_endpoint(client: Auth0Client) -> dict[str, int]:
    """The run's Management API requests per rate-limit group (users, logs, other, …), one number
    each so the UI plots them over runs. Run-wide: the streams share the groups' buckets (export
    polls and role members both count as `other`), so this is read once every stream is done."""
    return {f"auth0/requests/{group}": count for group, count in sorted(client.stats.by_endpoint.items())}


class HighWater:
    """The greatest value of `key` among records passing through (ISO timestamps and log ids sort as text)."""

    def __init__(self, key: str, start: str | None = None):
        self.key = key
        self.value = start

    def track(self, records: Iterable[dict]) -> Iterator[dict]:
        for record in records:
            value = record.get(self.key)
            if isinstance(value, str) and (self.value is None or value > self.value):
                self.value = value
            yield record

