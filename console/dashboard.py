"""The bureau console's dashboard pages (教育驾驶舱, see console/apps.py): the district or one town at a glance, every
number linking to the rows behind it, the same figures as an .xlsx workbook and as a printable weekly briefing.

The figures are read by console/figures.py (a fixed number of queries, cached at most five minutes: the page says
when they were computed). Only bureau staff and admins reach these pages; a town they do not cover is a 404.
"""

from __future__ import annotations

import io
from datetime import timedelta

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from accounts import scope

from . import figures as F

LIST_PAGE_SIZE = 50


def _town_param(request) -> int | None:
    raw = (request.GET.get("town") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise Http404
    return int(raw)


def _view(request) -> tuple[F.View, int | None]:
    if not request.user.is_authenticated:
        raise _Login
    town_id = _town_param(request)
    view = F.view_for(request.user, town_id)
    if view is None:
        raise Http404
    return view, town_id


class _Login(Exception):
    pass


def _guarded(fn):
    def wrapper(request, *args, **kwargs):
        try:
            return fn(request, *args, **kwargs)
        except _Login:
            return redirect_to_login(request.get_full_path())

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def link(name: str, town_id: int | None, key=None) -> str:
    """The list behind a number."""
    query = {"slice": name}
    if town_id:
        query["town"] = town_id
    if key is not None and key != "":
        query["key"] = key
    return f"{reverse('console-dashboard-list')}?{urlencode(query)}"


def _chart(chart_id: str, kind: str, title: str, rows: list[dict], name: str, town_id, value="n") -> dict:
    """What the chart script draws (labels, values, the link of each bar) and the table below it shows."""
    return {
        "id": chart_id,
        "kind": kind,
        "title": title,
        "labels": [str(r["label"]) for r in rows],
        "values": [r[value] for r in rows],
        "links": [link(name, town_id, r["key"]) for r in rows],
    }


def _context(view: F.View, town_id: int | None, data: dict) -> dict:
    f = data["figures"]
    computed_at = data["computed_at"]
    age = max(0, int((timezone.now() - computed_at).total_seconds() // 60))
    charts = [
        _chart("chart-status", "bar", _("机构状态"), f["inst_status"], "inst_status", town_id),
        _chart("chart-category", "pie", _("机构类别"), f["inst_category"], "inst_category", town_id),
        _chart("chart-grade", "bar", _("风险等级"), f["inst_grade"], "inst_grade", town_id),
        _chart("chart-complaints", "bar", _("本月投诉（按类别）"), f["cmp_by_category"], "cmp_received", town_id,
               value="received"),  # fmt: skip
        _chart("chart-visits", "bar", _("本年检查进度"), f["insp_status"], "insp_status", town_id),
        _chart("chart-findings", "bar", _("常见问题（规则）"), f["findings"], "findings", town_id),
    ]
    return {
        "view": view,
        "town_id": town_id,
        "town_name": scope.region_name(town_id) if town_id else "",
        "f": f,
        "charts": charts,
        "computed_at": computed_at,
        "age_minutes": age,
        "max_age_minutes": F.MAX_AGE_SECONDS // 60,
        "link": lambda *a: link(*a),
        "links": _links(town_id, f),
        "provisional": f["provisional"],
    }


def _links(town_id, f) -> dict:
    names = [
        "institutions", "inst_expiring", "inst_unlicensed", "inst_unlicensed_month", "cmp_received", "cmp_open",
        "cmp_overdue", "cmp_answered", "cmp_late", "insp_planned", "insp_done", "ord_open", "ord_overdue",
        "ord_due_soon", "ord_to_verify", "penalties", "adm_admitted", "adm_expiring",
    ]  # fmt: skip
    out = {n: link(n, town_id) for n in names}
    for group, name in (("inst_status", "inst_status"), ("inst_category", "inst_category"),
                        ("inst_grade", "inst_grade"), ("insp_status", "insp_status"), ("findings", "findings"),
                        ("penalties", "penalties")):  # fmt: skip
        for row in f[group]:
            row["url"] = link(name, town_id, row["key"])
    for row in f["cmp_by_category"]:
        row["urls"] = {k: link(f"cmp_{k}", town_id, row["key"]) for k in ("received", "open", "overdue")}
    for row in f["towns"]:
        row["url"] = f"{reverse('console-dashboard')}?town={row['town_id']}"
        row["urls"] = {
            "institutions": link("institutions", row["town_id"]),
            "unlicensed": link("inst_unlicensed", row["town_id"]),
            "cmp_open": link("cmp_open", row["town_id"]),
            "cmp_overdue": link("cmp_overdue", row["town_id"]),
            "planned": link("insp_planned", row["town_id"]),
            "done": link("insp_done", row["town_id"]),
            "ord_overdue": link("ord_overdue", row["town_id"]),
        }
    return out


@require_safe
@_guarded
def dashboard(request):
    """/console/dashboard/[?town=<id>]: the district (or one town) at a glance; ?fresh=1 recomputes now."""
    view, town_id = _view(request)
    data = F.dashboard_figures(view, fresh=request.GET.get("fresh") == "1")
    return render(request, "console/dashboard/index.html", _context(view, town_id, data))


@require_safe
@_guarded
def dashboard_list(request):
    """/console/dashboard/list/?slice=&town=&key=: the rows behind one number of the dashboard."""
    view, town_id = _view(request)
    name = (request.GET.get("slice") or "")[:40]
    key = (request.GET.get("key") or "").strip()[:40] or None
    qs = F.slice_rows(name, view, key)
    if qs is None:
        raise Http404
    kind = F.SLICES[name].kind
    qs = _shaped(kind, qs)
    page = Paginator(qs, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    back = reverse("console-dashboard") + (f"?town={town_id}" if town_id else "")
    context = {
        "page": page,
        "kind": kind,
        "title": F.slice_title(name, key),
        "back_url": back,
        "town_name": scope.region_name(town_id) if town_id else "",
        "today": view.today,
        "kept": urlencode({"slice": name, **{k: v for k, v in (("town", town_id or ""), ("key", key or "")) if v}}),
    }
    return render(request, "console/dashboard/list.html", context)


def _shaped(kind: str, qs):
    """What a row of each kind shows, joined in the same query (a page costs a fixed number of queries)."""
    if kind == "institution":
        return qs.select_related("town").order_by("name", "pk")
    if kind == "complaint":
        return qs.select_related("town", "category", "institution").order_by("-created_at", "-pk")
    if kind == "visit":
        return qs.select_related("town", "institution", "plan").order_by("due_by", "pk")
    if kind == "finding":
        return qs.select_related("institution", "inspection").order_by("-created_at", "-pk")
    if kind == "order":
        return qs.select_related("institution", "town", "finding").order_by("due_on", "pk")
    if kind == "penalty":
        return qs.select_related("institution", "town").order_by("-decided_at", "-pk")
    if kind == "admission":
        return qs.select_related("person", "school", "institution").order_by("valid_until", "pk")
    return qs


@require_safe
@_guarded
def dashboard_xlsx(request):
    """The dashboard's figures as an .xlsx workbook: one sheet per table."""
    from openpyxl import Workbook

    view, town_id = _view(request)
    data = F.dashboard_figures(view)
    f = data["figures"]
    wb = Workbook(write_only=True)

    def sheet(title, header, rows):
        ws = wb.create_sheet(title=title[:31])
        ws.append(header)
        for r in rows:
            ws.append(list(r))

    area = scope.region_name(town_id) if town_id else _("全区")
    sheet(_("概要"), [_("项目"), _("数值")], [
        (_("范围"), area),
        (_("数据截至"), timezone.localtime(data["computed_at"]).strftime("%Y-%m-%d %H:%M")),
        (_("机构总数"), f["inst"]["total"]),
        (_("许可证 30 天内到期"), f["inst"]["expiring"]),
        (_("无证机构"), f["inst"]["unlicensed"]),
        (_("本月收到投诉"), f["cmp"]["received"]),
        (_("办理中投诉"), f["cmp"]["open"]),
        (_("已逾期投诉"), f["cmp"]["overdue"]),
        (_("本月按时答复率 %"), f["cmp"]["on_time_pct"]),
        (_("本年检查"), f["insp"]["planned"]),
        (_("本年已完成检查"), f["insp"]["done"]),
        (_("未销号整改通知"), f["ord"]["open"]),
        (_("逾期未整改"), f["ord"]["overdue"]),
        (_("本年处罚决定"), f["pen"]["n"]),
        (_("罚没金额（元）"), f["pen"]["amount"]),
        (_("符合“5+2”的学校"), f["afterschool"]["meeting"]),
        (_("学校数"), f["afterschool"]["n"]),
        (_("课后服务参加率 %"), f["afterschool"]["rate"]),
        (_("在有效期内的校外人员"), f["adm"]["admitted"]),
        (_("30 天内到期的校外人员"), f["adm"]["expiring"]),
        (_("工作日为暂定"), _("是") if f["provisional"] else _("否")),
    ])  # fmt: skip
    sheet(_("镇街"), [_("镇街"), _("机构"), _("无证"), _("办理中投诉"), _("逾期投诉"), _("检查"), _("已完成"),
                      _("逾期整改")],
          [(t["name"], t["institutions"], t["unlicensed"], t["cmp_open"], t["cmp_overdue"], t["planned"], t["done"],
            t["ord_overdue"]) for t in f["towns"]])  # fmt: skip
    for title, group in ((_("机构状态"), "inst_status"), (_("机构类别"), "inst_category"),
                         (_("风险等级"), "inst_grade"), (_("检查进度"), "insp_status"), (_("常见问题"), "findings")):
        sheet(title, [_("项目"), _("数量")], [(r["label"], r["n"]) for r in f[group]])  # fmt: skip
    sheet(_("投诉类别"), [_("类别"), _("本月收到"), _("办理中"), _("已逾期")],
          [(r["label"], r["received"], r["open"], r["overdue"]) for r in f["cmp_by_category"]])  # fmt: skip
    sheet(_("处罚"), [_("种类"), _("数量"), _("金额（元）")],
          [(r["label"], r["n"], r["amount"]) for r in f["penalties"]])  # fmt: skip
    sheet(_("课后服务"),
          [_("学校"), _("镇街"), _("符合“5+2”"), _("参加人数"), _("学生数"), _("参加率 %"), _("经费分配")],
          [(s["school"], s["town"], _("是") if s["ok"] else _("否"), s["enrolled"], s["students"], s["rate"],
            s["fee_status_label"]) for s in f["afterschool"]["schools"]])  # fmt: skip
    out = io.BytesIO()
    wb.save(out)
    name = f"dashboard-{view.today:%Y%m%d}.xlsx"
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_safe
@_guarded
def weekly_briefing(request, pdf: bool = False):
    """/console/dashboard/weekly/ (a printable page) and /console/dashboard/weekly.pdf (WeasyPrint): the weekly
    briefing (周报)."""
    view, town_id = _view(request)
    data = F.dashboard_figures(view)
    context = _context(view, town_id, data)
    context["week_start"] = view.today - timedelta(days=view.today.weekday())
    context["week_end"] = context["week_start"] + timedelta(days=6)
    if not pdf:
        return render(request, "console/dashboard/weekly.html", context)
    from django.template.loader import render_to_string

    html = render_to_string("console/dashboard/weekly_pdf.html", context, request=request)
    try:
        from weasyprint import HTML
    except ImportError:  # pragma: no cover - weasyprint is a chosen dependency
        raise Http404 from None
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="weekly-{view.today:%Y%m%d}.pdf"'
    return response


urlpatterns = [
    path("console/dashboard/", dashboard, name="console-dashboard"),
    path("console/dashboard/list/", dashboard_list, name="console-dashboard-list"),
    path("console/dashboard.xlsx", dashboard_xlsx, name="console-dashboard-xlsx"),
    path("console/dashboard/weekly/", weekly_briefing, name="console-weekly"),
    path("console/dashboard/weekly.pdf", weekly_briefing, {"pdf": True}, name="console-weekly-pdf"),
]
