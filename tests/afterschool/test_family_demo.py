"""The demo has a school ready to try each fee, family and coach page: run twice, nothing is added twice."""

import pytest
from django.core.management import call_command

from accounts.models import User
from afterschool.family.models import ChildLinkRequest, GuardianPhone
from afterschool.fees.models import Bill, Exemption
from afterschool.schedule.models import ChoiceWindow, Term
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_the_demo_has_something_on_each_page():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    counts = (GuardianPhone.objects.count(), ChildLinkRequest.objects.count(), Bill.objects.count(),
              ChoiceWindow.objects.count())  # fmt: skip
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert counts == (GuardianPhone.objects.count(), ChildLinkRequest.objects.count(), Bill.objects.count(),
                      ChoiceWindow.objects.count())  # fmt: skip

    school_admin, parent = User.objects.get(username="school"), User.objects.get(phone="13900000008")
    term = Term.objects.get(school__name="涪陵区实验小学", name="2026 秋季学期")
    page = client_for(school_admin).get(f"/afterschool/fees/terms/{term.pk}/").content.decode()
    assert 'data-testid="exemption-approve"' in page and Bill.objects.filter(term=term).exists()
    assert Exemption.objects.filter(term=term, status="applied").exists()
    assert 'data-testid="link-request"' in client_for(school_admin).get("/afterschool/link-requests/").content.decode()
    child = parent.children.order_by("school_class__grade").first()
    html = client_for(parent).get(f"/afterschool/children/{child.pk}/").content.decode()
    assert "合唱团与创客空间志愿填报" in html and 'data-testid="payment-code"' in html
    bureau = User.objects.get(username="staff")
    assert client_for(bureau).get("/afterschool/fees/approvals/").status_code == 200
    coach = User.objects.get(username="outside1")
    assert client_for(coach).get("/afterschool/coach/").status_code == 200
    institution = User.objects.get(username="institution")
    assert 'data-testid="person"' in client_for(institution).get("/afterschool/coach/people/").content.decode()
