"""Every BRIDGED_* sync setting, read and validated once, when the definitions load.

None of these is secret, so reading them at load time is right: a bad value fails the code
location at once with the variable, the value and what is allowed. Secrets (AUTH0_CLIENT_SECRET)
are never read here; they reach the run as dg.EnvVar (see resources.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

FREQUENCY_CRONS = {"daily": "0 3 * * *", "hourly": "0 * * * *", "weekly": "0 3 * * 1"}
DATA_OBJECTS = ("users", "user_metadata", "logins")
INCLUDE_METADATA = {"yes": True, "no": False}


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot use; the message says which and what is allowed."""


@dataclass(frozen=True)
class UserFilter:
    kind: str  # 'all' | 'active' | 'role'
    roles: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"role:{','.join(self.roles)}" if self.kind == "role" else self.kind


@dataclass(frozen=True)
class SyncSettings:
    sync_frequency: str = "daily"
    data_objects: tuple[str, ...] = DATA_OBJECTS
    user_filter: UserFilter = UserFilter("all")
    include_metadata: bool = True
    active_days: int = 30
    duckdb_path: str = "data/warehouse.duckdb"
    page_size: int = 50
    rate_limit_max_wait_seconds: float = 300.0
    max_reruns: int = 3
    full_sync_every_days: int = 7
    audience: str | None = None

    @property
    def cron_schedule(self) -> str:
        return FREQUENCY_CRONS[self.sync_frequency]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SyncSettings":
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value is not None and value.strip() else None

        return cls(
            sync_frequency=_choice(get, "BRIDGED_SYNC_FREQUENCY", tuple(FREQUENCY_CRONS)),
            data_objects=_data_objects(get("BRIDGED_DATA_OBJECTS")),
            user_filter=_user_filter(get("BRIDGED_USER_FILTER")),
            include_metadata=INCLUDE_METADATA[_choice(get, "BRIDGED_INCLUDE_METADATA", tuple(INCLUDE_METADATA))],
            active_days=_number(get, "BRIDGED_ACTIVE_DAYS", int, 30, 1, 3650),
            duckdb_path=get("BRIDGED_DUCKDB_PATH") or "data/warehouse.duckdb",
            page_size=_number(get, "BRIDGED_PAGE_SIZE", int, 50, 1, 100),
            rate_limit_max_wait_seconds=_number(get, "BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS", float, 300.0, 0, 86400),
            max_reruns=_number(get, "BRIDGED_RATE_LIMIT_MAX_RERUNS", int, 3, 0, 100),
            full_sync_every_days=_number(get, "BRIDGED_FULL_SYNC_EVERY_DAYS", int, 7, 1, 365),
            audience=get("AUTH0_AUDIENCE"),
        )


def _choice(get, name: str, allowed: tuple[str, ...]) -> str:
    value = get(name)
    if value is None:
        return allowed[0]
    if value.lower() not in allowed:
        raise SettingsError(f"{name}={value!r} is not valid. Allowed values: {', '.join(allowed)} (default {allowed[0]}).")
    return value.lower()


def _number(get, name: str, kind, default, low, high):
    value = get(name)
    if value is None:
        return default
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise SettingsError(f"{name}={value!r} is not valid. Allowed values: a {'whole ' if kind is int else ''}number from {low} to {high} (default {default}).")
    return number


def _data_objects(value: str | None) -> tuple[str, ...]:
    if value is None:
        return DATA_OBJECTS
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in DATA_OBJECTS]
    if not names or unknown:
        raise SettingsError(
            f"BRIDGED_DATA_OBJECTS={value!r} is not valid. Allowed values: a non-empty comma-separated subset of "
            f"{', '.join(DATA_OBJECTS)} (default all three)."
        )
    if "user_metadata" in names and "users" not in names:
        raise SettingsError(
            f"BRIDGED_DATA_OBJECTS={value!r} is not valid: user_metadata needs users (metadata is read from the user "
            "profiles). Allowed values: a subset of users, user_metadata, logins that includes users whenever it "
            "includes user_metadata."
        )
    return tuple(name for name in DATA_OBJECTS if name in names)


def _user_filter(value: str | None) -> UserFilter:
    if value is None or value.lower() == "all":
        return UserFilter("all")
    if value.lower() == "active":
        return UserFilter("active")
    if value.lower().startswith("role:"):
        roles = tuple(dict.fromkeys(part.strip() for part in value[5:].split(",") if part.strip()))
        if roles:
            return UserFilter("role", roles)
    raise SettingsError(
        f"BRIDGED_USER_FILTER={value!r} is not valid. Allowed values: all, active, role:<name>[,<name>…] "
        "(e.g. role:admin,billing; default all)."
    )
