from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from . import places, services
from .forms import AdminLoginForm
from .models import AuthSession, Membership, Region, User

# The admin's sign-in counts failures like /login/ and the API (per account and per address).
admin.site.login_form = AdminLoginForm


class MembershipForm(forms.ModelForm):
    """A school or an institution is typed as its id: the app that owns it says whether it exists."""

    class Meta:
        model = Membership
        fields = ["role", "region", "school_id", "institution_id", "is_active"]

    def clean(self):
        data = super().clean()
        for kind in places.KINDS:
            place_id = data.get(f"{kind}_id")
            if place_id is not None and not places.exists(kind, place_id):
                self.add_error(f"{kind}_id", _("该学校或机构不存在"))
        return data


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipForm
    extra = 0
    raw_id_fields = ["region"]


class PlaceMembershipsProtected:
    """For the admin of a place memberships name by id (set `place_kind`): its delete page lists those memberships as
    protecting it, as it did when they were foreign keys with PROTECT, instead of failing on the delete itself."""

    place_kind: str

    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        held = places.memberships_naming(self.place_kind, [o.pk for o in objs])
        return to_delete, model_count, perms_needed, [*protected, *(str(m) for m in held)]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["id"]
    list_display = ["id", "name", "username", "masked_phone", "is_active", "is_staff", "date_joined"]
    search_fields = ["name", "username", "phone"]
    list_filter = ["is_active", "is_staff", "memberships__role"]
    fieldsets = (
        (None, {"fields": ("name", "username", "phone", "password")}),
        ("权限 Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("时间 Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("name", "username", "phone", "password1", "password2")}),)
    inlines = [MembershipInline]
    actions = ["revoke_sessions"]

    @admin.action(description="注销全部登录（丢失手机）Sign out everywhere (lost phone)")
    def revoke_sessions(self, request, queryset):
        total = sum(services.auth_revoke_user_sessions(actor=request.user, user=u, reason="admin") for u in queryset)
        self.message_user(request, f"已注销 {total} 个登录会话 ({total} sessions revoked)", messages.SUCCESS)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent", "valid_from", "valid_to"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    list_display = ["user", "device", "ip", "created_at", "last_used_at", "revoked_at", "revoked_reason"]
    list_filter = ["revoked_reason"]
    raw_id_fields = ["user"]
    exclude = ["refresh_hash"]
    readonly_fields = [
        "user",
        "device",
        "ip",
        "created_at",
        "last_used_at",
        "revoked_at",
        "revoked_reason",
        "refresh_expires_at",
    ]

    def has_add_permission(self, request):
        return False
