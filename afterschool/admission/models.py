"""Outside personnel and their admission (校外人员准入, R-ASS-2, R-STAFF-2): the prohibited-persons register, the
people, their applications and documents.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from afterschool.schedule.models import Programme, School

# --- Outside personnel and their admission (校外人员准入, R-ASS-2, R-STAFF-2) ------------------------------------


class ProhibitedPerson(models.Model):
    """One entry of the bureau's prohibited-persons register (从业禁止 / staff blacklist). The ID number is kept as
    a keyed hash (exact matching) and its last four characters; name and birth date give a weaker match."""

    id_hash = models.CharField(max_length=64, db_index=True, editable=False)
    id_last4 = models.CharField(max_length=4, blank=True)
    name = models.CharField("姓名", max_length=50)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    source = models.CharField("来源", max_length=200)
    listed_on = models.DateField("列入日期")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("从业禁止人员")
        verbose_name_plural = pgettext_lazy("plural", "从业禁止名单")
        indexes = [models.Index(fields=["name", "birth_date"], name="prohibited_name_birth")]
        constraints = [models.UniqueConstraint(fields=["id_hash", "source"], name="prohibited_unique_per_source")]

    def __str__(self):
        return f"{self.name} ****{self.id_last4}"


class OutsidePerson(models.Model):
    """A coach, artist, retired teacher, volunteer or a third party's teacher, known by a keyed hash of the ID
    number (one row per person, whoever sends them)."""

    name = models.CharField("姓名", max_length=50)
    id_hash = models.CharField(max_length=64, unique=True, editable=False)
    id_last4 = models.CharField(max_length=4)
    birth_date = models.DateField("出生日期")
    phone = models.CharField("手机号", max_length=11, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="outside_persons"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("校外人员")
        verbose_name_plural = pgettext_lazy("plural", "校外人员")

    def __str__(self):
        return self.name

    @property
    def masked_id(self) -> str:
        return "*" * 14 + self.id_last4


class AdmissionReason(models.TextChoices):
    """Why an admission is suspended or revoked (R-ASS-2's list, plus a register hit)."""

    POOR_SERVICE = "poor_service", _("服务质量差")
    POACHING = "poaching", _("招揽学生")
    NOT_DELIVERING = "not_delivering", _("未按约定提供服务")
    DISRUPTING = "disrupting", _("扰乱教学秩序")
    REGISTER_HIT = "register_hit", _("命中从业禁止名单")


ADMISSION_OPEN = ("draft", "school_review", "returned", "bureau_review")


class Admission(models.Model):
    """An application for admission to one school's after-school services and, once the bureau admits it, the
    admission itself with its validity period."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SCHOOL_REVIEW = "school_review", _("学校审核中")
        RETURNED = "returned", _("退回补充")
        BUREAU_REVIEW = "bureau_review", _("教育局审核中")
        ADMITTED = "admitted", _("已准入")
        EXPIRED = "expired", _("已过期")
        SUSPENDED = "suspended", _("已暂停")
        REVOKED = "revoked", _("已撤销")

    person = models.ForeignKey(OutsidePerson, on_delete=models.PROTECT, related_name="admissions")
    institution = models.ForeignKey(
        "institutions.Institution",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="admissions",
        verbose_name="第三方机构",
    )
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="admissions")
    programmes = models.ManyToManyField(Programme, blank=True, related_name="admissions")
    paid = models.BooleanField("有偿服务", default=True)
    qualifications = models.JSONField("资质", default=list, blank=True)
    record_issuer = models.CharField("无犯罪记录证明出具机关", max_length=100, blank=True)
    record_issued_on = models.DateField("无犯罪记录证明日期", null=True, blank=True)
    health_issuer = models.CharField("健康证明出具机构", max_length=100, blank=True)
    health_issued_on = models.DateField("健康证明日期", null=True, blank=True)
    consent_signed = models.BooleanField("已签署背景审查同意书", default=False)
    fee_per_lesson = models.DecimalField("每次课收费（元）", max_digits=8, decimal_places=2, null=True, blank=True)
    market_price = models.DecimalField("市场价（元）", max_digits=8, decimal_places=2, null=True, blank=True)
    status = models.CharField("状态", max_length=14, choices=Status.choices, default=Status.DRAFT)
    message = models.CharField("审核意见", max_length=500, blank=True)
    register_hits = models.JSONField("名单命中", default=list, blank=True)
    register_warnings = models.JSONField("名单疑似", default=list, blank=True)
    valid_from = models.DateField("有效期起", null=True, blank=True)
    valid_until = models.DateField("有效期至", null=True, blank=True)
    reason = models.CharField("暂停/撤销原因", max_length=20, choices=AdmissionReason.choices, blank=True)
    renewal_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("校外人员准入")
        verbose_name_plural = pgettext_lazy("plural", "校外人员准入")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "valid_until"], name="admission_status_until"),
            models.Index(fields=["school", "status"], name="admission_school_status"),
            # The public list of admitted third parties reads only these few rows.
            models.Index(
                fields=["institution", "valid_until"],
                condition=Q(status="admitted", institution__isnull=False),
                name="admission_admitted_third_party",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "school"],
                condition=Q(status__in=ADMISSION_OPEN),
                name="admission_one_open_per_school",
            ),
            models.CheckConstraint(
                condition=~Q(status="admitted") | Q(valid_from__isnull=False, valid_until__isnull=False),
                name="admission_admitted_has_validity",
            ),
        ]

    def __str__(self):
        return f"{self.person} @ {self.school}"

    def valid_on(self, day) -> bool:
        return self.status == self.Status.ADMITTED and self.valid_from <= day <= self.valid_until


class AdmissionDocument(models.Model):
    class Kind(models.TextChoices):
        PHOTO = "photo", _("照片")
        QUALIFICATION = "qualification", _("资质证书")
        CRIMINAL_RECORD = "criminal_record", _("无犯罪记录证明")
        HEALTH = "health", _("健康证明")
        CONSENT = "consent", _("背景审查同意书")

    admission = models.ForeignKey(Admission, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    file = models.FileField(upload_to="admission/%Y/%m/")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("准入材料")
        verbose_name_plural = pgettext_lazy("plural", "准入材料")
        ordering = ["id"]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

