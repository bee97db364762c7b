"""Admin for the bureau: categories (answer deadlines) and the routing table; complaints to read, not to edit
(changes go through the services, which audit them)."""

from django.contrib import admin, messages
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

from .complaints.hotline import services as hotline_services
from .complaints.open311 import services as open311_services
from .models import (
    Complaint,
    ComplaintCategory,
    ComplaintMessage,
    HotlineEvent,
    HotlineOrder,
    HotlineSystem,
    Open311Client,
    OutboxState,
    RoutingRule,
    StatementRequest,
)


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


# --- Interop (issue 17): Open311 clients, 12345 sending systems, their work orders and outbox -------------------------



def _show_key(request, name, raw: str) -> None:
    messages.warning(request, format_lazy(_("{name} 的密钥（只显示这一次，请妥善转交）：{key}"), name=name, key=raw))


def _registered(obj, created) -> None:
    """The admin saves `obj`: make it the row the service created."""
    obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_") or k == "_state"})


class KeyedClientAdmin(admin.ModelAdmin):
    """An Open311 client or a 12345 sending system: adding one registers it through its service (its system user
    and its key, shown once, stored hashed); the action gives it a new key. Subclasses name the two services."""

    actions = ["rotate_key"]
    readonly_fields = ["key_prefix"]

    def register(self, request, obj):  # -> (row, raw key)
        raise NotImplementedError

    def rotate(self, request, obj) -> str:
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        created, raw = self.register(request, obj)
        _registered(obj, created)
        _show_key(request, created.name, raw)

    @admin.action(description=_("重新生成密钥（旧密钥立即失效）"))
    def rotate_key(self, request, queryset):
        for obj in queryset:
            _show_key(request, obj.name, self.rotate(request, obj))


@admin.register(Open311Client)
class Open311ClientAdmin(KeyedClientAdmin):
    list_display = ["name", "key_prefix", "requests_per_minute", "is_active", "created_at"]
    fields = ["name", "requests_per_minute", "is_active", "key_prefix"]

    def register(self, request, obj):
        return open311_services.client_register(
            actor=request.user, name=obj.name, requests_per_minute=obj.requests_per_minute
        )

    def rotate(self, request, obj) -> str:
        return open311_services.client_rotate_key(actor=request.user, client_id=obj.pk)


@admin.register(HotlineSystem)
class HotlineSystemAdmin(KeyedClientAdmin):
    list_display = ["name", "key_prefix", "callback_url", "is_active", "created_at"]
    fields = ["name", "callback_url", "is_active", "key_prefix"]
    formfield_overrides = {HotlineSystem._meta.get_field("callback_url").__class__: {"assume_scheme": "https"}}

    def register(self, request, obj):
        return hotline_services.system_register(actor=request.user, name=obj.name, callback_url=obj.callback_url)

    def rotate(self, request, obj) -> str:
        return hotline_services.system_rotate_key(actor=request.user, system_id=obj.pk)


@admin.register(HotlineOrder)
class HotlineOrderAdmin(admin.ModelAdmin):
    list_display = ["order_number", "system", "complaint", "category", "deadline", "received_at"]
    list_filter = ["system"]
    search_fields = ["order_number", "complaint__tracking_number"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HotlineEvent)
class HotlineEventAdmin(admin.ModelAdmin):
    """The outbox: what was reported back to 12345 and what failed; failed events can be resent."""

    list_display = ["order", "sequence", "kind", "state", "attempts", "last_error", "created_at", "delivered_at"]
    list_filter = ["state", "kind"]
    search_fields = ["order__order_number", "event_id"]
    list_select_related = ["order"]
    actions = ["resend"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("重发所选的失败事件"))
    def resend(self, request, queryset):
        sent = 0
        for event in queryset.filter(state=OutboxState.FAILED):
            try:
                hotline_services.event_resend(actor=request.user, event_pk=event.pk)
                sent += 1
            except DomainError as exc:
                messages.error(request, exc.message())
        messages.info(request, format_lazy(_("已重发 {n} 个事件"), n=sent))
