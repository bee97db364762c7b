from django.contrib import admin

from accounts import places
from accounts.admin import PlaceMembershipsProtected

from .models import (
    BranchSite,
    ChangeProposal,
    Course,
    EscrowAccount,
    FeePackage,
    Institution,
    ScheduleSlot,
    StaffMember,
    VerificationToken,
)


class BranchInline(admin.TabularInline):
    model = BranchSite
    extra = 0
    raw_id_fields = ["town"]


class CourseInline(admin.TabularInline):
    model = Course
    extra = 0
    show_change_link = True


class StaffInline(admin.TabularInline):
    model = StaffMember
    extra = 0
    exclude = ["id_number_hash"]
    readonly_fields = ["id_number_last4"]


@admin.register(Institution)
class InstitutionAdmin(PlaceMembershipsProtected, admin.ModelAdmin):
    """Status is read-only here: it changes only through the service (reason, audit, notifications, poster)."""

    place_kind = places.INSTITUTION
    list_display = ["name", "town", "category", "status", "licence_expires_on", "risk_grade"]
    list_filter = ["status", "category", "mode", "risk_grade", "town"]
    search_fields = ["name", "name_initials", "credit_code", "licence_number"]
    readonly_fields = [
        "status",
        "status_reason",
        "status_changed_at",
        "risk_grade",
        "risk_updated_at",
        "name_initials",
        "created_at",
        "updated_at",
    ]
    inlines = [BranchInline, CourseInline, StaffInline]


class PackageInline(admin.TabularInline):
    model = FeePackage
    extra = 0


class SlotInline(admin.TabularInline):
    model = ScheduleSlot
    extra = 0


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["name", "institution", "category", "mode", "class_minutes", "is_active"]
    list_filter = ["category", "mode"]
    search_fields = ["name", "institution__name"]
    raw_id_fields = ["institution"]
    inlines = [PackageInline, SlotInline]


@admin.register(EscrowAccount)
class EscrowAdmin(admin.ModelAdmin):
    list_display = ["institution", "bank", "masked_account", "balance", "balance_reported_on"]
    raw_id_fields = ["institution"]


@admin.register(ChangeProposal)
class ChangeProposalAdmin(admin.ModelAdmin):
    list_display = ["institution", "kind", "action", "state", "proposed_by", "proposed_at"]
    list_filter = ["state", "kind"]
    readonly_fields = [f.name for f in ChangeProposal._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(VerificationToken)
class VerificationTokenAdmin(admin.ModelAdmin):
    list_display = ["institution", "created_at", "revoked_at"]
    raw_id_fields = ["institution"]
    readonly_fields = ["token", "created_at", "revoked_at"]
