"""Timestamps in Auth0's one wire format: ISO-8601 UTC with milliseconds and a `Z`.

Every timestamp the sandbox stores is in this canonical form, so ordering and range queries can
compare strings instead of parsing dates on each comparison.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso_ms(dt: datetime) -> str:
    """`2026-01-02T03:04:05.678Z` for an aware (or naive-as-UTC) datetime."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    dt = dt.astimezone(timezone.utc)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond // 1000)


_DAY_CACHE: dict[int, str] = {}


def iso_from_epoch_ms(ms: int) -> str:
    """Fast formatter used by bulk generation (date part cached per day, no datetime objects)."""
    secs, milli = divmod(ms, 1000)
    day, in_day = divmod(secs, 86400)
    date = _DAY_CACHE.get(day)
    if date is None:
        t = time.gmtime(day * 86400)
        date = _DAY_CACHE[day] = "%04d-%02d-%02dT" % (t.tm_year, t.tm_mon, t.tm_mday)
    hour, rest = divmod(in_day, 3600)
    minute, sec = divmod(rest, 60)
    return "%s%02d:%02d:%02d.%03dZ" % (date, hour, minute, sec, milli)


def epoch_ms(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)


def parse_iso(value: str, *, round_up: bool = False) -> datetime:
    """Parse the ISO-8601 variants a client may send; raise ValueError otherwise.

    Missing components are filled like Elasticsearch does for range bounds: with the start of the
    period, or with its end when `round_up` (used for `lte` and `gt` bounds), so
    `updated_at:[* TO 2026-01-31]` includes the whole of January 31st.
    """
    m = _ISO_RE.match(value.strip())
    if not m:
        raise ValueError(f"not an ISO-8601 date: {value!r}")
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    has_time, has_secs, has_frac = hh is not None, ss is not None, frac is not None
    micro = int((frac or "0")[:6].ljust(6, "0"))
    dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0), micro)
    if round_up:
        if not has_time:
            dt += timedelta(days=1) - timedelta(milliseconds=1)
        elif not has_secs:
            dt += timedelta(minutes=1) - timedelta(milliseconds=1)
        elif not has_frac:
            dt += timedelta(seconds=1) - timedelta(milliseconds=1)
    if tz in (None, "Z"):
        return dt.replace(tzinfo=timezone.utc)
    sign = 1 if tz[0] == "+" else -1
    digits = tz[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return dt.replace(tzinfo=timezone(sign * offset)).astimezone(timezone.utc)


def normalize_iso(value: str, *, round_up: bool = False) -> str:
    """Canonical `...sss Z` form of any accepted ISO-8601 input."""
    return iso_ms(parse_iso(value, round_up=round_up))
