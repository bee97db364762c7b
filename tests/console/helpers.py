"""Data for the console's tests: institutions, complaints, visits, orders and penalties in bulk (few queries)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from institutions.models import Institution
from supervision.complaints.models import Complaint, ComplaintCategory
from tests.conftest import make_user
from tests.factories import InstitutionFactory, region

_n = itertools.count(1)


def institutions(n: int, town: str, **extra) -> list[Institution]:
    return [
        InstitutionFactory(name=f"机构{next(_n)}", town=region(town), token=False, **extra) for _ in range(n)
    ]


def complaints(n: int, institution: Institution, *, parent=None, overdue: bool = False, **extra) -> list[Complaint]:
    parent = parent or make_user(f"家长{next(_n)}")
    category = ComplaintCategory.objects.order_by("code").first()
    today = timezone.localdate()
    rows = [
        Complaint(
            tracking_number=f"T{next(_n):08d}",
            parent=parent,
            institution=institution,
            town_id=institution.town_id,
            category=category,
            description="测试",
            occurred_at=timezone.now(),
            status="accepted",
            sla_phase="answer",
            sla_started_on=today - timedelta(days=30),
            sla_due_on=today - timedelta(days=1) if overdue else today + timedelta(days=5),
            **extra,
        )
        for _ in range(n)
    ]
    return Complaint.objects.bulk_create(rows)
