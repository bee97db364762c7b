"""A change proposal is reviewed once: the review moves it pending -> approved or rejected through core.transitions,
with one audit event from -> to; two reviews at once (production lane) leave one winner."""

from __future__ import annotations

import pytest
from django.db import connection

from core.errors import DomainError
from core.models import AuditEvent
from institutions import services
from institutions.models import ChangeProposal
from tests.concurrency import race
from tests.factories import CourseFactory


def _proposal(institution_staff, institution) -> ChangeProposal:
    course = CourseFactory(institution=institution)
    return services.proposal_submit(
        actor=institution_staff, institution_id=institution.pk, kind="course", action="delete", target_id=course.pk
    )


@pytest.mark.django_db
def test_a_review_is_one_audit_event_from_pending_to_rejected(institution_staff, institution_a, town_a_staff):
    proposal = _proposal(institution_staff, institution_a)
    services.proposal_review(actor=town_a_staff, proposal_id=proposal.pk, approve=False, note="仍有学员")
    with pytest.raises(DomainError) as refused:
        services.proposal_review(actor=town_a_staff, proposal_id=proposal.pk, approve=True)
    assert (refused.value.code, refused.value.status) == ("proposal.not_pending", 409)
    events = AuditEvent.objects.filter(verb="proposal.review", object_id=str(proposal.pk))
    assert [(e.from_state, e.to_state, e.actor_id) for e in events] == [("pending", "rejected", town_a_staff.pk)]
    proposal.refresh_from_db()
    assert (proposal.state, proposal.reviewed_by_id, proposal.review_note) == ("rejected", town_a_staff.pk, "仍有学员")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: production lane")
def test_an_approval_and_a_rejection_at_once_review_once(institution_staff, institution_a, town_a_staff):
    proposal = _proposal(institution_staff, institution_a)
    results = race([
        lambda: services.proposal_review(actor=town_a_staff, proposal_id=proposal.pk, approve=True),
        lambda: services.proposal_review(actor=town_a_staff, proposal_id=proposal.pk, approve=False),
    ])
    losses = [r for r in results if isinstance(r, DomainError)]
    assert len(losses) == 1 and losses[0].code == "proposal.not_pending", results
    proposal.refresh_from_db()
    events = AuditEvent.objects.filter(verb="proposal.review", object_id=str(proposal.pk))
    assert [(e.from_state, e.to_state) for e in events] == [("pending", proposal.state)]
