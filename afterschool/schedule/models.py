"""After-school services (课后服务): schools and their classes, students, rooms, terms, programmes, sessions,
applications (enrolment, choice windows, waitlist) and attendance.

Personal data of minors is kept to what the service needs: a student has a name, a class and two priority flags
(left-behind, migrant family), nothing else (no ID number, no birth date, no address).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts import places

GRADE_LABELS = {
    1: "一年级",
    2: "二年级",
    3: "三年级",
    4: "四年级",
    5: "五年级",
    6: "六年级",
    7: "七年级",
    8: "八年级",
    9: "九年级",
}
WEEKDAY_LABELS = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]


class Stage(models.TextChoices):
    PRIMARY = "primary", _("小学（1–6 年级）")
    JUNIOR = "junior", _("初中（7–9 年级）")
    NINE_YEAR = "nine_year", _("九年一贯制（1–9 年级）")


STAGE_GRADES = {Stage.PRIMARY: (1, 6), Stage.JUNIOR: (7, 9), Stage.NINE_YEAR: (1, 9)}


class School(places.ProtectedPlace):
    """A primary or secondary school. Memberships (school admin, teacher) are scoped to it (by its id: deleting a
    school a membership names is refused)."""

    membership_place_kind = places.SCHOOL

    name = models.CharField("名称", max_length=200)
    town = models.ForeignKey(
        "accounts.Region", on_delete=models.PROTECT, related_name="schools", verbose_name="所在镇街"
    )
    stage = models.CharField("学段", max_length=12, choices=Stage.choices, default=Stage.PRIMARY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("学校")
        verbose_name_plural = pgettext_lazy("plural", "学校")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def grades(self) -> range:
        low, high = STAGE_GRADES[Stage(self.stage)]
        return range(low, high + 1)


class SchoolClass(models.Model):
    """A class (班): grade and number; its class teacher approves applications of its students."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="classes")
    grade = models.PositiveSmallIntegerField("年级")
    number = models.PositiveSmallIntegerField("班号")
    class_teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="classes_taught",
        verbose_name="班主任",
    )

    class Meta:
        verbose_name = _("班级")
        verbose_name_plural = pgettext_lazy("plural", "班级")
        ordering = ["school", "grade", "number"]
        constraints = [
            models.UniqueConstraint(fields=["school", "grade", "number"], name="class_unique_number"),
            models.CheckConstraint(condition=Q(grade__gte=1, grade__lte=9, number__gte=1), name="class_grade_range"),
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return f"{GRADE_LABELS.get(self.grade, self.grade)}{self.number}班"


class Student(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="students")
    school_class = models.ForeignKey(SchoolClass, on_delete=models.PROTECT, related_name="students")
    name = models.CharField("姓名", max_length=50)
    left_behind = models.BooleanField("留守儿童", default=False)
    migrant = models.BooleanField("随迁子女", default=False)
    guardians = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="children", blank=True)
    is_active = models.BooleanField("在读", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("学生")
        verbose_name_plural = pgettext_lazy("plural", "学生")
        ordering = ["school_class", "name", "id"]

    def __str__(self):
        return self.name

    @property
    def has_priority(self) -> bool:
        return self.left_behind or self.migrant

    @property
    def grade(self) -> int:
        return self.school_class.grade


class Room(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField("名称", max_length=50)
    seats = models.PositiveSmallIntegerField("座位数", null=True, blank=True)

    class Meta:
        verbose_name = _("场地")
        verbose_name_plural = pgettext_lazy("plural", "场地")
        ordering = ["school", "name"]
        constraints = [models.UniqueConstraint(fields=["school", "name"], name="room_unique_name")]

    def __str__(self):
        return self.name


class Term(models.Model):
    """A term's school days are the working days between its dates (core.workdays: official holidays excluded,
    make-up days included), minus the school's own closures (TermDay without a weekday)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="terms")
    name = models.CharField("名称", max_length=50)
    starts_on = models.DateField("开始日期")
    ends_on = models.DateField("结束日期")

    class Meta:
        verbose_name = _("学期")
        verbose_name_plural = pgettext_lazy("plural", "学期")
        ordering = ["school", "-starts_on"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="term_dates_in_order"),
            models.UniqueConstraint(fields=["school", "name"], name="term_unique_name"),
        ]

    def __str__(self):
        return f"{self.school} {self.name}"


class TermDay(models.Model):
    """A school's own calendar entry inside a term: a closure (vacation, sports day: follows_weekday empty), or a
    school day that follows a given weekday's timetable (e.g. a make-up Saturday run as a Friday)."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="days")
    date = models.DateField("日期")
    follows_weekday = models.PositiveSmallIntegerField("按周几课表", null=True, blank=True)
    note = models.CharField("说明", max_length=100, blank=True)

    class Meta:
        verbose_name = _("学期日历")
        verbose_name_plural = pgettext_lazy("plural", "学期日历")
        ordering = ["term", "date"]
        constraints = [
            models.UniqueConstraint(fields=["term", "date"], name="termday_unique_date"),
            models.CheckConstraint(
                condition=Q(follows_weekday__isnull=True) | Q(follows_weekday__lte=4), name="termday_weekday"
            ),
        ]

    def __str__(self):
        return f"{self.date} {self.note}"


class Kind(models.TextChoices):
    HOMEWORK_CARE = "homework_care", _("作业辅导与看护")
    READING = "reading", _("阅读")
    SPORTS = "sports", _("体育")
    ARTS = "arts", _("艺术")
    SCIENCE_TECH = "science_tech", _("科技")
    CLUBS = "clubs", _("社团")
    # Not allowed in after-school time (POLICY.md): recordable so that the schedule check can name them.
    NEW_LESSONS = "new_lessons", _("讲授新课")
    DRILLING = "drilling", _("集体补课/刷题")


FORBIDDEN_KINDS = {Kind.NEW_LESSONS, Kind.DRILLING}


class Programme(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="programmes")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="programmes")
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=20, choices=Kind.choices)
    grade_min = models.PositiveSmallIntegerField("最低年级")
    grade_max = models.PositiveSmallIntegerField("最高年级")
    capacity = models.PositiveIntegerField("名额")
    is_free = models.BooleanField("免费", default=True)
    # Fee-bearing programmes: the rate per lesson; the fee pool and its allocation are a later issue.
    fee_per_lesson = models.DecimalField("每次课收费（元）", max_digits=8, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("课后服务项目")
        verbose_name_plural = pgettext_lazy("plural", "课后服务项目")
        ordering = ["school", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="programme_capacity_positive"),
            models.CheckConstraint(
                condition=Q(grade_min__gte=1, grade_max__lte=9, grade_min__lte=F("grade_max")),
                name="programme_grades_in_order",
            ),
            models.CheckConstraint(
                condition=Q(is_free=True, fee_per_lesson__isnull=True) | Q(is_free=False, fee_per_lesson__gt=0),
                name="programme_fee_matches_free",
            ),
            models.UniqueConstraint(fields=["term", "name"], name="programme_unique_name"),
        ]

    def __str__(self):
        return self.name

    def admits_grade(self, grade: int) -> bool:
        return self.grade_min <= grade <= self.grade_max


class Staff(models.Model):
    """Who delivers a session: a teacher of the school (a user with a teacher membership) or an outside person from
    the bureau's vetted list (kind OUTSIDE, linked to the OutsidePerson whose admission must be valid, R-ASS-2)."""

    class StaffKind(models.TextChoices):
        TEACHER = "teacher", _("本校教师")
        OUTSIDE = "outside", _("校外人员")

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="staff")
    kind = models.CharField("类型", max_length=10, choices=StaffKind.choices, default=StaffKind.TEACHER)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="afterschool_staff"
    )
    name = models.CharField("姓名", max_length=50)
    outside_person = models.ForeignKey(
        "OutsidePerson", null=True, blank=True, on_delete=models.PROTECT, related_name="staff_rows"
    )

    class Meta:
        verbose_name = _("授课人员")
        verbose_name_plural = pgettext_lazy("plural", "授课人员")
        constraints = [
            models.UniqueConstraint(
                fields=["school", "user"], condition=Q(user__isnull=False), name="staff_unique_user"
            ),
            models.CheckConstraint(condition=~Q(kind="teacher") | Q(user__isnull=False), name="staff_teacher_has_user"),
            models.CheckConstraint(
                condition=~Q(kind="outside") | Q(outside_person__isnull=False), name="staff_outside_has_person"
            ),
            models.UniqueConstraint(
                fields=["school", "outside_person"],
                condition=Q(outside_person__isnull=False),
                name="staff_unique_outside_person",
            ),
        ]

    def __str__(self):
        return self.name


class Session(models.Model):
    """One weekly slot of a programme: a weekday, a time, a room and who delivers it, between two dates of the
    term (by default the whole term)."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="sessions")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="sessions")  # denormalized for scope
    weekday = models.PositiveSmallIntegerField("周几")  # 0 = Monday
    starts_at = models.TimeField("开始时间")
    ends_at = models.TimeField("结束时间")
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions")
    # Empty only when the person was taken off (admission suspended or revoked): the session then needs staff.
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions")
    needs_staff = models.BooleanField("待安排授课人员", default=False)
    first_date = models.DateField("首次日期")
    last_date = models.DateField("末次日期")

    class Meta:
        verbose_name = _("课时安排")
        verbose_name_plural = pgettext_lazy("plural", "课时安排")
        ordering = ["weekday", "starts_at", "id"]
        indexes = [models.Index(fields=["school", "weekday"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"),
            models.CheckConstraint(condition=Q(weekday__lte=4), name="session_on_a_school_weekday"),
            models.CheckConstraint(condition=Q(last_date__gte=F("first_date")), name="session_dates_in_order"),
            models.CheckConstraint(condition=Q(staff__isnull=False) | Q(needs_staff=True), name="session_staffed"),
        ]

    def __str__(self):
        return f"{self.programme} {WEEKDAY_LABELS[self.weekday]} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"

    @property
    def minutes(self) -> int:
        return (self.ends_at.hour * 60 + self.ends_at.minute) - (self.starts_at.hour * 60 + self.starts_at.minute)


class ChoiceWindow(models.Model):
    """A window in which parents rank up to 3 popular programmes; closed by an allocation with a recorded seed."""

    class Status(models.TextChoices):
        OPEN = "open", _("开放中")
        ALLOCATED = "allocated", _("已分配")

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="choice_windows")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="choice_windows")
    name = models.CharField("名称", max_length=100)
    programmes = models.ManyToManyField(Programme, related_name="choice_windows")
    opens_at = models.DateTimeField("开始时间")
    closes_at = models.DateTimeField("截止时间")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN)
    seed = models.BigIntegerField("抽签种子", null=True, blank=True)
    allocated_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField("分配记录", default=dict, blank=True)

    class Meta:
        verbose_name = _("志愿填报")
        verbose_name_plural = pgettext_lazy("plural", "志愿填报")
        ordering = ["-closes_at"]
        constraints = [models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="window_in_order")]

    def __str__(self):
        return self.name


class Application(models.Model):
    """A parent's application for their child to a programme. Approved = enrolled (on the roster from
    `active_from`, until the day before `active_until_excl` once withdrawn)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待班主任审核")
        CHOICE = "choice", _("志愿待分配")
        WAITLISTED = "waitlisted", _("候补")
        APPROVED = "approved", _("已录取")
        REJECTED = "rejected", _("未通过")
        NOT_PLACED = "not_placed", _("未录取")
        WITHDRAWN = "withdrawn", _("已退出")

    LIVE = (Status.PENDING, Status.CHOICE, Status.WAITLISTED, Status.APPROVED)

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="applications")
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="applications")
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="afterschool_applications"
    )
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.PENDING)
    window = models.ForeignKey(
        ChoiceWindow, null=True, blank=True, on_delete=models.CASCADE, related_name="applications"
    )
    rank = models.PositiveSmallIntegerField("志愿顺序", null=True, blank=True)
    priority = models.BooleanField("优先（留守/随迁）", default=False)
    lottery_number = models.PositiveIntegerField("抽签号", null=True, blank=True)
    active_from = models.DateField("生效日期", null=True, blank=True)
    active_until_excl = models.DateField("退出生效日期", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("报名")
        verbose_name_plural = pgettext_lazy("plural", "报名")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["programme", "status"])]
        constraints = [
            # One live application per child and programme: a second one is refused, not doubled.
            models.UniqueConstraint(
                fields=["student", "programme"],
                condition=Q(status__in=["pending", "choice", "waitlisted", "approved"]),
                name="application_one_live_per_programme",
            ),
            models.CheckConstraint(condition=Q(rank__isnull=True) | Q(rank__gte=1, rank__lte=3), name="rank_1_3"),
        ]

    def __str__(self):
        return f"{self.student} → {self.programme} ({self.get_status_display()})"


class Attendance(models.Model):
    class Mark(models.TextChoices):
        PRESENT = "present", _("出勤")
        ABSENT = "absent", _("缺勤")
        LEAVE = "leave", _("请假")
        LEFT_EARLY = "left_early", _("早退")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="attendance")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="attendance")
    date = models.DateField("日期")
    mark = models.CharField("考勤", max_length=12, choices=Mark.choices)
    left_at = models.TimeField("离开时间", null=True, blank=True)
    client_uuid = models.UUIDField("客户端编号", unique=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    corrected_at = models.DateTimeField(null=True, blank=True)
    correction_reason = models.CharField("更正原因", max_length=200, blank=True)

    class Meta:
        verbose_name = _("考勤")
        verbose_name_plural = pgettext_lazy("plural", "考勤")
        ordering = ["-date", "session", "student"]
        constraints = [
            models.UniqueConstraint(fields=["session", "student", "date"], name="attendance_one_per_day"),
            models.CheckConstraint(
                condition=Q(mark="left_early", left_at__isnull=False)
                | (~Q(mark="left_early") & Q(left_at__isnull=True)),
                name="attendance_left_at_iff_left_early",
            ),
        ]

    def __str__(self):
        return f"{self.student} {self.date} {self.get_mark_display()}"



class GuardianPhone(models.Model):
    """A guardian's phone as the school's class list gives it (imported or typed by the school): the guardian may not
    have an account yet; a parent who signs up with this phone is matched to the child by it."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardian_phones")
    phone = models.CharField("监护人手机号", max_length=11, db_index=True)

    class Meta:
        verbose_name = _("监护人手机号")
        verbose_name_plural = pgettext_lazy("plural", "监护人手机号")
        ordering = ["student", "id"]
        constraints = [models.UniqueConstraint(fields=["student", "phone"], name="guardian_phone_unique")]

    def __str__(self):
        return f"{self.student} {self.phone[:3]}****{self.phone[-4:]}"
