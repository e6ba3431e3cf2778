"""Shape of tenant log events, shared by live mutations and bulk generation.

An event looks like what `GET /api/v2/logs` returns (log_id, date, type, description, client and connection names, ip, user agent, user_id, details, location_info): fields that do not
apply are absent rather than null, `user_id` only when a user is involved, `details` and
`location_info` as nested objects.
"""

from __future__ import annotations

import random

# Descriptions from log_event_types.csv for the types the sandbox emits; any other type is still
# accepted by `SandboxTenant.add_log` (Auth0 adds types over time).
DESCRIPTIONS: dict[str, str] = {
    "s": "Successful Login",
    "f": "Failed Login",
    "fp": "Wrong email or password.",
    "fu": "Wrong email or password.",
    "ss": "Successful Signup",
    "fs": "Failed Signup",
    "slo": "Successful Logout",
    "sdu": "Successful User Deletion",
    "scp": "Successful Change Password",
    "fcp": "Failed Change Password",
    "sv": "Successfully consumed email verification link",
    "seacft": "Successful Exchange of Authorization Code for Access Token",
    "seccft": "Successful Exchange of Access Token for a Client Credentials Grant",
    "feccft": "Failed exchange of Access Token for a Client Credentials Grant",
    "sapi": "Successful API Operation",
    "mgmt_api_read": "Successful GET request on the management API",
    "api_limit": "The maximum number of requests to the Authentication or Management APIs in given time was reached",
    "limit_wc": "An IP address is blocked because it reached the maximum failed login attempts into a single account.",
    "w": "A warning has happened during a login flow",
    "gd_auth_succeed": "Multi-factor authentication success.",
    "gd_auth_failed": "Multi-factor authentication failed.",
    "gd_enrollment_complete": "Guardian - Enrollment complete",
    "gd_send_sms": "SMS for MFA successfully sent.",
    "gd_start_auth": "Second factor authentication event started for MFA.",
    "depnote": "Deprecation Notice",
}

# (client_id, client_name, is_mobile)
CLIENTS: list[tuple[str, str, bool]] = [
    ("kW3nQ8vT2rYp6sLz1mXc4bHd9fJg5aNe", "Bridged Web", False),
    ("Pq7Rt2Vx9Zb4Nc6Md1Lf8Kg3Jh5Hs0Aw", "Bridged iOS", True),
    ("Ae5Sd8Fg1Hj4Kl7Zx0Cv3Bn6Mq9Wr2Ty", "Partner Portal", False),
]
MACHINE_CLIENT = ("Mz4Xc7Vb0Nq3Wr6Ty9Ui2Op5As8Df1Gh", "Bridged Sync (M2M)")

USER_AGENTS: list[tuple[str, bool]] = [
    ("Chrome 120.0.0 / Mac OS X 10.15.7", False),
    ("Firefox 121.0.0 / Windows 10.0.0", False),
    ("Safari 17.2.0 / Mac OS X 14.2.0", False),
    ("Mobile Safari 17.2.0 / iOS 17.2.1", True),
    ("Chrome Mobile 120.0.0 / Android 14.0.0", True),
    ("Edge 120.0.0 / Windows 10.0.0", False),
]

LOCATIONS: list[dict] = [
    {"country_code": "US", "country_code3": "USA", "country_name": "United States of America",
     "city_name": "New York", "latitude": 40.7128, "longitude": -74.006,
     "time_zone": "America/New_York", "continent_code": "NA"},
    {"country_code": "GB", "country_code3": "GBR", "country_name": "United Kingdom",
     "city_name": "London", "latitude": 51.5072, "longitude": -0.1276,
     "time_zone": "Europe/London", "continent_code": "EU"},
    {"country_code": "IL", "country_code3": "ISR", "country_name": "Israel",
     "city_name": "Tel Aviv", "latitude": 32.0853, "longitude": 34.7818,
     "time_zone": "Asia/Jerusalem", "continent_code": "AS"},
    {"country_code": "JP", "country_code3": "JPN", "country_name": "Japan",
     "city_name": "Tokyo", "latitude": 35.6762, "longitude": 139.6503,
     "time_zone": "Asia/Tokyo", "continent_code": "AS"},
    {"country_code": "BR", "country_code3": "BRA", "country_name": "Brazil",
     "city_name": "São Paulo", "latitude": -23.5558, "longitude": -46.6396,
     "time_zone": "America/Sao_Paulo", "continent_code": "SA"},
    {"country_code": "DE", "country_code3": "DEU", "country_name": "Germany",
     "city_name": "Berlin", "latitude": 52.52, "longitude": 13.405,
     "time_zone": "Europe/Berlin", "continent_code": "EU"},
]

# Types that carry a user, an application and a connection (login flows).
_FLOW_TYPES = frozenset({"s", "f", "fp", "fu", "ss", "fs", "slo", "scp", "fcp", "sv", "seacft",
                         "limit_wc", "w", "sdu"})


def random_ip(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.34:
        return f"203.0.113.{1 + int(rng.random() * 254)}"
    if r < 0.67:
        return f"198.51.100.{1 + int(rng.random() * 254)}"
    if r < 0.9:
        return f"192.0.2.{1 + int(rng.random() * 254)}"
    return f"2001:db8::{1 + int(rng.random() * 0xfffe):x}"


def _details(type_: str, rng: random.Random, date_ms: int, user: dict | None,
             connection: dict | None, tenant_name: str) -> dict:
    if type_ in ("s", "seacft"):
        took = 80 + int(rng.random() * 3920)
        return {"prompts": [], "initiatedAt": date_ms - took, "completedAt": date_ms,
                "elapsedTime": took, "session_id": "%032x" % rng.getrandbits(128)}
    if type_ in ("f", "fp", "fu", "fcp", "fs"):
        return {"error": {"message": DESCRIPTIONS.get(type_, "Failed")}}
    if type_ == "sdu":
        return {"body": {"connection": connection["name"] if connection else "",
                         "tenant": tenant_name}}
    if type_.startswith("gd_"):
        return {"authenticator": {"type": rng.choice(("otp", "sms", "push-notification")),
                                  "id": "%016x" % rng.getrandbits(64)}}
    if type_ == "api_limit":
        return {"limit": {"size": 50, "bucket": "per_second", "global": True},
                "request": {"method": "get", "path": "/api/v2/users"}}
    if type_ == "sapi":
        return {"request": {"method": "post", "path": "/api/v2/jobs/users-exports"},
                "response": {"statusCode": 201}}
    return {}


def make_event(type_: str, date: str, date_ms: int, rng: random.Random, *, tenant_name: str,
               user: dict | None = None, connection: dict | None = None) -> dict:
    """One event without `log_id` (the tenant assigns ids in order)."""
    event: dict = {"date": date, "type": type_, "description": DESCRIPTIONS.get(type_, "")}
    if user is not None or type_ in _FLOW_TYPES:
        client_id, client_name, mobile_client = CLIENTS[int(rng.random() * len(CLIENTS))]
        agent, mobile_agent = USER_AGENTS[int(rng.random() * len(USER_AGENTS))]
        event["client_id"] = client_id
        event["client_name"] = client_name
        event["ip"] = random_ip(rng)
        event["user_agent"] = agent
        event["hostname"] = tenant_name
        if user is not None:
            event["user_id"] = user["user_id"]
            event["user_name"] = user.get("email") or user.get("phone_number") or user.get(
                "name", "")
        if connection is not None:
            event["connection"] = connection["name"]
            event["connection_id"] = connection["id"]
            event["strategy"] = connection["strategy"]
            event["strategy_type"] = connection["strategy_type"]
        event["isMobile"] = mobile_client or mobile_agent
        event["details"] = _details(type_, rng, date_ms, user, connection, tenant_name)
        event["location_info"] = LOCATIONS[int(rng.random() * len(LOCATIONS))]
    else:
        # Tenant-level events (sapi, api_limit, seccft, ...): an application, no user.
        event["client_id"], event["client_name"] = MACHINE_CLIENT
        event["ip"] = random_ip(rng)
        event["hostname"] = tenant_name
        event["user_agent"] = "node-fetch/1.0 / Other 0.0.0"
        event["isMobile"] = False
        event["details"] = _details(type_, rng, date_ms, None, None, tenant_name)
    return event
