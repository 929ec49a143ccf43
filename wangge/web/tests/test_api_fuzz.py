"""Property-based fuzzing of the whole REST API from its own OpenAPI schema: whatever a client
sends to any operation, the answer is never a server error (5xx).

Every operation of the schema runs, as a district administrator over the suite's world (areas,
people, every role, a protected person with a phone and a safe zone), with a bounded number of
generated examples each, except revoking the calling token (which would log the fuzzer out
half-way). A new 500 anywhere fails this test.
Skipped where schemathesis is not installed (it is in the ``test`` extra).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, settings

from wangge.accounts.models import Role
from wangge.conftest import World, api_token
from wangge.protection.tests.conftest import protect
from wangge.wsgi import application

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = 20
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run, so CI does not pass or fail on a lucky draw
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def connection_kept() -> Iterator[None]:
    """Calling the WSGI application directly sends request_finished, which closes the database
    connection; on PostgreSQL that is the one holding the test's transaction. Django's test
    client disconnects the same handler for the same reason."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("connection_kept")
def test_no_request_to_any_operation_makes_the_api_answer_with_a_server_error(world: World) -> None:
    from schemathesis.checks import not_a_server_error

    protect(world)  # an enrolment with consent, a phone and a safe zone, so protection has objects
    token = api_token(world.user(Role.DISTRICT_ADMIN))
    headers = {"Authorization": f"Token {token}"}
    # The schema is for signed-in users (WANGGE_PUBLIC_API_DOCS); the fuzzer reads it as one.
    with override_settings(WANGGE_PUBLIC_API_DOCS=True):
        schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application).exclude(
            path="/api/v1/auth/token/", method="DELETE"
        )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40  # the whole API, not a schema that failed to load

    # One world for every operation: building it per operation would cost most of the run.
    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy())
        def no_server_error(case: object) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])  # type: ignore[attr-defined]

        no_server_error()
