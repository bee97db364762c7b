"""The frame of every page (templates/base.html + portal/context_processors.py): the menu of the person's roles
(a tab bar and a side menu), the current page marked, a way back, the unread count in the header (one query, once
per request) and the language switch, remembered per person."""

import re

import pytest
from django.test import Client

from core.notifications import notify
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(user) -> Client:
    client = Client()
    assert client.login(username=user.phone or user.username, password=PASSWORD)
    return client


def unread_badge(html: str) -> str:
    match = re.search(r'<span class="badge" data-unread-count data-testid="unread-count"( hidden)?>(\d+)</span>', html)
    assert match, "no unread count in the header"
    return ("hidden " if match.group(1) else "") + match.group(2)


def test_the_header_shows_the_unread_count(parent, other_parent):
    client = sign_in(parent)
    assert unread_badge(client.get("/notifications/").content.decode()) == "hidden 0"
    notify(recipients=[parent], kind="k", title="a")
    notify(recipients=[parent, other_parent], kind="k", title="b")
    html = client.get("/afterschool/children/").content.decode()
    assert unread_badge(html) == "2"
    assert 'aria-label="通知，2 条未读"' in html
    client.post("/notifications/read-all")
    assert unread_badge(client.get("/afterschool/children/").content.decode()) == "hidden 0"


def test_the_unread_count_costs_one_query_per_request(parent, django_assert_num_queries):
    from django.template import RequestContext, Template
    from django.test import RequestFactory

    from accounts.selectors import memberships_of

    request = RequestFactory().get("/")
    request.user = parent
    memberships_of(parent)  # read by every signed-in page anyway
    template = Template("{{ frame.unread }}{{ frame.unread }}{% for i in frame.items %}{% endfor %}{{ frame.unread }}")
    notify(recipients=[parent], kind="k", title="a")
    with django_assert_num_queries(1):
        assert template.render(RequestContext(request)) == "111"


def test_signed_in_pages_carry_the_tab_bar_and_the_side_menu_with_the_current_page(parent):
    html = sign_in(parent).get("/afterschool/children/").content.decode()
    tab_bar = html.split('data-testid="tab-bar"')[1]
    side = html.split('data-testid="side-menu"')[1].split("</nav>")[0]
    assert side.count("aria-current") == 1
    assert re.search(r'href="/afterschool/children/" data-menu="my-children" aria-current="page"', side)
    tabs = tab_bar.split("<details>")[0]
    assert tabs.count("<li>") == 4 and "更多" in tab_bar
    assert 'data-menu="registry"' in tab_bar.split("<details>")[1]  # the fifth and later entries under "更多"
    assert 'data-testid="back"' in html and 'class="back" href="/"' in html


def test_home_has_no_way_back_and_anonymous_pages_no_menu(client, parent):
    home = sign_in(parent).get("/").content.decode()
    assert 'data-testid="tab-bar"' in home and 'data-testid="back"' not in home
    login = client.get("/login/").content.decode()
    assert 'data-testid="tab-bar"' not in login and 'data-testid="side-menu"' not in login
    assert 'data-testid="language-switch"' in login and "data-live" not in login


def test_the_language_chosen_in_the_menu_is_remembered_for_the_next_session(parent):
    first = sign_in(parent)
    menu = first.get("/notifications/").content.decode().split('data-testid="side-menu"')[1]
    assert 'name="language" value="en"' in menu  # the switch is in the menu
    response = first.post("/i18n/setlang/", {"language": "en", "next": "/notifications/"})
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    parent.refresh_from_db()
    assert parent.language == "en"

    later = sign_in(parent)  # a new session, e.g. another phone: no language cookie
    assert "sj_language" not in later.cookies
    html = later.get("/notifications/").content.decode()
    # (the menu's new labels are English once the catalogue is regenerated; "退出" already is)
    assert 'lang="en"' in html and ">Sign out</button>" in html and ">退出</button>" not in html

    later.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    parent.refresh_from_db()
    assert parent.language == "zh-hans"
    assert 'lang="zh-Hans"' in sign_in(parent).get("/notifications/").content.decode()


def test_the_shared_form_partials_show_every_error_beside_its_field_and_in_a_summary():
    from django import forms
    from django.template.loader import render_to_string

    class F(forms.Form):
        phone = forms.CharField(label="手机号")
        name = forms.CharField(label="姓名")

    form = F(data={})
    assert not form.is_valid()
    summary = render_to_string("includes/form_errors.html", {"form": form})
    assert summary.count("<li>") == 2 and 'href="#id_phone"' in summary and 'role="alert"' in summary
    field = render_to_string("includes/field.html", {"field": form["phone"]})
    assert 'class="field has-error"' in field and 'class="field-error"' in field
    plain = render_to_string("includes/field.html", {"name": "code", "label": "验证码", "error": "验证码错误"})
    assert 'aria-invalid="true"' in plain and "验证码错误" in plain
    assert render_to_string("includes/form_errors.html", {"form": F()}).strip() == ""
