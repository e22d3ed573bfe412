"""The /v3 OpenAPI description: problem+json errors, the bearer scheme, no FastAPI 422s."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from rcsgate.errors import (
    IpNotAllowed,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    problem_schema,
)
from rcsgate.idempotency import MAX_KEY_LENGTH, IdempotencyInFlight, IdempotencyMismatch

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {
                        "type": "string",
                        "description": "JSON pointer into the body, or a parameter name",
                    },
                    "message": {"type": "string"},
                },
            },
        },
    },
}
RATE_HEADERS = {
    name: {"description": text, "schema": {"type": "integer"}}
    for name, text in (
        ("RateLimit-Limit", "Requests per second allowed for the account"),
        ("RateLimit-Remaining", "Requests left in the current window"),
        ("RateLimit-Reset", "Seconds until the window frees a request"),
    )
}
COMMON_ERRORS = {
    "400": problem_schema(ValidationFailed, "Invalid request; every offending field is listed"),
    "401": problem_schema(Unauthorized, "Missing, unknown or revoked API key"),
    "403": problem_schema(IpNotAllowed, "Plain HTTP, or a key used outside its IP allow-list"),
    "429": problem_schema(RateLimited, "Over the account's rate limit; see Retry-After"),
}
BODY_ERRORS = {
    "413": problem_schema(PayloadTooLarge),
    "415": problem_schema(UnsupportedMediaType),
}
IDEMPOTENCY_ERRORS = {
    "409": problem_schema(IdempotencyInFlight, "A request with the same key is in flight"),
    "422": problem_schema(IdempotencyMismatch, "The key was used with another request body"),
}
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A repeat with the same key and body within 24 h answers the first "
    "response again and creates nothing; another body with the key gets 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for name in ("ValidationError", "HTTPValidationError"):
        components["schemas"].pop(name, None)
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    schema["security"] = [{"bearer": []}]
    schema["servers"] = [{"url": "/"}]
    for methods in schema.get("paths", {}).values():
        for method, operation in methods.items():
            _decorate(method, operation)
    app.openapi_schema = schema
    return schema


def _decorate(method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    for code, response in {
        **COMMON_ERRORS,
        **(BODY_ERRORS if method in {"post", "patch", "put"} else {}),
        **(IDEMPOTENCY_ERRORS if method == "post" else {}),
    }.items():
        responses.setdefault(code, response)
    if method == "post":
        operation.setdefault("parameters", []).append(IDEMPOTENCY_HEADER)
    for code, response in responses.items():
        if code.startswith("2"):
            response.setdefault("headers", {}).update(RATE_HEADERS)
