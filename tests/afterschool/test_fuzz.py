"""Schemathesis on the after-school operations signed in as a school admin who has a school with a term, a class,
a teacher and a programme (the API-wide fuzz runs as a parent, who sees 404 almost everywhere): generated input
gives a 4xx with the error shape, never a 500."""


import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.api.test_openapi_fuzz import _keep_the_test_connection  # noqa: F401 - the fixture, reused
from tests.conftest import login_tokens
from tests.factories import ProgrammeFactory, RoomFactory, SchoolClassFactory

schema = schemathesis.from_wsgi("/api/v1/openapi.json", get_wsgi_application(), force_schema_version="30").include(
    path_regex="/afterschool/"
)


@pytest.fixture
def bearer(school_admin_x, school_x, teacher_x):
    # Ids 1..3 exist, so generated small ids reach the services rather than stopping at 404.
    SchoolClassFactory(school=school_x, grade=3, number=1, class_teacher=teacher_x)
    RoomFactory(school=school_x)
    ProgrammeFactory(term__school=school_x, capacity=9)
    return {"Authorization": f"Bearer {login_tokens(school_admin_x)['access']}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_after_school_operations_survive_generated_input(case, bearer):
    response = case.call_wsgi(headers=bearer)
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))
