"""The registry of off-campus training institutions (校外培训机构): licences, premises, staff, courses and fees,
escrow, status, and the public verification tokens printed on their posters."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts import places
from core.pii import mask_middle, mask_tail

# Mainland China's extent, for coordinates that cannot be right (a swapped lat/lng, a zero).
CHINA_LAT = (Decimal("3.8"), Decimal("53.6"))
CHINA_LNG = (Decimal("73.5"), Decimal("135.1"))


class Category(models.TextChoices):
    SUBJECT = "subject", _("学科类")
    SPORTS = "sports", _("体育类")
    ARTS = "arts", _("文化艺术类")
    SCIENCE = "science", _("科技类")
    OTHER = "other", _("其他非学科类")


class Mode(models.TextChoices):
    OFFLINE = "offline", _("线下")
    ONLINE = "online", _("线上")
    BOTH = "both", _("线上线下")


class Status(models.TextChoices):
    APPLIED = "applied", _("申请中")
    LICENSED = "licensed", _("已许可")
    RECTIFYING = "rectifying", _("整改中")
    SUSPENDED = "suspended", _("停业整顿")
    REVOKED = "revoked", _("已吊销")
    EXPIRED = "expired", _("许可证过期")
    CLOSED = "closed", _("已注销")
    UNLICENSED = "unlicensed", _("无证机构")


# A licence past its expiry date no longer licenses: these statuses read as "expired" from the day after the date,
# whether or not the nightly licence watch (institutions.licences) has written the change yet.
EXPIRES_WITH_LICENCE = (Status.LICENSED, Status.RECTIFYING)


def effective_status(status: str, expires_on, today) -> str:
    """The status every view shows: the stored one, except that a licensed (or rectifying) institution whose licence
    expired before `today` is expired. One rule, so the registry, the QR page, the API and the console agree at every
    moment (selectors.effective_status_expr is the same rule in SQL)."""
    if status in EXPIRES_WITH_LICENCE and expires_on is not None and expires_on < today:
        return Status.EXPIRED
    return status


class RiskGrade(models.TextChoices):
    A = "A", _("A 低风险")
    B = "B", _("B 较低")
    C = "C", _("C 较高")
    D = "D", _("D 高风险")


class Institution(places.ProtectedPlace):
    # Memberships (institution staff) name it by id: deleting an institution a membership names is refused.
    membership_place_kind = places.INSTITUTION

    name = models.CharField("名称", max_length=200)
    name_initials = models.CharField("拼音首字母", max_length=200, blank=True, db_index=True, editable=False)
    credit_code = models.CharField("统一社会信用代码", max_length=18, unique=True, null=True, blank=True)
    licence_number = models.CharField("办学许可证号", max_length=40, blank=True)
    licence_issued_on = models.DateField("发证日期", null=True, blank=True)
    licence_expires_on = models.DateField("有效期至", null=True, blank=True, db_index=True)
    category = models.CharField("类别", max_length=10, choices=Category.choices, default=Category.OTHER)
    mode = models.CharField("形式", max_length=10, choices=Mode.choices, default=Mode.OFFLINE)
    legal_representative = models.CharField("法定代表人", max_length=50, blank=True)
    contact_phone = models.CharField("联系电话", max_length=20, blank=True)
    address = models.CharField("地址", max_length=300, blank=True)
    town = models.ForeignKey(
        "accounts.Region", on_delete=models.PROTECT, related_name="institutions", verbose_name="所在镇街"
    )
    latitude = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)
    floor_area_m2 = models.DecimalField(
        "场地面积(m²)", max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    max_students_present = models.PositiveIntegerField("同时在校最多学生数", null=True, blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.APPLIED, db_index=True)
    status_reason = models.CharField("状态原因", max_length=300, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    found_via = models.CharField("发现途径", max_length=200, blank=True)  # for unlicensed records
    risk_grade = models.CharField("风险等级", max_length=1, choices=RiskGrade.choices, default=RiskGrade.A)
    risk_updated_at = models.DateTimeField(null=True, blank=True)
    # Third parties serving schools' after-school programmes must be on the national supervision platform (R-ASS-2).
    on_national_platform = models.BooleanField("已纳入全国监管平台", default=False)
    national_platform_since = models.DateField("纳入全国监管平台日期", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("培训机构")
        verbose_name_plural = pgettext_lazy("plural", "培训机构")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["status", "town"]),
            models.Index(fields=["category", "status"]),
            models.Index(fields=["latitude", "longitude"]),
            # The public whitelist in name order walks this instead of sorting (bench/: 35 → 1.5 ms on 20,000).
            models.Index(
                fields=["name", "id"],
                condition=Q(status__in=["licensed", "rectifying"]),
                name="institution_whitelist_by_name",
            ),
            # The bureau's console list (every status) in name order: a page of 20 walks the index and stops
            # instead of sorting the whole registry (bench/scenarios/console_registry.py).
            models.Index(fields=["name", "id"], name="institution_by_name"),
        ]
        constraints = [
            models.CheckConstraint(
                name="institution_licence_dates_in_order",
                condition=Q(licence_issued_on__isnull=True)
                | Q(licence_expires_on__isnull=True)
                | Q(licence_expires_on__gt=models.F("licence_issued_on")),
            ),
            models.CheckConstraint(
                name="institution_coordinates_in_china",
                condition=(Q(latitude__isnull=True) & Q(longitude__isnull=True))
                | (
                    Q(latitude__gte=CHINA_LAT[0], latitude__lte=CHINA_LAT[1])
                    & Q(longitude__gte=CHINA_LNG[0], longitude__lte=CHINA_LNG[1])
                ),
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        from .search import initials_of

        self.name_initials = initials_of(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "name_initials"}
        super().save(*args, **kwargs)

    def effective_status(self, today=None) -> str:
        """The status as every page shows it today (see the module's `effective_status`)."""
        from django.utils import timezone

        return effective_status(self.status, self.licence_expires_on, today or timezone.localdate())

    @property
    def current_status(self) -> str:
        return self.effective_status()

    def get_current_status_display(self):
        return str(Status(self.current_status).label)

    @property
    def expired_unrecorded(self) -> bool:
        """The licence has expired but the stored status does not say so yet (the nightly watch will write it)."""
        return self.current_status != self.status

    @property
    def is_subject(self) -> bool:
        return self.category == Category.SUBJECT

    @property
    def is_offline(self) -> bool:
        return self.mode in (Mode.OFFLINE, Mode.BOTH)

    @property
    def is_online(self) -> bool:
        return self.mode in (Mode.ONLINE, Mode.BOTH)


class BranchSite(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="branches")
    name = models.CharField("名称", max_length=200)
    address = models.CharField("地址", max_length=300)
    town = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name="所在镇街")
    approved_on = models.DateField("批准日期", null=True, blank=True)

    class Meta:
        verbose_name = _("分支场所")
        verbose_name_plural = pgettext_lazy("plural", "分支场所")

    def __str__(self):
        return f"{self.institution} · {self.name}"


class StaffMember(models.Model):
    class StaffRole(models.TextChoices):
        TEACHER = "teacher", _("教师")
        MANAGER = "manager", _("管理人员")
        OTHER = "other", _("其他")

    class Precheck(models.TextChoices):
        PENDING = "pending", _("待查")
        PASSED = "passed", _("通过")
        FAILED = "failed", _("未通过")

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="staff")
    name = models.CharField("姓名", max_length=50)
    id_number_hash = models.CharField(max_length=64, db_index=True, editable=False)
    id_number_last4 = models.CharField("身份证号后四位", max_length=4, editable=False)
    role = models.CharField("岗位", max_length=10, choices=StaffRole.choices, default=StaffRole.TEACHER)
    full_time = models.BooleanField("专职", default=True)
    teacher_certificate_no = models.CharField("教师资格证号", max_length=40, blank=True)
    competence_proof = models.CharField("专业能力证明", max_length=200, blank=True)
    in_service_teacher = models.BooleanField("在职中小学教师", default=False)
    precheck_date = models.DateField("入职查询日期", null=True, blank=True)
    precheck_result = models.CharField("查询结果", max_length=10, choices=Precheck.choices, default=Precheck.PENDING)
    is_active = models.BooleanField("在职", default=True)

    class Meta:
        verbose_name = _("从业人员")
        verbose_name_plural = pgettext_lazy("plural", "从业人员")
        ordering = ["institution", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "id_number_hash"], name="staff_once_per_institution"),
        ]

    def __str__(self):
        return self.name

    @property
    def masked_id_number(self) -> str:
        return mask_tail(self.id_number_last4)

    @property
    def masked_certificate(self) -> str:
        return mask_middle(self.teacher_certificate_no, 4, 3)


class Course(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="courses")
    name = models.CharField("课程名称", max_length=200)
    subject = models.CharField("科目", max_length=50, blank=True)
    category = models.CharField("类别", max_length=10, choices=Category.choices)
    mode = models.CharField(
        "形式", max_length=10, choices=[(Mode.OFFLINE, Mode.OFFLINE.label), (Mode.ONLINE, Mode.ONLINE.label)]
    )
    min_age = models.PositiveSmallIntegerField("最小年龄", null=True, blank=True)
    max_age = models.PositiveSmallIntegerField("最大年龄", null=True, blank=True)
    grade_range = models.CharField("年级范围", max_length=50, blank=True)
    class_minutes = models.PositiveSmallIntegerField("单次课时长(分钟)", validators=[MinValueValidator(1)])
    is_active = models.BooleanField("在售", default=True)

    class Meta:
        verbose_name = _("课程")
        verbose_name_plural = pgettext_lazy("plural", "课程")
        ordering = ["institution", "name", "id"]
        constraints = [
            models.CheckConstraint(
                name="course_age_range_in_order",
                condition=Q(min_age__isnull=True) | Q(max_age__isnull=True) | Q(max_age__gte=models.F("min_age")),
            ),
            models.CheckConstraint(name="course_class_minutes_positive", condition=Q(class_minutes__gt=0)),
        ]

    def __str__(self):
        return self.name


class FeePackage(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="packages")
    name = models.CharField("套餐名称", max_length=100)
    hours = models.PositiveIntegerField("课时数")
    months = models.PositiveSmallIntegerField("周期(月)")
    price = models.DecimalField("价格(元)", max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("收费套餐")
        verbose_name_plural = pgettext_lazy("plural", "收费套餐")
        ordering = ["course", "price", "id"]
        constraints = [
            models.CheckConstraint(name="package_hours_positive", condition=Q(hours__gt=0)),
            models.CheckConstraint(name="package_months_positive", condition=Q(months__gt=0)),
            models.CheckConstraint(name="package_price_not_negative", condition=Q(price__gte=0)),
        ]

    def __str__(self):
        return f"{self.name} ¥{self.price}"


class ScheduleSlot(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField("星期", help_text="0=周一 … 6=周日")
    start_time = models.TimeField("开始")
    end_time = models.TimeField("结束")

    class Meta:
        verbose_name = _("排课")
        verbose_name_plural = pgettext_lazy("plural", "排课")
        ordering = ["course", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(name="slot_weekday_valid", condition=Q(weekday__lte=6)),
            models.CheckConstraint(name="slot_ends_after_start", condition=Q(end_time__gt=models.F("start_time"))),
        ]

    def __str__(self):
        return f"{self.course} 周{'一二三四五六日'[self.weekday]} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class EscrowAccount(models.Model):
    """The supervised account (资金监管账户) into which all prepaid fees go."""

    institution = models.OneToOneField(Institution, on_delete=models.CASCADE, related_name="escrow")
    bank = models.CharField("开户银行", max_length=100)
    account_number = models.CharField("账号", max_length=40)
    agreement_number = models.CharField("监管协议编号", max_length=60, blank=True)
    balance = models.DecimalField("余额(元)", max_digits=14, decimal_places=2, null=True, blank=True)
    balance_reported_on = models.DateField("余额报告日期", null=True, blank=True)

    class Meta:
        verbose_name = _("资金监管账户")
        verbose_name_plural = pgettext_lazy("plural", "资金监管账户")

    def __str__(self):
        return f"{self.bank} {self.masked_account}"

    @property
    def masked_account(self) -> str:
        return mask_middle(self.account_number, 4, 4)


def new_token() -> str:
    return secrets.token_urlsafe(16)


class VerificationToken(models.Model):
    """The unguessable token in a poster's QR code. Rotating it (a forged or leaked poster) keeps the old row,
    so a scan of the old poster can say "not valid, may be forged"."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="tokens")
    token = models.CharField(max_length=40, unique=True, default=new_token)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("核验码")
        verbose_name_plural = pgettext_lazy("plural", "核验码")
        constraints = [
            models.UniqueConstraint(
                fields=["institution"], condition=Q(revoked_at__isnull=True), name="one_live_token_per_institution"
            )
        ]

    def __str__(self):
        return f"{self.institution} {'revoked' if self.revoked_at else 'live'}"


class ScanCount(models.Model):
    """Scans of a token per day: a count, nothing about who scanned."""

    token = models.ForeignKey(VerificationToken, on_delete=models.CASCADE, related_name="scans")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("扫码统计")
        verbose_name_plural = pgettext_lazy("plural", "扫码统计")
        constraints = [models.UniqueConstraint(fields=["token", "day"], name="scan_count_per_day")]

    def __str__(self):
        return f"{self.token_id} {self.day}: {self.count}"


class Poster(models.Model):
    """The printable poster of an institution, rebuilt by a task when its status or token changes."""

    institution = models.OneToOneField(Institution, on_delete=models.CASCADE, related_name="poster")
    image = models.FileField(upload_to="posters/")
    token = models.CharField(max_length=40)
    status = models.CharField(max_length=12)
    built_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("海报")
        verbose_name_plural = pgettext_lazy("plural", "海报")

    def __str__(self):
        return f"poster of {self.institution_id}"


class ChangeProposal(models.Model):
    """A change institution staff propose to their own courses, packages, schedule or staff; it takes effect when
    bureau staff approve it."""

    class Kind(models.TextChoices):
        COURSE = "course", _("课程")
        PACKAGE = "package", _("收费套餐")
        SLOT = "slot", _("排课")
        STAFF = "staff", _("从业人员")

    class Action(models.TextChoices):
        CREATE = "create", _("新增")
        UPDATE = "update", _("修改")
        DELETE = "delete", _("删除")

    class State(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已通过")
        REJECTED = "rejected", _("已驳回")
        WITHDRAWN = "withdrawn", _("已撤回")

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="proposals")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    action = models.CharField(max_length=10, choices=Action.choices)
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=500, blank=True)
    applied_object_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("变更申请")
        verbose_name_plural = pgettext_lazy("plural", "变更申请")
        ordering = ["-proposed_at", "-id"]

    def __str__(self):
        return f"{self.get_action_display()} {self.get_kind_display()} ({self.get_state_display()})"

    @property
    def diff(self) -> dict:
        """Field by field: {"price": {"from": "3000.00", "to": "6000.00"}} for the fields that change."""
        # The keyed hash of an ID number says nothing to a reviewer; the masked last four stand for the person.
        keys = sorted((set(self.before) | set(self.after)) - {"id_number_hash"})
        return {
            k: {"from": self.before.get(k), "to": self.after.get(k)}
            for k in keys
            if self.before.get(k) != self.after.get(k)
        }
