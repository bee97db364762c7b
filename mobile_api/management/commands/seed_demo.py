"""Realistic demo data, idempotent: running it twice creates nothing twice.

It lives in mobile_api, the app on top of the import graph, because it touches every domain app.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

from accounts.models import Membership, Region, Role, User
from afterschool.demo import DEMO_SCHOOLS, seed_afterschool
from afterschool.schedule.models import School
from core.notifications import notify
from institutions.demo import seed_institutions
from institutions.models import Institution
from supervision.complaints.demo import seed_complaints
from supervision.complaints.interop_demo import HOTLINE_KEY, OPEN311_KEY, ORDER_NUMBER, seed_interop
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
    # An outside coach has no role: their application (afterschool.demo, the applicant "outside1") is their way in.
    ("outside1", "13700000001", "何教练", None, None),
]
DEMO_INSTITUTION = "涪陵区小画家美术培训学校"  # the institution staff member's; its poster and scan page are printed

# One login per role and what to try first: (username or phone, the role in English, what to try, the page: a path,
# or "{verify}" for the demo institution's scan page and "{poster}" for its poster).
TRY_FIRST = [
    (
        "admin",
        "bureau admin · 区督导 district supervisor",
        "首页：全区待办与超期投诉 home: the district's work and overdue complaints; admin at /admin/",
        "/",
    ),
    (
        "staff",
        "bureau staff · 投诉处理 complaint handler",
        "准入复核队列 the admission reviews waiting; complaints arrive in the inbox",
        "/afterschool/admissions/review/",
    ),
    ("inspector", "inspector", "机构名录与海报 the registry (visits sync from the phone API)", "/registry/"),
    (
        "school",
        "school admin",
        "课后服务经费与结算单 fees and statements; timetable and coverage at /afterschool/",
        "/afterschool/fees/",
    ),
    ("teacher", "teacher", "今日课程与点名 today's sessions and roll calls", "/afterschool/"),
    ("institution", "institution staff", "本机构的核验海报 its poster and QR code", "{poster}"),
    (
        "13900000008",
        "parent",
        "扫码核验页，点“举报问题”投诉 the scan page, then report a problem; children at /afterschool/children/",
        "{verify}",
    ),
    ("outside1", "outside coach", "我的准入申请 my admission application", "/afterschool/admissions/"),
]


# Six schools in six towns (afterschool.demo gives them their terms, timetables, students and attendance).
SCHOOLS = [(name, town) for name, town, _stage, _flaw in DEMO_SCHOOLS]


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print one login per role, with the address the demo is served on."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="",
            help="where the demo is served, e.g. http://127.0.0.1:8101 (default: PUBLIC_BASE_URL); printed, and "
            "put in the poster QR codes built now",
        )

    def handle(self, *args, **options):
        base_url = (options["base_url"] or settings.PUBLIC_BASE_URL).rstrip("/")
        # Posters and scan addresses made while seeding lead where the demo is served (the server of `make demo`
        # gets the same PUBLIC_BASE_URL, so the posters stay current there).
        with override_settings(PUBLIC_BASE_URL=base_url):
            created = self.seed()
            self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} new users)."))
            self.stdout.write(self.banner(base_url))

    @transaction.atomic
    def seed(self) -> int:
        regions = {r.code: r for r in Region.objects.filter(valid_to__isnull=True)}
        schools = {
            name: School.objects.get_or_create(name=name, defaults={"town": regions[town]})[0] for name, town in SCHOOLS
        }
        seed_institutions()  # the registry first: the demo institution staff member works for one of them
        institutions = {i.name: i for i in Institution.objects.filter(name=DEMO_INSTITUTION)}
        created = 0
        for username, phone, name, role, where in DEMO_USERS:
            user = User.objects.filter(phone=phone).first()
            if user is None and username:  # made without a phone by an older demo (the coach): give it one
                user = User.objects.filter(username=username, phone__isnull=True).first()
                if user is not None:
                    user.phone = phone
                    user.set_password(DEMO_PASSWORD)
                    user.save(update_fields=["phone", "password"])
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
            if role is not None:  # the coach has none
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
        seed_interop()  # after the complaints: the routing rules are set
        seed_inspections()
        return created

    @staticmethod
    def demo_pages(base_url: str) -> dict[str, str]:
        """The demo institution's scan page and poster (built now, so its QR code leads to base_url)."""
        from institutions.posters import PosterFontMissing
        from institutions.tasks import build_poster
        from institutions.verification import live_token, public_address

        institution = Institution.objects.filter(name=DEMO_INSTITUTION).first()
        if institution is None:
            return {"verify": base_url + "/registry/", "poster": base_url + "/registry/"}
        try:
            build_poster(institution.pk)  # a no-op when the stored poster is current
        except PosterFontMissing:
            pass  # built on demand by the server, once a Chinese font is installed (make fonts)
        return {
            "verify": public_address(live_token(institution)),
            "poster": f"{base_url}/registry/{institution.pk}/poster.png",
        }

    @classmethod
    def banner(cls, base_url: str | None = None) -> str:
        base = (base_url or settings.PUBLIC_BASE_URL).rstrip("/")
        ws = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        pages = cls.demo_pages(base)
        lines = [
            "",
            f"  Web pages     {base}/            (登录 /login/)",
            f"  API docs      {base}/api/v1/docs",
            f"  OpenAPI       {base}/api/v1/openapi.json",
            f"  Admin         {base}/admin/",
            f"  After-school  {base}/afterschool/     (课表、名单、覆盖 timetable, rosters, coverage)",
            f"  Admission     {base}/afterschool/admissions/review/ (准入审核 reviewers' queue)",
            f"  Fees          {base}/afterschool/fees/  (经费分配与结算单 allocation, statements)",
            f"  Complaints    {base}/complaints/new     (家长投诉 a parent files)",
            f"  Inspections   {base}/inspections/results/   (检查结果公示 published results)",
            f"  Scan page     {pages['verify']}   (机构核验页 what a poster's QR code opens)",
            f"  Websocket     {ws}/ws/notifications/?access_token=…",
            f"  Open311       {base}/open311/v2/discovery.json   api_key={OPEN311_KEY}  (GeoReport v2 clients)",
            f"  12345 intake  POST {base}/api/v1/hotline/work-orders   X-Hotline-Key: {HOTLINE_KEY}",
            f"  12345 outbox  {base}/hotline/outbox/   (回传失败与重发 failed events, resend; order {ORDER_NUMBER})",
            "",
            f"  One login per role (password for all: {DEMO_PASSWORD}); sign in at {base}/login/ and try first:",
        ]
        users = {key: (phone, name, role) for u, phone, name, role, _ in DEMO_USERS for key in (u, phone) if key}
        for login, who, what, page in TRY_FIRST:
            phone, name, role = users[login]
            address = page.format(**pages) if page.startswith("{") else base + page
            lines.append(f"    {Role(role).label if role else '校外教练'} {who}")
            lines.append(f"      {phone} / {DEMO_PASSWORD}  {name}  →  {address}")
            lines.append(f"      {what}")
        return "\n".join(lines) + "\n"
