"""One language at a time on the Python side: API errors, notifications (in the recipient's language, stored as
sent) and policy findings are written once in Chinese through gettext and read in English when asked."""

from __future__ import annotations

import pytest
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.models import Notification
from core.notifications import notify
from institutions import services
from institutions.models import Institution
from tests.conftest import TOWN_A, assert_error, make_user, region
from tests.institutions.test_registry_api import registration

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "lang, field, value, message",
    [
        (None, "contact_phone", "call me", "联系电话格式不正确"),
        ("en", "contact_phone", "call me", "Invalid contact phone"),
        (None, "credit_code", "91350100M000100Y44", "统一社会信用代码无效（18 位，含校验位）"),
        ("en", "credit_code", "91350100M000100Y44", "Invalid unified social credit code (18 characters)"),
    ],
)
def test_api_field_errors_speak_the_callers_language(town_a_staff, api_as, lang, field, value, message):
    error = assert_error(api_as(town_a_staff, lang=lang).post("institutions", registration(**{field: value})), 422)
    assert error["fields"][field] == message


def test_a_broken_rule_is_refused_in_the_callers_language(town_a_staff, institution_staff, institution_a, api_as):
    course = {"name": "绘画", "category": "arts", "mode": "online", "min_age": 4, "max_age": 5}
    change = {"kind": "course", "action": "create", "data": {**course, "class_minutes": 30}}
    for lang, start, words in (
        (None, "该变更不符合规定：", "不得对学龄前儿童开展线上培训"),
        ("en", "This change breaks the rules: ", "no online training for pre-school children"),
    ):
        client = api_as(institution_staff, lang=lang)
        error = assert_error(client.post(f"institutions/{institution_a.pk}/changes", change), 422)
        assert error["message"].startswith(start) and words in error["message"], error


def test_a_notification_is_stored_in_each_recipients_language(institution_a):
    chinese = make_user("中文用户", "institution_staff", institution=institution_a)
    english = make_user("English user", "institution_staff", institution=institution_a)
    english.language = "en"
    english.save(update_fields=["language"])
    notify(
        recipients=[chinese, english],
        kind="test.rectification",
        title=format_lazy(_("整改期限临近：{due_on}"), due_on="2026-06-01"),
        body=_("请及时办理延续手续。"),
    )
    rows = {n.recipient_id: n for n in Notification.objects.filter(kind="test.rectification")}
    assert (rows[chinese.pk].title, rows[chinese.pk].body) == ("整改期限临近：2026-06-01", "请及时办理延续手续。")
    assert (rows[english.pk].title, rows[english.pk].body) == (
        "Rectification due soon: 2026-06-01",
        "Renew the licence before it expires.",
    )


def test_a_service_notification_reads_in_english_for_an_english_reader(town_a_staff, institution_a):
    reader = make_user("Staff", "institution_staff", institution=institution_a)
    reader.language = "en"
    reader.save(update_fields=["language"])
    services.institution_change_status(
        actor=town_a_staff, institution_id=institution_a.pk, to_status="licensed", reason="许可证已核发"
    )
    row = Notification.objects.get(recipient=reader, kind="institution.status_changed")
    assert row.title.startswith("Institution status changed: ")
    assert not any("\u4e00" <= c <= "\u9fff" for c in row.title), row.title
    assert Institution.objects.get(pk=institution_a.pk).status == "licensed"
    assert region(TOWN_A).pk == institution_a.town_id


def test_a_reader_who_switches_language_gets_the_next_notification_in_it(institution_a, settings):
    settings.AUTH_CACHE_SECONDS, settings.AUTH_LOCAL_SECONDS = 120, 30  # recipients' languages kept per process
    reader = make_user("Reader", "institution_staff", institution=institution_a)

    def told() -> str:
        notify(recipients=[reader], kind="test.switch", title=_("请及时办理延续手续。"))
        return Notification.objects.filter(recipient=reader, kind="test.switch").latest("pk").title

    assert told() == "请及时办理延续手续。"
    assert told() == "请及时办理延续手续。"  # read from the kept choice where the process listens
    reader.language = "en"
    reader.save(update_fields=["language"])
    assert told() == "Renew the licence before it expires."
