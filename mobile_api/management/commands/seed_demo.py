"""Realistic demo data, idempotent: running it twice creates nothing twice.

It lives in mobile_api, the app on top of the import graph, because it touches every domain app.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, Region, Role, User
from afterschool.demo import DEMO_SCHOOLS, seed_afterschool
from afterschool.schedule.models import School
from core.notifications import notify
from institutions.demo import seed_institutions
from institutions.models import Institution
from supervision.complaints.demo import seed_complaints
from supervision.inspections.demo import seed_inspections

DEMO_PASSWORD = "Demo@2026"
DISTRICT = "500102"

# (username, phone, name, role, where): where is a region code, ("school", name) or ("institution", name)
DEMO_USERS = [
    ("admin", "13900000001", "周局长", Role.BUREAU_ADMIN, DISTRICT),
    ("staff", "13900000002", "王科长", Role.BUREAU_STAFF, DISTRICT),
    ("inspector", "13900000003", "李督查", Role.INSPECTOR, "500102006"),
    ("inspector2", "13900000004", "孙督查", Role.INSPECTOR, "500102011"),
    ("school", "13900000005", "陈校长", Role.SCHOOL_ADMIN, ("school", "涪陵区实验小学")),
    ("teacher", "13900000006", "刘老师", Role.TEACHER, ("school", "涪陵区实验小学")),
    ("institution", "13900000007", "赵经理", Role.INSTITUTION_STAFF, ("institution", "涪陵区小画家美术培训学校")),
    (None, "13900000008", "张女士", Role.PARENT, None),
]

# Six schools in six towns (afterschool.demo gives them their terms, timetables, students and attendance).
SCHOOLS = [(name, town) for name, town, _stage, _flaw in DEMO_SCHOOLS]


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print one login per role."

    @transaction.atomic
    def handle(self, *args, **options):
        regions = {r.code: r for r in Region.objects.filter(valid_to__isnull=True)}
        schools = {
            name: School.objects.get_or_create(name=name, defaults={"town": regions[town]})[0] for name, town in SCHOOLS
        }
        seed_institutions()  # the registry first: the demo institution staff member works for one of them
        institutions = {i.name: i for i in Institution.objects.filter(name="涪陵区小画家美术培训学校")}
        created = 0
        for username, phone, name, role, where in DEMO_USERS:
            user = User.objects.filter(phone=phone).first()
            if user is None:
                user = User.objects.create_user(
                    username=username,
                    phone=phone,
                    name=name,
                    password=DEMO_PASSWORD,
                    is_staff=role == Role.BUREAU_ADMIN,
                    is_superuser=role == Role.BUREAU_ADMIN,
                )
                created += 1
            scope = {}
            if isinstance(where, str):
                scope["region"] = regions[where]
            elif isinstance(where, tuple):
                kind, place = where
                scope[f"{kind}_id"] = (schools[place] if kind == "school" else institutions[place]).pk
            Membership.objects.get_or_create(user=user, role=role, **scope)
            notify(
                recipients=[user],
                kind="system.welcome",
                title="欢迎使用双减监管平台",
                body="Welcome to Shuangjian. 这是一条演示通知 (a demo notification).",
                dedupe_key="demo.welcome",
            )
        seed_afterschool()  # after the demo users: teachers and parents are among them
        seed_complaints()
        seed_inspections()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} new users)."))
        self.stdout.write(self.banner())

    @staticmethod
    def banner() -> str:
        lines = [
            "",
            "  Web pages     http://127.0.0.1:8000/            (登录 /login/)",
            "  API docs      http://127.0.0.1:8000/api/v1/docs",
            "  OpenAPI       http://127.0.0.1:8000/api/v1/openapi.json",
            "  Admin         http://127.0.0.1:8000/admin/",
            "  After-school  http://127.0.0.1:8000/afterschool/     (课表、名单、覆盖 timetable, rosters, coverage)",
            "  Admission     http://127.0.0.1:8000/afterschool/admissions/review/ (准入审核 reviewers' queue)",
            "  Fees          http://127.0.0.1:8000/afterschool/fees/  (经费分配与结算单 allocation, statements)",
            "  Complaints    http://127.0.0.1:8000/complaints/new     (家长投诉 a parent files)",
            "  Inspections   http://127.0.0.1:8000/inspections/results/   (检查结果公示 published results)",
            "  Websocket     ws://127.0.0.1:8000/ws/notifications/?access_token=…",
            "",
            f"  Demo logins (password for all: {DEMO_PASSWORD}):",
        ]
        for username, phone, name, role, _ in DEMO_USERS:
            lines.append(f"    {Role(role).label:<36} {username or '-':<12} {phone}  {name}")
        return "\n".join(lines) + "\n"
