"""Auth0 Management API client: auth (session.py), pacing and 429s (rate_limit.py), paging
(pagination.py, users.py, logs.py, roles.py, exports.py), errors (errors.py, error_mapping.py)."""

from bridged_auth0_pipeline.auth0.client import Auth0Client
from bridged_auth0_pipeline.auth0.connection import Auth0Connection
from bridged_auth0_pipeline.auth0.errors import (
    Auth0AudienceError,
    Auth0AuthenticationError,
    Auth0AuthorizationError,
    Auth0BadRequestError,
    Auth0ConnectionError,
    Auth0ConfigError,
    Auth0Error,
    Auth0LogRetentionError,
    Auth0NotFoundError,
    Auth0RateLimitError,
    Auth0ScopeError,
    Auth0ServerError,
)

__all__ = [
    "Auth0Client", "Auth0Connection", "Auth0Error", "Auth0ConfigError", "Auth0AuthenticationError",
    "Auth0AudienceError", "Auth0AuthorizationError", "Auth0ScopeError", "Auth0NotFoundError",
    "Auth0BadRequestError", "Auth0ConnectionError", "Auth0LogRetentionError", "Auth0ServerError", "Auth0RateLimitError",
]
