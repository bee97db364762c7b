"""Supervision: complaints from parents (this issue), then inspections, findings and rectification orders.

A complaint's life (R-CMP-1): submitted → accepted (or rejected) → assigned → investigating → answered → closed.
The outcome (substantiated, …) is kept apart from the state: a state says where the work is, the outcome what it
found. Deadlines are counted in working days (core.workdays) and stored as the last day of the current clock.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from institutions.models import CHINA_LAT, CHINA_LNG


class ComplaintCategory(models.Model):
    """What a complaint is about (POLICY.md Complaints): its answer deadline and the agency it usually goes to."""

    code = models.CharField("代码", max_length=30, unique=True)
    name_zh = models.CharField("名称", max_length=60)
    name_en = models.CharField("英文名称", max_length=100)
    answer_working_days = models.PositiveSmallIntegerField("答复时限（工作日）", default=15)
    typical_referral = models.CharField("常见移送部门", max_length=100, blank=True)
    is_active = models.BooleanField("启用", default=True)
    sort_order = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        verbose_name = "投诉类别 complaint category"
        verbose_name_plural = "投诉类别 complaint categories"
        ordering = ["sort_order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(answer_working_days__gte=1), name="complaint_category_deadline_min")
        ]

    def __str__(self):
        return self.name_zh


class RoutingRule(models.Model):
    """Who handles complaints about institutions of a town in a category (the bureau edits this table).

    A rule without a category covers every category of its town; without a town, every town. The most specific
    active rule wins; with none, the complaint waits in the district queue."""

    town = models.ForeignKey(
        "accounts.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="镇街"
    )
    category = models.ForeignKey(
        ComplaintCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="类别"
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="承办人"
    )
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "投诉分派规则 routing rule"
        verbose_name_plural = "投诉分派规则 routing rules"
        constraints = [
            models.UniqueConstraint(
                fields=["town", "category"],
                condition=Q(is_active=True, town__isnull=False, category__isnull=False),
                name="routing_one_rule_per_town_category",
            ),
            models.UniqueConstraint(
                fields=["town"],
                condition=Q(is_active=True, town__isnull=False, category__isnull=True),
                name="routing_one_rule_per_town",
            ),
            models.UniqueConstraint(
                fields=["category"],
                condition=Q(is_active=True, town__isnull=True, category__isnull=False),
                name="routing_one_rule_per_category",
            ),
        ]

    def __str__(self):
        return f"{self.town or '全区'} · {self.category or '全部类别'} → {self.handler}"


class ComplaintStatus(models.TextChoices):
    SUBMITTED = "submitted", "已提交 submitted"
    ACCEPTED = "accepted", "已受理 accepted"
    REJECTED = "rejected", "不予受理 rejected"
    ASSIGNED = "assigned", "已分派 assigned"
    INVESTIGATING = "investigating", "调查中 investigating"
    ANSWERED = "answered", "已答复 answered"
    CLOSED = "closed", "已办结 closed"


OPEN_STATUSES = (
    ComplaintStatus.SUBMITTED,
    ComplaintStatus.ACCEPTED,
    ComplaintStatus.ASSIGNED,
    ComplaintStatus.INVESTIGATING,
)


class RejectionReason(models.TextChoices):
    OUT_OF_REMIT = "out_of_remit", "不属于本部门职责 not our remit"
    INSUFFICIENT = "insufficient_information", "信息不足 not enough information"
    DUPLICATE = "duplicate", "重复投诉 duplicate"


class Outcome(models.TextChoices):
    SUBSTANTIATED = "substantiated", "属实 substantiated"
    PARTLY = "partly_substantiated", "部分属实 partly substantiated"
    NOT_SUBSTANTIATED = "not_substantiated", "不属实 not substantiated"
    REFERRED = "referred", "已移送 referred to another agency"


SUBSTANTIATED_OUTCOMES = (Outcome.SUBSTANTIATED, Outcome.PARTLY)


class Grade(models.TextChoices):
    PRESCHOOL = "preschool", "学前 preschool"
    G1 = "g1", "一年级 grade 1"
    G2 = "g2", "二年级 grade 2"
    G3 = "g3", "三年级 grade 3"
    G4 = "g4", "四年级 grade 4"
    G5 = "g5", "五年级 grade 5"
    G6 = "g6", "六年级 grade 6"
    G7 = "g7", "初一 grade 7"
    G8 = "g8", "初二 grade 8"
    G9 = "g9", "初三 grade 9"
    HIGH = "high", "高中 high school"


class ClosedHow(models.TextChoices):
    RATED = "rated", "家长评价 rated by the parent"
    AUTO = "auto", "逾期自动办结 closed automatically"


class SlaPhase(models.TextChoices):
    """Which clock runs: to accept, to answer, or none (waiting for the parent, or finished)."""

    ACCEPT = "accept", "受理时限 to accept"
    ANSWER = "answer", "答复时限 to answer"
    NONE = "", "无 none"


class Complaint(models.Model):
    tracking_number = models.CharField("受理编号", max_length=20)  # unique: see Meta
    # Foreign keys led by a composite index below have no index of their own: each index is work on every filing.
    parent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="complaints",
        verbose_name="投诉人",
        db_index=False,
    )
    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="complaints",
        verbose_name="被投诉机构",
        db_index=False,
    )
    # Set by the bureau: the institution named is the one at fault; only then does the complaint count in its risk.
    institution_confirmed = models.BooleanField("机构已核实", default=False)
    # The institution was not in the registry: the parent typed its name, an unlicensed record was created.
    institution_reported_as_new = models.BooleanField("家长新报机构", default=False)
    town = models.ForeignKey(
        "accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name="所在镇街", db_index=False
    )  # the institution's town when filed: what routing and scoping use
    category = models.ForeignKey(ComplaintCategory, on_delete=models.PROTECT, related_name="complaints", db_index=False)
    description = models.TextField("情况描述", max_length=2000)
    occurred_at = models.DateTimeField("发生时间")
    latitude = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)
    child_grade = models.CharField("孩子年级", max_length=10, choices=Grade.choices, blank=True)
    disclose_identity = models.BooleanField("允许机构知晓投诉人", default=False)

    status = models.CharField(
        "状态", max_length=15, choices=ComplaintStatus.choices, default=ComplaintStatus.SUBMITTED
    )  # indexed in Meta
    version = models.PositiveIntegerField("版本", default=1)  # bumped by every change: stale writers get 409
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_complaints",
        verbose_name="承办人",
        db_index=False,
    )  # None: in the district queue
    rejection_reason = models.CharField("不予受理原因", max_length=30, choices=RejectionReason.choices, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged", verbose_name="合并至"
    )
    outcome = models.CharField("处理结果", max_length=25, choices=Outcome.choices, blank=True)
    referred_to = models.CharField("移送部门", max_length=100, blank=True)
    answer = models.TextField("答复内容", max_length=4000, blank=True)
    answered_at = models.DateTimeField("答复时间", null=True, blank=True)
    reopened_at = models.DateTimeField("重新办理时间", null=True, blank=True)
    reopen_comment = models.CharField("重新办理理由", max_length=1000, blank=True)
    rating = models.PositiveSmallIntegerField("满意度", null=True, blank=True)
    rating_comment = models.CharField("评价", max_length=1000, blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    closed_how = models.CharField("办结方式", max_length=10, choices=ClosedHow.choices, blank=True)

    # The running clock (R-CMP-1): its phase, the day by which it must be done, the day the handler is warned.
    sla_phase = models.CharField("时限阶段", max_length=10, choices=SlaPhase.choices, blank=True)
    sla_started_on = models.DateField("计时起点", null=True, blank=True)
    sla_due_on = models.DateField("期限", null=True, blank=True, db_index=True)
    sla_warn_on = models.DateField("预警日", null=True, blank=True)
    sla_warned = models.BooleanField(default=False)
    sla_escalated = models.BooleanField(default=False)
    # Waiting for the parent (more information asked): the answer clock is paused from this moment.
    paused_since = models.DateTimeField("暂停计时", null=True, blank=True)

    # A substantiated complaint can open an (ad-hoc) inspection: the link is kept both ways.
    inspection = models.ForeignKey(
        "Inspection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaints",
        verbose_name="关联检查",
        db_index=False,
    )

    idempotency_key = models.CharField(max_length=100, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField("提交时间", auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "投诉 complaint"
        verbose_name_plural = "投诉 complaints"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["town", "-created_at"]),  # a handler's list, newest first
            models.Index(fields=["town", "status", "-created_at"]),
            models.Index(fields=["institution", "category", "created_at"]),
            models.Index(fields=["parent", "-created_at"]),
            models.Index(fields=["handler", "status"]),
            models.Index(fields=["status"], name="complaint_status"),
        ]
        # Unique and plain indexes declared here rather than with unique=True / db_index=True on the fields: on
        # PostgreSQL those add a second, varchar_pattern_ops index for LIKE 'x%' that no query here uses, and every
        # filing paid for writing it.
        constraints = [
            models.UniqueConstraint(fields=["tracking_number"], name="complaint_tracking_number"),
            # The same Idempotency-Key from the same parent files one complaint, however many times it arrives.
            models.UniqueConstraint(
                fields=["parent", "idempotency_key"], condition=~Q(idempotency_key=""), name="complaint_idempotency"
            ),
            models.CheckConstraint(
                name="complaint_rating_1_to_5", condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5)
            ),
            models.CheckConstraint(
                name="complaint_rejected_has_reason",
                condition=~Q(status=ComplaintStatus.REJECTED) | ~Q(rejection_reason=""),
            ),
            models.CheckConstraint(
                name="complaint_answered_has_outcome",
                condition=~Q(status__in=[ComplaintStatus.ANSWERED, ComplaintStatus.CLOSED]) | ~Q(outcome=""),
            ),
            models.CheckConstraint(
                name="complaint_referred_names_agency", condition=~Q(outcome=Outcome.REFERRED) | ~Q(referred_to="")
            ),
            models.CheckConstraint(
                name="complaint_coordinates_in_china",
                condition=(Q(latitude__isnull=True) & Q(longitude__isnull=True))
                | (
                    Q(latitude__gte=CHINA_LAT[0], latitude__lte=CHINA_LAT[1])
                    & Q(longitude__gte=CHINA_LNG[0], longitude__lte=CHINA_LNG[1])
                ),
            ),
        ]

    def __str__(self):
        return self.tracking_number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ComplaintPhoto(models.Model):
    """A photo as evidence. The upload is kept only until a task has re-encoded it (no EXIF, no GPS) and made its
    thumbnail; then only the clean copies remain. Served through permission-checked views, never /media/."""

    class State(models.TextChoices):
        PROCESSING = "processing", "处理中 processing"
        READY = "ready", "可查看 ready"
        FAILED = "failed", "无法处理 failed"

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="photos")
    position = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PROCESSING)
    upload = models.FileField(upload_to="complaints/incoming/", blank=True)
    image = models.FileField(upload_to="complaints/photos/", blank=True)
    thumbnail = models.FileField(upload_to="complaints/thumbs/", blank=True)
    content_type = models.CharField(max_length=20)  # of the upload, as found by its content
    size = models.PositiveIntegerField()  # bytes of the upload
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "投诉照片 complaint photo"
        verbose_name_plural = "投诉照片 complaint photos"
        ordering = ["complaint", "position", "id"]

    def __str__(self):
        return f"{self.complaint_id} #{self.position} ({self.state})"


class ComplaintMessage(models.Model):
    """The thread between the parent and the bureau. A handler's question may pause the clock until the parent
    replies (`awaiting_parent`)."""

    class Side(models.TextChoices):
        PARENT = "parent", "家长 parent"
        BUREAU = "bureau", "教育局 bureau"

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=10, choices=Side.choices)
    body = models.TextField(max_length=2000)
    awaiting_parent = models.BooleanField("等待家长补充", default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "投诉沟通 complaint message"
        verbose_name_plural = "投诉沟通 complaint messages"
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.complaint_id} {self.side}: {self.body[:30]}"


class StatementRequest(models.Model):
    """The handler asks the institution for its account; institution staff answer without learning who complained
    (unless the parent allowed it)."""

    class State(models.TextChoices):
        OPEN = "open", "待答复 open"
        ANSWERED = "answered", "已答复 answered"

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="statement_requests")
    institution = models.ForeignKey("institutions.Institution", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    question = models.TextField("问询内容", max_length=2000)
    due_on = models.DateField("答复期限")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    statement = models.TextField("机构说明", max_length=4000, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "机构情况说明 statement request"
        verbose_name_plural = "机构情况说明 statement requests"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="statement_answered_has_text", condition=Q(state="open") | ~Q(statement=""))
        ]

    def __str__(self):
        return f"{self.institution_id} / {self.complaint_id} ({self.state})"


# --- Inspections (issue 4): checklists, plans and draws, visits, findings, rectification, penalties ---------------


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
