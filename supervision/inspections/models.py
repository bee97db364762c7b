"""Inspections (双随机一公开, R-INSP-1): checklists, plans and draws, visits with their records, answers, photos and
findings, rectification orders with their evidence, penalty decisions.

App label `supervision` (supervision/models.py imports this module); tables and migrations are the app's.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AnswerType(models.TextChoices):
    YES_NO_NA = "yes_no_na", _("是/否/不适用")
    NUMBER = "number", _("数值")
    TEXT = "text", _("文字")
    PHOTO = "photo", _("须拍照")


class Severity(models.TextChoices):
    LOW = "low", _("轻微")
    MEDIUM = "medium", _("一般")
    HIGH = "high", _("严重")


class ChecklistTemplate(models.Model):
    """A checklist (e.g. for training institutions). Its items live in numbered versions: a visit pins the version
    it was done with, and editing the template makes a new version rather than changing an old one."""

    code = models.CharField("代码", max_length=40, unique=True)
    name_zh = models.CharField("名称", max_length=100)
    name_en = models.CharField("英文名称", max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查表")
        verbose_name_plural = pgettext_lazy("plural", "检查表")

    def __str__(self):
        return self.name_zh


class ChecklistVersion(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField("版本号")
    note = models.CharField("修订说明", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查表版本")
        verbose_name_plural = pgettext_lazy("plural", "检查表版本")
        ordering = ["template", "-number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="checklist_version_number")]

    def __str__(self):
        return f"{self.template_id} v{self.number}"


class ChecklistItem(models.Model):
    version = models.ForeignKey(ChecklistVersion, on_delete=models.PROTECT, related_name="items")
    code = models.CharField("代码", max_length=20)
    section = models.CharField("分类", max_length=30, blank=True)
    question_zh = models.CharField("检查内容", max_length=300)
    question_en = models.CharField("英文", max_length=300)
    answer_type = models.CharField("答案类型", max_length=10, choices=AnswerType.choices)
    rule_id = models.CharField("规则编号", max_length=20, blank=True)
    severity = models.CharField("严重程度", max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    public = models.BooleanField("公开", default=True)  # False: internal, never on a published result
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("检查项")
        verbose_name_plural = pgettext_lazy("plural", "检查项")
        ordering = ["version", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["version", "code"], name="checklist_item_code_per_version")]

    def __str__(self):
        return f"{self.code} {self.question_zh[:20]}"


class SamplingMode(models.TextChoices):
    OVERALL = "overall", _("总体比例")
    BY_GRADE = "by_grade", _("按风险等级")


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    DRAWN = "drawn", _("已抽取")
    FINISHED = "finished", _("已完成")


class InspectionPlan(models.Model):
    """A 双随机 plan: which institutions may be drawn (scope), how many (sampling rule, R-INSP-1), by whom (pool)."""

    name = models.CharField("名称", max_length=200)
    period_start = models.DateField("开始日期")
    period_end = models.DateField("结束日期")
    region = models.ForeignKey(
        "accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name="负责区域"
    )  # the district or town whose bureau runs it: what scoping uses
    scope_town_ids = models.JSONField("范围：镇街", default=list, blank=True)  # empty: every town of the region
    scope_categories = models.JSONField("范围：类别", default=list, blank=True)  # empty: every category
    scope_statuses = models.JSONField("范围：状态", default=list, blank=True)  # empty: licensed
    sampling_mode = models.CharField(max_length=10, choices=SamplingMode.choices, default=SamplingMode.BY_GRADE)
    share_overall = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    share_grade_a = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    share_grade_b = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    share_grade_c = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    share_grade_d = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    inspectors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="inspection_plans", blank=True)
    team_size = models.PositiveSmallIntegerField("每组人数", default=2)
    recent_days_excluded = models.PositiveIntegerField("近期已检查排除天数", default=180)
    checklist_version = models.ForeignKey(ChecklistVersion, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    seed = models.CharField("随机种子", max_length=100, blank=True)
    finished_on = models.DateField("完成日期", null=True, blank=True)
    publish_on = models.DateField("公示日期", null=True, blank=True)
    published_at = models.DateTimeField("公示时间", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查计划")
        verbose_name_plural = pgettext_lazy("plural", "检查计划")
        ordering = ["-period_start", "-id"]
        constraints = [
            models.CheckConstraint(name="plan_team_of_two", condition=Q(team_size__gte=2)),
            models.CheckConstraint(name="plan_period_order", condition=Q(period_end__gte=models.F("period_start"))),
        ]

    def __str__(self):
        return self.name


class PlanDraw(models.Model):
    """Every draw of a plan is kept: the current one, and earlier ones with the reason they were redone."""

    plan = models.ForeignKey(InspectionPlan, on_delete=models.PROTECT, related_name="draws")
    number = models.PositiveSmallIntegerField()
    seed = models.CharField(max_length=100)
    reason = models.CharField("重新抽取原因", max_length=500, blank=True)
    inputs = models.JSONField(default=dict)  # counts of candidates, pool, exclusions: what the result depends on
    result = models.JSONField(default=dict)  # draw.DrawResult.as_dict()
    is_current = models.BooleanField(default=True)
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    drawn_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("抽取记录")
        verbose_name_plural = pgettext_lazy("plural", "抽取记录")
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_draw_number"),
            models.UniqueConstraint(fields=["plan"], condition=Q(is_current=True), name="plan_one_current_draw"),
        ]

    def __str__(self):
        return f"{self.plan_id} #{self.number}"


class ConflictDeclaration(models.Model):
    """An inspector declares a conflict of interest with an institution: no draw sends them there."""

    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conflicts")
    institution = models.ForeignKey("institutions.Institution", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField("原因", max_length=300)
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("利益冲突申报")
        verbose_name_plural = pgettext_lazy("plural", "利益冲突申报")
        constraints = [models.UniqueConstraint(fields=["inspector", "institution"], name="conflict_once")]

    def __str__(self):
        return f"{self.inspector_id} ≠ {self.institution_id}"


class InspectionOrigin(models.TextChoices):
    PLAN = "plan", _("计划抽查")
    COMPLAINT = "complaint", _("投诉引发")
    UNLICENSED = "unlicensed", _("无证线索")
    FOLLOWUP = "followup", _("整改复查")


class InspectionStatus(models.TextChoices):
    ASSIGNED = "assigned", _("待检查")
    IN_PROGRESS = "in_progress", _("检查中")
    AWAITING_PHOTOS = "awaiting_photos", _("待补照片")
    COMPLETE = "complete", _("已完成")
    CANCELLED = "cancelled", _("已取消")


class InspectionResult(models.TextChoices):
    COMPLIANT = "compliant", _("合格")
    RECTIFICATION = "rectification", _("责令整改")
    PENALISED = "penalised", _("已处罚")


class Inspection(models.Model):
    """One visit to one institution by a team, on a pinned checklist version. Recorded offline on phones and
    synced (VisitRecord); complete once checked out and every photo it names has arrived."""

    plan = models.ForeignKey(InspectionPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="visits")
    draw = models.ForeignKey(PlanDraw, null=True, blank=True, on_delete=models.PROTECT, related_name="visits")
    origin = models.CharField(max_length=12, choices=InspectionOrigin.choices, default=InspectionOrigin.PLAN)
    institution = models.ForeignKey("institutions.Institution", on_delete=models.PROTECT, related_name="inspections")
    town = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+")
    checklist_version = models.ForeignKey(ChecklistVersion, on_delete=models.PROTECT, related_name="+")
    inspectors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="InspectionAssignment", related_name="inspections"
    )
    status = models.CharField(
        max_length=16, choices=InspectionStatus.choices, default=InspectionStatus.ASSIGNED, db_index=True
    )
    version = models.PositiveIntegerField(default=1)  # bumped by every applied record
    due_by = models.DateField("检查期限", null=True, blank=True)
    checkin_at = models.DateTimeField(null=True, blank=True)
    checkin_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    checkin_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    checkin_distance_m = models.PositiveIntegerField("签到距离（米）", null=True, blank=True)
    checkin_flagged = models.BooleanField("签到距离异常", default=False)
    notes = models.TextField("备注", max_length=4000, blank=True)
    acknowledged_by = models.CharField("机构确认人", max_length=50, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    checkout_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=15, choices=InspectionResult.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查")
        verbose_name_plural = pgettext_lazy("plural", "检查")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["institution", "completed_at"]), models.Index(fields=["town", "status"])]

    def __str__(self):
        return f"检查 {self.pk} · {self.institution_id}"


class InspectionAssignment(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="assignments")
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("检查分派")
        verbose_name_plural = pgettext_lazy("plural", "检查分派")
        constraints = [models.UniqueConstraint(fields=["inspection", "inspector"], name="assignment_once")]

    def __str__(self):
        return f"{self.inspection_id} → {self.inspector_id}"


class VisitRecord(models.Model):
    """One record sent by a phone, under the UUID the phone made: the same UUID again is answered "already applied"
    and changes nothing. A record based on a stale version is kept as a conflict beside the server copy."""

    class Kind(models.TextChoices):
        CHECKIN = "checkin", _("签到")
        ANSWER = "answer", _("检查项答案")
        NOTE = "note", _("备注")
        FINDING = "finding", _("问题")
        ACKNOWLEDGE = "acknowledge", _("机构确认")
        CHECKOUT = "checkout", _("签退")

    class State(models.TextChoices):
        APPLIED = "applied", _("已应用")
        CONFLICT = "conflict", _("冲突待审")

    class Resolution(models.TextChoices):
        SERVER = "server", _("保留服务器版本")
        CLIENT = "client", _("采用手机版本")
        MERGED = "merged", _("合并后的值")

    client_uuid = models.UUIDField(unique=True)
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="records")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    payload = models.JSONField(default=dict)
    request_hash = models.CharField(max_length=64)
    client_time = models.DateTimeField()
    base_version = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.APPLIED)
    server_copy = models.JSONField(default=dict, blank=True)  # for a conflict: what the server held at the time
    resolved = models.BooleanField(default=False)
    # A conflict's review (sync.conflict_resolve): which copy was kept and the value then in force.
    resolution = models.CharField("处理方式", max_length=10, choices=Resolution.choices, blank=True)
    resolved_value = models.JSONField("处理后的值", null=True, blank=True)
    resolution_note = models.CharField("处理说明", max_length=500, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("现场记录")
        verbose_name_plural = pgettext_lazy("plural", "现场记录")
        ordering = ["inspection", "client_time", "id"]
        indexes = [
            models.Index(
                fields=["inspection", "received_at"],
                condition=Q(state="conflict", resolved=False),
                name="visit_record_open_conflict",
            )
        ]
        constraints = [
            models.CheckConstraint(
                name="visit_record_resolution_of_a_conflict",
                condition=Q(resolved=False, resolution="")
                | (Q(resolved=True, state="conflict", resolved_at__isnull=False) & ~Q(resolution="")),
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.client_uuid}"


class ChecklistAnswer(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    value = models.JSONField(null=True)
    comment = models.CharField(max_length=1000, blank=True)
    version = models.PositiveIntegerField(default=1)  # of this answer: an edit names the version it was based on
    record = models.ForeignKey(VisitRecord, on_delete=models.PROTECT, related_name="+")
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField()

    class Meta:
        verbose_name = _("检查项答案")
        verbose_name_plural = pgettext_lazy("plural", "检查项答案")
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="answer_once_per_item")]

    def __str__(self):
        return f"{self.inspection_id}/{self.item_id}={self.value}"


class InspectionPhoto(models.Model):
    """A photo of a visit, known by the UUID the phone made. A record names it (expected) before or after the
    bytes arrive (received); the SHA-256 the phone gave must match the content."""

    uuid = models.UUIDField(unique=True)
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="photos")
    sha256 = models.CharField(max_length=64, blank=True)
    received = models.BooleanField(default=False)
    image = models.FileField(upload_to="inspections/photos/", blank=True)
    content_type = models.CharField(max_length=20, blank=True)
    size = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查照片")
        verbose_name_plural = pgettext_lazy("plural", "检查照片")

    def __str__(self):
        return str(self.uuid)


class Finding(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="findings")
    institution = models.ForeignKey("institutions.Institution", on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(ChecklistItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rule_id = models.CharField(max_length=20, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    description = models.TextField(max_length=2000)
    public = models.BooleanField(default=True)
    record = models.ForeignKey(VisitRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查发现问题")
        verbose_name_plural = pgettext_lazy("plural", "检查发现问题")
        ordering = ["inspection", "id"]
        constraints = [
            models.CheckConstraint(name="finding_names_item_or_rule", condition=Q(item__isnull=False) | ~Q(rule_id=""))
        ]

    def __str__(self):
        return f"{self.rule_id or self.item_id} ({self.severity})"


class OrderStatus(models.TextChoices):
    OPEN = "open", _("整改中")
    ANSWERED = "answered", _("待核验")
    CLOSED = "closed", _("已销号")


class RectificationOrder(models.Model):
    """责令整改 (R-INSP-2): the institution answers with evidence, an inspector verifies, then it closes."""

    finding = models.OneToOneField(Finding, on_delete=models.PROTECT, related_name="order")
    institution = models.ForeignKey("institutions.Institution", on_delete=models.PROTECT, related_name="+")
    town = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=OrderStatus.choices, default=OrderStatus.OPEN, db_index=True)
    due_on = models.DateField("整改期限", db_index=True)
    evidence_required = models.CharField("整改要求", max_length=1000)
    response = models.TextField("整改说明", max_length=4000, blank=True)
    response_photo_uuids = models.JSONField(default=list, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verification_note = models.CharField(max_length=1000, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    followup = models.ForeignKey(
        "Inspection", null=True, blank=True, on_delete=models.PROTECT, related_name="followed_orders",
        verbose_name="复查检查",
    )  # fmt: skip  # the visit opened to verify the rectification on site
    warned = models.BooleanField(default=False)
    escalated = models.BooleanField(default=False)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("整改通知")
        verbose_name_plural = pgettext_lazy("plural", "整改通知")
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                name="order_closed_is_verified",
                condition=~Q(status="closed") | (Q(verified_by__isnull=False) & ~Q(response="")),
            )
        ]

    def __str__(self):
        return f"整改 {self.pk} ({self.status})"


class PenaltyKind(models.TextChoices):
    WARNING = "warning", _("警告、通报批评")
    FINE = "fine", _("罚款")
    CONFISCATION = "confiscation", _("没收违法所得")
    STOP_ENROLLING = "stop_enrolling", _("责令停止招生")
    STOP_OPERATING = "stop_operating", _("责令停止办学")
    REVOKE = "revoke", _("吊销许可证")
    EMPLOYMENT_BAN = "employment_ban", _("从业禁止")


class ViolationKind(models.TextChoices):
    UNLICENSED = "unlicensed", _("无证办学")
    DISGUISED_SUBJECT = "disguised_subject", _("隐形变异学科类培训")
    OTHER = "other", _("其他")


class PenaltyDecision(models.Model):
    """行政处罚决定 (R-PEN-1, 教育部令第53号). Suspension or revocation goes through institutions' status service."""

    institution = models.ForeignKey("institutions.Institution", on_delete=models.PROTECT, related_name="+")
    inspection = models.ForeignKey(
        Inspection, null=True, blank=True, on_delete=models.PROTECT, related_name="penalties"
    )
    town = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=PenaltyKind.choices)
    violation = models.CharField(max_length=20, choices=ViolationKind.choices)
    very_serious = models.BooleanField("情节特别严重", default=False)
    legal_basis = models.CharField("法律依据", max_length=300)
    amount = models.DecimalField("金额（元）", max_digits=12, decimal_places=2, null=True, blank=True)
    illegal_income = models.DecimalField("违法所得（元）", max_digits=12, decimal_places=2, null=True, blank=True)
    heavier_conditions = models.JSONField("从重情节", default=list, blank=True)
    reason = models.CharField(max_length=1000)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("处罚决定")
        verbose_name_plural = pgettext_lazy("plural", "处罚决定")
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="penalty_amount_not_negative", condition=Q(amount__isnull=True) | Q(amount__gte=0)
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.institution_id}"


class RectificationEvidence(models.Model):
    """A photo the institution sends with its answer to an order, by UUID and SHA-256 like a visit photo."""

    order = models.ForeignKey(RectificationOrder, on_delete=models.CASCADE, related_name="evidence")
    uuid = models.UUIDField(unique=True)
    sha256 = models.CharField(max_length=64)
    image = models.FileField(upload_to="inspections/evidence/")
    content_type = models.CharField(max_length=20)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("整改佐证照片")
        verbose_name_plural = pgettext_lazy("plural", "整改佐证照片")
        ordering = ["order", "created_at", "id"]

    def __str__(self):
        return str(self.uuid)
