"""Schemathesis drives every documented operation with generated input: no input, however odd, may give a 500, and
documented answers must match their schema.

Two runs: signed in as a parent, positive data only, in every `make test`; and signed in as a bureau administrator
(who may call nearly every operation, so the handlers run past their access checks), with positive and negative
data, as the production lane's last step in `.ci/run` (`API_FUZZ=1 ... pytest -m fuzz`), bounded in time."""

import os
import time
from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis import DataGenerationMethod
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.conftest import login_tokens

# django-ninja writes OpenAPI 3.1, which schemathesis 3 reads when told to.
schema = schemathesis.from_wsgi("/api/v1/openapi.json", get_wsgi_application(), force_schema_version="30")
every_kind = schemathesis.from_wsgi(
    "/api/v1/openapi.json",
    get_wsgi_application(),
    force_schema_version="30",
    data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative],
)

# Operations that would end the fuzzing persona's own session mid-run (covered by the login tests).
SIGNS_OUT = {"/api/v1/auth/logout"}
CHECKS = (not_a_server_error, response_schema_conformance)
FUZZ_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "5"))
SENT: Counter = Counter()  # cases sent by the bureau-admin run, by kind of data


@pytest.fixture(scope="module")
def _fuzz_tally(request):
    started = time.monotonic()
    yield
    if SENT:  # on the terminal, not captured: CI's log shows how much was tried
        with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
            print(f"\nschemathesis (bureau admin): {sum(SENT.values())} cases {dict(SENT)}, "
                  f"{time.monotonic() - started:.0f} s")


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django's test client stops request signals from closing the database connection, which holds the test's
    transaction; schemathesis calls the WSGI app directly, so do the same here."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(parent):
    return {"Authorization": f"Bearer {login_tokens(parent)['access']}"}


@pytest.fixture
def bureau_bearer(bureau_admin):
    return {"Authorization": f"Bearer {login_tokens(bureau_admin)['access']}"}


@pytest.mark.django_db
@schema.parametrize()
# Derandomized: CI sees the same examples every run (a failure is reproducible, never a coin toss).
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_operation_breaks_on_generated_input(case, bearer):
    if case.path in SIGNS_OUT:
        return
    response = case.call_wsgi(headers=bearer)
    case.validate_response(response, checks=CHECKS)


@pytest.mark.fuzz
@pytest.mark.skipif(os.environ.get("API_FUZZ") != "1", reason="the production lane's last step in .ci/run")
@pytest.mark.django_db
@every_kind.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_bureau_admin_fuzz_positive_and_negative(case, bureau_bearer, _fuzz_tally):
    if case.path in SIGNS_OUT:
        return
    if case.media_type == "multipart/form-data" and not isinstance(case.body, dict):
        return  # negative data that is not a set of form fields: no client can send it as multipart
    SENT[getattr(case.data_generation_method, "value", "positive")] += 1
    response = case.call_wsgi(headers=bureau_bearer)
    case.validate_response(response, checks=CHECKS)
