"""Error responses in the two shapes Auth0 uses.

The Management API answers `{statusCode, error, message, errorCode?}`; the Authentication API
answers OAuth-style `{error, error_description}`. Handlers raise `ApiError` and the server turns it
into a response, so every error body is built here and nowhere else.
"""

from __future__ import annotations

from http import HTTPStatus

PAGING_CAP_MESSAGE = (
    "You can only page through the first 1000 records. "
    "See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation"
)


class ApiError(Exception):
    """An error response: a JSON body (dict) or raw bytes with a Content-Type in `headers`."""

    def __init__(self, status: int, body: dict | bytes, headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def management_error(status: int, message: str, error_code: str | None = None) -> ApiError:
    body: dict = {"statusCode": status, "error": HTTPStatus(status).phrase, "message": message}
    if error_code:
        body["errorCode"] = error_code
    return ApiError(status, body)


def auth_error(status: int, error: str, description: str) -> ApiError:
    return ApiError(status, {"error": error, "error_description": description})


def invalid_query(message: str) -> ApiError:
    return management_error(400, message, "invalid_query_string")


def query_validation(message: str, prop: str) -> ApiError:
    """Auth0's wording for a query parameter that fails its schema."""
    return invalid_query(f"Query validation error: '{message}' on property {prop}.")


def invalid_paging() -> ApiError:
    return management_error(400, PAGING_CAP_MESSAGE, "invalid_paging")


def insufficient_scope(scopes: tuple[str, ...], require_all: bool) -> ApiError:
    kind = "all" if require_all else "any"
    return management_error(
        403, f"Insufficient scope, expected {kind} of: {', '.join(scopes)}", "insufficient_scope")


def user_not_found() -> ApiError:
    return management_error(404, "The user does not exist.", "inexistent_user")


def too_many_requests(headers: dict[str, str], *, auth_api: bool) -> ApiError:
    """The 429 body of the Management API, or of the Authentication API's token endpoint."""
    if auth_api:
        err = auth_error(429, "too_many_requests", "Global limit has been reached")
    else:
        err = management_error(429, "Global limit has been reached", "too_many_requests")
    err.headers = dict(headers)
    return err
