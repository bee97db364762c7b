from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit events are append-only")

    def delete(self):
        raise TypeError("Audit events are append-only")


class AuditEvent(models.Model):
    """Who did what to which object, from which state to which, when and from where. Append-only."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField("操作人", max_length=150, blank=True)  # kept when no user (system, task)
    verb = models.CharField("动作", max_length=80, db_index=True)
    object_type = models.CharField("对象类型", max_length=80)
    object_id = models.CharField("对象编号", max_length=64, blank=True)
    from_state = models.CharField("原状态", max_length=40, blank=True)
    to_state = models.CharField("新状态", max_length=40, blank=True)
    data = models.JSONField("数据", default=dict, blank=True)
    ip = models.GenericIPAddressField("地址", null=True, blank=True)
    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = pgettext_lazy("plural", "审计事件")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "at"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.verb} {self.object_type}#{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only")


class Notification(models.Model):
    """A row in one recipient's inbox: the truth a phone finds when it comes back online."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField("类型", max_length=80)
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    # Set by senders that may run twice (a retried task): the same key never gives a recipient a second row.
    dedupe_key = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = pgettext_lazy("plural", "通知")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"]),
            models.Index(fields=["recipient", "read_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"], condition=~models.Q(dedupe_key=""), name="notification_dedupe"
            )
        ]

    def __str__(self):
        return f"{self.recipient_id}: {self.title}"


class CalendarDay(models.Model):
    """A day the bureau declares: an extra holiday, or a make-up working day (调休) the package does not know."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("休息日")
        WORKDAY = "workday", _("工作日")

    date = models.DateField("日期", unique=True)
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    name = models.CharField("名称", max_length=100, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = _("日历调整")
        verbose_name_plural = pgettext_lazy("plural", "日历调整")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()} {self.name}"


class PolicyValue(models.Model):
    """A number of the rules (POLICY.md), dated: an old record is judged by the value of its day."""

    rule_id = models.CharField("规则", max_length=20)
    key = models.CharField("键", max_length=80)
    value = models.CharField("值", max_length=40)
    unit = models.CharField("单位", max_length=60, blank=True)
    applies_to = models.CharField("适用", max_length=100, blank=True)
    effective_from = models.DateField("生效日期")
    source = models.CharField("来源", max_length=200, blank=True)
    confidence = models.CharField("可信度", max_length=8, blank=True)

    class Meta:
        verbose_name = _("政策参数")
        verbose_name_plural = pgettext_lazy("plural", "政策参数")
        ordering = ["key", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["key", "effective_from"], name="policy_value_key_date")]

    def __str__(self):
        return f"{self.rule_id} {self.key}={self.value} ({self.effective_from})"


class Job(models.Model):
    """A long piece of work run by a task (an import, an export), with progress the caller can poll."""

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("进行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField("类型", max_length=60)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    input_file = models.FileField(upload_to="jobs/", blank=True)
    output_file = models.FileField(upload_to="jobs/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Who runs it (core.jobs): the task's registered name, to send it again; the run that claimed it and its last
    # sign of life (a running job whose heartbeat is stale is taken over); how many runs have claimed it.
    task = models.CharField("任务名", max_length=100, blank=True)
    owner = models.CharField("执行者", max_length=100, blank=True)
    heartbeat_at = models.DateTimeField("心跳", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("执行次数", default=0)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = pgettext_lazy("plural", "后台任务")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} #{self.pk} {self.status}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        # 100 only when done: the last rows may be counted before the job has committed them.
        return min(99, int(self.processed * 100 / self.total)) if self.total else 0


class TaskOutbox(models.Model):
    """A task send the broker refused (Redis down), kept until `core.dispatch.outbox_resend` sends it."""

    task_name = models.CharField("任务", max_length=200)
    args = models.JSONField(default=list, blank=True, encoder=DjangoJSONEncoder)
    kwargs = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField("发送次数", default=0)
    last_error = models.TextField("最近错误", blank=True)

    class Meta:
        verbose_name = _("待发任务")
        verbose_name_plural = pgettext_lazy("plural", "待发任务")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["created_at", "id"], name="core_outbox_order")]

    def __str__(self):
        return f"{self.task_name} #{self.pk} ({self.attempts})"
