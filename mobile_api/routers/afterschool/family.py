"""Parents and their children over the API, through the same services as the web pages (afterschool.family): a
parent lists their children and link requests and asks to follow a child (linked at once when the school's class
list holds their phone, otherwise the school confirms); a school's admins list the requests to their schools and
confirm or decline them. Another school's request answers 404, as a missing one does."""

from __future__ import annotations

from datetime import datetime as DateTime
from typing import Literal

from django.utils.translation import gettext_lazy as _
from ninja import Header, Query, Router, Schema, Status
from pydantic import Field

from accounts import scope
from accounts.models import Role
from accounts.phones import mask_phone
from afterschool.family import services
from afterschool.family.models import ChildLinkRequest
from afterschool.schedule import selectors
from core.errors import NotFound
from core.idempotency import clean_key

from ...pagination import PageParams, paginate
from ...schemas import MAX_ID
from .common import ERRORS, StudentOut, student_out

router = Router()

LinkStatus = Literal[tuple(ChildLinkRequest.Status.values)]  # type: ignore[valid-type]


class Candidate(Schema):
    id: int
    name: str


class LinkRequestOut(Schema):
    id: int
    status: str = Field(..., description="requested: 待学校确认 / confirmed: 已关联 / rejected: 学校未确认")
    status_label: str
    confirmed_how: str = Field(..., description="class_list | school | ''")
    school_id: int
    school_name: str
    class_id: int | None
    class_label: str
    child_name: str
    relation: str
    student_id: int | None = Field(..., description="已关联的孩子 / the child linked (confirmed only)")
    note: str
    created_at: DateTime
    decided_at: DateTime | None


class AdminLinkRequestOut(LinkRequestOut):
    parent_name: str
    parent_phone: str = Field(..., description="掩码手机号 / masked phone")
    candidates: list[Candidate] = Field(..., description="可确认为的学生（本班名单）/ students of the class to name")


def _out(r: ChildLinkRequest) -> dict:
    return {
        "id": r.pk,
        "status": r.status,
        "status_label": r.get_status_display(),
        "confirmed_how": r.confirmed_how,
        "school_id": r.school_id,
        "school_name": r.school.name,
        "class_id": r.school_class_id,
        "class_label": r.school_class.label if r.school_class_id else "",
        "child_name": r.child_name,
        "relation": r.relation,
        "student_id": r.student_id if r.status == ChildLinkRequest.Status.CONFIRMED else None,
        "note": r.note,
        "created_at": r.created_at,
        "decided_at": r.decided_at,
    }


def _admin_out(r: ChildLinkRequest, candidates: dict) -> dict:
    return {
        **_out(r),
        "student_id": r.student_id,  # the school sees which child of its list the request names
        "parent_name": r.parent.name,
        "parent_phone": mask_phone(r.parent.phone),
        "candidates": [{"id": s.pk, "name": s.name} for s in candidates.get(r.school_class_id, [])],
    }


# --- Parents ---------------------------------------------------------------------------------------------------------


class MyLinksOut(Schema):
    children: list[StudentOut]
    items: list[LinkRequestOut]
    count: int


@router.get(
    "/child-links", response={200: MyLinksOut, **ERRORS}, summary="我的孩子与关联申请 My children and link requests"
)
def my_links(request, filters: Query[PageParams]):
    children = selectors.children_of(request.auth).select_related("school_class").order_by("name", "id")
    page = paginate(services.link_requests_of_parent(request.auth).order_by("-created_at", "-id"), filters)
    return {
        "children": [student_out(s) for s in children],
        "items": [_out(r) for r in page["items"]],
        "count": page["count"],
    }


class LinkIn(Schema):
    school_id: int = Field(..., ge=1, le=MAX_ID)
    grade: int = Field(..., ge=1, le=12)
    class_number: int = Field(..., ge=1, le=99)
    child_name: str = Field(..., min_length=1, max_length=50)
    relation: str = Field("", max_length=20)


@router.post(
    "/child-links",
    response={201: LinkRequestOut, **ERRORS},
    summary="关联孩子 Ask to follow a child (parents)",
    description=(
        "学校名单登记了家长手机号时立即关联（status = confirmed），否则等待学校确认（requested）。同一 Idempotency-Key "
        "重复提交返回第一次的结果，不会重复创建。/ Linked at once when the class list holds the parent's phone, "
        "otherwise the school confirms. The same Idempotency-Key again answers the first request."
    ),
)
def request_link(
    request, payload: LinkIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200)
):
    req = services.child_link_request(
        actor=request.auth,
        school_id=payload.school_id,
        grade=payload.grade,
        class_number=payload.class_number,
        child_name=payload.child_name,
        relation=payload.relation,
        idempotency_key=clean_key(idempotency_key),
    )
    req = services.link_requests_of_parent(request.auth).get(pk=req.pk)
    return Status(201, _out(req))


# --- A school's admins -----------------------------------------------------------------------------------------------


def _school_admin(user) -> None:
    if not scope.school_ids(user, Role.SCHOOL_ADMIN):
        raise NotFound(_("关联申请不存在"))


class AdminFilters(PageParams):
    status: LinkStatus | None = Field("requested", description="默认待确认 / default: waiting for the school")
    school_id: int | None = Field(None, ge=1, le=MAX_ID)


class AdminLinksOut(Schema):
    items: list[AdminLinkRequestOut]
    count: int


@router.get(
    "/link-requests",
    response={200: AdminLinksOut, **ERRORS},
    summary="家长关联申请 Parents' link requests to my schools (school admins)",
)
def school_link_requests(request, filters: Query[AdminFilters]):
    _school_admin(request.auth)
    qs = services.link_requests_for_admin(request.auth).select_related("parent", "school", "school_class")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.school_id:
        qs = qs.filter(school_id=filters.school_id)
    page = paginate(qs.order_by("created_at", "id"), filters)
    candidates = services.link_request_candidates(page["items"])
    return {"items": [_admin_out(r, candidates) for r in page["items"]], "count": page["count"]}


class DecideIn(Schema):
    decision: Literal["confirm", "decline"]
    student_id: int | None = Field(None, ge=1, le=MAX_ID, description="确认时名单中的学生 / the child on the list")
    note: str = Field("", max_length=200)


@router.post(
    "/link-requests/{request_id}/decide",
    response={200: AdminLinkRequestOut, **ERRORS},
    summary="确认或拒绝关联申请 Confirm or decline a link request (school admins)",
    description="同一决定重复提交返回当前结果 / The same decision sent again answers the request as it is.",
)
def decide_link_request(request, request_id: int, payload: DecideIn):
    _school_admin(request.auth)
    services.child_link_decide(
        actor=request.auth,
        request_id=request_id,
        approve=payload.decision == "confirm",
        student_id=payload.student_id,
        note=payload.note,
    )
    req = services.access_link_request_for_admin(request.auth, request_id)
    return _admin_out(req, services.link_request_candidates([req]))
