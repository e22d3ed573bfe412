"""Schemathesis against /v3/openapi.json: no request it generates gets a 5xx, and every
response matches the schema the API publishes."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, checks
from schemathesis.specs.openapi import checks as openapi_checks

from rcsgate.app import create_app
from rcsgate.config import Settings
from tests.fixtures.threaded import TARGET, Target, sending_tenant, target

__all__ = ["sending_tenant", "target"]

# The published schema does not depend on any data, so it is read once from an app that
# never connects anywhere; the calls go to the `target` fixture's app.
# The capabilities endpoints ask an operator while the request waits; the threaded app of
# these tests has no connectors (each schemathesis call runs its own event loop), so there
# they rightly answer 503. tests/capabilities runs them against the simulator instead.
SCHEMA = schemathesis.openapi.from_dict(create_app(Settings()).openapi()).exclude(
    path_regex="^/v3/capabilities"
)
SCHEMA.app = TARGET
# What the API promises: never a 5xx, and every response (status, headers, content type, body)
# as documented; unauthenticated probes refused. Not checked: that every schema-valid request
# is accepted, since the rules beyond the schema (a valid phone number, a launched agent,
# placeholders with values) rightly refuse many generated ones with a 400 or 404.
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.ignored_auth,
]


@SCHEMA.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_every_response_matches_the_schema(case: Case, target: Target) -> None:
    case.call_and_validate(
        base_url="https://testserver",
        headers={"Authorization": f"Bearer {target.token}"},
        checks=CHECKS,
    )
