"""Web pages of complaints for a parent's phone: file one (the verification page's "report a problem" link,
/complaints/new?institution=<id>) and follow it. Signed in with the web session; the same services as the API."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import scope
from accounts.models import Region, Role
from core.errors import DomainError, NotFound
from core.http import uploaded_file_response
from core.idempotency import clean_key
from institutions.models import Institution

from . import permissions, selectors, services, sla
from .models import ComplaintCategory, ComplaintPhoto, ComplaintStatus, Grade, StatementRequest
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


# --- The parent's page of one complaint (issue 17): timeline, thread, supplements, rating, reopening ----------------

FORMS = ("message", "supplement", "rate", "reopen")
DONE = {
    "message": _("留言已发送"),
    "supplement": _("补充材料已提交，承办人会继续办理"),
    "rate": _("感谢您的评价，投诉已办结"),
    "reopen": _("已申请重新办理，承办人会重新调查"),
}


def _visible_complaint(request, complaint_id: int):
    try:
        return access_complaint(request.user, complaint_id)
    except NotFound:
        raise Http404 from None


def _page_context(request, complaint, *, errors=None, values=None) -> dict:
    """What the complaint's page shows: for its parent, the forms their complaint's state allows now."""
    c = selectors.complaint_detail(complaint.pk)
    sla.mark_provisional([c])
    user = request.user
    is_parent = c.parent_id == user.pk
    photos = list(c.photos.all())
    ready = [p for p in photos if p.state == ComplaintPhoto.State.READY]
    actions = permissions.allowed_actions(user, c) if is_parent else []
    now = timezone.now()
    reopen_until = c.answered_at + timedelta(days=sla.reopen_days()) if c.answered_at else None
    reopen_state = ""
    if is_parent and c.status == ComplaintStatus.ANSWERED:
        if c.reopened_at is not None:
            reopen_state = "used"
        elif reopen_until and now > reopen_until:
            reopen_state = "expired"
        elif "reopen" in actions:
            reopen_state = "open"
    awaiting = c.paused_since is not None and c.is_open
    thread = list(selectors.complaint_messages(c))
    done = request.GET.get("done", "")
    can_message = is_parent and c.status not in (ComplaintStatus.CLOSED, ComplaintStatus.REJECTED)
    shown = {
        "message": can_message and not awaiting,
        "supplement": is_parent and awaiting,
        "rate": "rate" in actions,
        "reopen": reopen_state == "open",
    }
    # A refusal for a form the fresh state no longer offers (a stale page) is shown at the top, with that state.
    refusal = next((errors[f] for f in FORMS if errors and f in errors and not shown[f]), "")
    return {
        "c": c,
        "is_parent": is_parent,
        "photos": ready,
        "photos_processing": len(photos) - len(ready),
        "timeline": selectors.parent_timeline(c),
        "thread": thread,
        "awaiting": awaiting,
        "asked": next((m for m in reversed(thread) if m.awaiting_parent), None) if awaiting else None,
        "can_message": can_message,
        "refusal": refusal,
        "can_rate": "rate" in actions,
        "reopen_state": reopen_state,
        "reopen_until": reopen_until,
        "reopen_days": sla.reopen_days(),
        "max_photos": services.MAX_PHOTOS,
        "errors": errors or {},
        "values": values or {},
        # What was just done: shown beside the thread (a message, a supplement) or at the top (a rating, reopening).
        "done": DONE.get(done) if done in ("message", "supplement") else None,
        "done_top": DONE.get(done) if done in ("rate", "reopen") else None,
        "ratings": (5, 4, 3, 2, 1),
    }


@require_safe
def complaint_page(request, complaint_id: int):
    """One complaint: its tracking number, state, deadline, photos, the timeline of its steps and the thread; its
    parent also finds there what they can do now (answer a request for more, rate, reopen within the time)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    complaint = _visible_complaint(request, complaint_id)
    if scope.is_bureau(request.user) and complaint.parent_id != request.user.pk:
        return redirect("desk-complaint", complaint_id=complaint.pk)  # staff work it on the desk, not the parent's card
    return render(request, "supervision/detail.html", _page_context(request, complaint))


def _back_to_page(complaint_id: int, done: str, anchor: str):
    return redirect(f"{reverse('complaint-page', args=(complaint_id,))}?done={done}#{anchor}")


def _refused(request, complaint, form: str, exc: DomainError, values: dict):
    """The page again with the refusal beside the form (a stale page: the fresh state with the message)."""
    errors = {form: exc.message(), **{f"{form}.{k}": v for k, v in exc.field_messages().items()}}
    context = _page_context(request, complaint, errors=errors, values={form: values})
    return render(request, "supervision/detail.html", context, status=exc.status if exc.status < 500 else 503)


def _version(request) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@require_POST
def complaint_message(request, complaint_id: int):
    """The parent writes to the handler. With htmx, the thread is sent back alone (the page stays where it is)."""
    if not request.user.is_authenticated:
        raise Http404
    complaint = _visible_complaint(request, complaint_id)
    if complaint.parent_id != request.user.pk:
        raise Http404  # the handler writes from the desk
    body = request.POST.get("body", "")
    try:
        services.complaint_message_post(actor=request.user, complaint_id=complaint.pk, body=body)
    except DomainError as exc:
        if request.htmx:  # the thread with the message beside the form (htmx swaps 2xx answers only)
            errors, values = {"message": exc.message()}, {"message": {"body": body}}
            context = _page_context(request, complaint, errors=errors, values=values)
            return render(request, "supervision/_thread.html", context)
        return _refused(request, complaint, "message", exc, {"body": body})
    if request.htmx:
        context = _page_context(request, complaint)
        context["done"] = DONE["message"]
        return render(request, "supervision/_thread.html", context)
    return _back_to_page(complaint.pk, "message", "thread")


@require_POST
def complaint_supplement(request, complaint_id: int):
    """The parent answers the handler's request for more: text and photos (the paused clock starts again)."""
    if not request.user.is_authenticated:
        raise Http404
    complaint = _visible_complaint(request, complaint_id)
    body = request.POST.get("body", "")
    try:
        services.complaint_supplement(
            actor=request.user, complaint_id=complaint.pk, body=body, photos=request.FILES.getlist("photos")
        )
    except DomainError as exc:
        return _refused(request, complaint, "supplement", exc, {"body": body})
    return _back_to_page(complaint.pk, "supplement", "thread")


@require_POST
def complaint_rate(request, complaint_id: int):
    """The parent rates the answer (1–5, a comment): the complaint is closed."""
    if not request.user.is_authenticated:
        raise Http404
    complaint = _visible_complaint(request, complaint_id)
    raw, comment = request.POST.get("rating", ""), request.POST.get("comment", "")
    data = {"rating": int(raw) if raw in ("1", "2", "3", "4", "5") else None, "comment": comment}
    try:
        services.complaint_act(
            actor=request.user, complaint_id=complaint.pk, action="rate", data=data, expected_version=_version(request)
        )
    except DomainError as exc:
        return _refused(request, complaint, "rate", exc, {"rating": raw, "comment": comment})
    return _back_to_page(complaint.pk, "rate", "top")


@require_POST
def complaint_reopen(request, complaint_id: int):
    """The parent asks for the complaint to be worked again, with why, within the days allowed after the answer."""
    if not request.user.is_authenticated:
        raise Http404
    complaint = _visible_complaint(request, complaint_id)
    comment = request.POST.get("comment", "")
    try:
        services.complaint_act(
            actor=request.user,
            complaint_id=complaint.pk,
            action="reopen",
            data={"comment": comment},
            expected_version=_version(request),
        )
    except DomainError as exc:
        return _refused(request, complaint, "reopen", exc, {"comment": comment})
    return _back_to_page(complaint.pk, "reopen", "top")


# --- The lists behind the home's cards (later issues grow them into the handler's desk) -----------------------------

PAGE_SIZE = 50
PARENT_SLICES = ("mine", "mine_open", "to_supplement", "to_rate")
LIST_TITLES = {
    "mine": _("我的全部投诉"),
    "mine_open": _("办理中的投诉"),
    "to_rate": _("待评价的答复"),
    "to_supplement": _("待补充材料的投诉"),
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
        "parent_view": name in PARENT_SLICES,
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


# --- Institution staff answer a statement request (issue 17) ---------------------------------------------------------


def _statement_context(request, statement, *, error="", errors=None, values=None) -> dict:
    """A statement request as its institution sees it: the category, the day, the question; never who complained."""
    return {
        "r": statement,
        "evidence": list(statement.evidence.all()),
        "can_answer": statement.state == StatementRequest.State.OPEN,
        "occurred_on": timezone.localtime(statement.complaint.occurred_at).date(),
        "error": error,
        "errors": errors or {},
        "values": values or {},
        "max_files": services.STATEMENT_MAX_FILES,
        "done": request.GET.get("done") == "answered",
    }


@require_http_methods(["GET", "POST"])
def statement_page(request, request_id: int):
    """/complaints/statements/<id>/: institution staff read the bureau's question and answer it with text and
    photos or PDF documents as evidence; once answered, what they sent. Anyone else: 404."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        statement = permissions.access_statement(request.user, request_id)
    except NotFound:
        raise Http404 from None
    if request.method == "GET":
        return render(request, "supervision/statement.html", _statement_context(request, statement))
    text = request.POST.get("statement", "")
    try:
        services.statement_answer(
            actor=request.user, request_id=statement.pk, statement=text, evidence=request.FILES.getlist("evidence")
        )
    except DomainError as exc:
        statement.refresh_from_db()
        fields = exc.field_messages()
        errors = {"evidence" if k.startswith("evidence") else k: v for k, v in fields.items()}
        if exc.code.startswith(("upload", "photo", "statement.too_many")):  # a file's problem: beside the files
            errors.setdefault("evidence", exc.message())
        context = _statement_context(request, statement, error=exc.message(), errors=errors, values={"statement": text})
        return render(request, "supervision/statement.html", context, status=exc.status if exc.status < 500 else 503)
    return redirect(f"{reverse('complaint-statement', args=(statement.pk,))}?done=answered")


@require_safe
def statement_evidence(request, request_id: int, evidence_id: int):
    """A photo (?size=thumb: its thumbnail) or document sent with a statement, to the institution that sent it and
    the bureau staff covering the complaint; 404 for anyone else (the parent included)."""
    if not request.user.is_authenticated:
        raise Http404
    row = selectors.statement_evidence_visible_to(request.user, evidence_id, request_id)
    if row is None:
        raise Http404
    stored = row.thumbnail if request.GET.get("size") == "thumb" and row.thumbnail else row.file
    extension = "pdf" if row.kind == "document" else "jpg"
    return uploaded_file_response(
        stored.open("rb"), content_type=row.content_type, filename=f"statement-{request_id}-{row.pk}.{extension}"
    )


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
