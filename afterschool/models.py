"""After-school services (课后服务): schools and their classes, students, rooms, terms, programmes, sessions,
applications (enrolment, choice windows, waitlist) and attendance.

Personal data of minors is kept to what the service needs: a student has a name, a class and two priority flags
(left-behind, migrant family), nothing else (no ID number, no birth date, no address).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

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
WEEKDAY_LABELS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
WEEKDAY_LABELS_EN = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


class Stage(models.TextChoices):
    PRIMARY = "primary", "小学 primary (1–6)"
    JUNIOR = "junior", "初中 junior secondary (7–9)"
    NINE_YEAR = "nine_year", "九年一贯制 nine-year (1–9)"


STAGE_GRADES = {Stage.PRIMARY: (1, 6), Stage.JUNIOR: (7, 9), Stage.NINE_YEAR: (1, 9)}


class School(models.Model):
    """A primary or secondary school. Memberships (school admin, teacher) are scoped to it."""

    name = models.CharField("名称", max_length=200)
    town = models.ForeignKey(
        "accounts.Region", on_delete=models.PROTECT, related_name="schools", verbose_name="所在镇街"
    )
    stage = models.CharField("学段", max_length=12, choices=Stage.choices, default=Stage.PRIMARY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "学校 school"
        verbose_name_plural = "学校 schools"
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
        verbose_name = "班级 class"
        verbose_name_plural = "班级 classes"
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
        verbose_name = "学生 student"
        verbose_name_plural = "学生 students"
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
        verbose_name = "场地 room"
        verbose_name_plural = "场地 rooms"
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
        verbose_name = "学期 term"
        verbose_name_plural = "学期 terms"
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
        verbose_name = "学期日历 term day"
        verbose_name_plural = "学期日历 term days"
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
    HOMEWORK_CARE = "homework_care", "作业辅导与看护 homework help and care"
    READING = "reading", "阅读 reading"
    SPORTS = "sports", "体育 sports"
    ARTS = "arts", "艺术 arts"
    SCIENCE_TECH = "science_tech", "科技 science and technology"
    CLUBS = "clubs", "社团 clubs"
    # Not allowed in after-school time (POLICY.md): recordable so that the schedule check can name them.
    NEW_LESSONS = "new_lessons", "讲授新课 new lessons (not allowed)"
    DRILLING = "drilling", "集体补课/刷题 drilling (not allowed)"


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
        verbose_name = "课后服务项目 programme"
        verbose_name_plural = "课后服务项目 programmes"
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
        TEACHER = "teacher", "本校教师 school teacher"
        OUTSIDE = "outside", "校外人员 outside person"

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
        verbose_name = "授课人员 staff"
        verbose_name_plural = "授课人员 staff"
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
        verbose_name = "课时安排 session"
        verbose_name_plural = "课时安排 sessions"
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
        OPEN = "open", "开放中 open"
        ALLOCATED = "allocated", "已分配 allocated"

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
        verbose_name = "志愿填报 choice window"
        verbose_name_plural = "志愿填报 choice windows"
        ordering = ["-closes_at"]
        constraints = [models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="window_in_order")]

    def __str__(self):
        return self.name


class Application(models.Model):
    """A parent's application for their child to a programme. Approved = enrolled (on the roster from
    `active_from`, until the day before `active_until_excl` once withdrawn)."""

    class Status(models.TextChoices):
        PENDING = "pending", "待班主任审核 awaiting the class teacher"
        CHOICE = "choice", "志愿待分配 choice awaiting allocation"
        WAITLISTED = "waitlisted", "候补 waitlisted"
        APPROVED = "approved", "已录取 enrolled"
        REJECTED = "rejected", "未通过 rejected"
        NOT_PLACED = "not_placed", "未录取 not placed"
        WITHDRAWN = "withdrawn", "已退出 withdrawn"

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
        verbose_name = "报名 application"
        verbose_name_plural = "报名 applications"
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
        PRESENT = "present", "出勤 present"
        ABSENT = "absent", "缺勤 absent"
        LEAVE = "leave", "请假 on leave"
        LEFT_EARLY = "left_early", "早退 left early"

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
        verbose_name = "考勤 attendance"
        verbose_name_plural = "考勤 attendance"
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
        verbose_name = "从业禁止人员 prohibited person"
        verbose_name_plural = "从业禁止名单 prohibited-persons register"
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
        verbose_name = "校外人员 outside person"
        verbose_name_plural = "校外人员 outside persons"

    def __str__(self):
        return self.name

    @property
    def masked_id(self) -> str:
        return "*" * 14 + self.id_last4


class AdmissionReason(models.TextChoices):
    """Why an admission is suspended or revoked (R-ASS-2's list, plus a register hit)."""

    POOR_SERVICE = "poor_service", "服务质量差 poor service"
    POACHING = "poaching", "招揽学生 poaching students"
    NOT_DELIVERING = "not_delivering", "未按约定提供服务 not delivering as agreed"
    DISRUPTING = "disrupting", "扰乱教学秩序 disrupting teaching"
    REGISTER_HIT = "register_hit", "命中从业禁止名单 register hit"


ADMISSION_OPEN = ("draft", "school_review", "returned", "bureau_review")


class Admission(models.Model):
    """An application for admission to one school's after-school services and, once the bureau admits it, the
    admission itself with its validity period."""

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿 draft"
        SCHOOL_REVIEW = "school_review", "学校审核中 school review"
        RETURNED = "returned", "退回补充 returned for more information"
        BUREAU_REVIEW = "bureau_review", "教育局审核中 bureau review"
        ADMITTED = "admitted", "已准入 admitted"
        EXPIRED = "expired", "已过期 expired"
        SUSPENDED = "suspended", "已暂停 suspended"
        REVOKED = "revoked", "已撤销 revoked"

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
        verbose_name = "校外人员准入 admission"
        verbose_name_plural = "校外人员准入 admissions"
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
        PHOTO = "photo", "照片 photo"
        QUALIFICATION = "qualification", "资质证书 qualification"
        CRIMINAL_RECORD = "criminal_record", "无犯罪记录证明 no-criminal-record certificate"
        HEALTH = "health", "健康证明 health certificate"
        CONSENT = "consent", "背景审查同意书 consent"

    admission = models.ForeignKey(Admission, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    file = models.FileField(upload_to="admission/%Y/%m/")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "准入材料 admission document"
        verbose_name_plural = "准入材料 admission documents"
        ordering = ["id"]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


# --- Fees, their pool and its allocation (R-ASS-3, R-PAY-1) ---------------------------------------------------------


class FeeBasis(models.TextChoices):
    PER_LESSON = "per_lesson", "按课次 per student per lesson"
    PER_MONTH = "per_month", "按月 per student per month"


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
        verbose_name = "课后服务收费标准 fee rate"
        verbose_name_plural = "课后服务收费标准 fee rates"
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
        verbose_name = "学校收费账户 school account"
        verbose_name_plural = "学校收费账户 school accounts"
        constraints = [
            models.UniqueConstraint(fields=["school", "account_number"], name="school_account_unique_number")
        ]

    def __str__(self):
        return f"{self.account_name} {self.bank} ****{self.account_number[-4:]}"


class Exemption(models.Model):
    """A family in difficulty applies for an exemption (免收) or a reduction (减收) of a child's fee for a term; the
    school approves it; the bureau sees it. Only an approved one changes the bill."""

    class ExemptionKind(models.TextChoices):
        EXEMPT = "exempt", "免收 exemption"
        REDUCE = "reduce", "减收 reduction"

    class Status(models.TextChoices):
        APPLIED = "applied", "待学校审批 awaiting the school"
        APPROVED = "approved", "已批准 approved"
        REJECTED = "rejected", "未批准 rejected"

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

    class Meta:
        verbose_name = "减免 exemption"
        verbose_name_plural = "减免 exemptions"
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
        verbose_name = "课后服务账单 bill"
        verbose_name_plural = "课后服务账单 bills"
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
        verbose_name = "退费 refund"
        verbose_name_plural = "退费 refunds"
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
        verbose_name = "缴费记录 payment"
        verbose_name_plural = "缴费记录 payments"
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
        verbose_name = "财政补助 subsidy"
        verbose_name_plural = "财政补助 subsidies"
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
        verbose_name = "其他收入 other income"
        verbose_name_plural = "其他收入 other income"
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
        verbose_name = "未开课 lesson not held"
        verbose_name_plural = "未开课 lessons not held"
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
        verbose_name = "分配方案 allocation plan"
        verbose_name_plural = "分配方案 allocation plans"
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
        DRAFT = "draft", "草稿 draft"
        REVIEWED = "reviewed", "学校已审核 reviewed by the school"
        APPROVED = "approved", "教育局已批准 approved by the bureau"
        LOCKED = "locked", "已锁定 locked"

    class RunKind(models.TextChoices):
        REGULAR = "regular", "学期分配 term allocation"
        ADJUSTMENT = "adjustment", "调整 adjustment"

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
        verbose_name = "课后服务费分配 allocation run"
        verbose_name_plural = "课后服务费分配 allocation runs"
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
        verbose_name = "分配明细 allocation line"
        verbose_name_plural = "分配明细 allocation lines"
        ordering = ["run", "pay_type", "name", "staff_id"]
        constraints = [models.UniqueConstraint(fields=["run", "staff"], name="allocation_line_one_per_person")]

    def __str__(self):
        return f"{self.name} {self.amount}"
