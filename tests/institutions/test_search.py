"""Text search of the registry: the same answers on both databases, and on PostgreSQL from the bigram index.

On PostgreSQL a text of 2 characters or more is matched through a GIN index of the name's and the initials' bigrams
(institutions migration 0004), then checked as a substring; the reference below is what a person expects.
"""

import json

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from institutions.models import Institution
from institutions.selectors import matching_text
from mobile_api.routers.institutions import InstitutionPage
from tests.conftest import ApiClient
from tests.institutions.helpers import make_institution

pytestmark = pytest.mark.django_db

NAMES = ["重庆新东方学校", "涪陵美术中心", "ABC English 少儿英语", "50% 折扣 培训_班", "乐学书法", "学而思 XES", "美"]


def reference(names_and_initials, codes, text: str) -> set[str]:
    text = text.strip()
    if not text:
        return {name for name, _ in names_and_initials}
    return {
        name
        for (name, initials), code in zip(names_and_initials, codes, strict=True)
        if text.lower() in name.lower() or text.lower() in initials or code == text.upper()
    }


@pytest.fixture
def registry(db):
    made = [make_institution(name) for name in NAMES]
    return [(i.name, i.name_initials) for i in made], [i.credit_code for i in made]


@pytest.mark.parametrize(
    "text",
    [
        "美术",
        "美",
        "xdf",
        "XDF",
        "新东方",
        "english",
        "50%",
        "_班",
        "%",
        "_",
        "s x",
        "方学",
        "fxx",
        "cqxdfxx",
        "  美术 ",
    ],
)
def test_search_answers_what_a_person_expects(registry, text):
    found = set(matching_text(Institution.objects.all(), text).values_list("name", flat=True))
    assert found == reference(*registry, text)


def test_the_exact_credit_code_finds_its_institution(registry):
    names, codes = registry
    found = matching_text(Institution.objects.all(), codes[1].lower()).values_list("name", flat=True)
    assert list(found) == [names[1][0]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet="美术新东方学校xdfsXES 5%_班乐a", min_size=1, max_size=5))
def test_any_text_matches_like_the_reference(registry, text):
    found = set(matching_text(Institution.objects.all(), text).values_list("name", flat=True))
    assert found == reference(*registry, text)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bigram index exists on PostgreSQL only")
def test_postgresql_answers_a_search_from_the_bigram_index(registry):
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a tiny table: make the planner show what it can use
        try:
            # Unordered: with the name order, the (name, id) index of the registry's pages may be chosen instead.
            plan = matching_text(Institution.objects.all(), "美术").order_by().explain()
        finally:
            cursor.execute("RESET enable_seqscan")
    assert "institution_search_bigrams" in plan


def test_the_public_page_is_what_its_schema_says(registry):
    body = ApiClient().get("institutions", {"q": "学校", "page_size": 50})
    assert body.status_code == 200
    data = json.loads(body.content)
    assert InstitutionPage.model_validate(data).model_dump(mode="json") == data
    assert data["count"] == 1 and data["items"][0]["name"] == "重庆新东方学校"
