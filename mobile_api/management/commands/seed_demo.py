"""Realistic demo data, idempotent: running it twice creates nothing twice.

It lives in mobile_api, the app on top of the import graph, because it touches every domain app.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

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

# One login per role and what to try first: (username or phone, what to try, the page: a path, or "{verify}" for the
# demo institution's scan page and "{poster}" for its poster). Printed in one language (gettext: Chinese by default).
TRY_FIRST = [
    ("admin", _("驾驶舱：全区数据，点数字看明细；督办看板 /desk/board/，后台 /admin/"), "/console/dashboard/"),
    ("staff", _("投诉工作台：签收、转办、要求机构说明、答复"), "/desk/"),
    ("inspector", _("现场检查应用：今日检查，断网也能记录，有网时同步"), "/app/inspector/"),
    ("school", _("首页的“排课管理”：学期、名单、课表、抽签；经费在“课后服务费”"), "/"),
    ("teacher", _("点名应用：今日课时，一点一个孩子"), "/app/rollcall/"),
    ("institution", _("本机构的核验海报；待说明事项和整改通知在首页"), "{poster}"),
    ("13900000008", _("扫码核验页，点“举报问题”投诉；孩子在 /afterschool/children/"), "{verify}"),
    ("outside1", _("我的准入、课时与结算单"), "/afterschool/coach/"),
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
            self.stdout.write(self.style.SUCCESS(str(format_lazy(_("演示数据已就绪（新建 {n} 个用户）。"), n=created))))
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
                title=_("欢迎使用双减监管平台"),
                body=_("这是一条演示通知。"),
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
        services = [
            (_("网页"), f"{base}/", _("登录 /login/")),
            (_("接口文档"), f"{base}/api/v1/docs", ""),
            ("OpenAPI", f"{base}/api/v1/openapi.json", ""),
            (_("后台"), f"{base}/admin/", ""),
            (_("课后服务"), f"{base}/afterschool/", _("课表、名单、覆盖情况")),
            (_("准入审核"), f"{base}/afterschool/admissions/review/", ""),
            (_("课后服务费"), f"{base}/afterschool/fees/", _("经费分配与结算单")),
            (_("投诉"), f"{base}/complaints/new", _("家长投诉")),
            (_("抽查结果"), f"{base}/inspections/results/", _("检查结果公示")),
            (_("机构名录"), f"{base}/registry/", ""),
            (_("核验页"), pages["verify"], _("海报二维码打开的页面")),
            ("Websocket", f"{ws}/ws/notifications/?access_token=…", ""),
            ("Open311", f"{base}/open311/v2/discovery.json", f"api_key={OPEN311_KEY}"),
            (_("12345 接单"), f"POST {base}/api/v1/hotline/work-orders", f"X-Hotline-Key: {HOTLINE_KEY}"),
            (_("12345 回传"), f"{base}/hotline/outbox/", format_lazy(_("回传失败与重发，工单 {n}"), n=ORDER_NUMBER)),
        ]
        lines = [""]
        for label, address, note in services:
            lines.append(f"  {label}  {address}" + (f"  ({note})" if note else ""))
        lines += [
            "",
            str(
                format_lazy(
                    _("每个角色一个账号（密码都是 {password}），在 {login} 登录，先试："),
                    password=DEMO_PASSWORD,
                    login=f"{base}/login/",
                )
            ),
        ]
        users = {key: (phone, name, role) for u, phone, name, role, _where in DEMO_USERS for key in (u, phone) if key}
        for login, what, page in TRY_FIRST:
            phone, name, role = users[login]
            address = page.format(**pages) if page.startswith("{") else base + page
            lines.append(f"    {Role(role).label if role else _('校外教练')}")
            lines.append(f"      {phone} / {DEMO_PASSWORD}  {name}  →  {address}")
            lines.append(f"      {what}")
        return "\n".join(lines) + "\n"
