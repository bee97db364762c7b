"""Admin for after-school data: look-ups and fixes by the platform's administrators. Writes with rules (sessions,
applications, attendance) belong in the API and pages, which check and audit them; here they are read-only."""

from django import forms
from django.contrib import admin

from accounts import places
from accounts.admin import PlaceMembershipsProtected
from afterschool.admission.enforcement import staff_recheck
from afterschool.admission.models import Admission, OutsidePerson, ProhibitedPerson
from afterschool.schedule.models import (
    Application,
    Attendance,
    ChoiceWindow,
    Programme,
    Room,
    School,
    SchoolClass,
    Session,
    Staff,
    Student,
    Term,
    TermDay,
)
from core.errors import DomainError


@admin.register(School)
class SchoolAdmin(PlaceMembershipsProtected, admin.ModelAdmin):
    place_kind = places.SCHOOL
    list_display = ("name", "town", "stage")
    list_filter = ("stage", "town")
    search_fields = ("name",)


@admin.register(SchoolClass)
class SchoolClassAdmin(admin.ModelAdmin):
    list_display = ("school", "grade", "number", "class_teacher")
    list_filter = ("school",)
    raw_id_fields = ("class_teacher",)


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    list_display = ("name", "school", "school_class", "left_behind", "migrant", "is_active")
    list_filter = ("school", "left_behind", "migrant")
    search_fields = ("name",)
    raw_id_fields = ("guardians",)


admin.site.register(Room)


class StaffForm(forms.ModelForm):
    """Whoever a staff row names must pass the check scheduling makes (afterschool.admission.staff_recheck): a
    suspended or revoked person cannot be swapped into a row that delivers sessions, nor added afresh."""

    class Meta:
        model = Staff
        fields = ("school", "kind", "name", "user", "outside_person")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        candidate = Staff(
            pk=self.instance.pk,
            school=data.get("school"),
            kind=data.get("kind"),
            name=data.get("name") or "",
            user=data.get("user"),
            outside_person=data.get("outside_person"),
        )
        try:
            staff_recheck(candidate)
        except DomainError as exc:
            raise forms.ValidationError({"outside_person": exc.message()}) from None
        return data


@admin.register(Staff)
class StaffAdmin(admin.ModelAdmin):
    form = StaffForm
    list_display = ("name", "school", "kind", "outside_person")
    list_filter = ("kind", "school")
    search_fields = ("name",)
    raw_id_fields = ("user", "outside_person")


class TermDayInline(admin.TabularInline):
    model = TermDay
    extra = 0


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ("school", "name", "starts_on", "ends_on")
    inlines = [TermDayInline]


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ("name", "school", "term", "kind", "capacity", "is_free", "fee_per_lesson")
    list_filter = ("kind", "school")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ("programme", "weekday", "starts_at", "ends_at", "room", "staff", "needs_staff")
    list_filter = ("school", "weekday")


@admin.register(ChoiceWindow)
class ChoiceWindowAdmin(ReadOnlyAdmin):
    list_display = ("name", "school", "opens_at", "closes_at", "status", "seed")


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ("student", "programme", "status", "priority", "rank", "lottery_number", "active_from")
    list_filter = ("status", "priority")


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyAdmin):
    list_display = ("student", "session", "date", "mark", "left_at", "corrected_at")
    list_filter = ("mark", "date")


# Admission: its rules (review, register checks, suspension freeing sessions) live in afterschool.admission and the
# API; no document links here, since each view of a scan must go through the audited, reviewer-only endpoint.
@admin.register(Admission)
class AdmissionAdmin(ReadOnlyAdmin):
    list_display = ("person", "school", "institution", "status", "valid_from", "valid_until", "reason")
    list_filter = ("status", "school")
    exclude = ("register_hits", "register_warnings")


@admin.register(OutsidePerson)
class OutsidePersonAdmin(ReadOnlyAdmin):
    list_display = ("name", "masked_id", "birth_date")
    exclude = ("phone",)


@admin.register(ProhibitedPerson)
class ProhibitedPersonAdmin(ReadOnlyAdmin):
    list_display = ("name", "id_last4", "birth_date", "source", "listed_on")
    search_fields = ("name",)


# Fees and their allocation: every change goes through afterschool.fees / fee_allocation (audited, locked runs never
# change), so the admin only reads.
from . import models as _m  # noqa: E402


class AllocationLineInline(admin.TabularInline):
    model = _m.AllocationLine
    extra = 0
    can_delete = False
    fields = readonly_fields = ("name", "pay_type", "lessons", "weighted_lessons", "rate", "amount")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(_m.AllocationRun)
class AllocationRunAdmin(ReadOnlyAdmin):
    list_display = ("term", "school", "kind", "status", "pool", "shortfall", "computed_at", "locked_at")
    list_filter = ("status", "kind")
    inlines = [AllocationLineInline]


@admin.register(_m.Bill)
class BillAdmin(ReadOnlyAdmin):
    list_display = ("student", "term", "basis", "rate", "gross", "exempted", "amount")
    exclude = ("lines",)


for _model, _columns in (
    (_m.FeeRate, ("term", "basis", "amount", "policy_key")),
    (_m.AllocationPlan, ("term", "teacher_pct", "outside_pct", "operations_pct", "reserve_pct")),
    (_m.Exemption, ("student", "term", "kind", "amount", "status")),
    (_m.Refund, ("bill", "amount", "effective_from", "units_not_attended", "units_billed")),
    (_m.Payment, ("bill", "account", "amount", "paid_on")),
    (_m.SchoolAccount, ("school", "account_name", "bank")),
    (_m.Subsidy, ("term", "amount", "note")),
    (_m.OtherIncome, ("term", "amount", "source")),
    (_m.SessionNotHeld, ("session", "date", "reason")),
):
    admin.site.register(_model, type(f"{_model.__name__}Admin", (ReadOnlyAdmin,), {"list_display": _columns}))
