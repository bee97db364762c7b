"""The bureau console's registry pages (see console/apps.py): the registry at work, its map, its export, its import.

The public registry page (/registry/, institutions.views.registry) stays as it is: the whitelist for everyone, and a
light list for institution staff and inspectors. The bureau's working list is this separate page, /console/registry/:
its filters join complaint and order facts the registry app may not import, and it is for bureau staff and admins
only (anyone else: 404)."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts import scope
from accounts.models import Region
from accounts.selectors import memberships_of
from core.audit import audit_log
from core.cache import ProcessTTLCache
from core.errors import DomainError, NotFound
from core.jobs import FINISHED, access_job, job_as_dict
from institutions import exports, imports, public_cache
from institutions.models import Category, RiskGrade, Status
from institutions.selectors import EDITOR_ROLES
from supervision.complaints import cache as complaint_cache

from .registry_query import MAP_LIMIT, ORDER_FILTERS, SORTS, RegistryFilters, map_points, may_use_console, registry_rows

PAGE_SIZE = 20


def _bureau_only(request):
    """None when the user may use the console; a redirect to sign in or a 404 otherwise."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not may_use_console(request.user):
        raise Http404
    return None


def _towns(user):
    """The current towns the user's bureau roles cover (a district role: all of them)."""
    return Region.objects.filter(
        pk__in=scope.town_ids(user, *EDITOR_ROLES), parent__isnull=False, valid_to__isnull=True
    ).order_by("code")


def _context(request, f: RegistryFilters) -> dict:
    return {
        "f": f,
        "towns": _towns(request.user),
        "categories": Category.choices,
        "statuses": Status.choices,
        "risks": RiskGrade.choices,
        "order_filters": list(ORDER_FILTERS.items()),
        "sorts": [(k, label) for k, (label, _fields) in SORTS.items()],
        "kept": urlencode(f.as_query()),
        "kept_filters": urlencode(f.as_query(with_sort=False)),
    }


@require_safe
def registry_console(request):
    """The registry at work: filters (town, category, effective status, risk grade, licence expiring within N days,
    open complaints, open or overdue orders, unlicensed operators through the status), search by name, pinyin
    initials or credit code, sorting and pages of 20; `?view=map` draws the whole filtered set on a map."""
    refused = _bureau_only(request)
    if refused:
        return refused
    today = timezone.localdate()
    if request.GET.get("view") == "map":
        f = RegistryFilters.from_query(request.GET)
        context = _context(request, f)
        points, missing = map_points(registry_rows(request.user, f, today))
        context.update(
            points=points,
            count=len(points),
            missing=missing,
            limit=MAP_LIMIT,
            map_config={"tiles": settings.MAP_TILE_URL or "", "detail": "/console/institutions/0/"},
        )
        return render(request, "console/registry/map.html", context)

    def body() -> str:  # built only when not kept
        f = RegistryFilters.from_query(request.GET)
        context = _context(request, f)
        page = Paginator(registry_rows(request.user, f, today), PAGE_SIZE).get_page(request.GET.get("page"))
        labels = dict(Status.choices)
        for inst in page.object_list:
            inst.shown_label = labels.get(inst.shown_status, inst.shown_status)
        context.update(page=page, today=today)
        return render_to_string("console/registry/_list_body.html", context, request=request)

    return render(request, "console/registry/list.html", {"body": _kept_list(request, today, body)})


def _kept_list(request, today, render_body) -> str:
    """The list's rendered rows, kept REGISTRY_LIST_CACHE_SECONDS in each process for the same scope, filters, page,
    language and day (the busiest page of the console: a count and twenty rows with three correlated counts each),
    and never served after a change of the registry or of complaints anywhere (their generations, in Redis, read in
    one round trip). Rectification orders opened or closed show within those seconds."""
    seconds = getattr(settings, "REGISTRY_LIST_CACHE_SECONDS", 0)
    if seconds <= 0:
        return render_body()
    places = sorted((m.role, m.region_id or 0) for m in memberships_of(request.user) if m.role in EDITOR_ROLES)
    asked = sorted((k, v) for k, v in request.GET.items() if k != "view")
    digest = hashlib.sha256(repr((get_language(), places, today.isoformat(), asked)).encode()).hexdigest()[:32]
    key = f"console:registry:{digest}"
    try:  # both read with the signed-in person's counts, in the request's one round trip (core.usercache)
        generations = (public_cache.generation(), complaint_cache.generation())
    except Exception:  # noqa: BLE001 - the cache away: the page is computed, as without it
        return render_body()
    kept = _lists.get(key)
    if kept is not None and kept[0] == generations:
        return mark_safe(kept[1])  # noqa: S308 - markup this view rendered from its template
    html = render_body()
    _lists.put(key, (generations, str(html)), seconds)
    return html


_lists = ProcessTTLCache(1_000)  # this process's kept lists; the generations (in Redis) say when they are stale


@require_safe
def registry_export(request):
    """The filtered list as .xlsx: the import's columns (so it reads back), the status as every page shows it."""
    refused = _bureau_only(request)
    if refused:
        return refused
    today = timezone.localdate()
    f = RegistryFilters.from_query(request.GET)
    qs = registry_rows(request.user, f, today)
    from io import BytesIO

    buffer = BytesIO()
    count = exports.write_workbook(qs, buffer)
    audit_log(
        actor=request.user,
        verb="institution.export",
        object_type="institutions.institution",
        data={"rows": count, "filters": f.as_query(with_sort=False), "from": "console"},
    )
    response = HttpResponse(buffer.getvalue(), content_type=exports.XLSX_CONTENT_TYPE)
    filename = f"registry-{today:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "POST"])
def registry_import(request):
    """Upload a spreadsheet: small files are imported at once; large ones become a job whose page shows a progress
    bar. Every bad row is listed once, by its line and column, and nothing is written."""
    refused = _bureau_only(request)
    if refused:
        return refused
    context: dict = {"errors": [], "message": "", "result": None}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["message"] = _("请选择要导入的文件（.xlsx 或 CSV）")
        else:
            try:
                submitted = imports.registry_import_submit(actor=request.user, upload=upload, filename=upload.name)
            except imports.ImportRejected as exc:
                context["message"] = exc.message()
                context["errors"] = [_row(e) for e in exc.errors]
            except DomainError as exc:
                context["message"] = exc.message()
                context["errors"] = [
                    {"line": None, "column": k, "message": v} for k, v in exc.field_messages().items()
                ]
            else:
                if submitted.job is not None:
                    return redirect("console-registry-import-job", job_id=submitted.job.pk)
                context["result"] = submitted.result
        status = 422 if context["errors"] or context["message"] else 200
        return render(request, "console/registry/import.html", context, status=status)
    return render(request, "console/registry/import.html", context)


def _row(error: dict) -> dict:
    from core.errors import is_english

    message = error.get("message_en") if is_english() else error.get("message_zh")
    return {"line": error.get("line"), "column": error.get("column", ""), "message": message or error.get("message_zh")}


@require_safe
def registry_import_job(request, job_id: int):
    """A large import's progress (the job API's own figures), refreshed every two seconds until it is done; then its
    result or every bad row by line and column. Only the one who started it sees it (others: 404)."""
    refused = _bureau_only(request)
    if refused:
        return refused
    try:
        job = access_job(request.user, job_id)
    except NotFound:
        raise Http404 from None
    from core.errors import is_english

    body = job_as_dict(job, "en" if is_english() else "zh")
    context = {"job": body, "finished": job.status in FINISHED}
    return render(request, "console/registry/import_job.html", context)


urlpatterns = [
    path("console/registry/", registry_console, name="console-registry"),
    path("console/registry/export.xlsx", registry_export, name="console-registry-export"),
    path("console/registry/import/", registry_import, name="console-registry-import"),
    path("console/registry/import/<int:job_id>/", registry_import_job, name="console-registry-import-job"),
]
