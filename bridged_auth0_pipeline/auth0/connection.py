"""Where the tenant is: AUTH0_DOMAIN and AUTH0_AUDIENCE turned into URLs, validated up front."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bridged_auth0_pipeline.auth0.errors import Auth0ConfigError

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
# A URL's userinfo (`user:password@`): everything of the authority up to its last @.
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)?[^/?#]*@")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Auth0Connection:
    """The tenant's base URL (scheme://host[:port]) and the Management API audience."""

    base_url: str
    audience: str

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.host)

    @classmethod
    def from_settings(cls, domain: str | None, audience: str | None = None, *,
                      label: str = "AUTH0_DOMAIN") -> "Auth0Connection":
        base_url = parse_domain(domain, label=label)
        audience = (audience or "").strip() or f"{base_url}/api/v2/"
        if not audience.startswith(("https://", "http://")):
            raise Auth0ConfigError(
                f"AUTH0_AUDIENCE={redacted(audience)!r} is not a URL. Fix: set it to the Management API "
                f"identifier, e.g. {base_url}/api/v2/, or unset it to use that default."
            )
        return cls(base_url=base_url, audience=audience)


def redacted(value: str) -> str:
    """`value` as an error may echo it: a `user:password@` in it becomes `***@`, since errors reach
    the console, the event log and the registry."""
    return _USERINFO.sub(lambda match: f"{match.group(1) or ''}***@", value)


def parse_domain(domain: str | None, *, label: str = "AUTH0_DOMAIN") -> str:
    """Accept `tenant.us.auth0.com`, `https://tenant.auth0.com/` or a custom domain.

    http:// is accepted only for loopback hosts (the sandbox and tests): a real tenant is TLS only.
    No userinfo (`user:password@`): a domain never carries credentials, and errors echo it without them.
    `label` names the setting in errors (`--domain` for `bridged-auth0 connect`).
    """
    raw = (domain or "").strip()
    shown = redacted(raw)
    if not raw:
        raise Auth0ConfigError(
            f"{label} is not set. Fix: set it to your tenant domain from the Auth0 Dashboard "
            "(Settings tab), e.g. dev-abc123.us.auth0.com — or leave AUTH0_* unset and run "
            "`bridged-auth0 sync` to use the built-in sandbox."
        )
    parts = urlsplit(raw if "://" in raw else f"https://{raw}")
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    example = "e.g. dev-abc123.us.auth0.com or https://dev-abc123.us.auth0.com/"
    if "@" in parts.netloc:
        raise Auth0ConfigError(
            f"{label}={shown!r} is not a valid Auth0 domain: it carries a user name or password before the "
            "host, which a domain never does (the application's credentials are AUTH0_CLIENT_ID and "
            f"AUTH0_CLIENT_SECRET). Fix: use the bare host, {example}."
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        scheme not in ("https", "http")
        or not host
        or port == -1
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or not (_HOSTNAME.match(host) or is_loopback(host))
    ):
        raise Auth0ConfigError(f"{label}={shown!r} is not a valid Auth0 domain. Fix: use a bare host, {example}.")
    if scheme == "http" and not is_loopback(host):
        raise Auth0ConfigError(
            f"{label}={shown!r} uses http:// for a non-loopback host; Auth0 is served over TLS only. "
            f"Fix: use https://{host}/ (http:// is accepted only for 127.0.0.1, localhost and [::1])."
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}"
