from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .phones import mask_phone, validate_mainland_mobile


class Region(models.Model):
    """An administrative division, dated: a renamed or merged town keeps its history as an older row."""

    class Kind(models.TextChoices):
        DISTRICT = "区", _("区")
        SUBDISTRICT = "街道", _("街道")
        TOWN = "镇", _("镇")
        TOWNSHIP = "乡", _("乡")

    code = models.CharField("区划代码", max_length=12)
    name = models.CharField("名称", max_length=50)
    kind = models.CharField("类型", max_length=4, choices=Kind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    valid_from = models.DateField("起始日期")
    valid_to = models.DateField("终止日期", null=True, blank=True)
    source = models.CharField("来源", max_length=200, blank=True)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = pgettext_lazy("plural", "行政区划")
        ordering = ["code", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["code", "valid_from"], name="region_code_valid_from"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="region_valid_range",
            ),
        ]

    def __str__(self):
        return self.name

    def is_valid_on(self, day) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, username, phone, password, **extra):
        if not username and not phone:
            raise ValueError("A user needs a username or a phone number")
        user = self.model(username=username or None, phone=phone or None, **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, username=None, password=None, *, phone=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(username, phone, password, **extra)

    def create_superuser(self, username=None, password=None, *, phone=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(username, phone, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(**{self.model.USERNAME_FIELD: username})


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with a mainland mobile number or a username, and a password (Argon2)."""

    username = models.CharField("用户名", max_length=50, unique=True, null=True, blank=True)
    phone = models.CharField(
        "手机号", max_length=11, unique=True, null=True, blank=True, validators=[validate_mainland_mobile]
    )
    name = models.CharField("姓名", max_length=50)
    # The page language this person chose with the switch (empty: the browser's, else Chinese).
    language = models.CharField("界面语言", max_length=10, blank=True, default="", choices=settings.LANGUAGES)
    is_active = models.BooleanField("有效", default=True)
    is_staff = models.BooleanField("可进入管理后台", default=False)
    date_joined = models.DateTimeField("注册时间", default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = pgettext_lazy("plural", "用户")
        constraints = [
            models.CheckConstraint(condition=Q(username__isnull=False) | Q(phone__isnull=False), name="user_has_login"),
        ]

    def __str__(self):
        return self.name or self.username or mask_phone(self.phone)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class Role(models.TextChoices):
    BUREAU_ADMIN = "bureau_admin", _("教育局管理员")
    BUREAU_STAFF = "bureau_staff", _("教育局工作人员")
    INSPECTOR = "inspector", _("督查员")
    SCHOOL_ADMIN = "school_admin", _("学校管理员")
    TEACHER = "teacher", _("教师")
    INSTITUTION_STAFF = "institution_staff", _("机构工作人员")
    PARENT = "parent", _("家长")


REGION_ROLES = {Role.BUREAU_ADMIN, Role.BUREAU_STAFF, Role.INSPECTOR}
SCHOOL_ROLES = {Role.SCHOOL_ADMIN, Role.TEACHER}
INSTITUTION_ROLES = {Role.INSTITUTION_STAFF}


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Membership(models.Model):
    """One role a user holds, and where it applies: a region (bureau roles), a school, or an institution."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField("角色", max_length=20, choices=Role.choices)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Identity knows no domain: a school or an institution is named by its id, not by a foreign key (the app that
    # owns the place answers its name, see accounts.places, and refuses to delete a place a membership names).
    school_id = models.BigIntegerField("学校", null=True, blank=True, db_index=True)
    institution_id = models.BigIntegerField("机构", null=True, blank=True, db_index=True)
    is_active = models.BooleanField("有效", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = pgettext_lazy("plural", "角色")
        constraints = [
            # Where a role applies is part of the role: the database refuses a bureau role without a region,
            # a school role without a school, and so on.
            models.CheckConstraint(
                name="membership_scope_matches_role",
                condition=(
                    Q(
                        role__in=sorted(r.value for r in REGION_ROLES),
                        region__isnull=False,
                        school_id__isnull=True,
                        institution_id__isnull=True,
                    )
                    | Q(
                        role__in=sorted(r.value for r in SCHOOL_ROLES),
                        region__isnull=True,
                        school_id__isnull=False,
                        institution_id__isnull=True,
                    )
                    | Q(
                        role__in=sorted(r.value for r in INSTITUTION_ROLES),
                        region__isnull=True,
                        school_id__isnull=True,
                        institution_id__isnull=False,
                    )
                    | Q(role=Role.PARENT, region__isnull=True, school_id__isnull=True, institution_id__isnull=True)
                ),
            ),
            # One row per role and place (partial indexes: NULLs would otherwise never collide).
            models.UniqueConstraint(
                fields=["user", "role", "region"], condition=Q(region__isnull=False), name="membership_unique_region"
            ),
            models.UniqueConstraint(
                fields=["user", "role", "school_id"],
                condition=Q(school_id__isnull=False),
                name="membership_unique_school",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "institution_id"],
                condition=Q(institution_id__isnull=False),
                name="membership_unique_institution",
            ),
            models.UniqueConstraint(
                fields=["user", "role"], condition=Q(role="parent"), name="membership_unique_parent"
            ),
        ]

    def __str__(self):
        where = self.region or (
            f"school #{self.school_id}"
            if self.school_id
            else f"institution #{self.institution_id}"
            if self.institution_id
            else ""
        )
        return f"{self.user} · {self.get_role_display()}" + (f" · {where}" if where else "")


class AuthSession(models.Model):
    """One signed-in device: its refresh token, and the access tokens issued to it. Revoking it cuts them all."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_sessions")
    refresh_hash = models.CharField(max_length=64, unique=True)
    refresh_expires_at = models.DateTimeField()
    device = models.CharField("设备", max_length=100, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = _("登录会话")
        verbose_name_plural = pgettext_lazy("plural", "登录会话")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user} {self.device or ''} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class AccessToken(models.Model):
    token_hash = models.CharField(max_length=64, unique=True)
    session = models.ForeignKey(AuthSession, on_delete=models.CASCADE, related_name="access_tokens")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("访问令牌")
        verbose_name_plural = pgettext_lazy("plural", "访问令牌")

    def __str__(self):
        return f"access token of session {self.session_id}, expires {self.expires_at:%Y-%m-%d %H:%M}"


class RetiredRefreshToken(models.Model):
    """A refresh token already exchanged for a new pair. Presented again, it means two parties hold the session (one
    of them a thief): the whole session (its newest refresh token and every access token) is revoked. Kept until the
    token would have expired anyway."""

    token_hash = models.CharField(max_length=64, unique=True)
    session = models.ForeignKey(AuthSession, on_delete=models.CASCADE, related_name="retired_refresh_tokens")
    retired_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("已轮换的刷新令牌")
        verbose_name_plural = pgettext_lazy("plural", "已轮换的刷新令牌")

    def __str__(self):
        return f"refresh token of session {self.session_id}, retired {self.retired_at:%Y-%m-%d %H:%M}"


class SmsCode(models.Model):
    """A one-time code sent to a phone. Only its hash is kept; it expires, and it serves once."""

    class Purpose(models.TextChoices):
        REGISTER = "register", _("注册")
        RESET = "reset", _("重设密码")

    phone = models.CharField(max_length=11, db_index=True)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("短信验证码")
        verbose_name_plural = pgettext_lazy("plural", "短信验证码")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["ip", "created_at"], name="smscode_ip_created")]  # per-address limits

    def __str__(self):
        return f"{mask_phone(self.phone)} {self.purpose} {self.created_at:%Y-%m-%d %H:%M}"


INVITABLE_ROLES = (Role.BUREAU_STAFF, Role.INSPECTOR, Role.SCHOOL_ADMIN, Role.TEACHER)


class Invitation(models.Model):
    """A role given by the bureau or a school to a phone: an SMS carries a one-time link (only its hash is kept);
    the person sets a password there and the membership is created. Expires, serves once."""

    phone = models.CharField("手机号", max_length=11, validators=[validate_mainland_mobile])
    name = models.CharField("姓名", max_length=50)
    role = models.CharField("角色", max_length=20, choices=[(r.value, r.label) for r in INVITABLE_ROLES])
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # A school by id, as memberships hold it (identity knows no domain; accounts.places answers its name).
    school_id = models.BigIntegerField("学校", null=True, blank=True, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="invitations_sent")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations_accepted"
    )
    revoked_at = models.DateTimeField("撤回时间", null=True, blank=True)

    class Meta:
        verbose_name = _("邀请")
        verbose_name_plural = pgettext_lazy("plural", "邀请")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="invitation_scope_matches_role",
                condition=(
                    Q(role__in=["bureau_staff", "inspector"], region__isnull=False, school_id__isnull=True)
                    | Q(role__in=["school_admin", "teacher"], region__isnull=True, school_id__isnull=False)
                ),
            ),
        ]

    def __str__(self):
        return f"{mask_phone(self.phone)} · {self.get_role_display()} · {self.created_at:%Y-%m-%d %H:%M}"
