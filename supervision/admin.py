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
