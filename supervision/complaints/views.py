"""Web pages of complaints for a parent's phone: file one (the verification page's "report a problem" link,
/complaints/new?institution=<id>) and follow it. Signed in with the web session; the same services as the API."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts import scope
from accounts.models import Region, Role
from core.errors import DomainError, NotFound
from core.http import uploaded_file_response
from core.idempotency import clean_key
from institutions.models import Institution

from . import selectors, services
from .models import ComplaintCategory, ComplaintPhoto, Grade, StatementRequest
from .permissions import access_complaint


def _form_context(request, institution, values: dict, errors: dict, message: str = "") -> dict:
    return {
        "institution": institution,
        "categories": ComplaintCategory.objects.filter(is_active=True),
        "grades": Grade.choices,
        "towns": Region.objects.filter(parent__isnull=False, valid_to__isnull=True).order_by("code"),
        "values": values,
        "errors": errors,
        "message": message,
        "max_photos": services.MAX_PHOTOS,
        "key": values.get("key") or uuid.uuid4().hex,
        "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }


# Error keys of the service -> the id of the form's field (the summary links to it).
FIELD_IDS = {"new_institution.town_id": "town_id", "institution_id": "new_name", "verification_token": "new_name"}


def _errors_of(exc: DomainError) -> dict[str, str]:
    errors = {}
    for key, text in exc.field_messages().items():
        if key.startswith("photos"):  # "photos.1": the message says which photo
            errors["photos"] = exc.message()
        else:
            errors[FIELD_IDS.get(key, key)] = text
    return errors


def _check_form(values: dict, institution, photos: list) -> tuple[dict, datetime | None]:
    """Every field's problem at once, in the form's order: {field id: message}, and the parsed time."""
    errors: dict[str, str] = {}
    if institution is None:
        if not values["new_name"].strip():
            errors["new_name"] = _("请填写机构名称")
        if not values["new_address"].strip():
            errors["new_address"] = _("请填写机构地址")
        town = values["town_id"]
        if not (town.isdigit() and len(town) < 19):
            errors["town_id"] = _("请选择所在镇街")
    if not ComplaintCategory.objects.filter(is_active=True, code=values["category"]).exists():
        errors["category"] = _("请选择问题类别")
    length = len(values["description"].strip())
    if not services.DESCRIPTION_MIN <= length <= services.DESCRIPTION_MAX:
        errors["description"] = _("情况描述须为 %(min)s–%(max)s 个字（现为 %(n)s 个）") % {
            "min": services.DESCRIPTION_MIN,
            "max": services.DESCRIPTION_MAX,
            "n": length,
        }
    occurred = None
    try:
        occurred = timezone.make_aware(datetime.fromisoformat(values["occurred_at"]))
    except ValueError:
        errors["occurred_at"] = _("请填写发生时间")
    if occurred is not None and occurred > timezone.now() + timedelta(minutes=10):
        errors["occurred_at"] = _("发生时间不能晚于现在")
    if len(photos) > services.MAX_PHOTOS:
        errors["photos"] = _("最多上传 %(max)s 张照片（现为 %(n)s 张）") % {
            "max": services.MAX_PHOTOS,
            "n": len(photos),
        }
    return errors, occurred


def _institution_from(raw: str | None) -> Institution | None:
    if raw and raw.isdigit() and len(raw) < 19:
        return Institution.objects.filter(pk=int(raw)).first()
    return None


@require_http_methods(["GET", "POST"])
def complaint_new(request):
    """GET: the form (or how to sign in); POST: file through complaint_file, then the complaint's page."""
    if not request.user.is_authenticated:
        return render(request, "supervision/sign_in_first.html", {"next": request.get_full_path()})
    if not scope.has_role(request.user, Role.PARENT):
        return render(request, "supervision/parents_only.html", status=403)
    source = request.POST if request.method == "POST" else request.GET
    institution = _institution_from(source.get("institution"))
    if request.method == "GET":
        return render(request, "supervision/new.html", _form_context(request, institution, {}, {}))

    values = {k: request.POST.get(k, "") for k in ("category", "description", "occurred_at", "child_grade",
                                                    "new_name", "new_address", "town_id", "key")}  # fmt: skip
    values["disclose_identity"] = request.POST.get("disclose_identity") == "on"
    photos = request.FILES.getlist("photos")
    errors, occurred = _check_form(values, institution, photos)
    if errors:  # every problem at once, before the service (which stops at the first)
        context = _form_context(request, institution, values, errors)
        return render(request, "supervision/new.html", context, status=422)
    try:
        new = None
        if institution is None:
            new = services.NewInstitution(
                name=values["new_name"].strip()[:200],
                address=values["new_address"].strip()[:300],
                town_id=int(values["town_id"]),
            )
        filing = services.Filing(
            category=values["category"],
            description=values["description"],
            occurred_at=occurred,
            institution_id=institution.pk if institution else None,
            new_institution=new,
            child_grade=values["child_grade"] if values["child_grade"] in Grade.values else "",
            disclose_identity=values["disclose_identity"],
        )
        complaint, _unused = services.complaint_file(
            actor=request.user,
            filing=filing,
            photos=photos,
            idempotency_key=clean_key(values["key"] or None),
        )
    except DomainError as exc:
        errors = _errors_of(exc)
        context = _form_context(request, institution, values, errors, "" if errors else exc.message())
        return render(request, "supervision/new.html", context, status=exc.status if exc.status < 500 else 503)
    return redirect("complaint-page", complaint_id=complaint.pk)


def complaint_page(request, complaint_id: int):
    """The parent's view of one complaint: its tracking number, state, deadline and answer."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        complaint = access_complaint(request.user, complaint_id)
    except NotFound:
        raise Http404 from None
    return render(request, "supervision/detail.html", {"c": selectors.complaint_detail(complaint.pk)})


# --- The lists behind the home's cards (later issues grow them into the handler's desk) -----------------------------

PAGE_SIZE = 50
PARENT_SLICES = ("mine_open", "to_rate", "mine")
LIST_TITLES = {
    "mine": _("我的全部投诉"),
    "mine_open": _("办理中的投诉"),
    "to_rate": _("待评价的答复"),
    "to_accept": _("待受理投诉"),
    "due_soon": _("一个工作日内到期的投诉"),
    "overdue": _("已逾期投诉"),
    "district_overdue": _("辖区逾期投诉"),
    "open": _("办理中投诉"),
}


@require_safe
def complaint_list(request):
    """/complaints/?filter=<slice>: the complaints behind a home card (selectors.work_filters), scoped like the API;
    a slice that is not the user's answers 404."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    name = request.GET.get("filter") or ("to_accept" if scope.is_bureau(request.user) else "mine")
    qs = selectors.complaint_work_list(request.user, name, timezone.localdate()) if name in LIST_TITLES else None
    if qs is None:
        raise Http404
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    siblings = PARENT_SLICES if name in PARENT_SLICES else ()
    context = {
        "page": page,
        "filter": name,
        "title": LIST_TITLES[name],
        "siblings": [(s, LIST_TITLES[s]) for s in siblings if s != name],
    }
    return render(request, "supervision/complaint_list.html", context)


@require_safe
def statement_list(request):
    """Institution staff: the statement requests addressed to their institutions (open ones first; ?filter=answered
    for the answered). Anyone else: 404."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not scope.institution_ids(request.user):
        raise Http404
    name = "answered" if request.GET.get("filter") == "answered" else "open"
    qs = selectors.statements_visible_to(request.user).filter(state=name).order_by("due_on", "id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    title = _("待说明事项") if name == StatementRequest.State.OPEN else _("已答复的说明")
    return render(request, "supervision/statement_list.html", {"page": page, "filter": name, "title": title})


# --- Evidence: a complaint's photos, for whoever may see the complaint ------------------------------------------------


@require_safe
def complaint_photo(request, complaint_id: int, photo_id: int):
    """A complaint's photo (?size=thumb for the thumbnail), to whoever may see the complaint; 404 otherwise. The
    files were re-encoded without EXIF (core.uploads); they are never served from /media/."""
    if not request.user.is_authenticated:
        raise Http404
    try:
        complaint = access_complaint(request.user, complaint_id)
    except NotFound:
        raise Http404 from None
    photo = complaint.photos.filter(pk=photo_id, state=ComplaintPhoto.State.READY).first()
    if photo is None:
        raise Http404
    stored = photo.thumbnail if request.GET.get("size") == "thumb" and photo.thumbnail else photo.image
    if not stored:
        raise Http404
    return uploaded_file_response(
        stored.open("rb"), content_type="image/jpeg", filename=f"complaint-{complaint.pk}-{photo.position + 1}.jpg"
    )
