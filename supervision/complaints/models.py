"""Complaints from parents: categories, routing rules, complaints with their photos, messages and statement requests.

A complaint's life (R-CMP-1): submitted → accepted (or rejected) → assigned → investigating → answered → closed.
The outcome (substantiated, …) is kept apart from the state: a state says where the work is, the outcome what it
found. Deadlines are counted in working days (core.workdays) and stored as the last day of the current clock.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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
        verbose_name = _("投诉类别")
        verbose_name_plural = pgettext_lazy("plural", "投诉类别")
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
        verbose_name = _("投诉分派规则")
        verbose_name_plural = pgettext_lazy("plural", "投诉分派规则")
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
    SUBMITTED = "submitted", _("已提交")
    ACCEPTED = "accepted", _("已受理")
    REJECTED = "rejected", _("不予受理")
    ASSIGNED = "assigned", _("已分派")
    INVESTIGATING = "investigating", _("调查中")
    ANSWERED = "answered", _("已答复")
    CLOSED = "closed", _("已办结")


OPEN_STATUSES = (
    ComplaintStatus.SUBMITTED,
    ComplaintStatus.ACCEPTED,
    ComplaintStatus.ASSIGNED,
    ComplaintStatus.INVESTIGATING,
)


class RejectionReason(models.TextChoices):
    OUT_OF_REMIT = "out_of_remit", _("不属于本部门职责")
    INSUFFICIENT = "insufficient_information", _("信息不足")
    DUPLICATE = "duplicate", _("重复投诉")


class Outcome(models.TextChoices):
    SUBSTANTIATED = "substantiated", _("属实")
    PARTLY = "partly_substantiated", _("部分属实")
    NOT_SUBSTANTIATED = "not_substantiated", _("不属实")
    REFERRED = "referred", _("已移送")


SUBSTANTIATED_OUTCOMES = (Outcome.SUBSTANTIATED, Outcome.PARTLY)


class Grade(models.TextChoices):
    PRESCHOOL = "preschool", _("学前")
    G1 = "g1", _("一年级")
    G2 = "g2", _("二年级")
    G3 = "g3", _("三年级")
    G4 = "g4", _("四年级")
    G5 = "g5", _("五年级")
    G6 = "g6", _("六年级")
    G7 = "g7", _("初一")
    G8 = "g8", _("初二")
    G9 = "g9", _("初三")
    HIGH = "high", _("高中")


class ClosedHow(models.TextChoices):
    RATED = "rated", _("家长评价")
    AUTO = "auto", _("逾期自动办结")


class SlaPhase(models.TextChoices):
    """Which clock runs: to accept, to answer, or none (waiting for the parent, or finished)."""

    ACCEPT = "accept", _("受理时限")
    ANSWER = "answer", _("答复时限")
    NONE = "", _("无")


# A 12345 work order is filed with the Idempotency-Key "12345:<order number>" (hotline/services.py): what tells a
# hotline complaint from the others without a query.
HOTLINE_KEY_PREFIX = "12345:"


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
    # Kept when the answer is given (the clock is stopped then): what the supervisor's board averages and counts.
    answered_on_time = models.BooleanField("按期答复", null=True, blank=True)
    answer_working_days = models.PositiveSmallIntegerField("答复用时（工作日）", null=True, blank=True)
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
        verbose_name = _("投诉")
        verbose_name_plural = pgettext_lazy("plural", "投诉")
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
        PROCESSING = "processing", _("处理中")
        READY = "ready", _("可查看")
        FAILED = "failed", _("无法处理")

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
        verbose_name = _("投诉照片")
        verbose_name_plural = pgettext_lazy("plural", "投诉照片")
        ordering = ["complaint", "position", "id"]

    def __str__(self):
        return f"{self.complaint_id} #{self.position} ({self.state})"


class ComplaintMessage(models.Model):
    """The thread between the parent and the bureau. A handler's question may pause the clock until the parent
    replies (`awaiting_parent`)."""

    class Side(models.TextChoices):
        PARENT = "parent", _("家长")
        BUREAU = "bureau", _("教育局")

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=10, choices=Side.choices)
    body = models.TextField(max_length=2000)
    awaiting_parent = models.BooleanField("等待家长补充", default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("投诉沟通")
        verbose_name_plural = pgettext_lazy("plural", "投诉沟通")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.complaint_id} {self.side}: {self.body[:30]}"


class StatementRequest(models.Model):
    """The handler asks the institution for its account; institution staff answer without learning who complained
    (unless the parent allowed it)."""

    class State(models.TextChoices):
        OPEN = "open", _("待答复")
        ANSWERED = "answered", _("已答复")

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
        verbose_name = _("机构情况说明")
        verbose_name_plural = pgettext_lazy("plural", "机构情况说明")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="statement_answered_has_text", condition=Q(state="open") | ~Q(statement=""))
        ]

    def __str__(self):
        return f"{self.institution_id} / {self.complaint_id} ({self.state})"


class StatementEvidence(models.Model):
    """A photo or a PDF document the institution sends with its statement (issue 17). Photos are re-encoded
    without EXIF (core.uploads) with a thumbnail; documents are kept as sent, checked to be a PDF. Served only
    through a permission-checked view (the institution that answered, the bureau handling the complaint)."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("照片")
        DOCUMENT = "document", _("文件")

    request = models.ForeignKey(StatementRequest, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.FileField(upload_to="complaints/statements/")
    thumbnail = models.FileField(upload_to="complaints/statements/thumbs/", blank=True)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    name = models.CharField("文件名", max_length=100, blank=True)  # a document's name as sent (cleaned), shown
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("情况说明佐证")
        verbose_name_plural = pgettext_lazy("plural", "情况说明佐证")
        ordering = ["request", "id"]

    def __str__(self):
        return f"{self.request_id} {self.kind} {self.name}"


class AnswerTemplate(models.Model):
    """A reply the bureau keeps for common cases (the district supervisors edit them on the desk): a handler picks
    one when concluding a complaint and adapts it."""

    title = models.CharField("标题", max_length=60)
    outcome = models.CharField("适用结果", max_length=25, choices=Outcome.choices, blank=True)  # blank: any
    body = models.TextField("答复内容", max_length=4000)
    is_active = models.BooleanField("启用", default=True)
    sort_order = models.PositiveSmallIntegerField("排序", default=0)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("答复模板")
        verbose_name_plural = pgettext_lazy("plural", "答复模板")
        ordering = ["sort_order", "id"]

    def __str__(self):
        return self.title


# --- Inspections (issue 4): checklists, plans and draws, visits, findings, rectification, penalties ---------------
