"""Every failure a client can see, as RFC 9457 problem details.

    RcsgateError (status, slug, title)
    ├── ValidationFailed        400 validation          fields: [{field: JSON pointer, message}]
    ├── MalformedJson           400 malformed-json
    ├── Unauthorized            401 unauthorized        + WWW-Authenticate: Bearer
    ├── BadSignature            401 bad-signature       an operator callback not signed by it
    ├── HttpsRequired           403 https-required
    ├── IpNotAllowed            403 ip-not-allowed
    ├── NotFound                404 not-found
    ├── MethodNotAllowed        405 method-not-allowed
    ├── Conflict                409 conflict            (and named subclasses)
    ├── PayloadTooLarge         413 payload-too-large
    ├── UnsupportedMediaType    415 unsupported-media-type
    ├── RateLimited             429 rate-limited        + Retry-After
    ├── ServiceUnavailable      503 unavailable         + Retry-After
    └── InternalError           500 internal            never carries a trace

One handler (`problem_response`) renders them; nothing else writes an error body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from starlette.responses import Response

PROBLEM_BASE = "https://rcsgate.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class RcsgateError(Exception):
    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return body


class ValidationFailed(RcsgateError):
    status, slug, title = 400, "validation", "The request is not valid"

    @classmethod
    def field(cls, pointer: str, message: str) -> ValidationFailed:
        return cls(f"{pointer}: {message}", errors=[FieldError(pointer, message)])


class MalformedJson(RcsgateError):
    status, slug, title = 400, "malformed-json", "The body is not valid JSON"


class Unauthorized(RcsgateError):
    status, slug, title = 401, "unauthorized", "A valid API key is required"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="rcsgate"'})


class BadSignature(RcsgateError):
    status, slug, title = 401, "bad-signature", "The request's signature does not verify"


class HttpsRequired(RcsgateError):
    status, slug, title = 403, "https-required", "HTTPS is required"


class IpNotAllowed(RcsgateError):
    status, slug, title = 403, "ip-not-allowed", "This API key may not be used from this address"


class Forbidden(RcsgateError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(RcsgateError):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(RcsgateError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(RcsgateError):
    status, slug, title = 409, "conflict", "Conflict"


class AlreadyExists(Conflict):
    slug, title = "already-exists", "It already exists"


class PayloadTooLarge(RcsgateError):
    status, slug, title = 413, "payload-too-large", "The body is too large"


class UnsupportedMediaType(RcsgateError):
    status, slug, title = 415, "unsupported-media-type", "The body must be application/json"


class RateLimited(RcsgateError):
    status, slug, title = 429, "rate-limited", "Too many requests"


class ServiceUnavailable(RcsgateError):
    status, slug, title = 503, "unavailable", "The service is unavailable; try again shortly"


class InternalError(RcsgateError):
    status, slug, title = 500, "internal", "Internal error"


def problem_response(error: RcsgateError, extra_headers: dict[str, str] | None = None) -> Response:
    headers = {**error.headers, **(extra_headers or {})}
    return Response(
        orjson.dumps(error.body()),
        status_code=error.status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def problem_schema(error: type[RcsgateError], description: str | None = None) -> dict[str, Any]:
    """An OpenAPI `responses` entry for one error class."""
    return {
        "description": description or error.title,
        "content": {
            PROBLEM_CONTENT_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": error(description).body(),
            }
        },
    }
