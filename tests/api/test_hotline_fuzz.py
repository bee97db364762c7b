"""The 12345 intake under generated input with a valid sending-system key (the API-wide fuzz sends a person's token,
which this operation refuses before it reads the body): no input, however odd, may give a 500, and documented
answers must match their schema."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis import DataGenerationMethod
from schemathesis.checks import not_a_server_error, response_schema_conformance

from accounts.models import Role
from supervision.complaints.hotline import services as hotline
from tests.api.test_openapi_fuzz import _keep_the_test_connection  # noqa: F401 - the same fixture
from tests.conftest import DISTRICT, make_user, region

schema = schemathesis.from_wsgi(
    "/api/v1/openapi.json",
    get_wsgi_application(),
    force_schema_version="30",
    data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative],
).include(path="/api/v1/hotline/work-orders")


@pytest.fixture
def hotline_key(db):
    admin = make_user("周局长", Role.BUREAU_ADMIN, region=region(DISTRICT))
    _system, key = hotline.system_register(actor=admin, name="12345", callback_url="http://127.0.0.1:9/")
    return key


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_intake_never_breaks_on_generated_input(case, hotline_key):
    response = case.call_wsgi(headers={"X-Hotline-Key": hotline_key})
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))
