"""Demo data of complaints (idempotent), called by `manage.py seed_demo` after the users exist.

Complaints of the demo parent 张女士 in every state, made through the services (so each has its audit trail and
notifications): submitted, in the district queue (an unlicensed operator), accepted, rejected, merged as a
duplicate, assigned and waiting for the parent's photos (the clock paused), investigating with a thread, a statement
from 涪陵区小画家美术培训学校 (赵经理) and a second request it has still to answer, overdue and escalated, answered
(waiting for the parent's rating; the parent was texted the outcome), closed with a rating, and closed automatically.
Each is filed with a fixed Idempotency-Key, so a second run finds them and does nothing.
"""

from __future__ import annotations

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import Region, User
from institutions.models import Institution

from . import services
from .models import AnswerTemplate, Complaint, RoutingRule

PARENT_PHONE = "13900000008"  # 张女士
HANDLER_PHONE = "13900000002"  # 王科长
SUPERVISOR_PHONE = "13900000001"  # 周局长
INSTITUTION_STAFF_PHONE = "13900000007"  # 赵经理
SHOWCASE = "涪陵区小画家美术培训学校"


def _photo() -> SimpleUploadedFile:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (800, 600), (240, 236, 228))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 60, 740, 540), outline=(120, 40, 40), width=6)
    draw.text((90, 90), "RECEIPT 2026-11-02  3600.00", fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return SimpleUploadedFile("receipt.jpg", out.getvalue(), "image/jpeg")


def _file(parent, key: str, institution=None, new=None, photos=None, days_ago: int = 0, **fields):
    filing = services.Filing(
        category=fields.pop("category"),
        description=fields.pop("description"),
        occurred_at=timezone.now() - timedelta(days=days_ago + 2),
        institution_id=institution.pk if institution else None,
        new_institution=new,
        **fields,
    )
    complaint, created = services.complaint_file(actor=parent, filing=filing, photos=photos, idempotency_key=key)
    return complaint, created


def _act(actor, complaint, action, **data):
    return services.complaint_act(actor=actor, complaint_id=complaint.pk, action=action, data=data)


def seed_complaints() -> None:
    """Complaints in every state; nothing new on a second run."""
    parent = User.objects.filter(phone=PARENT_PHONE).first()
    handler = User.objects.filter(phone=HANDLER_PHONE).first()
    supervisor = User.objects.filter(phone=SUPERVISOR_PHONE).first()
    staff = User.objects.filter(phone=INSTITUTION_STAFF_PHONE).first()
    showcase = Institution.objects.filter(name=SHOWCASE).first()
    others = list(Institution.objects.filter(status="licensed").exclude(name=SHOWCASE).order_by("name")[:4])
    if not (parent and handler and supervisor and showcase and len(others) == 4):
        return
    with transaction.atomic():
        seed_answer_templates()
        if not RoutingRule.objects.filter(is_active=True, town=showcase.town, category__isnull=True).exists():
            RoutingRule.objects.create(town=showcase.town, handler=handler)
        for other in others:
            if not RoutingRule.objects.filter(is_active=True, town=other.town, category__isnull=True).exists():
                RoutingRule.objects.create(town=other.town, handler=handler)
        services.clear_routing_cache()
        _seed(parent, handler, supervisor, staff, showcase, others)


def _seed(parent, handler, supervisor, staff, showcase, others) -> None:
    if Complaint.objects.filter(parent=parent, idempotency_key="demo-complaint-submitted").exists():
        return  # seeded before (the dates are relative to the day of the run, so the keys alone decide)
    refund = "报名时承诺随时可退，现在孩子不想学了，机构以各种理由拒绝退还剩余 24 课时的费用。"
    c, created = _file(parent, "demo-complaint-submitted", showcase, category="refund", description=refund,
                       photos=[_photo()], child_grade="g3")  # fmt: skip
    if not created:
        return  # seeded before

    queue_town = Region.objects.filter(name="李渡街道", valid_to__isnull=True).first()
    if queue_town is not None:
        _file(
            parent,
            "demo-complaint-queue",
            new=services.NewInstitution(
                name="李渡某小区托管辅导班", address="李渡街道聚龙大道 88 号 3 栋", town_id=queue_town.pk
            ),
            category="unlicensed",
            description="小区里有人开设托管辅导班，晚上给小学生讲语文数学，没有看到任何办学许可证。",
        )

    accepted, _ = _file(parent, "demo-complaint-accepted", others[0], category="over_hours",
                        description="周日晚上九点多了还在上课，孩子回家已经十点。", days_ago=1)  # fmt: skip
    _act(handler, accepted, "accept")

    rejected, _ = _file(parent, "demo-complaint-rejected", others[1], category="other",
                        description="学校布置的作业太多，孩子每天写到很晚。", days_ago=3)  # fmt: skip
    _act(
        handler, rejected, "reject", reason="out_of_remit", comment="该问题属于学校作业管理，已转告学校，请向学校反映。"
    )

    assigned, _ = _file(parent, "demo-complaint-assigned", others[2], category="false_advertising",
                        description="宣传单上写“保证提分 30 分”，与实际完全不符。", days_ago=2)  # fmt: skip
    _act(handler, assigned, "accept")
    _act(handler, assigned, "assign", handler_id=handler.pk)
    # The handler waits for the parent (the clock paused): 张女士 answers on the complaint's page, with photos.
    services.complaint_message_post(actor=handler, complaint_id=assigned.pk, awaiting_parent=True,
                                    body="请补充传单的照片，以及拿到传单的时间和地点。")  # fmt: skip

    duplicate, _ = _file(parent, "demo-complaint-duplicate", others[2], category="false_advertising",
                         description="又看到这家机构发“保证提分”的传单了。", days_ago=1)  # fmt: skip
    _act(handler, duplicate, "merge", duplicate_of=assigned.pk)

    investigating, _ = _file(parent, "demo-complaint-investigating", showcase, category="unqualified_teacher",
                             description="给孩子上课的美术老师说自己还是在校大学生，没有教师资格证。", days_ago=4,
                             disclose_identity=True)  # fmt: skip
    _act(handler, investigating, "accept")
    _act(handler, investigating, "assign", handler_id=handler.pk)
    _act(handler, investigating, "start")
    services.complaint_message_post(actor=handler, complaint_id=investigating.pk,
                                    body="请问上课的具体时间和老师姓名？", awaiting_parent=True)  # fmt: skip
    services.complaint_message_post(actor=parent, complaint_id=investigating.pk,
                                    body="每周六上午十点，老师姓刘，二十岁左右。")  # fmt: skip
    request = services.statement_request_create(
        actor=handler, complaint_id=investigating.pk, question="请提供周六上午美术课任课教师的教师资格证明。"
    )
    if staff is not None:
        services.statement_answer(
            actor=staff, request_id=request.pk, statement="周六上午由刘老师任教，其教师资格证正在办理中，已暂停其授课。"
        )
    # A second question still open: 赵经理 answers it in the browser (待说明事项), with photos or documents.
    services.statement_request_create(
        actor=handler,
        complaint_id=investigating.pk,
        question="请提供暂停刘老师授课后周六上午美术课的排课表和代课教师的资格证明。",
    )

    overdue, _ = _file(parent, "demo-complaint-overdue", others[3], category="safety",
                       description="教室只有一个出口，走廊堆满杂物，消防通道被堵。", days_ago=10)  # fmt: skip
    _act(handler, overdue, "accept")
    _act(handler, overdue, "assign", handler_id=handler.pk)
    _act(handler, overdue, "start")
    past = timezone.localdate() - timedelta(days=3)
    Complaint.objects.filter(pk=overdue.pk).update(sla_due_on=past, sla_warn_on=past - timedelta(days=1))

    answered, _ = _file(parent, "demo-complaint-answered", showcase, category="no_invoice",
                        description="交了 3600 元学费，机构一直不开发票。", days_ago=6)  # fmt: skip
    for action in ("accept", "assign", "start"):
        _act(handler, answered, action)
    _act(
        handler,
        answered,
        "answer",
        outcome="substantiated",
        answer="经查属实，已责令机构三日内开具发票并整改收费管理。",
    )

    closed, _ = _file(parent, "demo-complaint-closed", others[0], category="refund",
                      description="退费申请提交一个月了还没有处理。", days_ago=20)  # fmt: skip
    for action in ("accept", "assign", "start"):
        _act(handler, closed, action)
    _act(handler, closed, "answer", outcome="referred", referred_to="涪陵区市场监督管理局",
         answer="退费纠纷属合同纠纷，已移送区市场监督管理局（12315）处理。")  # fmt: skip
    _act(parent, closed, "rate", rating=4, comment="转办及时，谢谢。")

    auto, _ = _file(parent, "demo-complaint-auto-closed", others[1], category="beyond_curriculum",
                    description="三年级的孩子在学初中数学内容。", days_ago=25)  # fmt: skip
    for action in ("accept", "assign", "start"):
        _act(handler, auto, action)
    _act(
        handler, auto, "answer", outcome="not_substantiated", answer="经现场检查，课程内容与备案一致，未发现超标培训。"
    )
    Complaint.objects.filter(pk=auto.pk).update(answered_at=timezone.now() - timedelta(days=8))

    services.complaint_sweep()  # closes the old answer, warns and escalates the overdue one
    services.complaint_press(  # the district supervisor presses the handler of the overdue one (督办)
        actor=supervisor, complaint_id=overdue.pk, due_on=timezone.localdate() + timedelta(days=2),
        note="该投诉已逾期，涉及消防安全，请两日内完成现场核查并答复家长。",
    )  # fmt: skip


# The desk's answer templates (the district supervisors edit them at /desk/templates/).
ANSWER_TEMPLATES = (
    ("退费属实", "substantiated",
     "经调查，您反映的机构拒绝退费问题属实。我局已责令该机构在五个工作日内按合同约定退还剩余费用，并对其收费管理进行整改。"
     "如到期仍未退费，请回复本投诉，我们将依法进一步处理。"),
    ("部分属实", "partly_substantiated",
     "经调查，您反映的问题部分属实。我局已对查实部分责令机构限期整改，整改情况将纳入日常监管。感谢您的监督。"),
    ("不属实", "not_substantiated",
     "经现场检查和调阅资料，未发现您反映的问题。我局将继续加强对该机构的日常监管，如有新的线索，欢迎继续反映。"),
    ("移送市场监管", "referred",
     "您反映的问题属于合同或价格纠纷，依职责已移送涪陵区市场监督管理局处理，对方将直接与您联系。"
     "也可拨打 12315 查询进展。"),
)  # fmt: skip


def seed_answer_templates() -> None:
    """The four templates above, once (a bureau that deleted or renamed them is left alone)."""
    if AnswerTemplate.objects.exists():
        return
    AnswerTemplate.objects.bulk_create(
        AnswerTemplate(title=title, outcome=outcome, body=body, sort_order=i)
        for i, (title, outcome, body) in enumerate(ANSWER_TEMPLATES)
    )
