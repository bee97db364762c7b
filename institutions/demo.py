"""About 60 realistic Fuling training institutions for the demo: across the towns, categories and statuses, with
staff, courses, packages, schedules, escrow accounts, and a few rule breaks for the compliance pages to find.

Deterministic (a fixed seed) and idempotent (keyed by credit code): running it twice creates nothing twice.
"""

from __future__ import annotations

import random
from datetime import date, time, timedelta
from decimal import Decimal

from django.db import transaction
from stdnum.cn import ric, uscc

from accounts.models import Region
from core.pii import id_number_hash

from .models import (
    Category,
    Course,
    EscrowAccount,
    FeePackage,
    Institution,
    Mode,
    ScheduleSlot,
    StaffMember,
    Status,
    VerificationToken,
)

# Town centres (approximate), so that "near me" finds something where the demo user stands.
TOWN_CENTRES = {
    "敦仁街道": (29.7040, 107.3920),
    "崇义街道": (29.7170, 107.3960),
    "荔枝街道": (29.6980, 107.3800),
    "江北街道": (29.7380, 107.3980),
    "江东街道": (29.7010, 107.4230),
    "李渡街道": (29.7730, 107.3120),
    "龙桥街道": (29.8200, 107.2700),
    "白涛街道": (29.5500, 107.4950),
    "马鞍街道": (29.6890, 107.3630),
    "蔺市街道": (29.7420, 107.1560),
    "义和街道": (29.7080, 107.2360),
    "南沱镇": (29.8600, 107.5500),
    "珍溪镇": (29.8860, 107.4160),
    "清溪镇": (29.8100, 107.4200),
    "焦石镇": (29.6320, 107.5880),
    "马武镇": (29.5430, 107.6560),
    "龙潭镇": (29.4950, 107.5540),
    "新妙镇": (29.6220, 107.1230),
    "同乐镇": (29.5560, 107.4250),
    "百胜镇": (29.8690, 107.3700),
}

BRANDS = [
    "小画家",
    "跃动",
    "启明",
    "七彩虹",
    "书香",
    "墨韵",
    "星火",
    "乐之声",
    "飞扬",
    "博雅",
    "童心",
    "青苗",
    "鸿鹄",
    "晨曦",
    "智慧树",
    "金话筒",
    "翰林",
    "少年宫",
    "未来星",
    "长江",
    "白鹤",
    "乌江",
    "彩虹桥",
    "新东方",
    "学而思维",
    "棋苑",
    "水木",
    "阳光",
    "育才",
    "英才",
]
KINDS = {
    Category.ARTS: [
        ("美术培训学校", "美术", ["少儿美术", "素描基础", "国画"]),
        ("音乐艺术中心", "音乐", ["钢琴", "声乐", "小提琴"]),
        ("舞蹈培训学校", "舞蹈", ["中国舞", "拉丁舞"]),
        ("书法培训中心", "书法", ["硬笔书法", "毛笔书法"]),
    ],
    Category.SPORTS: [
        ("体育培训中心", "体育", ["篮球", "足球", "跳绳"]),
        ("游泳培训中心", "游泳", ["蛙泳入门", "自由泳提高"]),
        ("跆拳道馆", "武术", ["跆拳道", "武术基础"]),
    ],
    Category.SCIENCE: [("科技培训学校", "科技", ["少儿编程", "机器人", "科学实验"])],
    Category.OTHER: [
        ("口才培训中心", "语言表达", ["小主持人", "演讲与口才"]),
        ("围棋培训中心", "棋类", ["围棋启蒙", "国际象棋"]),
    ],
    Category.SUBJECT: [("学科培训学校", "数学", ["初中数学", "小学语文阅读"])],
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红娥建国文辉力斌宇浩凯鑫"
BANKS = ["中国工商银行涪陵分行", "中国建设银行涪陵分行", "重庆农村商业银行涪陵分行", "中国银行涪陵分行"]

# 60 institutions: (status, how many)
STATUS_PLAN = [
    (Status.LICENSED, 44),
    (Status.RECTIFYING, 4),
    (Status.SUSPENDED, 2),
    (Status.REVOKED, 2),
    (Status.EXPIRED, 2),
    (Status.APPLIED, 2),
    (Status.UNLICENSED, 3),
    (Status.CLOSED, 1),
]


def _credit_code(n: int) -> str:
    body = f"52500102MJ{n:07d}"
    return body + uscc.calc_check_digit(body)


def _id_number(rng: random.Random) -> str:
    born = date(1975, 1, 1) + timedelta(days=rng.randrange(0, 365 * 25))
    body = f"500102{born:%Y%m%d}{rng.randrange(0, 999):03d}"
    return body + ric.calc_check_digit(body)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


@transaction.atomic
def seed_institutions(count: int = 60) -> int:
    rng = random.Random(20261129)
    towns = {r.name: r for r in Region.objects.filter(parent__isnull=False, valid_to__isnull=True)}
    statuses = [s for s, n in STATUS_PLAN for _ in range(n)]
    categories = (
        [Category.ARTS] * 22
        + [Category.SPORTS] * 16
        + [Category.SCIENCE] * 9
        + [Category.OTHER] * 9
        + [Category.SUBJECT] * 4
    )
    rng.shuffle(categories)
    created = 0
    for n in range(count):
        status = statuses[n % len(statuses)]
        category = categories[n % len(categories)]
        town_name = list(TOWN_CENTRES)[n % len(TOWN_CENTRES)] if n % 3 else "敦仁街道"
        kind = rng.choice(KINDS[category])
        if n == 0:  # the demo institution staff member's own: licensed, arts, in 敦仁街道
            status, category, kind = Status.LICENSED, Category.ARTS, KINDS[Category.ARTS][0]
        town = towns[town_name]
        suffix, subject, course_names = kind
        name = f"涪陵区{BRANDS[n % len(BRANDS)]}{suffix}" + ("" if n < len(BRANDS) else f"（{town_name[:2]}校区）")
        if status == Status.UNLICENSED:
            name = f"{town_name}{BRANDS[n % len(BRANDS)]}托管辅导班"
        code = None if status == Status.UNLICENSED else _credit_code(n + 1)
        lookup = {"credit_code": code} if code else {"name": name, "status": Status.UNLICENSED}
        if Institution.objects.filter(**lookup).exists():
            continue
        lat, lng = TOWN_CENTRES[town_name]
        issued = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 900))
        expires = issued + timedelta(days=365 * 3)
        if status == Status.EXPIRED:
            issued, expires = date(2022, 3, 1), date(2025, 3, 1)
        if n in (5, 17):  # two licences that expire within the month, for the reminder
            expires = date.today() + timedelta(days=20 + n % 7)
        unlicensed = status == Status.UNLICENSED
        inst = Institution.objects.create(
            name=name,
            credit_code=code,
            licence_number="" if unlicensed else f"教民15001027{n + 1:07d}号",
            licence_issued_on=None if unlicensed else issued,
            licence_expires_on=None if unlicensed else expires,
            category=Category.OTHER if unlicensed else category,
            mode=Mode.BOTH if category == Category.SCIENCE and n % 2 else Mode.OFFLINE,
            legal_representative="" if unlicensed else _person(rng),
            contact_phone=f"023-72{rng.randrange(100000, 999999)}",
            address=f"涪陵区{town_name}{rng.choice(['兴华中路', '太极大道', '滨江大道', '人民东路', '中山路'])}"
            f"{rng.randrange(1, 300)}号",
            town=town,
            latitude=Decimal(str(round(lat + rng.uniform(-0.01, 0.01), 6))),
            longitude=Decimal(str(round(lng + rng.uniform(-0.01, 0.01), 6))),
            floor_area_m2=Decimal(rng.choice([120, 200, 260, 350, 500])),
            max_students_present=rng.choice([30, 50, 80, 120]) if n != 11 else 200,  # n=11: too small for 200
            status=status,
            status_reason={
                Status.RECTIFYING: "检查发现问题，限期整改",
                Status.SUSPENDED: "存在安全隐患，停业整顿",
                Status.REVOKED: "违规开展学科类培训，吊销许可",
                Status.UNLICENSED: "家长投诉：无证办学",
                Status.CLOSED: "举办者申请注销",
            }.get(status, ""),
            found_via="家长投诉" if unlicensed else "",
        )
        VerificationToken.objects.create(institution=inst)
        created += 1
        if unlicensed:
            continue
        if n % 9 != 4:  # a few without a supervised account (R-FEE-3)
            EscrowAccount.objects.create(
                institution=inst,
                bank=rng.choice(BANKS),
                account_number=f"31000{rng.randrange(10**13, 10**14)}",
                agreement_number=f"FLJG-2024-{n + 1:03d}",
                balance=Decimal(rng.randrange(5000, 200000)),
                balance_reported_on=date(2026, 10, 31),
            )
        for i in range(rng.randrange(3, 7)):
            teacher = i < 3
            StaffMember.objects.create(
                institution=inst,
                name=_person(rng),
                **_hashed(_id_number(rng)),
                role=StaffMember.StaffRole.TEACHER if teacher else StaffMember.StaffRole.MANAGER,
                full_time=(i % 3 != 2) if n % 13 else i == 0,  # n%13==0: mostly part-time (R-STAFF-3)
                teacher_certificate_no=f"2021500{rng.randrange(10**9, 10**10)}"
                if teacher and category == Category.SUBJECT or (teacher and i == 0)
                else "",
                competence_proof="" if category == Category.SUBJECT or not teacher or i == 0 else "专业等级证书",
                in_service_teacher=n == 7 and i == 1,  # one in-service school teacher (R-STAFF-2)
                precheck_date=date(2025, 9, 1),
                precheck_result=StaffMember.Precheck.PASSED,
            )
        for j, course_name in enumerate(course_names[: rng.randrange(1, len(course_names) + 1)]):
            online = inst.mode == Mode.BOTH and j == 1
            course = Course.objects.create(
                institution=inst,
                name=course_name,
                subject=subject,
                category=category,
                mode=Mode.ONLINE if online else Mode.OFFLINE,
                min_age=6 if j else 5,
                max_age=15,
                grade_range="小学至初中",
                class_minutes=30 if online else rng.choice([60, 90]),
            )
            FeePackage.objects.create(course=course, name="体验课", hours=4, months=1, price=Decimal("0.00"))
            FeePackage.objects.create(
                course=course, name="季度班", hours=36, months=3, price=Decimal(rng.choice([2400, 2880, 3200, 3600]))
            )
            if n in (3, 21) and j == 0:  # a year-long package (R-FEE-1) and an expensive one (R-FEE-2)
                FeePackage.objects.create(course=course, name="年卡", hours=120, months=12, price=Decimal("9800.00"))
            weekday = rng.choice([0, 2, 4]) if category == Category.SUBJECT and n != 40 else rng.randrange(0, 7)
            ScheduleSlot.objects.create(course=course, weekday=weekday, start_time=time(18, 30), end_time=time(20, 0))
            if category != Category.SUBJECT:
                ScheduleSlot.objects.create(course=course, weekday=5, start_time=time(9, 0), end_time=time(10, 30))
    return created


def _hashed(number: str) -> dict:
    return {"id_number_hash": id_number_hash(number), "id_number_last4": number[-4:]}
