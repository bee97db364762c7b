from django.contrib import admin

from .models import AuditEvent, CalendarDay, Notification, PolicyValue


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: audit events are append-only, even for superusers."""

    list_display = ["at", "actor_label", "verb", "object_type", "object_id", "from_state", "to_state", "ip"]
    list_filter = ["verb", "object_type", "at"]
    search_fields = ["actor_label", "object_id", "verb"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "kind", "title", "read_at"]
    list_filter = ["kind"]
    raw_id_fields = ["recipient"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "kind", "name", "note"]
    list_filter = ["kind"]
    date_hierarchy = "date"


@admin.register(PolicyValue)
class PolicyValueAdmin(admin.ModelAdmin):
    list_display = ["rule_id", "key", "value", "unit", "effective_from", "confidence", "source"]
    list_filter = ["rule_id", "confidence"]
    search_fields = ["key", "rule_id", "source"]
