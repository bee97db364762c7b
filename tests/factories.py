"""factory-boy factories: one per model that tests create, so a test says only what matters to it.

Every factory makes a valid row on its own (a licensed institution has its licence, a session its staff and term
dates); a test overrides the fields its rule is about. Regions are reference data loaded by a migration, never
made: `town=region(TOWN_A)`. Models are imported from each app's `models` module, which stays the same whatever
package inside the app holds them.
"""

from __future__ import annotations

import io
import itertools
import uuid
from datetime import date, time, timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory
from PIL import Image
from stdnum.cn import uscc

from accounts.models import Membership, Region, SmsCode, User
from afterschool.models import (
    Admission,
    AdmissionDocument,
    Application,
    Attendance,
    Bill,
    ChoiceWindow,
    Exemption,
    OutsidePerson,
    Programme,
    ProhibitedPerson,
    Refund,
    Room,
    School,
    SchoolClass,
    Session,
    Staff,
    Student,
    Term,
    TermDay,
)
from core.models import CalendarDay, PolicyValue, TaskOutbox
from institutions.models import (
    Course,
    EscrowAccount,
    FeePackage,
    Institution,
    ScheduleSlot,
    StaffMember,
    VerificationToken,
)
from supervision.models import (
    Complaint,
    ComplaintCategory,
    Finding,
    Inspection,
    InspectionAssignment,
    InspectionPlan,
    PenaltyDecision,
    RoutingRule,
    VisitRecord,
)

PASSWORD = "Correct-Horse-42"
TOWN_A = "500102006"  # 敦仁街道


def region(code: str) -> Region:
    """The current region of that code (the data migration's rows; reloaded if a transactional test flushed them)."""
    if not Region.objects.exists():
        import importlib

        from django.apps import apps

        importlib.import_module("accounts.migrations.0003_load_fuling_divisions").load(apps, None)
    return Region.objects.get(code=code, valid_to__isnull=True)


_serial = itertools.count(1)


def image_bytes(fmt="JPEG", size=(64, 48), color=(200, 30, 30), exif=None) -> bytes:
    """A small plain picture as a phone or a scanner would upload it (RGBA for PNG)."""
    out = io.BytesIO()
    image = Image.new("RGBA" if fmt == "PNG" else "RGB", size, color)
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def credit_code(n: int | None = None) -> str:
    """A valid unified social credit code (52 = 民办非企业单位, 500102 = Fuling); a new one each call without n."""
    n = next(_serial) if n is None else n
    body = f"52500102MJ{n:07d}"[:17].replace("I", "1").replace("O", "0")
    return body + uscc.calc_check_digit(body)


# --- accounts --------------------------------------------------------------------------------------------------


class UserFactory(DjangoModelFactory):
    """A user who signs in with PASSWORD; `phone` is None unless given."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"u{n:06d}")
    name = factory.Sequence(lambda n: f"用户{n}")
    phone = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", PASSWORD)
        return model_class.objects.create_user(*args, password=password, **kwargs)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    class Params:
        # Tests may still say school=… or institution=…: a membership holds only the place's id.
        school = None
        institution = None

    user = factory.SubFactory(UserFactory)
    role = "parent"
    school_id = factory.LazyAttribute(lambda o: o.school.pk if o.school is not None else None)
    institution_id = factory.LazyAttribute(lambda o: o.institution.pk if o.institution is not None else None)


# --- institutions ----------------------------------------------------------------------------------------------


class InstitutionFactory(DjangoModelFactory):
    """A licensed arts institution of town A with a live QR token."""

    class Meta:
        model = Institution
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"测试培训学校{n}")
    town = factory.LazyFunction(lambda: region(TOWN_A))
    status = "licensed"
    credit_code = factory.LazyFunction(credit_code)
    licence_number = factory.Sequence(lambda n: f"教民150010270{n:06d}号")
    licence_expires_on = date(2099, 8, 31)
    licence_issued_on = factory.LazyAttribute(  # before the expiry date, whatever expiry a test gives
        lambda o: min(date(2024, 9, 1), o.licence_expires_on - timedelta(days=365)) if o.licence_expires_on else None
    )
    category = "arts"
    mode = "offline"
    address = "涪陵区测试路 1 号"

    @factory.post_generation
    def token(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            VerificationToken.objects.create(institution=obj)


class VerificationTokenFactory(DjangoModelFactory):
    """A new live QR token of an institution (the older ones are rotated out by the service, not here)."""

    class Meta:
        model = VerificationToken

    institution = factory.SubFactory(InstitutionFactory, token=False)


class CourseFactory(DjangoModelFactory):
    class Meta:
        model = Course

    institution = factory.SubFactory(InstitutionFactory)
    name = "美术基础"
    category = factory.LazyAttribute(lambda o: o.institution.category)
    mode = "offline"
    class_minutes = 60


class FeePackageFactory(DjangoModelFactory):
    class Meta:
        model = FeePackage

    course = factory.SubFactory(CourseFactory)
    hours = 40
    months = 3
    name = factory.LazyAttribute(lambda o: f"{o.hours}课时")
    price = Decimal("3000.00")


# --- afterschool ----------------------------------------------------------------------------------------------


class SchoolFactory(DjangoModelFactory):
    class Meta:
        model = School

    name = factory.Sequence(lambda n: f"测试小学{n}")
    town = factory.LazyFunction(lambda: region(TOWN_A))


class TermFactory(DjangoModelFactory):
    """The autumn term of 2026."""

    class Meta:
        model = Term

    school = factory.SubFactory(SchoolFactory)
    name = "2026 秋季学期"
    starts_on = date(2026, 9, 1)
    ends_on = date(2026, 12, 31)


class SchoolClassFactory(DjangoModelFactory):
    class Meta:
        model = SchoolClass

    school = factory.SubFactory(SchoolFactory)
    grade = 3
    number = factory.Sequence(lambda n: n + 1)
    class_teacher = None


class RoomFactory(DjangoModelFactory):
    class Meta:
        model = Room

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"教室{n}")


class StudentFactory(DjangoModelFactory):
    """A pupil of a class; `guardians=[user, ...]` links parents."""

    class Meta:
        model = Student
        skip_postgeneration_save = True

    school_class = factory.SubFactory(SchoolClassFactory)
    school = factory.LazyAttribute(lambda o: o.school_class.school)
    name = factory.Sequence(lambda n: f"学生{n}")

    @factory.post_generation
    def guardians(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.guardians.add(*extracted)


class ProgrammeFactory(DjangoModelFactory):
    class Meta:
        model = Programme

    term = factory.SubFactory(TermFactory)
    school = factory.LazyAttribute(lambda o: o.term.school)
    name = factory.Sequence(lambda n: f"项目{n}")
    kind = "reading"
    capacity = 30
    grade_min = 1
    grade_max = 6


class StaffFactory(DjangoModelFactory):
    """A school's staff row for a user (one per school and user)."""

    class Meta:
        model = Staff
        django_get_or_create = ("school", "user")

    school = factory.SubFactory(SchoolFactory)
    user = factory.SubFactory(UserFactory)
    name = factory.LazyAttribute(lambda o: o.user.name)


class OutsideStaffFactory(StaffFactory):
    """A staff row of a school for an outside person admitted to it."""

    class Meta:
        model = Staff
        django_get_or_create = ()

    user = None
    kind = "outside"
    outside_person = factory.SubFactory("tests.factories.OutsidePersonFactory")
    name = factory.LazyAttribute(lambda o: o.outside_person.name)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """An outside person is staffed only with a valid admission to the school: one is made if none is given."""
        person, school = kwargs["outside_person"], kwargs["school"]
        if not Admission.objects.filter(person=person, school=school, status="admitted").exists():
            AdmissionFactory(person=person, school=school, status="admitted")
        return super()._create(model_class, *args, **kwargs)


class SessionFactory(DjangoModelFactory):
    """A weekly session, Wednesdays 16:00-18:00 over the programme's term."""

    class Meta:
        model = Session

    programme = factory.SubFactory(ProgrammeFactory)
    school = factory.LazyAttribute(lambda o: o.programme.school)
    weekday = 2
    starts_at = time(16, 0)
    ends_at = time(18, 0)
    room = None
    staff = factory.SubFactory(StaffFactory, school=factory.SelfAttribute("..school"))
    first_date = factory.LazyAttribute(lambda o: o.programme.term.starts_on)
    last_date = factory.LazyAttribute(lambda o: o.programme.term.ends_on)


class EnrolmentFactory(DjangoModelFactory):
    """An approved place of a student on a programme."""

    class Meta:
        model = Application

    student = factory.SubFactory(StudentFactory)
    programme = factory.SubFactory(ProgrammeFactory)
    status = Application.Status.APPROVED
    active_from = date(2026, 9, 1)


class AttendanceFactory(DjangoModelFactory):
    """A mark of a student at a session on the session's first date (present unless told)."""

    class Meta:
        model = Attendance

    session = factory.SubFactory(SessionFactory)
    student = factory.SubFactory(StudentFactory, school_class__school=factory.SelfAttribute("...session.school"))
    date = factory.LazyAttribute(lambda o: o.session.first_date)
    mark = "present"
    client_uuid = factory.LazyFunction(uuid.uuid4)


class TermDayFactory(DjangoModelFactory):
    """A school day off in the term (a Friday of November 2026 unless told)."""

    class Meta:
        model = TermDay

    term = factory.SubFactory(TermFactory)
    date = date(2026, 11, 20)
    note = "运动会"


class ChoiceWindowFactory(DjangoModelFactory):
    """A window of choices open from yesterday to tomorrow."""

    class Meta:
        model = ChoiceWindow

    term = factory.SubFactory(TermFactory)
    school = factory.LazyAttribute(lambda o: o.term.school)
    name = factory.Sequence(lambda n: f"志愿{n}")
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))


# --- afterschool: admission of outside personnel --------------------------------------------------------------


class ProhibitedPersonFactory(DjangoModelFactory):
    """A row of the register of people barred from working with children."""

    class Meta:
        model = ProhibitedPerson

    id_hash = factory.LazyFunction(lambda: uuid.uuid4().hex)
    name = factory.Sequence(lambda n: f"名单人员{n}")
    source = "法院判决"
    listed_on = date(2025, 1, 1)


class OutsidePersonFactory(DjangoModelFactory):
    class Meta:
        model = OutsidePerson

    name = factory.Sequence(lambda n: f"校外人员{n}")
    id_hash = factory.LazyFunction(lambda: uuid.uuid4().hex)
    id_last4 = factory.Sequence(lambda n: f"{n % 10000:04d}")
    birth_date = date(1990, 1, 1)


class AdmissionFactory(DjangoModelFactory):
    """An admission in draft; `status="admitted"` gets a validity over the autumn term of 2026."""

    class Meta:
        model = Admission

    person = factory.SubFactory(OutsidePersonFactory)
    applicant = factory.SubFactory(UserFactory)
    school = factory.SubFactory(SchoolFactory)
    status = Admission.Status.DRAFT
    valid_from = factory.LazyAttribute(lambda o: date(2026, 9, 1) if o.status == "admitted" else None)
    valid_until = factory.LazyAttribute(lambda o: date(2027, 8, 31) if o.status == "admitted" else None)


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class AdmissionDocumentFactory(DjangoModelFactory):
    """A signed consent form: a small PDF."""

    class Meta:
        model = AdmissionDocument

    admission = factory.SubFactory(AdmissionFactory)
    kind = AdmissionDocument.Kind.CONSENT
    file = factory.django.FileField(filename="consent.pdf", data=PDF)
    content_type = "application/pdf"
    size = factory.LazyAttribute(lambda o: len(PDF))


# --- afterschool: fees ----------------------------------------------------------------------------------------


class ExemptionFactory(DjangoModelFactory):
    """A full exemption of a student for a term, waiting for approval."""

    class Meta:
        model = Exemption

    student = factory.SubFactory(StudentFactory)
    term = factory.SubFactory(TermFactory, school=factory.SelfAttribute("..student.school"))
    school = factory.LazyAttribute(lambda o: o.term.school)
    kind = "exempt"
    reason = "困难"


class BillFactory(DjangoModelFactory):
    class Meta:
        model = Bill

    student = factory.SubFactory(StudentFactory)
    term = factory.SubFactory(TermFactory, school=factory.SelfAttribute("..student.school"))
    school = factory.LazyAttribute(lambda o: o.term.school)
    basis = "per_lesson"
    rate = Decimal("3.00")
    lessons = 1
    gross = factory.LazyAttribute(lambda o: o.rate * o.lessons)
    amount = factory.LazyAttribute(lambda o: o.gross)


class RefundFactory(DjangoModelFactory):
    class Meta:
        model = Refund

    bill = factory.SubFactory(BillFactory)
    amount = Decimal("1.00")
    effective_from = date(2026, 9, 14)
    units_not_attended = 1
    units_billed = 3


# --- institutions: staff, escrow, timetable -------------------------------------------------------------------


class StaffMemberFactory(DjangoModelFactory):
    """An active full-time teacher of an institution (the ID number kept only as a hash and its last four)."""

    class Meta:
        model = StaffMember

    institution = factory.SubFactory(InstitutionFactory)
    name = "王老师"
    id_number_hash = factory.LazyFunction(lambda: uuid.uuid4().hex)
    id_number_last4 = "1234"


class EscrowAccountFactory(DjangoModelFactory):
    class Meta:
        model = EscrowAccount

    institution = factory.SubFactory(InstitutionFactory)
    bank = "重庆银行涪陵支行"
    account_number = factory.Sequence(lambda n: f"6222{n:012d}")


class ScheduleSlotFactory(DjangoModelFactory):
    """A Tuesday class 18:00-19:30 of a course."""

    class Meta:
        model = ScheduleSlot

    course = factory.SubFactory(CourseFactory)
    weekday = 2
    start_time = time(18, 0)
    end_time = time(19, 30)


# --- core -----------------------------------------------------------------------------------------------------


class PolicyValueFactory(DjangoModelFactory):
    """A dated value of a policy rule (rule_id, key and value are what a test is about: give them)."""

    class Meta:
        model = PolicyValue

    rule_id = "R-FEE-1"
    key = "prepaid_max_class_hours"
    value = "60"
    effective_from = date(2026, 1, 1)


class CalendarDayFactory(DjangoModelFactory):
    """A day off the working-day calendar (kind=workday for a make-up working day)."""

    class Meta:
        model = CalendarDay

    date = date(2026, 1, 6)
    kind = CalendarDay.Kind.HOLIDAY
    name = "停课"


class TaskOutboxFactory(DjangoModelFactory):
    """A task waiting in the outbox."""

    class Meta:
        model = TaskOutbox

    task_name = "core.notify_users"
    args = factory.Sequence(lambda n: [[1], "k", f"m{n}"])


# --- accounts: sms codes --------------------------------------------------------------------------------------


class SmsCodeFactory(DjangoModelFactory):
    """A live registration code `code` (123456 unless told) for `phone`, valid five minutes."""

    class Meta:
        model = SmsCode
        exclude = ("code",)

    phone = factory.Sequence(lambda n: f"1390000{n:04d}")
    purpose = "register"
    code = "123456"
    code_hash = factory.LazyAttribute(lambda o: _sms_code_hash(o.phone, o.code))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=5))


def _sms_code_hash(phone: str, code: str) -> str:
    from accounts.services import _code_hash

    return _code_hash(phone, code)


# --- supervision: complaints ----------------------------------------------------------------------------------


class RoutingRuleFactory(DjangoModelFactory):
    """Complaints of a town (any category) go to `handler`."""

    class Meta:
        model = RoutingRule

    town = factory.LazyFunction(lambda: region(TOWN_A))
    category = None
    handler = factory.SubFactory(UserFactory)


class ComplaintFactory(DjangoModelFactory):
    """A complaint as filed (no handler yet) of the first category against an institution."""

    class Meta:
        model = Complaint

    tracking_number = factory.Sequence(lambda n: f"TS-FACTORY-{n:05d}")
    parent = factory.SubFactory(UserFactory)
    institution = factory.SubFactory(InstitutionFactory)
    town = factory.LazyAttribute(lambda o: o.institution.town)
    category = factory.LazyFunction(lambda: ComplaintCategory.objects.order_by("pk").first())
    description = "超纲教学，提前教授初中内容"
    occurred_at = factory.LazyFunction(timezone.now)


# --- supervision: inspections ---------------------------------------------------------------------------------


def _checklist():
    from supervision.inspections import checklists

    return checklists.current_checklist()


class InspectionPlanFactory(DjangoModelFactory):
    """A draft plan over November-December 2026 for town A with the current checklist."""

    class Meta:
        model = InspectionPlan

    name = factory.Sequence(lambda n: f"计划{n}")
    period_start = date(2026, 11, 1)
    period_end = date(2026, 12, 31)
    region = factory.LazyFunction(lambda: region(TOWN_A))
    checklist_version = factory.LazyFunction(_checklist)
    created_by = factory.SubFactory(UserFactory)


class InspectionFactory(DjangoModelFactory):
    """A planned visit to an institution with the current checklist; `inspectors=[user, ...]` assigns them."""

    class Meta:
        model = Inspection
        skip_postgeneration_save = True

    institution = factory.SubFactory(InstitutionFactory)
    town = factory.LazyAttribute(lambda o: o.institution.town)
    checklist_version = factory.LazyFunction(_checklist)

    @factory.post_generation
    def inspectors(obj, create, extracted, **kwargs):
        if create and extracted:
            for inspector in extracted:
                InspectionAssignment.objects.create(inspection=obj, inspector=inspector)


class InspectionAssignmentFactory(DjangoModelFactory):
    class Meta:
        model = InspectionAssignment

    inspection = factory.SubFactory(InspectionFactory)
    inspector = factory.SubFactory(UserFactory)


class FindingFactory(DjangoModelFactory):
    """A low finding of a visit under a rule id."""

    class Meta:
        model = Finding

    inspection = factory.SubFactory(InspectionFactory)
    institution = factory.LazyAttribute(lambda o: o.inspection.institution)
    rule_id = "R-X"
    severity = "low"
    description = "问题"


class PenaltyDecisionFactory(DjangoModelFactory):
    class Meta:
        model = PenaltyDecision

    institution = factory.SubFactory(InstitutionFactory)
    town = factory.LazyAttribute(lambda o: o.institution.town)
    kind = "fine"
    violation = "disguised_subject"
    legal_basis = "教育部令第53号"
    amount = Decimal("1000.00")
    reason = "r"
    decided_by = factory.SubFactory(UserFactory)


class VisitRecordFactory(DjangoModelFactory):
    """An applied answer record of a visit, sent by its first inspector."""

    class Meta:
        model = VisitRecord

    client_uuid = factory.LazyFunction(uuid.uuid4)
    inspection = factory.SubFactory(InspectionFactory)
    author = factory.SubFactory(UserFactory)
    kind = "answer"
    request_hash = "h"
    payload = factory.LazyFunction(lambda: {"item_code": "C-1", "value": "yes"})
    client_time = factory.LazyFunction(timezone.now)
