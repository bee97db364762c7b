"""Inspections (双随机一公开, R-INSP-1): checklists, plans and draws, visits with their records, answers, photos and
findings, rectification orders with their evidence, penalty decisions.

App label `supervision` (supervision/models.py imports this module); tables and migrations are the app's.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AnswerType(models.TextChoices):
    YES_NO_NA = "yes_no_na", "是/否/不适用 yes/no/n.a."
    NUMBER = "number", "数值 number"
    TEXT = "text", "文字 text"
    PHOTO = "photo", "须拍照 photo required"


class Severity(models.TextChoices):
    LOW = "low", "轻微 low"
    MEDIUM = "medium", "一般 medium"
    HIGH = "high", "严重 high"


class ChecklistTemplate(models.Model):
    """A checklist (e.g. for training institutions). Its items live in numbered versions: a visit pins the version
    it was done with, and editing the template makes a new version rather than changing an old one."""

    code = models.CharField("代码", max_length=40, unique=True)
    name_zh = models.CharField("名称", max_length=100)
    name_en = models.CharField("英文名称", max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "检查表 checklist template"
        verbose_name_plural = "检查表 checklist templates"

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
        verbose_name = "检查表版本 checklist version"
        verbose_name_plural = "检查表版本 checklist versions"
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
        verbose_name = "检查项 checklist item"
        verbose_name_plural = "检查项 checklist items"
        ordering = ["version", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["version", "code"], name="checklist_item_code_per_version")]

    def __str__(self):
        return f"{self.code} {self.question_zh[:20]}"


class SamplingMode(models.TextChoices):
    OVERALL = "overall", "总体比例 a share overall"
    BY_GRADE = "by_grade", "按风险等级 a share per risk grade"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "草稿 draft"
    DRAWN = "drawn", "已抽取 drawn"
    FINISHED = "finished", "已完成 finished"


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
        verbose_name = "检查计划 inspection plan"
        verbose_name_plural = "检查计划 inspection plans"
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
        verbose_name = "抽取记录 plan draw"
        verbose_name_plural = "抽取记录 plan draws"
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
        verbose_name = "利益冲突申报 conflict declaration"
        verbose_name_plural = "利益冲突申报 conflict declarations"
        constraints = [models.UniqueConstraint(fields=["inspector", "institution"], name="conflict_once")]

    def __str__(self):
        return f"{self.inspector_id} ≠ {self.institution_id}"


class InspectionOrigin(models.TextChoices):
    PLAN = "plan", "计划抽查 planned draw"
    COMPLAINT = "complaint", "投诉引发 from a complaint"
    UNLICENSED = "unlicensed", "无证线索 unlicensed record"
    FOLLOWUP = "followup", "整改复查 follow-up of a rectification order"


class InspectionStatus(models.TextChoices):
    ASSIGNED = "assigned", "待检查 assigned"
    IN_PROGRESS = "in_progress", "检查中 in progress"
    AWAITING_PHOTOS = "awaiting_photos", "待补照片 awaiting photos"
    COMPLETE = "complete", "已完成 complete"
    CANCELLED = "cancelled", "已取消 cancelled"


class InspectionResult(models.TextChoices):
    COMPLIANT = "compliant", "合格 compliant"
    RECTIFICATION = "rectification", "责令整改 rectification ordered"
    PENALISED = "penalised", "已处罚 penalised"


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
        verbose_name = "检查 inspection"
        verbose_name_plural = "检查 inspections"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["institution", "completed_at"]), models.Index(fields=["town", "status"])]

    def __str__(self):
        return f"检查 {self.pk} · {self.institution_id}"


class InspectionAssignment(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="assignments")
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "检查分派 assignment"
        verbose_name_plural = "检查分派 assignments"
        constraints = [models.UniqueConstraint(fields=["inspection", "inspector"], name="assignment_once")]

    def __str__(self):
        return f"{self.inspection_id} → {self.inspector_id}"


class VisitRecord(models.Model):
    """One record sent by a phone, under the UUID the phone made: the same UUID again is answered "already applied"
    and changes nothing. A record based on a stale version is kept as a conflict beside the server copy."""

    class Kind(models.TextChoices):
        CHECKIN = "checkin", "签到 check-in"
        ANSWER = "answer", "检查项答案 answer"
        NOTE = "note", "备注 note"
        FINDING = "finding", "问题 finding"
        ACKNOWLEDGE = "acknowledge", "机构确认 acknowledgement"
        CHECKOUT = "checkout", "签退 check-out"

    class State(models.TextChoices):
        APPLIED = "applied", "已应用 applied"
        CONFLICT = "conflict", "冲突待审 conflict"

    class Resolution(models.TextChoices):
        SERVER = "server", "保留服务器版本 kept the server copy"
        CLIENT = "client", "采用手机版本 took the phone's copy"
        MERGED = "merged", "合并后的值 a merged value"

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
        verbose_name = "现场记录 visit record"
        verbose_name_plural = "现场记录 visit records"
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
        verbose_name = "检查项答案 checklist answer"
        verbose_name_plural = "检查项答案 checklist answers"
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
        verbose_name = "检查照片 inspection photo"
        verbose_name_plural = "检查照片 inspection photos"

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
        verbose_name = "检查发现问题 finding"
        verbose_name_plural = "检查发现问题 findings"
        ordering = ["inspection", "id"]
        constraints = [
            models.CheckConstraint(name="finding_names_item_or_rule", condition=Q(item__isnull=False) | ~Q(rule_id=""))
        ]

    def __str__(self):
        return f"{self.rule_id or self.item_id} ({self.severity})"


class OrderStatus(models.TextChoices):
    OPEN = "open", "整改中 open"
    ANSWERED = "answered", "待核验 answered"
    CLOSED = "closed", "已销号 closed"


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
        verbose_name = "整改通知 rectification order"
        verbose_name_plural = "整改通知 rectification orders"
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
    WARNING = "warning", "警告、通报批评 warning / public criticism"
    FINE = "fine", "罚款 fine"
    CONFISCATION = "confiscation", "没收违法所得 confiscation"
    STOP_ENROLLING = "stop_enrolling", "责令停止招生 stop enrolling"
    STOP_OPERATING = "stop_operating", "责令停止办学 stop operating"
    REVOKE = "revoke", "吊销许可证 licence revoked"
    EMPLOYMENT_BAN = "employment_ban", "从业禁止 employment ban"


class ViolationKind(models.TextChoices):
    UNLICENSED = "unlicensed", "无证办学 unlicensed operation"
    DISGUISED_SUBJECT = "disguised_subject", "隐形变异学科类培训 disguised subject training"
    OTHER = "other", "其他 other"


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
        verbose_name = "处罚决定 penalty decision"
        verbose_name_plural = "处罚决定 penalty decisions"
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
        verbose_name = "整改佐证照片 rectification evidence"
        verbose_name_plural = "整改佐证照片 rectification evidence"
        ordering = ["order", "created_at", "id"]

    def __str__(self):
        return str(self.uuid)
