"""The registry console: signed-in staff list and search institutions, open the public page and the poster."""

import pytest
from django.test import Client

from accounts import scope
from tests.conftest import TOWN_B, make_user, region
from tests.institutions.helpers import make_institution

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/registry/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_bureau_staff_see_every_status_with_links(bureau_staff):
    licensed = make_institution("甲美术培训学校")
    make_institution("乙体育培训中心", status="suspended", town=TOWN_B)
    page = signed_in(bureau_staff).get("/registry/")
    html = page.content.decode()
    assert "甲美术培训学校" in html and "乙体育培训中心" in html
    token = licensed.tokens.get(revoked_at__isnull=True).token
    assert f"/v/{token}" in html and f"/registry/{licensed.pk}/poster.png" in html


def test_search_by_pinyin_initials(bureau_staff):
    make_institution("重庆新东方学校")
    make_institution("涪陵美术中心")
    html = signed_in(bureau_staff).get("/registry/", {"q": "xdf"}).content.decode()
    assert "重庆新东方学校" in html and "涪陵美术中心" not in html


def test_a_parent_sees_only_the_whitelist_and_no_posters(parent):
    make_institution("甲美术培训学校")
    hidden = make_institution("停业机构", status="suspended")
    html = signed_in(parent).get("/registry/").content.decode()
    assert "甲美术培训学校" in html and "停业机构" not in html
    assert "poster.png" not in html
    assert signed_in(parent).get(f"/registry/{hidden.pk}/poster.png").status_code == 404


def test_the_poster_is_served_to_the_bureau(bureau_staff):
    inst = make_institution("甲美术培训学校")
    response = signed_in(bureau_staff).get(f"/registry/{inst.pk}/poster.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_page_costs_the_same_queries_for_10_and_50_rows(bureau_staff, django_assert_max_num_queries):
    client = signed_in(bureau_staff)
    for i in range(10):
        make_institution(f"机构{i:02d}")
    scope.town_ids(bureau_staff)  # the region tree is read once per process (accounts.scope), not per request
    client.get("/registry/")  # who is signed in is kept after the first page (accounts.authcache)
    with django_assert_max_num_queries(12) as small:
        client.get("/registry/")
    for i in range(10, 50):
        make_institution(f"机构{i:02d}")
    with django_assert_max_num_queries(12) as large:
        client.get("/registry/")
    assert len(small.captured_queries) == len(large.captured_queries)


def test_other_institution_staff_get_404_on_a_poster(institution_a):
    from accounts.models import Role

    other = make_institution("别家")
    user = make_user("别家员工", Role.INSTITUTION_STAFF, institution=other)
    assert signed_in(user).get(f"/registry/{institution_a.pk}/poster.png").status_code == 404


# --- Twenty a page, searched and filtered on the server, within what the user may list ----------------------------


def test_the_registry_shows_twenty_a_page_with_links_that_keep_the_filters(bureau_staff):
    for i in range(45):
        make_institution(f"机构{i:02d}")
    client = signed_in(bureau_staff)
    first = client.get("/registry/")
    assert len(first.context["page"].object_list) == 20 and first.context["page"].paginator.num_pages == 3
    html = first.content.decode()
    assert 'data-testid="pager"' in html and 'href="?page=2"' in html
    third = client.get("/registry/", {"page": 3})
    assert len(third.context["page"].object_list) == 5
    filtered = client.get("/registry/", {"status": "licensed", "q": "机构", "page": 2}).content.decode()
    assert "?q=%E6%9C%BA%E6%9E%84&amp;status=licensed&amp;page=3" in filtered
    assert "?q=%E6%9C%BA%E6%9E%84&amp;status=licensed&amp;page=1" in filtered


def test_the_registry_filters_by_town_and_status(bureau_staff):
    make_institution("甲美术培训学校")
    make_institution("乙体育培训中心", status="suspended", town=TOWN_B)
    make_institution("丙书法培训中心", town=TOWN_B)
    client = signed_in(bureau_staff)
    by_town = client.get("/registry/", {"town": region(TOWN_B).pk}).content.decode()
    assert "乙体育培训中心" in by_town and "丙书法培训中心" in by_town and "甲美术培训学校" not in by_town
    by_both = client.get("/registry/", {"town": region(TOWN_B).pk, "status": "suspended"}).content.decode()
    assert "乙体育培训中心" in by_both and "丙书法培训中心" not in by_both
    nonsense = client.get("/registry/", {"town": "x'; drop", "status": "nope", "page": "zz"})
    assert nonsense.status_code == 200 and nonsense.context["page"].paginator.count == 3


def test_a_parent_cannot_filter_their_way_past_the_whitelist(parent):
    make_institution("停业机构", status="suspended")
    response = signed_in(parent).get("/registry/", {"status": "suspended"})
    assert "停业机构" not in response.content.decode()
    assert {value for value, _label in response.context["statuses"]} == {"licensed", "rectifying"}
    assert response.context["status"] == ""  # a status a parent may not filter by is dropped, not obeyed
