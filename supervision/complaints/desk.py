"""The handler's desk (12345 work-order style) for bureau staff: the queue with filters and counts, a complaint's
page with its photos, timeline, masked contact, duplicates and the buttons of exactly the actions its state allows,
the supervisor's board (with an xlsx export) and the answer templates. Desktop first, usable at 390 px.

Every action form carries the complaint's `version` as the handler saw it: a stale one answers 409 with the page
in its fresh state and a message, never a silent overwrite. A view adapts the request; the rules are in the
services, selectors and permissions it calls. Anyone who is not bureau staff covering the complaint gets 404.
"""

from __future__ import annotations

import io
from datetime import date

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import scope
from accounts.models import Region, Role, User
from accounts.phones import mask_phone
from accounts.selectors import memberships_of
from core.csrf import page_token
from core.errors import DomainError, NotFound
from institutions.models import Institution

from . import cache as complaint_cache
from . import selectors, services
from .models import AnswerTemplate, ComplaintStatus, Outcome, RejectionReason
from .permissions import access_complaint, desk_actions
from .selectors import DESK_PERIODS, DeskFilters

PAGE_SIZE = 50
DEFAULT_DAYS = 90

DEADLINE_LABELS = {"due_soon": _("一个工作日内到期"), "overdue": _("已逾期"), "paused": _("等待家长补充")}
FLAG_LABELS = {
    "theirs": _("我的待办"),
    "mine": _("我承办的"),
    "unassigned": _("未分派"),
    "answered": _("已答复（按期统计）"),
    "on_time": _("按期答复"),
    "late": _("超期答复"),
    "reopened": _("重新办理过"),
    "rated": _("家长已评价"),
}
DONE = {
    "take": _("已签收：您是这件投诉的承办人。"),
    "reject": _("已作不予受理处理。"),
    "start": _("已开始调查。"),
    "assign": _("已转交同事承办，对方已收到通知。"),
    "message": _("留言已发送。"),
    "request_statement": _("已请机构作出说明。"),
    "ask_parent": _("已请家长补充材料，答复时限暂停计时。"),
    "conclude": _("已答复家长。"),
    "transfer": _("已转办。"),
    "send_back": _("已退单，等待区级重新分派。"),
    "merge": _("已合并。"),
    "press": _("已督办，承办人已收到通知。"),
    "inspection": _("已发起检查。"),
}
# What each audited verb is called on the timeline.
VERBS = {
    "complaint.submit": _("家长提交投诉"),
    "complaint.accept": _("受理"),
    "complaint.reject": _("不予受理"),
    "complaint.merge": _("合并至另一投诉"),
    "complaint.merged_in": _("合并了重复投诉"),
    "complaint.assign": _("分派承办人"),
    "complaint.start": _("开始调查"),
    "complaint.answer": _("答复家长"),
    "complaint.reopen": _("家长申请重新办理"),
    "complaint.rate": _("家长评价"),
    "complaint.confirm_institution": _("核实机构"),
    "complaint.pause": _("请家长补充，暂停计时"),
    "complaint.resume": _("家长已补充，恢复计时"),
    "complaint.sla_warning": _("即将到期预警"),
    "complaint.escalate": _("逾期上报区级"),
    "complaint.auto_close": _("逾期未评价，自动办结"),
    "complaint.outcome_shared": _("同步合并投诉的处理结果"),
    "complaint.transfer": _("转办"),
    "complaint.send_back": _("退单"),
    "complaint.press": _("督办"),
    "statement.request": _("请机构说明"),
    "statement.answer": _("机构作出说明"),
    "statement.overdue": _("机构说明逾期"),
    "personal_data.view": _("查看家长联系方式"),
}


def _signed_in_bureau(request):
    """None when the user may use the desk; else the response (sign in, or the same 404 as a missing page)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not scope.is_bureau(request.user):
        raise Http404
    return None


def _int(raw) -> int | None:
    return int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 12 else None


# --- The queue -------------------------------------------------------------------------------------------------------


def _facet(f: DeskFilters, name: str, choices, counts: dict, *, toggle: bool = False, keep_empty=True) -> list[dict]:
    current = getattr(f, name)
    items = []
    for value, label in choices:
        n = counts.get(value, 0)
        if not n and not keep_empty and value != current:
            continue
        selected = value == current
        target = "" if (toggle and selected) else value
        items.append({"label": label, "count": n, "selected": selected, "href": "?" + f.query(**{name: target}),
                      "value": value})  # fmt: skip
    return items


def _chips(f: DeskFilters) -> list[dict]:
    """Filters set by a link (the board, a row), each shown with a link that removes it."""
    chips = []
    if f.institution:
        name = Institution.objects.filter(pk=f.institution).values_list("name", flat=True).first()
        chips.append({"label": _("机构：%s") % (name or f.institution), "href": "?" + f.query(institution=None)})
    if f.handler:
        name = User.objects.filter(pk=f.handler).values_list("name", flat=True).first()
        chips.append({"label": _("承办人：%s") % (name or f.handler), "href": "?" + f.query(handler=None)})
    if f.days:
        chips.append({"label": _("近 %s 天收到") % f.days, "href": "?" + f.query(days=None)})
    if f.flag in ("answered", "on_time", "late", "rated"):
        chips.append({"label": FLAG_LABELS[f.flag], "href": "?" + f.query(flag=None)})
    if f.q:
        chips.append({"label": _("搜索：%s") % f.q, "href": "?" + f.query(q=None)})
    return chips


def _queue_page(user, f: DeskFilters, today: date, number) -> tuple[Page, dict]:
    """The page of rows and the filters' counts, kept a few seconds per process under the complaints' generation
    (complaint_cache: any change made through the services makes them stale at once), so a handler refreshing
    the queue does not recount the district each time."""
    qs = selectors.desk_queue(user, f, today)

    def compute():
        page = Paginator(qs, PAGE_SIZE).get_page(number)
        return page.paginator.count, page.number, list(page.object_list), selectors.desk_counts(user, f, today)

    key = ("desk-queue", user.pk, tuple(memberships_of(user)), f.query(), str(number), today)
    count, page_number, rows, counts = complaint_cache.cached_list(key, compute)
    paginator = Paginator(qs, PAGE_SIZE)
    paginator.__dict__["count"] = count  # known: no COUNT query again
    return Page(rows, page_number, paginator), counts


@require_safe
def queue(request):
    """/desk/: the complaints of the user's towns, filtered (state, category, town, institution, deadline, ...), each
    choice with its count, 50 a page, soonest deadline first. A fixed number of queries whatever the page size."""
    if (response := _signed_in_bureau(request)) is not None:
        return response
    user, today = request.user, timezone.localdate()
    f = DeskFilters.from_query(request.GET)

    def body() -> str:  # the page's markup, kept with the rows (below)
        page, counts = _queue_page(user, f, today, request.GET.get("page"))
        services.sla.mark_provisional(page.object_list)  # one query per unknown year on the page, at most
        states = [("open", _("办理中")), ("", _("全部"))] + list(ComplaintStatus.choices)
        state_counts = {**counts["state"], "": counts["state"]["all"]}
        categories = [(code, services.category_name(c)) for code, c in services.active_categories().items()]
        towns = sorted(((pk, scope.region_name(pk)) for pk in counts["town"]), key=lambda t: t[1])
        context = {
            "page": page,
            "f": f,
            "title": _("投诉工作台"),
            "states": _facet(f, "state", states, state_counts),
            "deadlines": _facet(f, "deadline", DEADLINE_LABELS.items(), counts["deadline"], toggle=True),
            "flags": _facet(f, "flag", [(k, FLAG_LABELS[k]) for k in ("theirs", "mine", "unassigned", "reopened")],
                            counts["flag"], toggle=True),
            "categories": _facet(f, "category", categories, counts["category"], toggle=True, keep_empty=False),
            "towns": _facet(f, "town", towns, counts["town"], toggle=True) if len(scope.town_ids(user)) > 2 else [],
            "chips": _chips(f),
            "page_query": f.query(),
            "hidden": [(k, v or "all") for k, v in f.__dict__.items() if k != "q" and (v or k == "state")],
            "today": today,
            "is_supervisor": scope.has_role(user, Role.BUREAU_ADMIN),
        }  # fmt: skip
        return render_to_string("supervision/desk/_queue_body.html", context, request=request)

    # Kept as markup under the complaints' generation, like the rows it shows (complaint_cache): a handler refreshing
    # the queue pays neither the counts nor the rendering of fifty rows again until a complaint changes.
    key = ("desk-queue-html", get_language(), user.pk, tuple(memberships_of(user)), f.query(),
           str(request.GET.get("page")), today)  # fmt: skip
    html = complaint_cache.cached_list(key, body)
    done = DONE.get(request.GET.get("done", ""))
    flash = format_html('<p class="flash" role="status" data-testid="done">{}</p>', done) if done else ""
    return render(request, "supervision/desk/queue.html", {
        "title": _("投诉工作台"), "body": mark_safe(html.replace("<!--done-->", flash, 1)),  # noqa: S308 - escaped
    })  # fmt: skip


# --- One complaint ----------------------------------------------------------------------------------------------------


def _visible(request, complaint_id: int):
    try:
        return access_complaint(request.user, complaint_id)
    except NotFound:
        raise Http404 from None


def _masked_name(name: str) -> str:
    return (name[:1] + "*" * max(1, len(name) - 1)) if name else ""


def _inspectors(town_id: int) -> list[tuple[int, str]]:
    ids = scope.users_covering_town(town_id, Role.INSPECTOR)
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("name").values_list("pk", "name"))


def _complaint_context(request, complaint_id: int, **extra) -> dict:
    c = selectors.complaint_detail(complaint_id)
    services.sla.mark_provisional([c])
    actions = desk_actions(request.user, c)
    timeline = selectors.staff_timeline(c)
    labels = dict(ComplaintStatus.choices)
    for item in timeline:
        item.label = VERBS.get(item.verb, item.verb)
        item.state_change = ""
        if item.to_state in labels and item.from_state != item.to_state:
            item.state_change = f"{labels.get(item.from_state, '')} → {labels[item.to_state]}".lstrip(" →")
    context = {
        "c": c,
        "actions": actions,
        "timeline": timeline,
        "photos": [p for p in c.photos.all() if p.state == "ready"],
        "photos_waiting": sum(1 for p in c.photos.all() if p.state != "ready"),
        "duplicates": list(selectors.possible_duplicates(c).select_related("institution", "category")[:10])
        if "merge" in actions
        else [],
        "templates": list(AnswerTemplate.objects.filter(is_active=True)) if "conclude" in actions else [],
        "outcomes": Outcome.choices,
        "reasons": [r for r in RejectionReason.choices if r[0] != RejectionReason.DUPLICATE],
        "towns": list(
            Region.objects.filter(parent__isnull=False, valid_to__isnull=True).exclude(pk=c.town_id).order_by("code")
        )
        if "transfer" in actions
        else [],
        "inspectors": _inspectors(c.town_id) if "open_inspection" in actions else [],
        "colleagues": selectors.eligible_handlers(c) if "assign" in actions else [],
        # Open311's media_url: a link to elsewhere, shown as such, never fetched nor embedded (open311/services.py).
        "media_url": getattr(getattr(c, "open311", None), "media_url", ""),
        "hotline_order": getattr(c, "hotline_order", None),
        "contact_masked": {"name": _masked_name(c.parent.name), "phone": mask_phone(c.parent.phone)},
        "contact": None,
        "message": "",
        "errors": {},
        "values": {},
        "open_form": "",
        "done": DONE.get(request.GET.get("done", "")),
        "today": timezone.localdate(),
        "min_answer": services.ANSWER_MIN,
        "days_left": services.sla.working_days_left(c) if c.is_open and not c.paused_since else None,
    }
    context.update(extra)
    return context


@require_safe
def complaint(request, complaint_id: int):
    """/desk/complaints/<id>/: the staff page of one complaint."""
    if (response := _signed_in_bureau(request)) is not None:
        return response
    # The page's markup is kept a few seconds under the complaints' generation (every action, message, statement
    # answer, inspection opened or deadline flag replaces it at once), with the access check that made it: the same
    # user with the same memberships asking again within COMPLAINT_LIST_CACHE_SECONDS gets it without a query. It is
    # rendered with a stand-in for the form token, put in per request. What no service announces (a photo cleaned, a
    # name changed) shows within those seconds; an action on a stale page is refused by the version (409 and the
    # fresh page). A refusal (404) is never kept.
    done = request.GET.get("done", "")
    key = ("desk-complaint-html", get_language(), request.user.pk, tuple(memberships_of(request.user)), complaint_id,
           done if done in DONE else "", timezone.localdate())  # fmt: skip

    def page() -> tuple[str, str]:
        c = _visible(request, complaint_id)
        context = _complaint_context(request, c.pk)
        context["csrf_token"] = TOKEN_STAND_IN
        return c.tracking_number, str(
            render_to_string("supervision/desk/_complaint_body.html", context, request=request)
        )

    tracking_number, html = complaint_cache.cached_list(key, page)
    body = mark_safe(html.replace(TOKEN_STAND_IN, page_token(request)))  # noqa: S308 - rendered by the template
    return render(request, "supervision/desk/complaint.html", {"c": {"tracking_number": tracking_number}, "body": body})


TOKEN_STAND_IN = "csrf-token-stand-in-0f3a9c"  # replaced in the kept markup by this page's token


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except (TypeError, ValueError):
        return None


def _run(action: str, actor, c, post) -> None:
    version = _int(post.get("version"))
    if version is None:  # a form without the version it was made from cannot be checked: treated as stale
        version = -1
    common = {"actor": actor, "complaint_id": c.pk, "expected_version": version}
    if action == "take":
        services.complaint_take(**common)
    elif action == "reject":
        services.complaint_act(**common, action="reject",
                               data={"reason": post.get("reason", ""), "comment": post.get("comment", "")})  # fmt: skip
    elif action == "start":
        services.complaint_act(**common, action="start", data={})
    elif action == "assign":  # the service refuses anyone not covering the complaint's town
        services.complaint_act(**common, action="assign", data={"handler_id": _int(post.get("handler_id"))})
    elif action == "message":  # no state change: nothing to be stale about
        services.complaint_message_post(actor=actor, complaint_id=c.pk, body=post.get("body", ""))
    elif action == "request_statement":
        services.complaint_request_statement(
            **common, question=post.get("question", ""), due_working_days=_int(post.get("due_working_days"))
        )
    elif action == "ask_parent":
        services.complaint_ask_parent(**common, body=post.get("body", ""))
    elif action == "conclude":
        services.complaint_conclude(
            **common,
            outcome=post.get("outcome", ""),
            answer=post.get("answer", ""),
            referred_to=post.get("referred_to", ""),
            template_id=_int(post.get("template")),
        )
    elif action == "transfer":
        services.complaint_transfer(**common, town_id=_int(post.get("town_id")), reason=post.get("reason", ""))
    elif action == "send_back":
        services.complaint_send_back(**common, reason=post.get("reason", ""))
    elif action == "merge":
        services.complaint_act(**common, action="merge", data={"duplicate_of": _int(post.get("duplicate_of"))})
    elif action == "press":
        services.complaint_press(**common, due_on=_date(post.get("due_on")), note=post.get("note", ""))
    else:
        raise Http404


ACTIONS = ("take", "reject", "start", "assign", "message", "request_statement", "ask_parent", "conclude", "transfer",
           "send_back", "merge", "press")  # fmt: skip
STALE = _("您看到的是旧版本：这件投诉刚被他人修改，下面是最新状态。请核对后再操作，您的操作未执行。")


@require_POST
def act(request, complaint_id: int, action: str):
    """POST /desk/complaints/<id>/<action>: one action through its service, then back to the page (POST-redirect-
    GET). A refusal shows the page again, fresh, with the message and the form still filled in."""
    if (response := _signed_in_bureau(request)) is not None:
        return response
    if action not in ACTIONS:
        raise Http404
    c = _visible(request, complaint_id)
    try:
        _run(action, request.user, c, request.POST)
    except DomainError as exc:
        stale = exc.code == "complaint.conflict"
        try:
            _visible(request, c.pk)
        except Http404:
            return redirect(reverse("desk-queue"))
        context = _complaint_context(
            request,
            c.pk,
            message=STALE if stale else exc.message(),
            stale=stale,
            errors=exc.field_messages(),
            values=request.POST,
            open_form="" if stale else action,
        )
        status = exc.status if exc.status < 500 else 503
        return render(request, "supervision/desk/complaint.html", context, status=status)
    try:
        access_complaint(request.user, c.pk)
    except NotFound:  # transferred out of the user's towns
        return redirect(f"{reverse('desk-queue')}?done={action}")
    return redirect(f"{reverse('desk-complaint', args=(c.pk,))}?done={action}")


@require_POST
def reveal(request, complaint_id: int):
    """POST: the parent's name and phone, unmasked (audited); htmx swaps the contact in place."""
    if (response := _signed_in_bureau(request)) is not None:
        return response
    c = _visible(request, complaint_id)
    try:
        contact = services.complaint_contact_reveal(actor=request.user, complaint_id=c.pk)
    except DomainError as exc:
        raise Http404 from exc
    if request.htmx:
        return render(request, "supervision/desk/_contact.html", {"contact": contact})
    return render(request, "supervision/desk/complaint.html", _complaint_context(request, c.pk, contact=contact))


# --- The supervisor's board -------------------------------------------------------------------------------------------


def _supervisor(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not scope.has_role(request.user, Role.BUREAU_ADMIN):
        raise Http404
    return None


def _days(request) -> int:
    days = _int(request.GET.get("days"))
    return days if days in DESK_PERIODS else DEFAULT_DAYS


def _links(row, days: int, *, by: str) -> dict[str, str]:
    """The queue behind each figure of a row."""
    base = DeskFilters(state="", days=days)
    if by == "town":
        base = DeskFilters(state="", days=days, town=row.key)
    elif row.key:
        base = DeskFilters(state="", days=days, handler=row.key)
    url = reverse("desk-queue")
    unassigned = by == "handler" and not row.key

    def link(**change) -> str:
        if unassigned:
            change = {**change, "flag": "unassigned"} if "flag" not in change else change
        return f"{url}?{base.query(**change)}"

    return {
        "received": link(),
        "on_time": link(flag="on_time"),
        "avg_days": link(flag="answered"),
        "overdue": link(state="open", days=None, deadline="overdue"),
        "reopened": link(flag="reopened"),
        "rated": link(flag="rated"),
    }


def _board_data(user, days: int, today: date) -> dict:
    """The board's figures, kept a few seconds per process under the complaints' generation (as the queue)."""
    key = ("desk-board", user.pk, tuple(memberships_of(user)), days, today)
    return complaint_cache.cached_list(key, lambda: selectors.supervisor_board(user, days=days, today=today))


@require_safe
def board(request):
    """/desk/board/: per town and per handler, received, on time, average working days to answer, overdue now,
    reopen rate and satisfaction over a period; each figure links to the queue behind it."""
    if (response := _supervisor(request)) is not None:
        return response
    days, today = _days(request), timezone.localdate()
    data = _board_data(request.user, days, today)
    for row in data["towns"]:
        row.links = _links(row, days, by="town")
    for row in data["handlers"]:
        row.links = _links(row, days, by="handler")
    data["total"].links = _links(data["total"], days, by="all")
    context = {**data, "days": days, "periods": DESK_PERIODS, "title": _("投诉办理督办看板")}
    return render(request, "supervision/desk/board.html", context)


BOARD_COLUMNS = (
    (_("收到"), "received"),
    (_("已答复"), "answered"),
    (_("按期率 %"), "on_time_pct"),
    (_("平均答复用时（工作日）"), "avg_days"),
    (_("当前逾期"), "overdue"),
    (_("重新办理率 %"), "reopen_pct"),
    (_("已评价"), "rated"),
    (_("满意率 %"), "satisfied_pct"),
    (_("平均评分"), "avg_rating"),
)


@require_safe
def board_xlsx(request):
    """The board as a spreadsheet: one sheet per grouping (towns, handlers), the same figures."""
    if (response := _supervisor(request)) is not None:
        return response
    from openpyxl import Workbook

    days = _days(request)
    data = _board_data(request.user, days, timezone.localdate())
    book = Workbook()
    for index, (title, first, rows) in enumerate(
        ((_g("镇街"), _g("镇街"), data["towns"]), (_g("承办人"), _g("承办人"), data["handlers"]))
    ):
        sheet = book.active if index == 0 else book.create_sheet()
        sheet.title = title
        sheet.append([first] + [str(label) for label, _name in BOARD_COLUMNS])
        for row in [*rows, data["total"]]:
            name = row.name or (_g("合计") if row is data["total"] else _g("未分派"))
            sheet.append([name] + [getattr(row, attr) for _label, attr in BOARD_COLUMNS])
        sheet.column_dimensions["A"].width = 18
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="complaint-board-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


# --- Answer templates -------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def answer_templates(request):
    """/desk/templates/: the bureau's answer templates; district supervisors add and edit them (?edit=<id>)."""
    if (response := _supervisor(request)) is not None:
        return response
    editing = None
    if request.method == "GET" and _int(request.GET.get("edit")):
        editing = AnswerTemplate.objects.filter(pk=_int(request.GET.get("edit"))).first()
    errors, values, message, status = {}, {}, "", 200
    if request.method == "POST":
        values = request.POST
        template_id = _int(request.POST.get("template_id"))
        try:
            services.answer_template_save(
                actor=request.user,
                template_id=template_id,
                title=request.POST.get("title", ""),
                body=request.POST.get("body", ""),
                outcome=request.POST.get("outcome", ""),
                is_active=request.POST.get("is_active") == "on",
                sort_order=_int(request.POST.get("sort_order")) or 0,
            )
        except DomainError as exc:
            errors, message, status = exc.field_messages(), exc.message(), exc.status
            editing = AnswerTemplate.objects.filter(pk=template_id).first() if template_id else None
        else:
            return redirect(f"{reverse('desk-templates')}?saved=1")
    context = {
        "title": _("答复模板"),
        "templates": AnswerTemplate.objects.all(),
        "editing": editing,
        "errors": errors,
        "values": values,
        "message": message,
        "outcomes": Outcome.choices,
        "saved": request.GET.get("saved") == "1",
        "min_answer": services.ANSWER_MIN,
    }
    return render(request, "supervision/desk/templates.html", context, status=status)
