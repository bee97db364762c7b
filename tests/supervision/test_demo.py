"""The demo has complaints in every state, made through the services, and a second run adds nothing."""

import pytest
from django.core.management import call_command

from core.models import AuditEvent, Notification
from supervision.models import AnswerTemplate, Complaint, ComplaintPhoto, ComplaintStatus, StatementRequest

pytestmark = pytest.mark.django_db


def test_the_demo_has_complaints_in_every_state_and_is_idempotent(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    statuses = set(Complaint.objects.values_list("status", flat=True))
    assert statuses == set(ComplaintStatus.values)
    assert Complaint.objects.filter(handler__isnull=True, status="submitted").exists()  # the district queue
    assert Complaint.objects.filter(merged_into__isnull=False).exists()
    assert Complaint.objects.filter(sla_escalated=True).exists()
    assert Complaint.objects.filter(closed_how="auto").exists() and Complaint.objects.filter(rating=4).exists()
    assert StatementRequest.objects.filter(state="answered").exists()
    # Issue 17: the demo institution has a request to answer in the browser; the parent one to complete with photos
    # and an answer to rate, of which she was texted.
    assert StatementRequest.objects.filter(state="open", institution__name="涪陵区小画家美术培训学校").exists()
    assert Complaint.objects.filter(paused_since__isnull=False, status="assigned").exists()
    assert AuditEvent.objects.filter(verb="complaint.outcome_sms").count() >= 3
    assert ComplaintPhoto.objects.filter(state="ready").exists()
    assert AnswerTemplate.objects.filter(is_active=True).count() == 4  # the desk's answer templates
    assert AuditEvent.objects.filter(verb="complaint.press").exists()  # the overdue one was pressed (督办)
    counts = (Complaint.objects.count(), AuditEvent.objects.count(), Notification.objects.count())
    call_command("seed_demo")
    assert (Complaint.objects.count(), AuditEvent.objects.count(), Notification.objects.count()) == counts
