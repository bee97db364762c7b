"""Demo data of after-school services (idempotent), called by `manage.py seed_demo` after the demo users exist.

Six schools in six towns, each with an autumn term, classes, teachers, rooms, programmes and a weekly timetable,
about forty students, enrolments and two weeks of attendance. Most schools meet R-ASS-1; three do not, so that the
bureau's coverage page has something to show: one has no Friday service, one ends at 17:00, one runs drilling.
The demo parent (张女士) has two children at 涪陵区实验小学; the demo teacher (刘老师) is class teacher of 三年级1班
and delivers sessions there. Deterministic (fixed seeds) and keyed by natural keys: running it twice adds nothing.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, time, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Region, Role, User
from afterschool.schedule import calendar
from afterschool.schedule.models import (
    Application,
    Attendance,
    ChoiceWindow,
    Programme,
    Room,
    School,
    SchoolClass,
    Session,
    Staff,
    Stage,
    Student,
    Term,
)

# (name, town code, stage, what is wrong with its schedule)
DEMO_SCHOOLS = [
    ("涪陵区实验小学", "500102006", Stage.PRIMARY, ""),
    ("涪陵区城关小学", "500102007", Stage.PRIMARY, ""),
    ("李渡街道中心小学", "500102011", Stage.PRIMARY, "no_friday"),
    ("江北街道中心小学", "500102009", Stage.PRIMARY, ""),
    ("白涛街道中心小学", "500102013", Stage.PRIMARY, "ends_early"),
    ("蔺市街道中心学校", "500102015", Stage.NINE_YEAR, "drilling"),
]
DEMO_PARENT_PHONE = "13900000008"
DEMO_TEACHER_PHONE = "13900000006"
TERM_NAME = "2026 秋季学期"
TERM_START, TERM_END = date(2026, 9, 1), date(2027, 1, 15)
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
GIVEN = ["子涵", "欣怡", "梓轩", "浩然", "雨桐", "一诺", "宇航", "思琪", "俊杰", "诗涵", "博文", "佳怡", "子墨", "语嫣"]
UUID_NAMESPACE = uuid.UUID("6f1c3f8e-5a55-4c1e-9a31-2b9d7e0a0c55")


def _teacher(school: School, index: int, name: str) -> User:
    username = f"as{school.pk}t{index}"
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username=username, name=name, password=None)
        user.set_unusable_password()
        user.save(update_fields=["password"])
    Membership.objects.get_or_create(user=user, role=Role.TEACHER, school_id=school.pk)
    return user


def _staff(school: School, user: User) -> Staff:
    return Staff.objects.get_or_create(school=school, user=user, defaults={"name": user.name})[0]


def _session(programme, weekday, start, end, room, staff, term):
    return Session.objects.get_or_create(
        programme=programme,
        weekday=weekday,
        starts_at=time(*start),
        defaults={
            "school": programme.school,
            "ends_at": time(*end),
            "room": room,
            "staff": staff,
            "first_date": term.starts_on,
            "last_date": term.ends_on,
        },
    )[0]


def _programme(school, term, name, kind, capacity, grades=(1, 6), fee=None):
    return Programme.objects.get_or_create(
        term=term,
        name=name,
        defaults={
            "school": school,
            "kind": kind,
            "capacity": capacity,
            "grade_min": grades[0],
            "grade_max": grades[1],
            "is_free": fee is None,
            "fee_per_lesson": fee,
        },
    )[0]


@transaction.atomic
def seed_afterschool() -> None:
    towns = {r.code: r for r in Region.objects.filter(valid_to__isnull=True)}
    parent = User.objects.filter(phone=DEMO_PARENT_PHONE).first()
    demo_teacher = User.objects.filter(phone=DEMO_TEACHER_PHONE).first()
    for index, (name, town, stage, flaw) in enumerate(DEMO_SCHOOLS):
        school, _ = School.objects.get_or_create(name=name, defaults={"town": towns[town]})
        if school.stage != stage:
            school.stage = stage
            school.save(update_fields=["stage"])
        _seed_school(school, index, flaw, parent if index == 0 else None, demo_teacher if index == 0 else None)
    seed_admission()
    seed_fees()
    seed_family()  # first: the class list's phones it gives are kept by the school pages' seed
    seed_school_pages()


def _seed_school(school: School, index: int, flaw: str, parent: User | None, demo_teacher: User | None) -> None:
    rng = random.Random(1000 + index)
    term, _ = Term.objects.get_or_create(
        school=school, name=TERM_NAME, defaults={"starts_on": TERM_START, "ends_on": TERM_END}
    )
    teachers = [_teacher(school, i, f"{SURNAMES[(index * 5 + i) % len(SURNAMES)]}老师") for i in range(1, 6)]
    if demo_teacher is not None:
        Membership.objects.get_or_create(user=demo_teacher, role=Role.TEACHER, school_id=school.pk)
        teachers[0] = demo_teacher
    staff = [_staff(school, t) for t in teachers]
    rooms = [
        Room.objects.get_or_create(school=school, name=n)[0] for n in ("阅览室", "操场", "美术室", "科创室", "音乐室")
    ]
    grades = list(school.grades)[:6]
    classes = []
    for i, grade in enumerate(grades):
        klass, _ = SchoolClass.objects.get_or_create(
            school=school, grade=grade, number=1, defaults={"class_teacher": teachers[i % len(teachers)]}
        )
        classes.append(klass)
    if demo_teacher is not None:
        SchoolClass.objects.filter(school=school, grade=3, number=1).update(class_teacher=demo_teacher)

    # The timetable: homework care every day 16:00-17:00, then an activity 17:00-18:00 (18:00 keeps parents'
    # office hours in mind: R-ASS-1's closing time is 17:30).
    care = _programme(school, term, "作业辅导与看护", "homework_care", 300, (grades[0], grades[-1]))
    reading = _programme(school, term, "经典诵读", "reading", 40, (grades[0], grades[-1]))
    football = _programme(school, term, "校园足球", "sports", 30, (max(3, grades[0]), grades[-1]))
    arts = _programme(school, term, "水墨画", "arts", 25, (grades[0], grades[-1]), fee="3.00")
    robots = _programme(school, term, "机器人编程", "science_tech", 6, (max(3, grades[0]), grades[-1]), fee="5.00")
    days = range(4) if flaw == "no_friday" else range(5)
    # The school that ends early: care 15:30-16:30, activities until 17:00 (90 minutes, before office closing).
    care_slot, activity_slot = ((15, 30), (16, 30)), ((16, 30), (17, 0))
    if flaw != "ends_early":
        care_slot, activity_slot = ((16, 0), (17, 0)), ((17, 0), (18, 0))
    for w in days:
        _session(care, w, *care_slot, rooms[0], staff[(w + 1) % 5], term)
    for w in (0, 2):
        _session(reading, w, *activity_slot, rooms[0], staff[0], term)
    for w in (1, 3):
        _session(football, w, *activity_slot, rooms[1], staff[1], term)
    if flaw != "no_friday":
        _session(arts, 4, *activity_slot, rooms[2], staff[2], term)
    for w in (1, 3):
        _session(robots, w, *activity_slot, rooms[3], staff[3], term)
    if flaw == "drilling":
        drill = _programme(school, term, "数学培优", "drilling", 40, (7, 9))
        _session(drill, 4, (18, 0), (19, 0), rooms[4], staff[4], term)

    # Students: seven per class; the demo parent's two children are the first of 三年级1班 and 五年级1班.
    students = []
    for klass in classes:
        used: set[str] = set()
        for j in range(7):
            name = SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))]
            while name in used:  # one name per child in a class, so the natural key finds each child again
                name = SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))]
            used.add(name)
            if parent is not None and j == 0 and klass.grade in (3, 5):
                name = "张" + ("小明" if klass.grade == 3 else "小雨")
            student, created = Student.objects.get_or_create(
                school=school,
                school_class=klass,
                name=name,
                defaults={"left_behind": rng.random() < 0.12, "migrant": rng.random() < 0.08},
            )
            if parent is not None and j == 0 and klass.grade in (3, 5):
                student.guardians.add(parent)
            students.append(student)

    # Enrolments: most children in homework care; about half in one activity on days that do not overlap.
    today = timezone.localdate()
    activities = [p for p in (reading, football, arts) if p.sessions.exists()]
    for i, s in enumerate(students):
        if rng.random() < 0.8:
            _enrol(s, care)
        if activities and rng.random() < 0.5:
            p = activities[i % len(activities)]
            if p.admits_grade(s.school_class.grade):
                _enrol(s, p)
    if parent is not None:
        for s in students:
            if parent in s.guardians.all():
                _enrol(s, care)
        # One of the demo parent's applications waits for the class teacher.
        mine = [s for s in students if parent in s.guardians.all()]
        if mine and reading.admits_grade(mine[0].school_class.grade):
            Application.objects.get_or_create(
                student=mine[0],
                programme=reading,
                status__in=Application.LIVE,
                defaults={"status": Application.Status.PENDING, "applied_by": parent, "priority": mine[0].has_priority},
            )

    # A choice window for the popular robotics club, closed and allocated with a recorded seed.
    if robots.sessions.exists():
        _robotics_window(school, term, robots, [s for s in students if robots.admits_grade(s.school_class.grade)], rng)

    _attendance(term, today, rng)


def _enrol(student: Student, programme: Programme) -> None:
    if Application.objects.filter(student=student, programme=programme, status__in=Application.LIVE).exists():
        return
    Application.objects.create(
        student=student,
        programme=programme,
        status=Application.Status.APPROVED,
        active_from=programme.term.starts_on,
        priority=student.has_priority,
        note="演示数据",
    )


def _robotics_window(school, term, robots, candidates, rng) -> None:
    from afterschool.schedule.enrolment import window_allocate

    opens = timezone.make_aware(timezone.datetime(2026, 8, 25, 8, 0))
    window, created = ChoiceWindow.objects.get_or_create(
        school=school,
        term=term,
        name="热门社团志愿填报",
        defaults={"opens_at": opens, "closes_at": opens + timedelta(days=5)},
    )
    if not created:
        return
    window.programmes.set([robots])
    Application.objects.bulk_create(
        [
            Application(
                student=s,
                programme=robots,
                status=Application.Status.CHOICE,
                window=window,
                rank=1,
                priority=s.has_priority,
            )
            for s in candidates
            if not Application.objects.filter(student=s, programme=robots, status__in=Application.LIVE).exists()
        ]
    )
    window_allocate(actor=None, window_id=window.pk, seed=20260901)
    Application.objects.filter(window=window, status=Application.Status.APPROVED).update(active_from=term.starts_on)


def _attendance(term: Term, today: date, rng: random.Random) -> None:
    """The last ten school days before today, for every session and child on its roster."""
    days = sorted(d for d in calendar.school_days(term, today - timedelta(days=21), today - timedelta(days=1)))[-10:]
    sessions = list(Session.objects.filter(programme__term=term).select_related("programme"))
    enrolled: dict[int, list[int]] = {}
    for programme_id, student_id in Application.objects.filter(
        programme__term=term, status=Application.Status.APPROVED
    ).values_list("programme_id", "student_id"):
        enrolled.setdefault(programme_id, []).append(student_id)
    followed = calendar.school_days(term, days[0], days[-1]) if days else {}
    teacher_of = {
        s.pk: s.staff.user_id if s.staff_id else None
        for s in Session.objects.filter(programme__term=term).select_related("staff")
    }
    rows = []
    for day in days:
        for session in sessions:
            if followed.get(day) != session.weekday:
                continue
            for student_id in enrolled.get(session.programme_id, []):
                roll = rng.random()
                mark = (
                    "present" if roll < 0.9 else "leave" if roll < 0.95 else "absent" if roll < 0.98 else "left_early"
                )
                rows.append(
                    Attendance(
                        session=session,
                        student_id=student_id,
                        date=day,
                        mark=mark,
                        left_at=time(17, 20) if mark == "left_early" and session.ends_at > time(17, 20) else None,
                        client_uuid=uuid.uuid5(UUID_NAMESPACE, f"{session.pk}-{student_id}-{day}"),
                        recorded_by_id=teacher_of.get(session.pk),
                    )
                )
    for row in rows:
        if row.mark == "left_early" and row.left_at is None:
            row.mark = "present"
    Attendance.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)


# --- Outside personnel (校外人员准入) ---------------------------------------------------------------------------------

DEMO_THIRD_PARTY = "涪陵区小画家美术培训学校"
# (seq, name, birth date, phone, who applies: "self" or "institution", state)
DEMO_OUTSIDE = [
    (1, "何教练", "19980512", "13700000001", "self", "admitted"),
    (2, "罗老师", "20000308", "13700000002", "self", "admitted"),
    (3, "马画师", "19990721", "13700000003", "institution", "admitted"),
    (4, "高师傅", "20010115", "13700000004", "self", "school_review"),
]
DEMO_REGISTER = [("吴某", "19990101", "涪陵区人民法院 (2025) 渝0102刑初XX号"), ("郑某", "19980808", "重庆市教委通报")]


def _demo_id(birth: str, seq: int) -> str:
    from stdnum.cn import ric

    body = f"500102{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def _demo_scan():
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (60, 40), (230, 230, 230)).save(out, "JPEG")
    return SimpleUploadedFile("scan.jpg", out.getvalue(), content_type="image/jpeg")


def seed_admission() -> None:
    """A third party and two individuals admitted to 涪陵区实验小学 (one coach on a session), one application in
    school review, and a register of a few entries. Through the services, so every step is audited; idempotent."""
    from afterschool.admission import services as admission
    from afterschool.admission.models import Admission, OutsidePerson, ProhibitedPerson
    from afterschool.admission.register import birth_date_of
    from core.pii import id_number_hash
    from institutions.models import Institution, Status

    school = School.objects.filter(name=DEMO_SCHOOLS[0][0]).first()
    school_admin = User.objects.filter(username="school").first()
    bureau = User.objects.filter(username="staff").first()
    if school is None or school_admin is None or bureau is None:
        return
    for seq, (name, birth, source) in enumerate(DEMO_REGISTER, start=90):
        number = _demo_id(birth, seq)
        ProhibitedPerson.objects.get_or_create(
            id_hash=id_number_hash(number),
            source=source,
            defaults={
                "id_last4": number[-4:],
                "name": name,
                "birth_date": birth_date_of(number),
                "listed_on": date(2025, 6, 1),
            },
        )
    Institution.objects.filter(name=DEMO_THIRD_PARTY).update(
        status=Status.LICENSED, on_national_platform=True, national_platform_since=date(2023, 3, 1)
    )
    third_party = Institution.objects.filter(name=DEMO_THIRD_PARTY).first()
    manager = User.objects.filter(username="institution").first()
    today = timezone.localdate()
    for seq, name, birth, phone, who, state in DEMO_OUTSIDE:
        number = _demo_id(birth, seq)
        person = OutsidePerson.objects.filter(id_hash=id_number_hash(number)).first()
        if person and Admission.objects.filter(person=person, school=school).exists():
            continue
        via_institution = who == "institution" and third_party is not None and manager is not None
        if via_institution:
            applicant = manager
        else:
            applicant = User.objects.filter(username=f"outside{seq}").first() or User.objects.create_user(
                username=f"outside{seq}", name=name, password=None
            )
        with transaction.atomic():
            a = admission.admission_create(
                actor=applicant,
                school_id=school.pk,
                name=name,
                id_number=number,
                phone=phone,
                institution_id=third_party.pk if via_institution else None,
                qualifications=[{"kind": "专业能力证明", "number": f"ZY-{seq:04d}", "issuer": "涪陵区文化旅游委"}],
                record_issuer="重庆市公安局涪陵区分局",
                record_issued_on=today - timedelta(days=40),
                health_issuer="涪陵中心医院",
                health_issued_on=today - timedelta(days=20),
                consent_signed=True,
                fee_per_lesson="60.00" if via_institution else None,
                market_price="100.00" if via_institution else None,
            )
            for kind in ("photo", "qualification", "criminal_record", "health", "consent"):
                admission.document_add(actor=applicant, admission=a, kind=kind, upload=_demo_scan())
            admission.admission_submit(actor=applicant, admission=a)
            if state == "admitted":
                admission.admission_school_review(actor=school_admin, admission=a, approve=True)
                admission.admission_bureau_review(actor=bureau, admission=a, approve=True, message="材料齐全")
    coach = OutsidePerson.objects.filter(id_hash=id_number_hash(_demo_id("19980512", 1))).first()
    term = school.terms.filter(name=TERM_NAME).first()
    if coach and term and today <= term.ends_on and not Session.objects.filter(staff__outside_person=coach).exists():
        from afterschool.schedule import services

        basketball = _programme(school, term, "篮球（校外教练）", "sports", 20, (3, 6))
        services.session_create(
            actor=school_admin,
            programme=basketball,
            weekdays=[3],
            starts_at=time(17, 0),
            ends_at=time(18, 0),
            outside_person_id=coach.pk,
            first_date=max(term.starts_on, today),
        )


# --- Fees of a finished term (课后服务费, R-ASS-3, R-PAY-1) ---------------------------------------------------------

FEE_TERM_NAME = "2026 春季学期"
FEE_TERM_START, FEE_TERM_END = date(2026, 3, 2), date(2026, 7, 3)


def seed_fees() -> None:
    """涪陵区实验小学's spring term, finished: timetable, enrolments, attendance of every lesson (one lesson not held),
    the rate (the policy value), bills with an approved reduction and a refund on withdrawal, payments into the
    school's account, the bureau's subsidy, a plan, and the allocation computed, reviewed, approved and locked, so
    statements and the payroll export can be downloaded. Through the fee services (audited); idempotent."""
    from afterschool.fees import allocation as fee_allocation
    from afterschool.fees import services as fees
    from afterschool.fees.models import AllocationRun, Bill, Exemption, Payment, SchoolAccount, SessionNotHeld, Subsidy

    school = School.objects.filter(name=DEMO_SCHOOLS[0][0]).first()
    admin = User.objects.filter(username="school").first()
    bureau = User.objects.filter(username="staff").first()
    if school is None or admin is None or bureau is None:
        return
    term, _ = Term.objects.get_or_create(
        school=school, name=FEE_TERM_NAME, defaults={"starts_on": FEE_TERM_START, "ends_on": FEE_TERM_END}
    )
    if AllocationRun.objects.filter(term=term).exists():
        return
    staff = list(Staff.objects.filter(school=school, kind=Staff.StaffKind.TEACHER).order_by("id")[:4])
    rooms = {r.name: r for r in Room.objects.filter(school=school)}
    care = _programme(school, term, "作业辅导与看护", "homework_care", 300)
    reading = _programme(school, term, "经典诵读", "reading", 40)
    football = _programme(school, term, "校园足球", "sports", 30, (3, 6))
    ink = _programme(school, term, "水墨画", "arts", 25)
    for w in range(5):
        _session(care, w, (16, 0), (17, 0), rooms["阅览室"], staff[w % len(staff)], term)
    for w in (0, 2):
        _session(reading, w, (17, 0), (18, 0), rooms["阅览室"], staff[0], term)
    for w in (1, 3):
        _session(football, w, (17, 0), (18, 0), rooms["操场"], staff[1 % len(staff)], term)
    painter = _spring_painter(school)
    if painter is not None and not ink.sessions.exists():
        # History: 马画师 taught on Fridays in spring under an earlier admission, expired since (the save-time check
        # looks for a current admission on the first day taught, so the past row is written in bulk).
        Session.objects.bulk_create(
            [
                Session(
                    programme=ink,
                    school=school,
                    weekday=4,
                    starts_at=time(17),
                    ends_at=time(18),
                    room=rooms["美术室"],
                    staff=painter,
                    first_date=term.starts_on,
                    last_date=term.ends_on,
                )
            ]
        )
    elif painter is None:
        _session(ink, 4, (17, 0), (18, 0), rooms["美术室"], staff[2 % len(staff)], term)

    students = list(Student.objects.filter(school=school).order_by("id"))
    for i, s in enumerate(students):
        _enrol(s, care)
        if i % 3 == 0:
            _enrol(s, reading)
        elif i % 3 == 1 and football.admits_grade(s.school_class.grade):
            _enrol(s, football)
        elif i % 3 == 2:
            _enrol(s, ink)
    fees.rate_set(actor=admin, term_id=term.pk, basis="per_lesson")  # the policy value: 3.00 yuan a lesson
    poor = next((s for s in students if s.left_behind), students[1])
    if not Exemption.objects.filter(student=poor, term=term).exists():
        e = fees.exemption_apply(
            actor=admin, student_id=poor.pk, term_id=term.pk, kind="reduce", amount="100.00", reason="建档立卡家庭"
        )
        fees.exemption_decide(actor=admin, exemption_id=e.pk, approve=True, note="核实无误")
    fees.bills_issue(actor=admin, term_id=term.pk)
    # A child left football in May: refunded the lessons not attended from the day it took effect.
    leaver = Application.objects.filter(programme=football, status=Application.Status.APPROVED).order_by("id").first()
    if leaver is not None:
        leaver.status, leaver.active_until_excl = Application.Status.WITHDRAWN, date(2026, 5, 11)
        leaver.save(update_fields=["status", "active_until_excl"])
        fees.refund_on_withdrawal(app=leaver, effective=date(2026, 5, 11), actor=admin)
    rain = date(2026, 5, 21)  # a Thursday: football rained off, settled as not held
    _spring_attendance(term, skip={(football.pk, rain)})
    football_thu = football.sessions.get(weekday=3)
    SessionNotHeld.objects.get_or_create(
        session=football_thu, date=rain, defaults={"reason": "雷雨停课", "recorded_by": admin}
    )

    account = SchoolAccount.objects.filter(school=school).first() or fees.account_create(
        actor=admin,
        school_id=school.pk,
        bank="重庆农村商业银行涪陵支行",
        account_name=school.name,
        account_number="6228480086001234",
    )
    for n, bill in enumerate(Bill.objects.filter(term=term).order_by("id")):
        if n % 4 != 3 and bill.amount > 0 and not Payment.objects.filter(bill=bill).exists():
            due = bill.amount - sum((r.amount for r in bill.refunds.all()), 0)
            if due > 0:
                fees.payment_record(
                    actor=admin,
                    bill_id=bill.pk,
                    account_id=account.pk,
                    amount=due,
                    paid_on=date(2026, 3, 9),
                    reference=f"DEMO{bill.pk:05d}",
                )
    if not Subsidy.objects.filter(term=term).exists():
        fees.subsidy_add(actor=bureau, term_id=term.pk, amount="20000.00", note="课后服务财政补助（演示）")
    fee_allocation.plan_set(
        actor=admin,
        term_id=term.pk,
        shares={"teacher": 60, "outside": 25, "operations": 10, "reserve": 5},
        kind_weights={"sports": "1.2"},
    )
    run = fee_allocation.run_compute(actor=admin, term_id=term.pk, until=term.ends_on)
    fee_allocation.run_review(actor=admin, run_id=run.pk)
    fee_allocation.run_approve(actor=bureau, run_id=run.pk)
    fee_allocation.run_lock(actor=bureau, run_id=run.pk)


def _spring_painter(school: School) -> Staff | None:
    """马画师 (sent by the demo third party), with the spring admission that has since expired."""
    from afterschool.admission.models import Admission

    current = (
        Admission.objects.filter(school=school, person__name="马画师", status="admitted")
        .select_related("person")
        .first()
    )
    if current is None:
        return None
    Admission.objects.get_or_create(
        person=current.person,
        school=school,
        status="expired",
        valid_from=date(2026, 2, 1),
        defaults={
            "institution": current.institution,
            "applicant": current.applicant,
            "valid_until": date(2026, 7, 31),
            "fee_per_lesson": current.fee_per_lesson,
            "market_price": current.market_price,
            "consent_signed": True,
            "message": "春季学期准入（演示历史）",
        },
    )
    return Staff.objects.get_or_create(
        school=school,
        outside_person=current.person,
        defaults={"kind": Staff.StaffKind.OUTSIDE, "name": current.person.name},
    )[0]


def _spring_attendance(term: Term, skip: set) -> None:
    """Every lesson of the term for the children on its roster that day (present, a few on leave)."""
    days = calendar.school_days(term)
    sessions = list(Session.objects.filter(programme__term=term).select_related("staff"))
    enrolled: dict[int, list[tuple[int, date, date | None]]] = {}
    for programme_id, student_id, start, until in Application.objects.filter(
        programme__term=term, status__in=[Application.Status.APPROVED, Application.Status.WITHDRAWN]
    ).values_list("programme_id", "student_id", "active_from", "active_until_excl"):
        enrolled.setdefault(programme_id, []).append((student_id, start, until))
    rng = random.Random(2026)
    rows = []
    for day, weekday in sorted(days.items()):
        for session in sessions:
            if weekday != session.weekday or (session.programme_id, day) in skip:
                continue
            for student_id, start, until in enrolled.get(session.programme_id, []):
                if day < start or (until and day >= until):
                    continue
                rows.append(
                    Attendance(
                        session=session,
                        student_id=student_id,
                        date=day,
                        mark="present" if rng.random() < 0.95 else "leave",
                        client_uuid=uuid.uuid5(UUID_NAMESPACE, f"spring-{session.pk}-{student_id}-{day}"),
                        recorded_by_id=session.staff.user_id if session.staff else None,
                    )
                )
    Attendance.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)


# --- What the school admin's scheduling pages need to be tried (issue 19) ---------------------------------------------


def seed_school_pages() -> None:
    """At 涪陵区实验小学 (the demo school admin's): the class list's guardians' phones (the demo parent's on their
    children), and an open choice window for a small club with a few children's choices, so the lottery can be run
    from the page. Idempotent."""
    from afterschool.schedule.models import GuardianPhone

    school = School.objects.filter(name=DEMO_SCHOOLS[0][0]).first()
    term = Term.objects.filter(school=school, name=TERM_NAME).first() if school else None
    if school is None or term is None:
        return
    parent = User.objects.filter(phone=DEMO_PARENT_PHONE).first()
    students = list(Student.objects.filter(school=school).select_related("school_class").order_by("id"))
    have = set(GuardianPhone.objects.filter(student__school=school).values_list("student_id", flat=True))
    GuardianPhone.objects.bulk_create(
        [
            GuardianPhone(
                student=st,
                phone=parent.phone if parent and st.guardians.filter(pk=parent.pk).exists() else f"1370000{i:04d}",
            )
            for i, st in enumerate(students)
            if st.pk not in have
        ]
    )
    club = _programme(school, term, "航模社", "science_tech", 4, (3, 6))
    room = Room.objects.filter(school=school, name="科创室").first()
    teacher = User.objects.filter(username=f"as{school.pk}t5").first()
    if not club.sessions.exists() and teacher is not None:
        _session(club, 2, (17, 0), (18, 0), room, _staff(school, teacher), term)
    now = timezone.now()
    window, created = ChoiceWindow.objects.get_or_create(
        school=school,
        term=term,
        name="航模社志愿填报",
        defaults={"opens_at": now - timedelta(days=1), "closes_at": now + timedelta(days=14)},
    )
    if created:
        window.programmes.set([club])
        Application.objects.bulk_create(
            Application(student=st, programme=club, status=Application.Status.CHOICE, window=window, rank=1,
                        priority=st.has_priority)
            for st in [st for st in students if club.admits_grade(st.school_class.grade)][:9]
            if not Application.objects.filter(student=st, programme=club, status__in=Application.LIVE).exists()
        )  # fmt: skip


# --- Issue 19: the family's, the school's fee and the coach's pages (appended) ---------------------------------------
DEMO_NEW_PARENT_PHONE = "13900000018"  # on the class list of 四年级1班's first child: signs up, then links at once
DEMO_ASKING_PARENT_PHONE = "13900000019"  # a parent the class list does not name: their request waits for the school


def seed_family() -> None:
    """涪陵区实验小学's autumn term ready for the fee pages and the parents' pages: the class list's guardian phones, a
    parent whose request waits for the school, the term's rate and bills, a reduction waiting for the school with its
    reason, and an open choice window (合唱团, 创客空间) the demo parent can rank for their child. Idempotent."""
    from afterschool.family import services as family
    from afterschool.family.models import ChildLinkRequest
    from afterschool.fees import services as fees
    from afterschool.fees.models import Bill, Exemption
    from afterschool.schedule.models import GuardianPhone

    school = School.objects.filter(name=DEMO_SCHOOLS[0][0]).first()
    admin = User.objects.filter(username="school").first()
    parent = User.objects.filter(phone=DEMO_PARENT_PHONE).first()
    term = Term.objects.filter(school=school, name=TERM_NAME).first() if school else None
    if school is None or admin is None or term is None:
        return
    students = list(Student.objects.filter(school=school).select_related("school_class").order_by("id"))
    # The class list's phones: each linked guardian's, and one for a parent who has not signed up yet.
    for student in students:
        phones = [g.phone for g in student.guardians.all() if g.phone]
        if phones and not GuardianPhone.objects.filter(student=student).exists():
            family.guardian_phones_set(actor=admin, student=student, phones=phones)
    waiting = next((s for s in students if s.school_class.grade == 4 and not s.guardians.exists()), None)
    if waiting is not None:
        family.guardian_phones_set(actor=admin, student=waiting, phones=[DEMO_NEW_PARENT_PHONE])
    asking = User.objects.filter(phone=DEMO_ASKING_PARENT_PHONE).first()
    if asking is None:
        asking = User.objects.create_user(phone=DEMO_ASKING_PARENT_PHONE, name="王先生", password="Demo@2026")
        Membership.objects.get_or_create(user=asking, role=Role.PARENT)
    other = next((s for s in students if s.school_class.grade == 2 and not s.guardians.exists()), None)
    if other is not None and not ChildLinkRequest.objects.filter(parent=asking).exists():
        family.child_link_request(actor=asking, school_id=school.pk, grade=2, class_number=other.school_class.number,
                                  child_name=other.name, relation="爸爸")  # fmt: skip

    # Fees of the autumn term: the rate (the policy value), bills, then a reduction waiting for the school.
    if getattr(term, "fee_rate", None) is None:
        fees.rate_set(actor=admin, term_id=term.pk, basis="per_lesson")
    pending = Exemption.objects.filter(term=term, status="applied").exists()
    if not Bill.objects.filter(term=term).exists() and not pending:
        fees.bills_issue(actor=admin, term_id=term.pk)
    mine = [s for s in students if parent is not None and s.guardians.filter(pk=parent.pk).exists()]
    if mine and not Exemption.objects.filter(term=term).exists():
        fees.exemption_apply(actor=parent, student_id=mine[-1].pk, term_id=term.pk, kind="reduce", amount="50.00",
                             reason="家中突发变故，收入减少")  # fmt: skip

    # An open choice window the demo parent can rank for 张小明 (grade 3).
    staff = list(Staff.objects.filter(school=school, kind=Staff.StaffKind.TEACHER).order_by("id")[:5])
    if not staff:
        return
    choir = _programme(school, term, "合唱团", "arts", 20, (2, 6))
    maker = _programme(school, term, "创客空间", "science_tech", 12, (3, 6))
    _session(choir, 2, (17, 0), (18, 0), None, staff[-1], term)
    _session(maker, 2, (17, 0), (18, 0), None, staff[-2 if len(staff) > 1 else 0], term)
    now = timezone.now()
    window, created = ChoiceWindow.objects.get_or_create(
        school=school,
        term=term,
        name="合唱团与创客空间志愿填报",
        defaults={"opens_at": now - timedelta(days=1), "closes_at": min(now + timedelta(days=14),
                  timezone.make_aware(timezone.datetime(2027, 1, 10, 18, 0)))},
    )  # fmt: skip
    if created:
        window.programmes.set([choir, maker])
