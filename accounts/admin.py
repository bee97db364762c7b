from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

from . import places, services
from .forms import AdminLoginForm
from .models import AuthSession, Invitation, Membership, Region, User
from .phones import mask_phone

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
        (_("权限"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("时间"), {"fields": ("last_login", "date_joined")}),
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


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations are sent from the invite page (an SMS with a one-time link); here they are followed and revoked.
    The phone is shown masked; the token's hash never."""

    list_display = ["name", "masked_phone", "role", "region", "school_id", "invited_by", "created_at", "state"]
    list_filter = ["role"]
    search_fields = ["name"]
    actions = ["revoke"]
    exclude = ["token_hash", "phone"]
    readonly_fields = [
        "masked_phone", "name", "role", "region", "school_id", "invited_by", "created_at", "expires_at",
        "accepted_at", "accepted_by", "revoked_at",
    ]  # fmt: skip

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj):
        return mask_phone(obj.phone)

    @admin.display(description=_("状态"))
    def state(self, obj):
        if obj.accepted_at:
            return _("已接受")
        if obj.revoked_at:
            return _("已撤回")
        return _("已过期") if obj.expires_at <= timezone.now() else _("待接受")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("撤回所选邀请"))
    def revoke(self, request, queryset):
        done = 0
        for invitation in queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True):
            try:
                services.invitation_revoke(actor=request.user, invitation_id=invitation.pk)
            except DomainError:  # not theirs to revoke (only its sender or a bureau admin may), or accepted meanwhile
                continue
            done += 1
        self.message_user(request, _("已撤回 %(n)d 条邀请") % {"n": done}, messages.SUCCESS)
