"""Open311 GeoReport v2 at /open311/v2/: a civic-reporting client files and follows complaints.

The journey uses the `georeport` client from PyPI as an outside client against a live server, in JSON and XML.
georeport 0.3.1 reads (services, definitions, requests) but has no call to create a request, so the POST is made
with `requests`, as its users do. The other tests use Django's test client: errors in the spec's shape with the
right status, idempotent resends, the throttle, and lists whose query count does not grow with their length."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from georeport import GeoReport

from accounts.models import Role
from supervision.complaints import services
from supervision.complaints.open311 import services as open311
from supervision.models import Complaint, Open311Request, RoutingRule
from tests.conftest import DISTRICT, TOWN_A, make_user, region

ROOT = "/open311/v2"
REPORTER = {"first_name": "小明", "last_name": "陈", "email": "chen.reporter@example.com", "phone": "13912345678"}
DESCRIPTION = "机构拒绝退还剩余课时费用，多次沟通无果。"


@pytest.fixture
def supervisor(db):
    return make_user("周局长", Role.BUREAU_ADMIN, region=region(DISTRICT))


@pytest.fixture
def handler(registered, staff_a):
    RoutingRule.objects.create(town=registered.town, category=None, handler=staff_a)
    services.clear_routing_cache()
    return staff_a


@pytest.fixture
def api_key(supervisor):
    _client, key = open311.client_register(actor=supervisor, name="随手拍", requests_per_minute=30)
    return key


def filing(key, registered, **extra):
    data = {
        "api_key": key,
        "service_code": "refund",
        "lat": "29.703",
        "long": "107.389",
        "description": DESCRIPTION,
        "attribute[institution_id]": str(registered.pk),
        **REPORTER,
    }
    return {k: v for k, v in {**data, **extra}.items() if v is not None}


@pytest.mark.django_db(transaction=True)
def test_a_civic_client_files_and_follows_a_complaint_with_georeport(live_server, registered, handler, api_key):
    root = live_server.url + ROOT
    client = GeoReport(root, api_key=api_key)
    xml_client = GeoReport(root, api_key=api_key, output_format="xml")

    discovery = requests.get(root + "/discovery.json", timeout=10).json()
    assert discovery["endpoints"][0]["url"] == root
    assert "text/xml" in discovery["endpoints"][0]["formats"]

    codes = {s["service_code"] for s in client.get_service_list()}
    assert {"refund", "unlicensed", "over_hours"} <= codes
    assert {s["service_code"] for s in xml_client.get_service_list()} == codes
    definition = client.get_service_definition("refund")
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert attributes["town"]["datatype"] == "singlevaluelist"
    assert {"key": TOWN_A, "name": "敦仁街道"} in attributes["town"]["values"]
    assert xml_client.get_service_definition("refund")["service_code"] == "refund"

    posted = requests.post(root + "/requests.json", data=filing(api_key, registered), timeout=10)
    assert posted.status_code == 201, posted.text
    [answer] = posted.json()
    number, token = answer["service_request_id"], answer["token"]
    complaint = Complaint.objects.get(tracking_number=number)
    assert complaint.handler == handler and complaint.institution == registered  # routed like any filing

    again = requests.post(root + "/requests.json", data=filing(api_key, registered), timeout=10)
    assert again.status_code == 200 and again.json()[0]["service_request_id"] == number
    assert Complaint.objects.count() == 1

    tokens = requests.get(f"{root}/tokens/{token}.json", timeout=10).json()
    assert tokens == [{"service_request_id": number, "token": token}]

    followed = client.get_service_request(number)
    assert followed["status"] == "open" and followed["service_code"] == "refund"
    assert followed["status_notes"] == "已提交"
    assert [r["service_request_id"] for r in client.get_service_requests(status="open")] == [number]
    assert client.get_service_requests(status="closed") == []

    for action, data in [
        ("accept", {}),
        ("start", {}),
        ("answer", {"outcome": "substantiated", "answer": "经核实属实，已责令机构退费。"}),
    ]:
        if action == "start":
            services.complaint_act(actor=handler, complaint_id=complaint.pk, action="assign", data={})
        services.complaint_act(actor=handler, complaint_id=complaint.pk, action=action, data=data)
    closed = client.get_service_request(number)
    assert closed["status"] == "closed" and "属实" in closed["status_notes"]
    in_xml = xml_client.get_service_request(number)
    assert in_xml["status"] == "closed" and in_xml["service_request_id"] == number

    # Nobody learns who reported it, in any answer.
    for path in (f"/requests/{number}.json", f"/requests/{number}.xml", "/requests.json", "/requests.xml"):
        body = requests.get(root + path, timeout=10).text
        for value in REPORTER.values():
            assert value not in body, (path, value)
    assert Open311Request.objects.get().email == REPORTER["email"]  # kept for the bureau


@pytest.fixture
def filed(client, registered, handler, api_key):
    response = client.post(f"{ROOT}/requests.json", filing(api_key, registered))
    assert response.status_code == 201, response.content
    return response.json()[0]["service_request_id"]


def spec_error(response, status: int) -> str:
    """The spec's error shape: a list of {code, description}, in JSON or XML."""
    assert response.status_code == status, response.content
    if response["Content-Type"].startswith("text/xml"):
        root = ET.fromstring(response.content)
        assert root.tag == "errors"
        [error] = root.findall("error")
        assert error.findtext("code") == str(status)
        return error.findtext("description")
    [error] = json.loads(response.content)
    assert set(error) == {"code", "description"} and error["code"] == status
    assert error["description"]
    return error["description"]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_filings_get_the_specs_errors(client, registered, handler, api_key, fmt):
    url = f"{ROOT}/requests.{fmt}"
    assert "service_code" in spec_error(client.post(url, filing(api_key, registered, service_code="nope")), 400)
    no_place = filing(api_key, registered, lat=None, long=None)
    assert "address_string" in spec_error(client.post(url, no_place), 400)
    spec_error(client.post(url, filing(api_key, registered, long=None)), 400)  # half a point
    spec_error(client.post(url, filing(api_key, registered, lat="48.85", long="2.35")), 400)  # Paris
    spec_error(client.post(url, filing(api_key, registered, lat="nan", long="NaN")), 400)
    spec_error(client.post(url, filing(api_key, registered, description="太短")), 400)
    spec_error(client.post(url, filing(api_key, registered, **{"attribute[institution_id]": "abc"})), 400)
    spec_error(client.post(url, filing(None, registered)), 403)
    spec_error(client.post(url, filing("sjo_forged", registered)), 403)
    assert not Complaint.objects.exists()


@pytest.mark.django_db
def test_unknown_things_are_404_and_unknown_formats_400(client, filed):
    spec_error(client.get(f"{ROOT}/services/nope.json"), 404)
    spec_error(client.get(f"{ROOT}/requests/TS-19990101-0001.xml"), 404)
    spec_error(client.get(f"{ROOT}/tokens/not-a-token.json"), 404)
    spec_error(client.get(f"{ROOT}/tokens/00000000-0000-0000-0000-000000000000.json"), 404)
    spec_error(client.get(f"{ROOT}/services.csv"), 400)
    spec_error(client.get(f"{ROOT}/requests.json", {"start_date": "yesterday"}), 400)
    spec_error(client.get(f"{ROOT}/requests.json", {"status": "pending"}), 400)
    too_long = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-12-01T00:00:00Z"}  # more than 90 days
    spec_error(client.get(f"{ROOT}/requests.json", too_long), 400)
    assert client.get(f"{ROOT}/services", {"format": "xml"})["Content-Type"].startswith("text/xml")
    assert client.get(f"{ROOT}/requests.json", {"service_request_id": filed}).json()[0]["service_request_id"] == filed


@pytest.mark.django_db
def test_a_new_operator_is_named_by_attributes_and_address(client, registered, handler, api_key):
    data = filing(api_key, registered, **{"attribute[institution_id]": None})
    spec_error(client.post(f"{ROOT}/requests.json", data), 400)  # no institution at all
    data["attribute[institution_name]"] = "某小区家教点"
    spec_error(client.post(f"{ROOT}/requests.json", data), 400)  # not in the registry: which town?
    data["attribute[town]"] = TOWN_A
    data["address_string"] = "敦仁街道某小区 3 栋"
    response = client.post(f"{ROOT}/requests.json", data)
    assert response.status_code == 201, response.content
    complaint = Complaint.objects.get()
    assert complaint.institution.name == "某小区家教点" and complaint.institution.status == "unlicensed"
    assert complaint.institution_reported_as_new


@pytest.mark.django_db
def test_a_client_is_throttled_per_minute(client, registered, handler, supervisor, time_machine):
    time_machine.move_to(timezone.now().replace(second=5), tick=False)  # the three inside one window of a minute
    _c, key = open311.client_register(actor=supervisor, name="小程序", requests_per_minute=2)
    for i in range(2):
        data = filing(key, registered, description=f"{DESCRIPTION}（第 {i + 1} 次）")
        assert client.post(f"{ROOT}/requests.json", data).status_code == 201
    third = client.post(f"{ROOT}/requests.json", filing(key, registered))
    spec_error(third, 429)
    assert int(third["Retry-After"]) <= 60
    assert Complaint.objects.count() == 2


@pytest.mark.django_db
def test_the_same_idempotency_key_with_another_request_is_refused(client, registered, handler, api_key):
    headers = {"HTTP_IDEMPOTENCY_KEY": "open311-retry-0001"}
    assert client.post(f"{ROOT}/requests.json", filing(api_key, registered), **headers).status_code == 201
    assert client.post(f"{ROOT}/requests.json", filing(api_key, registered), **headers).status_code == 200
    other = filing(api_key, registered, description="另一件事情，内容完全不同的投诉。")
    spec_error(client.post(f"{ROOT}/requests.json", other, **headers), 400)  # the spec has no 409
    assert Complaint.objects.count() == 1


@pytest.mark.django_db
def test_lists_cost_the_same_queries_for_more_requests(client, registered, handler, api_key):
    def count(n):
        for i in range(n):
            data = filing(api_key, registered, description=f"{DESCRIPTION} 第 {n}-{i} 件")
            assert client.post(f"{ROOT}/requests.json", data).status_code == 201
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{ROOT}/requests.xml").status_code == 200
        return len(queries)

    assert count(2) == count(12)
    assert len(client.get(f"{ROOT}/requests.json").json()) == 14


FIELDS = ["service_code", "lat", "long", "address_string", "description", "email", "phone", "first_name",
          "attribute[institution_id]", "attribute[institution_name]", "attribute[town]", "attribute[occurred_at]",
          "attribute[verification_token]"]  # fmt: skip


@pytest.mark.django_db
def test_no_input_breaks_the_open311_endpoints(client, registered, handler, api_key):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60)
    values = st.one_of(text, st.sampled_from(["refund", "29.7", "107.39", "nan", "1e999", "-0", TOWN_A, "9" * 30]))

    @settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(form=st.dictionaries(st.sampled_from(FIELDS), values, max_size=8), query=st.dictionaries(
        st.sampled_from(["service_request_id", "service_code", "start_date", "end_date", "status", "format"]), text,
        max_size=3))
    def check(form, query):
        posted = client.post(f"{ROOT}/requests.json", {"api_key": api_key, **form})
        assert posted.status_code < 500, (form, posted.content)
        got = client.get(f"{ROOT}/requests", query)
        assert got.status_code < 500, (query, got.content)

    check()


@pytest.mark.django_db
def test_a_malformed_body_is_a_400_in_the_specs_shape(client):
    response = client.generic(
        "POST", f"{ROOT}/requests.json", b"--x\r\nbroken", content_type="multipart/form-data"
    )
    spec_error(response, 400)
