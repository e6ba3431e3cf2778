"""What the HTTP layer sends: a status, headers and a body or a stream, plus a transport fault."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterator, Mapping

from .errors import ApiError

JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class Outcome:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Iterator[bytes] | None = None
    action: str = "send"  # "send" | "drop" | "truncate"


def json_outcome(status: int, body, headers: Mapping[str, str] | None = None) -> Outcome:
    """`body` as JSON; None (a 204, or a write Auth0 answers without content) sends no body."""
    if body is None:
        return Outcome(status, dict(headers or {}))
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Outcome(status, {"Content-Type": JSON_TYPE, **(headers or {})}, data)


def error_outcome(err: ApiError, headers: Mapping[str, str] | None = None) -> Outcome:
    if isinstance(err.body, bytes):
        return Outcome(err.status, {**err.headers, **(headers or {})}, err.body)
    return json_outcome(err.status, err.body, {**err.headers, **(headers or {})})
