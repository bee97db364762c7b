"""Audit events are append-only, written with the change, and readable (not editable) in the admin."""

import pytest
from django.db import DatabaseError, connection, transaction

from core.audit import audit_log
from core.context import current_ip
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_an_event_records_who_what_from_to_and_where(parent):
    token = current_ip.set("192.0.2.7")
    try:
        event = audit_log(actor=parent, verb="thing.change", obj=parent, from_state="a", to_state="b", data={"k": 1})
    finally:
        current_ip.reset(token)
    event.refresh_from_db()
    assert (event.actor, event.verb, event.object_type, event.object_id) == (
        parent, "thing.change", "accounts.user", str(parent.pk)
    )
    assert (event.from_state, event.to_state, event.data, event.ip) == ("a", "b", {"k": 1}, "192.0.2.7")
    assert event.at is not None


def test_events_cannot_be_changed_or_deleted_through_the_orm(parent):
    event = audit_log(actor=parent, verb="x", object_type="t", object_id=1)
    event.verb = "y"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(verb="y")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).verb == "x"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database trigger exists on PostgreSQL only")
def test_postgresql_refuses_raw_updates(parent):
    event = audit_log(actor=parent, verb="x", object_type="t", object_id=1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET verb = 'y' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).verb == "x"


def test_an_event_rolls_back_with_its_change(parent):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_log(actor=parent, verb="doomed", object_type="t", object_id=1)
        raise RuntimeError
    assert not AuditEvent.objects.filter(verb="doomed").exists()


def test_admin_lists_and_filters_events_read_only(admin_client, parent):
    audit_log(actor=parent, verb="auth.login", object_type="accounts.authsession", object_id=1)
    audit_log(actor=parent, verb="user.register", object_type="accounts.user", object_id=parent.pk)
    page = admin_client.get("/admin/core/auditevent/?verb=auth.login")
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert admin_client.get("/admin/core/auditevent/add/").status_code == 403
    event = AuditEvent.objects.first()
    detail = admin_client.get(f"/admin/core/auditevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert b'name="verb"' not in detail.content  # shown, not editable
    assert admin_client.post(f"/admin/core/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
