"""Fees, their pool and its allocation (课后服务费, R-ASS-3, R-PAY-1): rates, accounts, exemptions, bills, refunds,
payments, subsidies, other income, sessions not held, allocation plans, runs and lines.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from afterschool.schedule.models import Application, School, Session, Staff, Student, Term

# --- Fees, their pool and its allocation (R-ASS-3, R-PAY-1) ---------------------------------------------------------


class FeeBasis(models.TextChoices):
    PER_LESSON = "per_lesson", _("按课次")
    PER_MONTH = "per_month", _("按月")


class FeeRate(models.Model):
    """The school's service fee for one term (R-ASS-3): per student per lesson or per month. A programme with a fee
    of its own (not free) charges that fee per lesson instead."""

    term = models.OneToOneField(Term, on_delete=models.CASCADE, related_name="fee_rate")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="fee_rates")
    basis = models.CharField("计费方式", max_length=12, choices=FeeBasis.choices, default=FeeBasis.PER_LESSON)
    amount = models.DecimalField("收费标准（元）", max_digits=8, decimal_places=2)
    policy_key = models.CharField("参照政策参数", max_length=80, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("课后服务收费标准")
        verbose_name_plural = pgettext_lazy("plural", "课后服务收费标准")
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="fee_rate_not_negative")]

    def __str__(self):
        return f"{self.term} {self.amount} {self.get_basis_display()}"


class SchoolAccount(models.Model):
    """The school's own bank account (对公账户): fees are never collected through parent committees or third
    parties, so every payment record names one of these."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="accounts")
    bank = models.CharField("开户行", max_length=100)
    account_name = models.CharField("户名", max_length=200)
    account_number = models.CharField("账号", max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("学校收费账户")
        verbose_name_plural = pgettext_lazy("plural", "学校收费账户")
        constraints = [
            models.UniqueConstraint(fields=["school", "account_number"], name="school_account_unique_number")
        ]

    def __str__(self):
        return f"{self.account_name} {self.bank} ****{self.account_number[-4:]}"


class Exemption(models.Model):
    """A family in difficulty applies for an exemption (免收) or a reduction (减收) of a child's fee for a term; the
    school approves it; the bureau sees it. Only an approved one changes the bill."""

    class ExemptionKind(models.TextChoices):
        EXEMPT = "exempt", _("免收")
        REDUCE = "reduce", _("减收")

    class Status(models.TextChoices):
        APPLIED = "applied", _("待学校审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("未批准")

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="fee_exemptions")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="fee_exemptions")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="fee_exemptions")
    kind = models.CharField("类型", max_length=8, choices=ExemptionKind.choices)
    amount = models.DecimalField("减收金额（元）", max_digits=10, decimal_places=2, null=True, blank=True)
    reason = models.CharField("原因", max_length=200)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.APPLIED)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    applied_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=200, blank=True)
    # The family's proof (a certificate of difficulty): an image re-encoded without EXIF or a plain PDF, served only
    # through a permission-checked view.
    document = models.FileField("证明材料", upload_to="exemption/%Y/%m/", blank=True)
    document_type = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = _("减免")
        verbose_name_plural = pgettext_lazy("plural", "减免")
        ordering = ["-applied_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "term"],
                condition=Q(status__in=["applied", "approved"]),
                name="exemption_one_live_per_term",
            ),
            models.CheckConstraint(
                condition=Q(kind="exempt", amount__isnull=True) | Q(kind="reduce", amount__gt=0),
                name="exemption_amount_matches_kind",
            ),
        ]

    def __str__(self):
        return f"{self.student} {self.get_kind_display()} ({self.get_status_display()})"


class Bill(models.Model):
    """A child's bill for one term: what the enrolment costs at the term's rate, less an approved exemption. Refunds
    on withdrawal and payments are kept beside it; nothing is charged across terms."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="fee_bills")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="fee_bills")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="fee_bills")
    basis = models.CharField("计费方式", max_length=12, choices=FeeBasis.choices)
    rate = models.DecimalField("收费标准（元）", max_digits=8, decimal_places=2)
    lessons = models.PositiveIntegerField("计费课次", default=0)
    months = models.PositiveIntegerField("计费月数", default=0)
    gross = models.DecimalField("应收（元）", max_digits=10, decimal_places=2)
    exempted = models.DecimalField("减免（元）", max_digits=10, decimal_places=2, default=0)
    amount = models.DecimalField("实收标准（元）", max_digits=10, decimal_places=2)
    lines = models.JSONField("明细", default=list, blank=True)
    issued_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("课后服务账单")
        verbose_name_plural = pgettext_lazy("plural", "课后服务账单")
        ordering = ["term", "student"]
        constraints = [
            models.UniqueConstraint(fields=["student", "term"], name="bill_one_per_term"),
            models.CheckConstraint(
                condition=Q(gross__gte=0, exempted__gte=0, amount__gte=0, exempted__lte=F("gross")),
                name="bill_amounts_sane",
            ),
        ]

    def __str__(self):
        return f"{self.student} {self.term.name} {self.amount}"


class Refund(models.Model):
    """Money given back when a child withdraws: pro rata by the school days (lessons) not attended."""

    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="refunds")
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="fee_refunds"
    )
    amount = models.DecimalField("退费（元）", max_digits=10, decimal_places=2)
    effective_from = models.DateField("退出生效日期")
    units_not_attended = models.PositiveIntegerField("未参加课次/天数")
    units_billed = models.PositiveIntegerField("计费课次/天数")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("退费")
        verbose_name_plural = pgettext_lazy("plural", "退费")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_not_negative"),
            models.UniqueConstraint(
                fields=["application"], condition=Q(application__isnull=False), name="refund_one_per_withdrawal"
            ),
        ]

    def __str__(self):
        return f"{self.bill} −{self.amount}"


class Payment(models.Model):
    """A payment of a bill, into the school's own account (never a parent committee's or a third party's)."""

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="payments")
    account = models.ForeignKey(SchoolAccount, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField("金额（元）", max_digits=10, decimal_places=2)
    paid_on = models.DateField("缴费日期")
    reference = models.CharField("流水号", max_length=60, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("缴费记录")
        verbose_name_plural = pgettext_lazy("plural", "缴费记录")
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
            # The bank's transaction number names one payment: the same one sent twice is recorded once.
            models.UniqueConstraint(
                fields=["account", "reference"], condition=~Q(reference=""), name="payment_one_per_reference"
            ),
        ]

    def __str__(self):
        return f"{self.bill} {self.amount}"


class Subsidy(models.Model):
    """Fiscal subsidy (财政补助) of a school's term, entered by the bureau."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="fee_subsidies")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="fee_subsidies")
    amount = models.DecimalField("金额（元）", max_digits=12, decimal_places=2)
    note = models.CharField("说明", max_length=200, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("财政补助")
        verbose_name_plural = pgettext_lazy("plural", "财政补助")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="subsidy_positive")]

    def __str__(self):
        return f"{self.term} {self.amount}"


class OtherIncome(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="fee_other_income")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="fee_other_income")
    amount = models.DecimalField("金额（元）", max_digits=12, decimal_places=2)
    source = models.CharField("来源", max_length=200)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("其他收入")
        verbose_name_plural = pgettext_lazy("plural", "其他收入")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="other_income_positive")]

    def __str__(self):
        return f"{self.term} {self.source} {self.amount}"


class SessionNotHeld(models.Model):
    """A planned lesson that did not take place (weather, an exam day): it counts nothing and needs no attendance."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="not_held")
    date = models.DateField("日期")
    reason = models.CharField("原因", max_length=200)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("未开课")
        verbose_name_plural = pgettext_lazy("plural", "未开课")
        constraints = [models.UniqueConstraint(fields=["session", "date"], name="not_held_one_per_day")]

    def __str__(self):
        return f"{self.session} {self.date}"


class AllocationPlan(models.Model):
    """How a term's pool is shared: percentages for teacher pay, outside personnel's labour fees, operations and
    reserve (summing to exactly 100), and optional weights per programme kind for the teachers' lessons."""

    term = models.OneToOneField(Term, on_delete=models.CASCADE, related_name="allocation_plan")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="allocation_plans")
    teacher_pct = models.DecimalField("教师课酬 %", max_digits=5, decimal_places=2)
    outside_pct = models.DecimalField("校外人员劳务费 %", max_digits=5, decimal_places=2)
    operations_pct = models.DecimalField("运行成本 %", max_digits=5, decimal_places=2)
    reserve_pct = models.DecimalField("预留 %", max_digits=5, decimal_places=2)
    kind_weights = models.JSONField("项目类型权重", default=dict, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("分配方案")
        verbose_name_plural = pgettext_lazy("plural", "分配方案")
        constraints = [
            models.CheckConstraint(
                condition=Q(teacher_pct__gte=0, outside_pct__gte=0, operations_pct__gte=0, reserve_pct__gte=0),
                name="plan_shares_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(teacher_pct=100 - F("outside_pct") - F("operations_pct") - F("reserve_pct")),
                name="plan_shares_sum_100",
            ),
        ]

    def __str__(self):
        return f"{self.term} plan"


class AllocationRun(models.Model):
    """One computation of a term's allocation. draft (can be recomputed) → reviewed by the school → approved by the
    bureau → locked (never changes again; a correction is an adjustment run that references it)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        REVIEWED = "reviewed", _("学校已审核")
        APPROVED = "approved", _("教育局已批准")
        LOCKED = "locked", _("已锁定")

    class RunKind(models.TextChoices):
        REGULAR = "regular", _("学期分配")
        ADJUSTMENT = "adjustment", _("调整")

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="allocation_runs")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="allocation_runs")
    kind = models.CharField("类型", max_length=10, choices=RunKind.choices, default=RunKind.REGULAR)
    adjusts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments", verbose_name="调整对象"
    )
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    until = models.DateField("计算截至")
    shares = models.JSONField("分配比例", default=dict)
    kind_weights = models.JSONField("项目类型权重", default=dict, blank=True)
    # The pool (for an adjustment: the change against what was locked before).
    fees = models.DecimalField("收费", max_digits=14, decimal_places=2, default=0)
    refunds = models.DecimalField("退费", max_digits=14, decimal_places=2, default=0)
    subsidy = models.DecimalField("财政补助", max_digits=14, decimal_places=2, default=0)
    other = models.DecimalField("其他收入", max_digits=14, decimal_places=2, default=0)
    pool = models.DecimalField("可分配总额", max_digits=14, decimal_places=2, default=0)
    teacher_share = models.DecimalField("教师课酬", max_digits=14, decimal_places=2, default=0)
    outside_share = models.DecimalField("校外人员劳务费", max_digits=14, decimal_places=2, default=0)
    operations = models.DecimalField("运行成本", max_digits=14, decimal_places=2, default=0)
    reserve = models.DecimalField("预留", max_digits=14, decimal_places=2, default=0)
    outside_owed = models.DecimalField("校外人员应付", max_digits=14, decimal_places=2, default=0)
    outside_surplus = models.DecimalField("劳务费结余（转预留）", max_digits=14, decimal_places=2, default=0)
    teacher_unallocated = models.DecimalField("无课时未分配（转预留）", max_digits=14, decimal_places=2, default=0)
    shortfall = models.DecimalField("劳务费缺口", max_digits=14, decimal_places=2, default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("课后服务费分配")
        verbose_name_plural = pgettext_lazy("plural", "课后服务费分配")
        ordering = ["term", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["term"], condition=Q(kind="regular"), name="allocation_one_regular_run"),
            # One run of a term open at a time: an adjustment waits until the run before it is locked.
            models.UniqueConstraint(
                fields=["term"], condition=~Q(status="locked"), name="allocation_one_open_run_per_term"
            ),
            models.CheckConstraint(
                condition=Q(kind="regular", adjusts__isnull=True) | Q(kind="adjustment", adjusts__isnull=False),
                name="allocation_adjustment_references_run",
            ),
        ]

    def __str__(self):
        return f"{self.term} {self.get_kind_display()} #{self.pk} ({self.get_status_display()})"


class PayType(models.TextChoices):
    PERFORMANCE = "performance", "绩效工资（课后服务单列增量）"
    LABOUR = "labour", "劳务费"


class AllocationLine(models.Model):
    """What one person gets from a run: lessons delivered, weighted lessons, the rate (outside personnel) and the
    amount; teachers' pay is a separate performance-pay increment, outside personnel's a labour fee (R-PAY-1)."""

    run = models.ForeignKey(AllocationRun, on_delete=models.CASCADE, related_name="lines")
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="allocation_lines")
    name = models.CharField("姓名", max_length=50)
    pay_type = models.CharField("发放类别", max_length=12, choices=PayType.choices)
    lessons = models.IntegerField("课时")
    weighted_lessons = models.DecimalField("折算课时", max_digits=12, decimal_places=2)
    rate = models.DecimalField("每课时标准（元）", max_digits=8, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField("金额（元）", max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("分配明细")
        verbose_name_plural = pgettext_lazy("plural", "分配明细")
        ordering = ["run", "pay_type", "name", "staff_id"]
        constraints = [models.UniqueConstraint(fields=["run", "staff"], name="allocation_line_one_per_person")]

    def __str__(self):
        return f"{self.name} {self.amount}"

