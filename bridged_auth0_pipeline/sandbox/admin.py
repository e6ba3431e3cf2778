"""`/__sandbox/*`: change a running sandbox from outside (curl, another process, the CLI demo).

Not part of Auth0. Not rate limited, not subject to faults, not counted as Management requests.

    GET    /__sandbox/health              {"users": n, "logs": n, "organizations": n}
    GET    /__sandbox/faults              current Faults
    POST   /__sandbox/faults              replace Faults (JSON object of knobs)
    POST   /__sandbox/users               add a user (profile JSON) -> 201 stored profile
    PATCH  /__sandbox/users/{id}          update top-level fields (null removes) -> 200
    DELETE /__sandbox/users/{id}          delete (writes sdu) -> 204
    POST   /__sandbox/logs                {"type": ..., "user_id"?: ..., ...fields} -> 201 event
    POST   /__sandbox/logs/expire         {"before": log_id} -> {"expired": n}
    POST   /__sandbox/logs/retention      {"days": n | null, "expired_from": "reject" | "oldest"}
                                          -> {"days", "expired_from", "expired": n}
    POST   /__sandbox/tokens/expire       expire every issued access token
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING
from urllib.parse import unquote

from .faults import Faults
from .responses import Outcome
from .responses import json_outcome as _json
from .tenant import EXPIRED_FROM_MODES

if TYPE_CHECKING:
    from .server import SandboxServer


def handle_admin(server: "SandboxServer", method: str, path: str, raw: bytes) -> Outcome:
    tenant = server.tenant
    parts = [unquote(p) for p in path.split("/")[2:]]  # after "/__sandbox/"
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return _json(400, {"error": "invalid JSON body"})
    try:
        if parts == ["health"] and method == "GET":
            with tenant.lock:
                return _json(200, {"users": len(tenant.users), "logs": len(tenant.logs),
                                   "organizations": len(tenant.organizations.by_id)})
        if parts == ["faults"] and method == "GET":
            return _json(200, asdict(server.faults))
        if parts == ["faults"] and method == "POST":
            server.faults = Faults.from_json(body)
            return _json(200, asdict(server.faults))
        if parts == ["users"] and method == "POST":
            return _json(201, tenant.add_user(body))
        if len(parts) == 2 and parts[0] == "users" and method == "PATCH":
            return _json(200, tenant.update_user(parts[1], **body))
        if len(parts) == 2 and parts[0] == "users" and method == "DELETE":
            tenant.delete_user(parts[1])
            return Outcome(204)
        if parts == ["logs"] and method == "POST":
            body = dict(body)
            type_ = body.pop("type")
            return _json(201, tenant.add_log(type_, body.pop("user_id", None), **body))
        if parts == ["logs", "expire"] and method == "POST":
            return _json(200, {"expired": tenant.expire_logs_before(body["before"])})
        if parts == ["logs", "retention"] and method == "POST":
            return _json(200, _set_retention(tenant, body))
        if parts == ["tokens", "expire"] and method == "POST":
            server.expire_tokens()
            return _json(200, {"expired": True})
    except KeyError as exc:
        return _json(404, {"error": f"not found: {exc}"})
    except (ValueError, TypeError) as exc:
        return _json(400, {"error": str(exc)})
    return _json(404, {"error": "unknown sandbox admin endpoint"})


def _set_retention(tenant, body: dict) -> dict:
    """The plan's log retention window and what an expired checkpoint `from` gets."""
    days = body.get("days", tenant.retention_days)
    mode = body.get("expired_from", tenant.expired_from)
    if days is not None and (isinstance(days, bool) or not isinstance(days, (int, float)) or days <= 0):
        raise ValueError(f"days must be a positive number or null, not {days!r}")
    if mode not in EXPIRED_FROM_MODES:
        raise ValueError(f"expired_from must be one of {', '.join(EXPIRED_FROM_MODES)}, not {mode!r}")
    tenant.retention_days, tenant.expired_from = days, mode
    return {"days": days, "expired_from": mode, "expired": tenant.enforce_retention()}
