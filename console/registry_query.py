"""The registry at work: the bureau's filtered, sorted list of institutions, joined with complaint and order facts.

Reads only, scoped to the user (bureau staff and admins: the institutions of their towns). One query for a page of
rows and one for the count, however many rows a page shows: the complaint and order figures are correlated
subqueries, the town a join, the effective status a CASE (institutions.selectors.effective_status_expr)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from accounts import scope
from institutions.models import Category, RiskGrade, Status
from institutions.selectors import (
    EDITOR_ROLES,
    effective_status_expr,
    institutions_editable_by,
    matching_text,
    with_effective_status,
)
from supervision.complaints.models import OPEN_STATUSES, Complaint
from supervision.inspections.models import OrderStatus, RectificationOrder

MAX_EXPIRY_DAYS = 730
# What the list, the map and the export read of a row (the export's columns are the import's: see exports.py).
LIST_FIELDS = (
    "id", "name", "credit_code", "licence_number", "licence_issued_on", "licence_expires_on", "category", "mode",
    "legal_representative", "contact_phone", "address", "town__id", "town__code", "town__name", "latitude",
    "longitude", "floor_area_m2", "max_students_present", "status", "risk_grade", "updated_at",
)  # fmt: skip
ORDER_FILTERS = {"open": _("有未结整改"), "overdue": _("有逾期整改")}
SORTS = {
    "name": (_("名称"), ("name", "id")),
    "town": (_("镇街"), ("town__code", "name", "id")),
    "expiry": (_("许可证到期"), ("licence_expires_on", "name", "id")),
    "risk": (_("风险（高→低）"), ("-risk_grade", "name", "id")),
    "complaints": (_("未结投诉（多→少）"), ("-open_complaints", "name", "id")),
    "updated": (_("最近更新"), ("-updated_at", "-id")),
}


def may_use_console(user) -> bool:
    """Bureau staff and admins (of some town): the console's registry and institution pages; others get 404."""
    return scope.has_role(user, *EDITOR_ROLES)


@dataclass
class RegistryFilters:
    q: str = ""
    town_id: int | None = None
    category: str = ""
    status: str = ""
    risk: str = ""
    expiring_days: int | None = None
    open_complaints: bool = False
    orders: str = ""  # "", "open", "overdue"
    sort: str = "name"
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_query(cls, params) -> RegistryFilters:
        """Query parameters → filters; a value that cannot be right is dropped and said so, never a 500."""
        f = cls(q=(params.get("q") or "").strip()[:50])
        town = (params.get("town") or "").strip()
        f.town_id = int(town) if town.isdigit() and len(town) < 10 else None
        f.category = params.get("category", "") if params.get("category") in Category.values else ""
        f.status = params.get("status", "") if params.get("status") in Status.values else ""
        f.risk = params.get("risk", "") if params.get("risk") in RiskGrade.values else ""
        raw_days = (params.get("expiring") or "").strip()
        if raw_days:
            if raw_days.isdigit() and 0 < int(raw_days) <= MAX_EXPIRY_DAYS:
                f.expiring_days = int(raw_days)
            else:
                f.errors["expiring"] = _("到期天数应为 1–730 的整数")
        f.open_complaints = params.get("complaints") == "open"
        f.orders = params.get("orders", "") if params.get("orders") in ORDER_FILTERS else ""
        f.sort = params.get("sort", "name") if params.get("sort") in SORTS else "name"
        return f

    def as_query(self, *, with_sort: bool = True) -> dict:
        """The filters as query parameters (links to pages, the map, the export keep them)."""
        out = {
            "q": self.q,
            "town": self.town_id or "",
            "category": self.category,
            "status": self.status,
            "risk": self.risk,
            "expiring": self.expiring_days or "",
            "complaints": "open" if self.open_complaints else "",
            "orders": self.orders,
        }
        if with_sort and self.sort != "name":
            out["sort"] = self.sort
        return {k: v for k, v in out.items() if v}

    @property
    def any(self) -> bool:
        return bool(self.as_query(with_sort=False))


def _open_complaints(today: date):
    return Complaint.objects.filter(institution=OuterRef("pk"), status__in=OPEN_STATUSES)


def _open_orders():
    return RectificationOrder.objects.filter(institution=OuterRef("pk")).exclude(status=OrderStatus.CLOSED)


def _count(qs) -> Subquery:
    counted = qs.order_by().values("institution").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def registry_rows(user, f: RegistryFilters, today: date) -> QuerySet:
    """The institutions of the user's towns that pass the filters, with their effective status, open complaints,
    open and overdue orders, sorted as asked."""
    qs = institutions_editable_by(user)
    if f.town_id:
        qs = qs.filter(town_id=f.town_id)
    if f.category:
        qs = qs.filter(category=f.category)
    qs = with_effective_status(qs, f.status, today)
    if f.risk:
        qs = qs.filter(risk_grade=f.risk)
    if f.expiring_days:
        qs = qs.filter(
            licence_expires_on__gte=today,
            licence_expires_on__lte=today + timedelta(days=f.expiring_days),
        ).exclude(status__in=(Status.REVOKED, Status.CLOSED, Status.UNLICENSED))
    if f.open_complaints:
        qs = qs.filter(Exists(_open_complaints(today)))
    if f.orders == "open":
        qs = qs.filter(Exists(_open_orders()))
    elif f.orders == "overdue":
        qs = qs.filter(Exists(_open_orders().filter(due_on__lt=today)))
    qs = matching_text(qs, f.q)
    qs = qs.select_related("town").only(*LIST_FIELDS).annotate(
        shown_status=effective_status_expr(today),
        open_complaints=_count(_open_complaints(today)),
        open_orders=_count(_open_orders()),
        overdue_orders=_count(_open_orders().filter(due_on__lt=today)),
    )
    return qs.order_by(*SORTS[f.sort][1])


MAP_LIMIT = 3000


def map_points(qs: QuerySet, limit: int = MAP_LIMIT) -> tuple[list[dict], int]:
    """The filtered set's points for the map (those with coordinates), at most `limit`, and how many lack them."""
    located = qs.filter(latitude__isnull=False, longitude__isnull=False)
    rows = located.values_list("pk", "name", "shown_status", "risk_grade", "latitude", "longitude")[:limit]
    points = [
        {"id": pk, "name": name, "status": status, "status_label": str(Status(status).label), "risk": risk,
         "lat": float(lat), "lng": float(lng)}
        for pk, name, status, risk, lat, lng in rows
    ]  # fmt: skip
    missing = qs.filter(Q(latitude__isnull=True) | Q(longitude__isnull=True)).count()
    return points, missing
