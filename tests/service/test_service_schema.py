"""Property-based testing of the HTTP API against its own /openapi.json (schemathesis).

Generated requests go through the Serve proxy with the write token; every
response must be documented (status, content type, headers, body schema)
and none may be a 500. The schema gives the bodies' shapes, not every rule
of the library (e.g. at most 18 decimal places), so a schema-valid body may
still get a documented 422: the "positive data acceptance" check is off.
The event streams are left out: ``/budget/events``
never ends, by design. Examples are bounded to keep the run near a minute.
(The strategies are driven with plain Hypothesis: schemathesis' own pytest
fixture loader does not run under pytest 9.)
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from service_helpers import Service

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402


@pytest.fixture(scope="module")
def api_schema(service: Service) -> Any:
    """The service's OpenAPI document, loaded from the running app, without the streams."""
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    return schema.exclude(path_regex=r".*/events$")


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_api_conforms_to_its_schema_and_never_fails(
    api_schema: Any, service: Service, mode: str
) -> None:
    """Each generated request (valid or not) gets a documented, conforming, non-500 response."""
    strategy = api_schema.as_strategy(generation_mode=schemathesis.GenerationMode(mode))
    headers = service.headers(service.write_token)
    excluded = [positive_data_acceptance]

    @given(case=strategy)
    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded, timeout=30)

    call()
