"""Admin for the bureau: categories (answer deadlines) and the routing table; complaints to read, not to edit
(changes go through the services, which audit them)."""

from django.contrib import admin

from .models import Complaint, ComplaintCategory, ComplaintMessage, RoutingRule, StatementRequest


@admin.register(ComplaintCategory)
class ComplaintCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "answer_working_days", "typical_referral", "is_active"]
    list_editable = ["answer_working_days", "is_active"]
    ordering = ["sort_order", "id"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["town", "category", "handler", "is_active"]
    list_filter = ["is_active", "category"]
    raw_id_fields = ["town", "handler"]


class MessageInline(admin.TabularInline):
    model = ComplaintMessage
    extra = 0
    can_delete = False
    readonly_fields = ["author", "side", "body", "awaiting_parent", "created_at"]


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = [
        "tracking_number",
        "status",
        "category",
        "institution",
        "town",
        "handler",
        "sla_due_on",
        "created_at",
    ]
    list_filter = ["status", "category", "outcome"]
    search_fields = ["tracking_number", "institution__name"]
    inlines = [MessageInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StatementRequest)
class StatementRequestAdmin(admin.ModelAdmin):
    list_display = ["complaint", "institution", "state", "due_on", "answered_at"]
    list_filter = ["state"]
    raw_id_fields = ["complaint", "institution", "requested_by", "answered_by"]


# --- Inspections: to read; changes go through the services and the API (audited) -----------------------------------

from .models import (  # noqa: E402
    ChecklistItem,
    ChecklistVersion,
    Inspection,
    InspectionPlan,
    PenaltyDecision,
    RectificationOrder,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0
    fields = ["code", "question_zh", "answer_type", "rule_id", "severity", "public"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ChecklistVersion)
class ChecklistVersionAdmin(ReadOnlyAdmin):
    list_display = ["template", "number", "note", "created_at"]
    inlines = [ChecklistItemInline]


@admin.register(InspectionPlan)
class InspectionPlanAdmin(ReadOnlyAdmin):
    list_display = ["name", "status", "period_start", "period_end", "seed", "publish_on", "published_at"]
    list_filter = ["status"]


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyAdmin):
    list_display = ["id", "institution", "origin", "status", "checkin_flagged", "completed_at", "result"]
    list_filter = ["status", "origin", "checkin_flagged"]
    raw_id_fields = ["institution"]


@admin.register(RectificationOrder)
class RectificationOrderAdmin(ReadOnlyAdmin):
    list_display = ["id", "institution", "status", "due_on", "warned", "escalated", "closed_at"]
    list_filter = ["status", "escalated"]


@admin.register(PenaltyDecision)
class PenaltyDecisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "institution", "kind", "violation", "amount", "decided_at"]
    list_filter = ["kind", "violation"]
