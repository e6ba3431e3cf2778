"""Every BRIDGED_* setting, read and validated once, when the definitions load.

None of these is secret, so reading them at load time is right: a bad value fails the code
location at once with the variable, the value and what is allowed. Secrets (AUTH0_CLIENT_SECRET,
BRIDGED_SECRET_KEY) are never read here; only the process that calls Auth0 reads them, at run time.

A tenant's own sync settings (Bridged's sync settings: frequency, data objects, user filter, active days and
include metadata) are the same five values: the environment's tenant `default` takes them from
BRIDGED_*, a connected tenant from the registry, both through `with_choices` and its validators.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace

from bridged_auth0_pipeline.auth0.client import DEFAULT_PAGE_SIZE
from bridged_auth0_pipeline.auth0.pagination import MAX_PAGE_SIZE
from bridged_auth0_pipeline.auth0.session import DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS

FREQUENCY_CRONS = {"daily": "0 3 * * *", "hourly": "0 * * * *", "weekly": "0 3 * * 1"}
DATA_OBJECTS = ("users", "user_metadata", "logins", "organizations")
# What a sync reads when BRIDGED_DATA_OBJECTS is unset: organizations need extra scopes, so they are opt-in.
DEFAULT_DATA_OBJECTS = ("users", "user_metadata", "logins")
# Data objects that are read only with another, and why.
NEEDS = {"user_metadata": ("users", "metadata is read from the user profiles"),
         "organizations": ("users", "members are users")}
INCLUDE_METADATA = {"yes": True, "no": False}
# A tenant's choices: the name each has in a stored connection, and the variable that sets it for
# the environment's tenant (error messages name the variable, or the CLI flag that set it).
TENANT_CHOICES = {
    "frequency": "BRIDGED_SYNC_FREQUENCY",
    "data_objects": "BRIDGED_DATA_OBJECTS",
    "user_filter": "BRIDGED_USER_FILTER",
    "active_days": "BRIDGED_ACTIVE_DAYS",
    "include_metadata": "BRIDGED_INCLUDE_METADATA",
}
# By variable: the choice's name in a stored connection, and the flag of `bridged-auth0 settings KEY` that sets it.
CHOICE_NAMES = {variable: name for name, variable in TENANT_CHOICES.items()}
CHOICE_FLAGS = {variable: f"--{name.replace('_', '-')}" for name, variable in TENANT_CHOICES.items()}


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot use; the message says which and what is allowed."""


@dataclass(frozen=True)
class EnvironmentTenant:
    """The environment's tenant `default`: AUTH0_DOMAIN and AUTH0_CLIENT_ID, stripped, None when unset
    or blank (a blank AUTH0_DOMAIN is no tenant: `sync` serves the sandbox). Not part of SyncSettings,
    which travels serialized in the run config; the domain is validated where Auth0 is called
    (auth0/connection.py), and AUTH0_CLIENT_SECRET is read only there, never here."""

    domain: str | None = None
    client_id: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "EnvironmentTenant":
        get = _getter(os.environ if env is None else env)
        return cls(get("AUTH0_DOMAIN"), get("AUTH0_CLIENT_ID"))


@dataclass(frozen=True)
class UserFilter:
    kind: str  # 'all' | 'active' | 'role'
    roles: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"role:{','.join(self.roles)}" if self.kind == "role" else self.kind


@dataclass(frozen=True)
class SyncSettings:
    """Each field's default is the setting's default: from_env and with_choices take them from here."""

    sync_frequency: str = "daily"
    data_objects: tuple[str, ...] = DEFAULT_DATA_OBJECTS
    user_filter: UserFilter = UserFilter("all")
    include_metadata: bool = True
    active_days: int = 30
    duckdb_path: str = "data/warehouse.duckdb"
    page_size: int = DEFAULT_PAGE_SIZE
    rate_limit_max_wait_seconds: float = DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS
    max_reruns: int = 3
    full_sync_every_days: int = 7
    progress_every_seconds: float = 5.0
    audience: str | None = None
    connections_path: str = "data/connections.db"
    warehouse_dir: str = "data/tenants"

    @property
    def cron_schedule(self) -> str:
        return FREQUENCY_CRONS[self.sync_frequency]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SyncSettings":
        env = os.environ if env is None else env
        get = _getter(env)
        default = cls()
        deployment = cls(
            duckdb_path=get("BRIDGED_DUCKDB_PATH") or default.duckdb_path,
            page_size=_number(get, "BRIDGED_PAGE_SIZE", int, default.page_size, 1, MAX_PAGE_SIZE),
            rate_limit_max_wait_seconds=_number(get, "BRIDGED_RATE_LIMIT_MAX_WAIT_SECONDS", float,
                                                default.rate_limit_max_wait_seconds, 0, 86400),
            max_reruns=_number(get, "BRIDGED_RATE_LIMIT_MAX_RERUNS", int, default.max_reruns, 0, 100),
            full_sync_every_days=_number(get, "BRIDGED_FULL_SYNC_EVERY_DAYS", int, default.full_sync_every_days, 1, 365),
            progress_every_seconds=_number(get, "BRIDGED_PROGRESS_EVERY_SECONDS", float, default.progress_every_seconds,
                                           0.1, 3600),
            audience=get("AUTH0_AUDIENCE"),
            connections_path=get("BRIDGED_CONNECTIONS_PATH") or default.connections_path,
            warehouse_dir=get("BRIDGED_WAREHOUSE_DIR") or default.warehouse_dir,
        )
        return deployment.with_choices({name: env.get(variable) for name, variable in TENANT_CHOICES.items()})

    def with_choices(self, choices: Mapping[str, str | None], label: Callable[[str], str] = lambda v: v,
                     fix: Callable[[str], str] | None = None) -> "SyncSettings":
        """These settings with a tenant's choices (unset ones take their defaults), validated as
        the BRIDGED_* variables are; `label(variable)` names the setting in errors (a CLI flag) and
        `fix(variable)`, when given, says how to change it."""
        values = {TENANT_CHOICES[name]: value for name, value in choices.items() if name in TENANT_CHOICES}
        get = _getter(values, label, fix)
        default = type(self)()
        text = default.choices()
        return replace(
            self,
            sync_frequency=_choice(get, "BRIDGED_SYNC_FREQUENCY", tuple(FREQUENCY_CRONS), text["frequency"]),
            data_objects=_data_objects(get, "BRIDGED_DATA_OBJECTS", default.data_objects),
            user_filter=_user_filter(get, "BRIDGED_USER_FILTER", default.user_filter),
            include_metadata=INCLUDE_METADATA[
                _choice(get, "BRIDGED_INCLUDE_METADATA", tuple(INCLUDE_METADATA), text["include_metadata"])],
            active_days=_number(get, "BRIDGED_ACTIVE_DAYS", int, default.active_days, 1, 3650),
        )

    def choices(self) -> dict[str, str]:
        """The tenant's choices in the text form `with_choices` reads (what the registry stores)."""
        return {
            "frequency": self.sync_frequency,
            "data_objects": ",".join(self.data_objects),
            "user_filter": str(self.user_filter),
            "active_days": str(self.active_days),
            "include_metadata": "yes" if self.include_metadata else "no",
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SyncSettings":
        values = json.loads(text)
        values["data_objects"] = tuple(values["data_objects"])
        values["user_filter"] = UserFilter(values["user_filter"]["kind"], tuple(values["user_filter"]["roles"]))
        return cls(**values)


def _getter(values: Mapping[str, str | None], label: Callable[[str], str] = lambda v: v,
            fix: Callable[[str], str] | None = None):
    def get(name: str) -> str | None:
        value = values.get(name)
        return value.strip() if value is not None and value.strip() else None

    get.label, get.fix = label, fix
    return get


def _invalid(get, name: str, value: str, allowed: str, why: str = "") -> SettingsError:
    fix = f" Fix: {get.fix(name)}" if get.fix else ""
    return SettingsError(f"{get.label(name)}={value!r} is not valid{why}. Allowed values: {allowed}{fix}")


def _choice(get, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = get(name)
    if value is None:
        return default
    if value.lower() not in allowed:
        raise _invalid(get, name, value, f"{', '.join(allowed)} (default {default}).")
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
        raise _invalid(get, name, value, f"a {'whole ' if kind is int else ''}number from {low} to {high} (default {default}).")
    return number


def _data_objects(get, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = get(name)
    if value is None:
        return default
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [n for n in names if n not in DATA_OBJECTS]
    if not names or unknown:
        raise _invalid(get, name, value, f"a non-empty comma-separated subset of {', '.join(DATA_OBJECTS)} (default {','.join(default)}).")
    for needing, (needed, why) in NEEDS.items():
        if needing in names and needed not in names:
            raise _invalid(get, name, value, f"a subset of {', '.join(DATA_OBJECTS)} that includes {needed} whenever it "
                           f"includes {needing}.", why=f": {needing} needs {needed} ({why})")
    return tuple(n for n in DATA_OBJECTS if n in names)


def _user_filter(get, name: str, default: UserFilter) -> UserFilter:
    value = get(name)
    if value is None:
        return default
    if value.lower() == "all":
        return UserFilter("all")
    if value.lower() == "active":
        return UserFilter("active")
    if value.lower().startswith("role:"):
        roles = tuple(dict.fromkeys(part.strip() for part in value[5:].split(",") if part.strip()))
        if roles:
            return UserFilter("role", roles)
    raise _invalid(get, name, value, f"all, active, role:<name>[,<name>…] (e.g. role:admin,billing; default {default}).")
