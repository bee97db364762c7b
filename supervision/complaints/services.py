"""Complaints: every write, one function per use case, each audited, side effects after commit (DESIGN.md).

States (R-CMP-1): submitted → accepted | rejected; accepted → assigned → investigating → answered → closed; a parent
may reopen an answer once within 7 days (answered → investigating). The outcome of an answer is kept apart from the
state. A transition changes the row only if it still has the state and version it was read with (a conditional
UPDATE), so of two handlers acting at once one wins and the other gets 409, on PostgreSQL and on SQLite alike.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Region, Role, User
from accounts.scope import has_role, town_ids, users_covering_town, users_of_institution
from core import uploads
from core.audit import audit_event, audit_log
from core.cache import ProcessTTLCache
from core.dispatch import enqueue_on_commit
from core.errors import DomainError, NotFound, PermissionDenied, is_english
from core.idempotency import fingerprint, key_reused_error, run_once
from core.models import Notification
from core.notifications import notification_rows, notify, push_after_commit
from core.transitions import transition
from institutions.models import Institution
from institutions.services import unlicensed_record
from institutions.verification import find_token

from . import sla
from .cache import complaints_changed
from .models import (
    OPEN_STATUSES,
    SUBSTANTIATED_OUTCOMES,
    AnswerTemplate,
    ClosedHow,
    Complaint,
    ComplaintCategory,
    ComplaintMessage,
    ComplaintPhoto,
    ComplaintStatus,
    Outcome,
    RejectionReason,
    RoutingRule,
    SlaPhase,
    StatementRequest,
)
from .permissions import (
    access_complaint,
    access_statement,
    invalid_transition,
    require_handler,
    require_parent,
    require_state,
)

logger = logging.getLogger(__name__)

S = ComplaintStatus
MAX_PHOTOS = 9
PHOTO_MAX_BYTES = 10 * 1024 * 1024
DESCRIPTION_MIN, DESCRIPTION_MAX = 10, 2000
# Lengths of the other texts, after trimming; the API schema (mobile_api/routers/complaints.py) states the same numbers.
COMMENT_MAX, ANSWER_MAX, REFERRED_TO_MAX = 1000, 4000, 100
MESSAGE_MIN, MESSAGE_MAX = 1, 2000
QUESTION_MIN, QUESTION_MAX = 5, 2000
STATEMENT_MIN, STATEMENT_MAX = 5, 4000
STATEMENT_DEFAULT_WORKING_DAYS = 3


def _field_error(code: str, field: str, message, status: int = 422) -> DomainError:
    return DomainError(code, message, status=status, fields={field: message})


def local_today() -> date:
    return timezone.localdate()


# --- Categories (a small table read on every filing: kept per process for a minute) ------------------------------

_categories = ProcessTTLCache(1)


def active_categories() -> dict[str, ComplaintCategory]:
    table = _categories.get("active")
    if not table:
        table = {c.code: c for c in ComplaintCategory.objects.filter(is_active=True)}
        _categories.put("active", table, 60)
    return table


def clear_category_cache() -> None:
    _categories.clear()


# --- Filing --------------------------------------------------------------------------------------------------------


@dataclass
class NewInstitution:
    """An institution the parent could not find in the registry: it becomes an unlicensed record to confirm."""

    name: str
    address: str
    town_id: int


@dataclass
class Filing:
    category: str
    description: str
    occurred_at: datetime
    institution_id: int | None = None
    verification_token: str | None = None
    new_institution: NewInstitution | None = None
    latitude: float | None = None
    longitude: float | None = None
    child_grade: str = ""
    disclose_identity: bool = False


def _resolve_institution(filing: Filing) -> tuple[Institution | None, NewInstitution | None]:
    given = [x is not None for x in (filing.institution_id, filing.verification_token, filing.new_institution)]
    if sum(given) != 1:
        raise _field_error(
            "complaint.institution_required",
            "institution_id",
            _("请选择机构、扫描机构海报二维码，或填写机构名称和地址（三选一）"),
        )
    if filing.institution_id is not None:
        inst = _institution_named(filing.institution_id)
        if inst is None:
            raise _field_error("complaint.unknown_institution", "institution_id", _("机构不存在"))
        return inst, None
    if filing.verification_token is not None:
        row = find_token(filing.verification_token)
        if row is None:
            raise _field_error(
                "complaint.unknown_token",
                "verification_token",
                _("二维码无法识别，请改为搜索机构或填写机构名称"),
            )
        return row.institution, None  # a revoked token still names the institution it was printed for
    new = filing.new_institution
    if not Region.objects.filter(pk=new.town_id, parent__isnull=False).exists():
        raise _field_error("complaint.unknown_town", "new_institution.town_id", _("镇街不存在"))
    return None, new


def _institution_named(pk: int) -> Institution | None:
    """The institution a parent names by id, with what a filing needs. In SQL written out: on this hot path the
    ORM spent four times as long compiling the query as the database answering it (bench/README.md)."""
    fields = ["id", "name", "town_id", "status"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(fields)} FROM {Institution._meta.db_table} WHERE id = %s", [pk])
        row = cursor.fetchone()
    return None if row is None else Institution.from_db(connection.alias, fields, row)


def _clean_filing(filing: Filing) -> None:
    description = (filing.description or "").strip()
    if not DESCRIPTION_MIN <= len(description) <= DESCRIPTION_MAX:
        raise _field_error(
            "complaint.description_length",
            "description",
            format_lazy(
                _("情况描述须为 {min}–{max} 个字（现为 {n} 个）"),
                min=DESCRIPTION_MIN,
                max=DESCRIPTION_MAX,
                n=len(description),
            ),
        )
    filing.description = description
    if filing.category not in active_categories():
        raise _field_error("complaint.unknown_category", "category", _("投诉类别不存在"))
    if timezone.is_naive(filing.occurred_at):
        filing.occurred_at = timezone.make_aware(filing.occurred_at)
    if filing.occurred_at > timezone.now() + timedelta(minutes=10):
        raise _field_error(
            "complaint.occurred_in_future", "occurred_at", _("发生时间不能晚于现在")
        )
    if (filing.latitude is None) != (filing.longitude is None):
        raise _field_error("complaint.coordinates", "latitude", _("经纬度须同时提供"))


def _check_photos(photos: list) -> list[uploads.CheckedImage]:
    if len(photos) > MAX_PHOTOS:
        raise _field_error(
            "complaint.too_many_photos",
            "photos",
            format_lazy(_("最多上传 {max} 张照片（现为 {n} 张）"), max=MAX_PHOTOS, n=len(photos)),
        )
    checked = []
    for i, photo in enumerate(photos):
        try:
            checked.append(uploads.check_image(photo, max_bytes=PHOTO_MAX_BYTES, field=f"photos.{i}"))
        except DomainError as exc:
            exc.text = format_lazy(_("第 {n} 张照片：{message}"), n=i + 1, message=exc.text)
            raise
    return checked


def tracking_number(day: date, complaint_id: int) -> str:
    """TS-20261129-0042: the filing day and the complaint's id, which a person can read out on the phone.

    The number is the id, not a count restarting each day: a per-day counter was one row every filing had to lock
    until its commit was on disk, so filings waited for each other's disk writes (bench/README.md)."""
    return f"TS-{day:%Y%m%d}-{complaint_id:04d}"


_routing = ProcessTTLCache(1)
ROUTING_CACHE_SECONDS = 30


def _routing_table() -> dict[tuple[int | None, int | None], int]:
    """{(town_id, category_id): handler_id} of active rules with active handlers, kept per process 30 s (changes
    made in this process clear it at once)."""
    table = _routing.get("table")
    if table is None:
        rows = RoutingRule.objects.filter(is_active=True, handler__is_active=True).values_list(
            "town_id", "category_id", "handler_id"
        )
        table = {(town, category): handler for town, category, handler in rows}
        _routing.put("table", table, ROUTING_CACHE_SECONDS)
    return table


def clear_routing_cache() -> None:
    _routing.clear()


def route(town_id: int, category_id: int) -> int | None:
    """The handler of the most specific active rule (town and category, then town, then category), or None: the
    district queue."""
    table = _routing_table()
    for key in ((town_id, category_id), (town_id, None), (None, category_id)):
        if key in table:
            return table[key]
    return None


def supervisor_ids(town_id: int) -> list[int]:
    """District supervisors (bureau admins) whose region covers the town."""
    return users_covering_town(town_id, Role.BUREAU_ADMIN)


def complaint_file(
    *, actor, filing: Filing, photos: list | None = None, idempotency_key: str = ""
) -> tuple[Complaint, bool]:
    """File a complaint for a signed-in parent; returns (complaint, created). The same Idempotency-Key again gives
    the first complaint back. Photos are checked here and cleaned by a task after commit; if anything fails
    before commit, nothing of the complaint remains, stored files included."""
    photos = photos or []
    if not has_role(actor, Role.PARENT):
        raise PermissionDenied(_("只有家长可以提交投诉"))
    _clean_filing(filing)
    checked = _check_photos(photos)
    request_hash = fingerprint(
        filing.category,
        filing.description,
        filing.occurred_at.isoformat(),
        filing.institution_id,
        filing.verification_token,
        filing.new_institution.__dict__ if filing.new_institution else None,
        [c.size for c in checked],
    )

    def find():
        return Complaint.objects.filter(parent_id=actor.pk, idempotency_key=idempotency_key).first()

    if idempotency_key and photos:  # a retry: answer before storing the photos again
        existing = find()
        if existing is not None:
            if existing.request_hash != request_hash:
                raise key_reused_error()
            return existing, False

    institution, new = _resolve_institution(filing)
    stored: list[str] = []

    def create() -> Complaint:
        try:
            return _create(actor, filing, institution, new, photos, checked, idempotency_key, request_hash, stored)
        except BaseException:
            _delete_files(stored)
            raise

    complaint, created = run_once(
        key=idempotency_key,
        request_hash=request_hash,
        find=find,
        create=create,
        stored_hash=lambda c: c.request_hash,
        look_first=False,  # retries are rare; a filing without photos is cheap to roll back
    )
    return complaint, created


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # best effort: an orphan file holds no complaint
            logger.warning("could not delete %s", name)


def _create(actor, filing, institution, new, photos, checked, idempotency_key, request_hash, stored) -> Complaint:
    today = local_today()
    category = active_categories()[filing.category]
    if institution is None:
        institution = unlicensed_record(
            actor=actor,
            name=new.name,
            address=new.address,
            town_id=new.town_id,
            found_via="家长投诉",  # stored on the record (data, in Chinese)
        )
    complaint = Complaint(
        parent=actor,
        institution=institution,
        institution_reported_as_new=new is not None,
        town_id=institution.town_id,
        category=category,
        description=filing.description,
        occurred_at=filing.occurred_at,
        latitude=None if filing.latitude is None else round(filing.latitude, 6),
        longitude=None if filing.longitude is None else round(filing.longitude, 6),
        child_grade=filing.child_grade or "",
        disclose_identity=filing.disclose_identity,
        handler_id=route(institution.town_id, category.pk),
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    sla.start_clock(complaint, SlaPhase.ACCEPT, today, sla.accept_working_days(today))
    event = audit_event(
        actor=actor,
        verb="complaint.submit",
        obj=complaint,
        to_state=S.SUBMITTED,
        data={
            "institution_id": institution.pk,
            "new_institution": new is not None,
            "category": category.code,
            "photos": len(photos),
            "handler_id": complaint.handler_id,
        },
    )
    inbox = notification_rows(
        recipients=[complaint.handler_id] if complaint.handler_id else supervisor_ids(complaint.town_id),
        kind="complaint.submitted",
        title=_("新投诉："),  # + the tracking number, known once stored
        body=format_lazy(
            "{} · {}{}", category_name(category), institution.name, "" if complaint.handler_id else _("（待分派）")
        ),
        obj=complaint,
        payload={"status": S.SUBMITTED},
    )
    _store_filing(today, complaint, event, inbox)
    push_after_commit(inbox)
    complaints_changed()
    if photos:
        _store_photos(complaint, photos, checked, stored)
    return complaint


def _store_filing(day: date, complaint: Complaint, event, inbox: list) -> None:
    """The complaint, its audit event and its inbox rows, in the caller's transaction, on every database: the
    complaint is inserted under a placeholder number, then given the number made from its id ("TS-YYYYMMDD-" + id);
    the audit event and the inbox rows carry that id and number. Four statements: the complaint, its number, the
    event, the inbox rows (one bulk insert)."""
    complaint.tracking_number = f"pending-{uuid.uuid4().hex[:11]}"  # unique until the id is known
    complaint.save(force_insert=True)
    complaint.tracking_number = tracking_number(day, complaint.pk)
    Complaint.objects.filter(pk=complaint.pk).update(tracking_number=complaint.tracking_number)
    event.object_id = str(complaint.pk)
    event.data["tracking_number"] = complaint.tracking_number
    event.save(force_insert=True)
    for row in inbox:
        row.object_id = str(complaint.pk)
        row.title += complaint.tracking_number
    Notification.objects.bulk_create(inbox)


def _store_photos(
    complaint: Complaint, photos: list, checked: list, stored: list[str], first_position: int = 0
) -> None:
    photo_rows = []
    for position, (upload, info) in enumerate(zip(photos, checked, strict=True), start=first_position):
        upload.seek(0)
        try:
            name = default_storage.save(
                f"complaints/incoming/{uploads.random_name(info.extension)}", ContentFile(upload.read())
            )
        except OSError as exc:
            raise DomainError(
                "upload.storage_failed",
                _("照片保存失败，投诉未提交，请稍后重试"),
                status=503,
            ) from exc
        stored.append(name)
        photo_rows.append(
            ComplaintPhoto(
                complaint=complaint,
                position=position,
                upload=name,
                content_type=info.content_type,
                size=info.size,
                width=info.width,
                height=info.height,
            )
        )
    ComplaintPhoto.objects.bulk_create(photo_rows)
    ids = list(
        ComplaintPhoto.objects.filter(complaint=complaint, position__gte=first_position).values_list("pk", flat=True)
    )
    for pk in ids:
        enqueue_on_commit("supervision.process_complaint_photo", args=[pk])


def photo_process(photo_id: int) -> str:
    """Re-encode one uploaded photo without metadata, make its thumbnail, drop the upload (idempotent)."""
    photo = ComplaintPhoto.objects.filter(pk=photo_id).first()
    if photo is None or photo.state != ComplaintPhoto.State.PROCESSING or not photo.upload:
        return "nothing to do"
    try:
        with default_storage.open(photo.upload.name, "rb") as f:
            kept, thumb, (width, height) = uploads.clean_image(f)
    except FileNotFoundError:
        return "upload missing"
    except Exception:  # noqa: BLE001 - a photo that passed the checks but will not decode: marked, not retried
        logger.exception("complaint photo %s could not be processed", photo_id)
        failed = ComplaintPhoto.objects.filter(pk=photo_id, state=ComplaintPhoto.State.PROCESSING).update(
            state=ComplaintPhoto.State.FAILED, upload=""
        )
        default_storage.delete(photo.upload.name)
        if failed:
            complaint = Complaint.objects.only("pk", "parent_id", "tracking_number").get(pk=photo.complaint_id)
            notify(
                recipients=[complaint.parent_id],
                kind="complaint.photo_failed",
                title=format_lazy(
                    _("投诉 {number} 的第 {position} 张照片无法读取"),
                    number=complaint.tracking_number,
                    position=photo.position + 1,
                ),
                body=_("请通过留言补充一张清晰的照片。"),
                obj=complaint,
                payload={"photo_id": photo_id},
            )
        return "failed"
    image_name = default_storage.save(f"complaints/photos/{uploads.random_name('.jpg')}", ContentFile(kept))
    thumb_name = default_storage.save(f"complaints/thumbs/{uploads.random_name('.jpg')}", ContentFile(thumb))
    updated = ComplaintPhoto.objects.filter(pk=photo_id, state=ComplaintPhoto.State.PROCESSING).update(
        state=ComplaintPhoto.State.READY, image=image_name, thumbnail=thumb_name, upload="", width=width, height=height
    )
    if not updated:  # a duplicate delivery finished first
        _delete_files([image_name, thumb_name])
        return "already done"
    default_storage.delete(photo.upload.name)
    return "ready"


# --- Access --------------------------------------------------------------------------------------------------------


def personal_data_viewed(*, actor, obj, fields: list[str]) -> None:
    """Who looked at whose personal data (PIPL, POLICY.md Personal information): the parent's name and phone shown
    to a handler, or to an institution the parent allowed to know."""
    audit_log(actor=actor, verb="personal_data.view", obj=obj, data={"fields": fields})


# --- Transitions ---------------------------------------------------------------------------------------------------


def _conflict() -> DomainError:
    return DomainError(
        "complaint.conflict",
        _("投诉刚被他人修改，请刷新后重试"),
        status=409,
    )


def _save_transition(
    complaint: Complaint, *, from_state: str, from_version: int, fields: set[str], actor=None, verb: str = "", data=None
) -> None:
    """core.transitions for a complaint whose action handler has already set the new state and fields on the
    instance (each handler decides them from the request): written only if nobody changed the row since it was read
    (the version: one wins, the other 409), with the audit event when a verb is given; then the lists' caches and the
    change listeners (the 12345 outbox) are told, in the same transaction."""
    to_state, complaint.status = complaint.status, from_state
    transition(
        complaint, actor=actor, verb=verb, allowed_from=from_state, to=to_state,
        fields={
            **{name: getattr(complaint, name) for name in fields if name not in {"status", "version"}},
            "version": from_version + 1, "updated_at": timezone.now(),
        },
        where={"version": from_version}, error=lambda complaint: _conflict(), data=data, audit=bool(verb),
    )  # fmt: skip
    complaints_changed()
    if verb:
        for listener in _change_listeners:
            listener(complaint, verb=verb, from_state=from_state, data=data or {})


# Told of every audited change saved by _save_transition, in its transaction (the 12345 outbox writes its event row
# there: an event exists exactly when the change does). A listener must cost nothing for complaints not its own.
_change_listeners: list = []


def register_change_listener(listener) -> None:
    if listener not in _change_listeners:
        _change_listeners.append(listener)


# Told of every message the bureau writes in a complaint's thread (a question or a word to the parent, no state
# change), in its transaction: the 12345 outbox sends it to the hotline that relays it to the caller.
_message_listeners: list = []


def register_message_listener(listener) -> None:
    if listener not in _message_listeners:
        _message_listeners.append(listener)


def _load_for_change(actor, complaint_id, expected_version: int | None) -> Complaint:
    visible = access_complaint(actor, complaint_id)
    complaint = Complaint.objects.select_for_update().select_related("category", "institution").get(pk=visible.pk)
    if expected_version is not None and complaint.version != expected_version:
        raise _conflict()
    return complaint


def _tell(complaint: Complaint, actor, *, kind: str, title: str, body: str = "", extra_ids=()) -> None:
    """The parent and the handler hear of every change that concerns them, except from themselves."""
    recipients = {complaint.parent_id, complaint.handler_id, *extra_ids} - {None, getattr(actor, "pk", None)}
    if recipients:
        notify(
            recipients=recipients,
            kind=kind,
            title=title,
            body=body,
            obj=complaint,
            payload={"status": complaint.status, "version": complaint.version},
        )


ACTION_LABELS = {
    "accept": _("投诉 {number} 已受理"),
    "reject": _("投诉 {number} 不予受理"),
    "assign": _("投诉 {number} 已分派"),
    "start": _("投诉 {number} 开始调查"),
    "answer": _("投诉 {number} 已答复"),
    "reopen": _("投诉 {number} 家长申请重新办理"),
    "rate": _("投诉 {number} 已评价并办结"),
    "confirm_institution": _("投诉 {number} 机构已核实"),
    "merge": _("投诉 {number} 已合并"),
}


def category_name(category):
    """The category's name in the reader's language (its name_zh / name_en), rendered when read."""
    return _category_name(category.name_zh, category.name_en)


_category_name = lazy(lambda zh, en: en if is_english() and en else zh, str)


def complaint_act(*, actor, complaint_id, action: str, data: dict, expected_version: int | None = None) -> Complaint:
    """One action on a complaint (POST /complaints/{id}/actions)."""
    handler = _ACTIONS.get(action)
    if handler is None:
        raise _field_error("complaint.unknown_action", "action", _("未知的操作"))
    with transaction.atomic():
        complaint = _load_for_change(actor, complaint_id, expected_version)
        from_state, from_version = complaint.status, complaint.version
        fields, audit_data, extra_ids = handler(actor, complaint, data)
        _save_transition(
            complaint, from_state=from_state, from_version=from_version, fields=fields,
            actor=actor, verb=f"complaint.{action}", data={"tracking_number": complaint.tracking_number, **audit_data},
        )  # fmt: skip
        _tell(
            complaint,
            actor,
            kind=f"complaint.{action}",
            title=format_lazy(ACTION_LABELS[action], number=complaint.tracking_number),
            extra_ids=extra_ids,
        )
        _after_change(complaint, action)
    return complaint


def _after_change(complaint: Complaint, action: str) -> None:
    if action in {"answer", "confirm_institution", "reopen"} and complaint.institution_confirmed:
        enqueue_on_commit("institutions.recompute_risk", args=[complaint.institution_id])
    if action == "answer":
        _inform_merged(complaint)
        # The parent hears of the outcome by SMS too, once the answer is committed (complaint_outcome_sms).
        enqueue_on_commit("supervision.complaint_outcome_sms", args=[complaint.pk])


def _inform_merged(primary: Complaint) -> None:
    """Complaints merged into this one learn its outcome: their parents are told, their rows carry it."""
    merged = list(Complaint.objects.filter(merged_into=primary))
    if not merged:
        return
    complaints_changed()
    Complaint.objects.filter(merged_into=primary).update(
        outcome=primary.outcome,
        referred_to=primary.referred_to,
        answer=primary.answer,
        answered_at=primary.answered_at,
        updated_at=timezone.now(),
    )
    outcome_label = Outcome(primary.outcome).label
    for child in merged:
        audit_log(
            actor=None,
            verb="complaint.outcome_shared",
            obj=child,
            from_state=child.status,
            to_state=child.status,
            data={"merged_into": primary.tracking_number, "outcome": primary.outcome},
        )
        notify(
            recipients=[child.parent_id],
            kind="complaint.answer",
            title=format_lazy(
                _("投诉 {number} 已有处理结果：{outcome}"), number=child.tracking_number, outcome=outcome_label
            ),
            body=format_lazy(_("与 {number} 合并办理。"), number=primary.tracking_number),
            obj=child,
            payload={"status": child.status, "merged_into": primary.tracking_number},
        )


def _text(data: dict, name: str, *, required: bool, max_length: int, label) -> str:
    value = data.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if required and not value:
        raise _field_error("complaint.field_required", name, format_lazy(_("请填写{label}"), label=label))
    if len(value) > max_length:
        raise _field_error(
            "complaint.field_too_long",
            name,
            format_lazy(_("{label}不超过 {max_length} 字"), label=label, max_length=max_length),
        )
    return value


def _accept(actor, c: Complaint, data: dict):
    require_handler(actor, c)
    require_state(c, "accept")
    today = local_today()
    c.status = S.ACCEPTED
    fields = {"status", *sla.start_clock(c, SlaPhase.ANSWER, today, c.category.answer_working_days)}
    # A registry institution picked by id or QR code is taken as confirmed unless the handler says otherwise.
    if data.get("institution_confirmed", not c.institution_reported_as_new):
        c.institution_confirmed = True
        fields.add("institution_confirmed")
    if c.handler_id is None:
        c.handler = actor
        fields.add("handler")
    return fields, {"due_on": str(c.sla_due_on), "institution_confirmed": c.institution_confirmed}, ()


def _reject(actor, c: Complaint, data: dict):
    require_handler(actor, c)
    require_state(c, "reject")
    reason = data.get("reason")
    if reason not in RejectionReason.values:
        raise _field_error(
            "complaint.rejection_reason",
            "reason",
            _("请选择不予受理原因：out_of_remit、insufficient_information 或 duplicate"),
        )
    if reason == RejectionReason.DUPLICATE:
        return _merge(actor, c, data)
    comment = _text(data, "comment", required=True, max_length=COMMENT_MAX, label=_("说明"))
    c.status = S.REJECTED
    c.rejection_reason = reason
    c.answer = comment
    fields = {"status", "rejection_reason", "answer", *sla.stop_clock(c)}
    return fields, {"reason": reason}, ()


def _merge(actor, c: Complaint, data: dict):
    """A duplicate: closed as such, merged into the complaint that carries on; its parent will get that outcome."""
    require_handler(actor, c)
    require_state(c, "merge")
    target_id = data.get("duplicate_of")
    if not isinstance(target_id, int) or isinstance(target_id, bool):
        raise _field_error("complaint.duplicate_of", "duplicate_of", _("请指定重复的投诉编号"))
    try:
        primary = access_complaint(actor, target_id)
    except NotFound:
        raise _field_error(
            "complaint.duplicate_of", "duplicate_of", _("要合并到的投诉不存在")
        ) from None
    if primary.pk == c.pk or primary.merged_into_id is not None or primary.status == S.REJECTED:
        raise _field_error(
            "complaint.duplicate_of",
            "duplicate_of",
            _("只能合并到另一件未被合并、未被驳回的投诉"),
        )
    c.status = S.REJECTED
    c.rejection_reason = RejectionReason.DUPLICATE
    c.merged_into = primary
    c.answer = f"与投诉 {primary.tracking_number} 合并办理，办理结果将同步告知您。"
    fields = {"status", "rejection_reason", "merged_into", "answer", *sla.stop_clock(c)}
    if primary.status in (S.ANSWERED, S.CLOSED):
        c.outcome, c.referred_to, c.answered_at = primary.outcome, primary.referred_to, primary.answered_at
        c.answer = primary.answer
        fields |= {"outcome", "referred_to", "answered_at"}
    audit_log(
        actor=actor,
        verb="complaint.merged_in",
        obj=primary,
        data={"merged": c.tracking_number, "complaint_id": c.pk},
    )
    return fields, {"merged_into": primary.tracking_number, "merged_into_id": primary.pk}, (primary.handler_id,)


def _assign(actor, c: Complaint, data: dict):
    require_handler(actor, c)
    require_state(c, "assign")
    handler_id = data.get("handler_id", actor.pk)
    candidate = User.objects.filter(pk=handler_id, is_active=True).first() if isinstance(handler_id, int) else None
    if candidate is None or c.town_id not in town_ids(candidate):
        raise _field_error(
            "complaint.handler_not_eligible",
            "handler_id",
            _("承办人须为负责该镇街的教育局工作人员"),
        )
    previous = c.handler_id
    c.handler = candidate
    if c.status == S.ACCEPTED:
        c.status = S.ASSIGNED
    return {"status", "handler"}, {"handler_id": candidate.pk, "previous_handler_id": previous}, (previous,)


def _start(actor, c: Complaint, data: dict):
    require_handler(actor, c)
    require_state(c, "start")
    c.status = S.INVESTIGATING
    return {"status"}, {}, ()


def _answer(actor, c: Complaint, data: dict):
    require_handler(actor, c)
    require_state(c, "answer")
    outcome = data.get("outcome")
    if outcome not in Outcome.values:
        raise _field_error(
            "complaint.outcome",
            "outcome",
            _("请选择处理结果：substantiated、partly_substantiated、not_substantiated 或 referred"),
        )
    answer = _text(data, "answer", required=True, max_length=ANSWER_MAX, label=_("答复内容"))
    referred_to = _text(
        data,
        "referred_to",
        required=outcome == Outcome.REFERRED,
        max_length=REFERRED_TO_MAX,
        label=_("移送部门"),
    )
    c.status = S.ANSWERED
    c.outcome, c.answer, c.referred_to = outcome, answer, referred_to if outcome == Outcome.REFERRED else ""
    c.answered_at = timezone.now()
    # What the supervisor's board counts, kept now that the clock stops: in time or not, working days it took.
    today = local_today()
    c.answered_on_time = c.sla_due_on is None or today <= c.sla_due_on
    c.answer_working_days = max(0, sla.working_days_between(c.sla_started_on, today)) if c.sla_started_on else None
    fields = {"status", "outcome", "answer", "referred_to", "answered_at", "answered_on_time", "answer_working_days",
              *sla.stop_clock(c)}  # fmt: skip
    return fields, {"outcome": outcome, "referred_to": c.referred_to}, ()


def _reopen(actor, c: Complaint, data: dict):
    require_parent(actor, c)
    require_state(c, "reopen")
    if c.reopened_at is not None:
        raise DomainError(
            "complaint.reopen_used", _("每件投诉只能申请重新办理一次"), status=409
        )
    if timezone.now() > c.answered_at + timedelta(days=sla.reopen_days()):
        raise DomainError(
            "complaint.reopen_expired",
            format_lazy(_("答复已超过 {sla} 天，不能再申请重新办理"), sla=sla.reopen_days()),
            status=409,
        )
    comment = _text(data, "comment", required=True, max_length=COMMENT_MAX, label=_("重新办理理由"))
    today = local_today()
    c.status = S.INVESTIGATING
    c.reopened_at, c.reopen_comment = timezone.now(), comment
    fields = {
        "status",
        "reopened_at",
        "reopen_comment",
        *sla.start_clock(c, SlaPhase.ANSWER, today, c.category.answer_working_days),
    }
    return fields, {"comment_length": len(comment), "previous_outcome": c.outcome}, ()


def _rate(actor, c: Complaint, data: dict):
    require_parent(actor, c)
    require_state(c, "rate")
    rating = data.get("rating")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise _field_error("complaint.rating", "rating", _("请打 1–5 分"))
    c.rating = rating
    c.rating_comment = _text(data, "comment", required=False, max_length=COMMENT_MAX, label=_("评价"))
    c.status = S.CLOSED
    c.closed_at, c.closed_how = timezone.now(), ClosedHow.RATED
    return {"status", "rating", "rating_comment", "closed_at", "closed_how"}, {"rating": rating}, ()


def _confirm_institution(actor, c: Complaint, data: dict):
    """The bureau confirms which institution is at fault (optionally a better registry record than the one named);
    from then on the complaint counts in that institution's risk grade."""
    require_handler(actor, c)
    require_state(c, "confirm_institution")
    fields = {"institution_confirmed"}
    audit = {}
    new_id = data.get("institution_id")
    if new_id is not None:
        inst = Institution.objects.filter(pk=new_id).first() if isinstance(new_id, int) else None
        if inst is None:
            raise _field_error("complaint.unknown_institution", "institution_id", _("机构不存在"))
        audit["institution"] = {"from": c.institution_id, "to": inst.pk}
        old_institution = c.institution_id
        c.institution = inst
        fields.add("institution")
        if old_institution != inst.pk:
            enqueue_on_commit("institutions.recompute_risk", args=[old_institution])
    c.institution_confirmed = True
    return fields, audit, ()


_ACTIONS = {
    "accept": _accept,
    "reject": _reject,
    "merge": _merge,
    "assign": _assign,
    "start": _start,
    "answer": _answer,
    "reopen": _reopen,
    "rate": _rate,
    "confirm_institution": _confirm_institution,
}


# --- Messages ------------------------------------------------------------------------------------------------------


def complaint_message_post(*, actor, complaint_id, body: str, awaiting_parent: bool = False) -> ComplaintMessage:
    """A message in the thread. A handler may ask the parent for more and pause the clock until the parent
    replies; the parent's reply resumes it, the deadline moved by the working days it waited."""
    body = (body or "").strip()
    if not MESSAGE_MIN <= len(body) <= MESSAGE_MAX:
        raise _field_error(
            "complaint.message_length", "body", _("留言须为 1–2000 字")
        )
    with transaction.atomic():
        visible = access_complaint(actor, complaint_id)
        c = Complaint.objects.select_for_update().get(pk=visible.pk)
        is_parent = c.parent_id == actor.pk
        if not is_parent:
            require_handler(actor, c)
        if c.status in (S.CLOSED, S.REJECTED):
            raise DomainError(
                "complaint.closed", _("投诉已办结，不能再留言"), status=409
            )
        if awaiting_parent and (is_parent or c.status not in (S.ACCEPTED, S.ASSIGNED, S.INVESTIGATING)):
            raise _field_error(
                "complaint.cannot_pause",
                "awaiting_parent",
                _("只有承办人可在受理后、答复前请家长补充材料"),
            )
        message = ComplaintMessage.objects.create(
            complaint=c,
            author=actor,
            side=ComplaintMessage.Side.PARENT if is_parent else ComplaintMessage.Side.BUREAU,
            body=body,
            awaiting_parent=awaiting_parent,
        )
        fields: set[str] = set()
        if awaiting_parent and c.paused_since is None:
            c.paused_since = timezone.now()
            fields.add("paused_since")
            audit_log(
                actor=actor,
                verb="complaint.pause",
                obj=c,
                from_state=c.status,
                to_state=c.status,
                data={"due_on": str(c.sla_due_on)},
            )
        elif is_parent and c.paused_since is not None:
            shift = sla.resume_clock(c, local_today())
            fields |= {"paused_since", "sla_due_on", "sla_warn_on"}
            audit_log(
                actor=actor,
                verb="complaint.resume",
                obj=c,
                from_state=c.status,
                to_state=c.status,
                data={"shifted_working_days": shift, "due_on": str(c.sla_due_on)},
            )
        if fields:
            _save_transition(c, from_state=c.status, from_version=c.version, fields=fields)
        if not is_parent:
            for listener in _message_listeners:
                listener(c, message)
        complaints_changed()  # the desk's kept page of this complaint shows the thread
        notify(
            recipients={c.parent_id, c.handler_id} - {None, actor.pk},
            kind="complaint.message",
            title=format_lazy(_("投诉 {number} 有新留言"), number=c.tracking_number),
            body=body[:100],
            obj=c,
            payload={"status": c.status, "message_id": message.pk, "awaiting_parent": awaiting_parent},
        )
    return message


# --- Statements from the institution -------------------------------------------------------------------------------


def statement_request_create(*, actor, complaint_id, question: str, due_working_days: int | None = None):
    question = (question or "").strip()
    if not QUESTION_MIN <= len(question) <= QUESTION_MAX:
        raise _field_error("statement.question_length", "question", _("问询内容须为 5–2000 字"))
    days = STATEMENT_DEFAULT_WORKING_DAYS if due_working_days is None else due_working_days
    if not 1 <= days <= 30:
        raise _field_error("statement.due", "due_working_days", _("期限须为 1–30 个工作日"))
    with transaction.atomic():
        visible = access_complaint(actor, complaint_id)
        c = Complaint.objects.select_for_update().select_related("institution").get(pk=visible.pk)
        require_handler(actor, c)
        if c.status not in (S.ACCEPTED, S.ASSIGNED, S.INVESTIGATING):
            raise invalid_transition(c, "request_statement")
        request = StatementRequest.objects.create(
            complaint=c,
            institution=c.institution,
            requested_by=actor,
            question=question,
            due_on=sla.add_working_days(local_today(), days),
        )
        audit_log(
            actor=actor,
            verb="statement.request",
            obj=request,
            to_state=request.state,
            data={"complaint_id": c.pk, "institution_id": c.institution_id},
        )
        notify(
            recipients=users_of_institution(c.institution_id),
            kind="statement.requested",
            title=_("教育局请贵机构就一件投诉作出说明"),
            body=format_lazy(_("请于 {due_on} 前答复。"), due_on=f"{request.due_on:%Y-%m-%d}"),
            obj=request,
            payload={"due_on": str(request.due_on)},
        )
    return request


def statement_answer(*, actor, request_id, statement: str, evidence: list | None = None) -> StatementRequest:
    """Institution staff answer a statement request, optionally with photos or PDF documents as evidence (checked
    by content before anything is stored; if the answer fails, the stored files are deleted)."""
    statement = (statement or "").strip()
    if not STATEMENT_MIN <= len(statement) <= STATEMENT_MAX:
        raise _field_error("statement.length", "statement", _("情况说明须为 5–4000 字"))
    evidence = evidence or []
    if evidence:
        access_statement(actor, request_id)  # who may not answer learns nothing from the checks of the files
    checked = _check_statement_evidence(evidence)
    stored: list[str] = []
    try:
        return _statement_answer(actor, request_id, statement, evidence, checked, stored)
    except BaseException:
        _delete_files(stored)
        raise


def _statement_answer(actor, request_id, statement, evidence, checked, stored) -> StatementRequest:
    with transaction.atomic():
        request = access_statement(actor, request_id)
        now = timezone.now()
        updated = StatementRequest.objects.filter(pk=request.pk, state=StatementRequest.State.OPEN).update(
            state=StatementRequest.State.ANSWERED, statement=statement, answered_by=actor, answered_at=now
        )
        if not updated:
            raise DomainError(
                "statement.already_answered", _("该说明已答复"), status=409
            )
        request.refresh_from_db()
        if evidence:
            _store_statement_evidence(actor, request, evidence, checked, stored)
        audit_log(
            actor=actor,
            verb="statement.answer",
            obj=request,
            from_state="open",
            to_state="answered",
            data={"complaint_id": request.complaint_id, "evidence": len(evidence)},
        )
        c = request.complaint
        notify(
            recipients={c.handler_id, request.requested_by_id} - {None},
            kind="statement.answered",
            title=format_lazy(_("机构已就投诉 {number} 作出说明"), number=c.tracking_number),
            body=statement[:100],
            obj=c,
            payload={"status": c.status, "statement_request_id": request.pk},
        )
    complaints_changed()  # the desk's kept page of the complaint shows the answer
    return request


STATEMENT_MAX_FILES = 9
STATEMENT_FILE_MAX_BYTES = 10 * 1024 * 1024
PDF_MAGIC = b"%PDF-"


@dataclass
class CheckedEvidence:
    kind: str  # StatementEvidence.Kind
    content_type: str
    size: int
    image: uploads.CheckedImage | None = None


def _check_statement_evidence(files: list) -> list[CheckedEvidence]:
    """Each file is a photo (JPEG, PNG, WebP: opened and verified) or a PDF document (by its first bytes), at most
    10 MB, at most 9 files: a clear error naming the file otherwise."""
    if len(files) > STATEMENT_MAX_FILES:
        raise _field_error(
            "statement.too_many_files",
            "evidence",
            format_lazy(_("最多上传 {max} 个文件（现为 {n} 个）"), max=STATEMENT_MAX_FILES, n=len(files)),
        )
    checked = []
    for i, upload in enumerate(files):
        try:
            upload.seek(0)
            head = upload.read(len(PDF_MAGIC))
            upload.seek(0)
            if head == PDF_MAGIC:
                if upload.size > STATEMENT_FILE_MAX_BYTES:
                    raise DomainError(
                        "upload.too_large", _("文件不能超过 10 MB"), status=413, fields={f"evidence.{i}": _("过大")}
                    )
                checked.append(CheckedEvidence("document", "application/pdf", upload.size))
            else:
                image = uploads.check_image(upload, max_bytes=STATEMENT_FILE_MAX_BYTES, field=f"evidence.{i}")
                checked.append(CheckedEvidence("photo", "image/jpeg", image.size, image))
        except DomainError as exc:
            exc.text = format_lazy(
                _("第 {n} 个文件（{name}）：{message}"), n=i + 1, name=_file_label(upload), message=exc.text
            )
            raise
    return checked


def _file_label(upload) -> str:
    name = (getattr(upload, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:100]


def _store_statement_evidence(actor, request: StatementRequest, files: list, checked: list, stored: list[str]):
    from .models import StatementEvidence

    rows = []
    for upload, info in zip(files, checked, strict=True):
        upload.seek(0)
        try:
            if info.kind == "photo":
                kept, thumb, _size = uploads.clean_image(upload)  # no EXIF, no GPS
                name = default_storage.save(f"complaints/statements/{uploads.random_name('.jpg')}", ContentFile(kept))
                stored.append(name)
                thumb_name = default_storage.save(
                    f"complaints/statements/thumbs/{uploads.random_name('.jpg')}", ContentFile(thumb)
                )
                stored.append(thumb_name)
            else:
                name = default_storage.save(
                    f"complaints/statements/{uploads.random_name('.pdf')}", ContentFile(upload.read())
                )
                stored.append(name)
                thumb_name = ""
        except OSError as exc:
            raise DomainError(
                "upload.storage_failed", _("文件保存失败，说明未提交，请稍后重试"), status=503
            ) from exc
        rows.append(
            StatementEvidence(
                request=request,
                kind=info.kind,
                file=name,
                thumbnail=thumb_name,
                content_type=info.content_type,
                size=info.size,
                name=_file_label(upload),
                uploaded_by=actor,
            )
        )
    StatementEvidence.objects.bulk_create(rows)


# --- Routing table (the bureau edits it) ---------------------------------------------------------------------------


def routing_rule_set(*, actor, town_id: int | None, category: str | None, handler_id: int) -> RoutingRule:
    """Create or replace the rule for (town, category); district supervisors only."""
    if not has_role(actor, Role.BUREAU_ADMIN):
        raise PermissionDenied(_("只有区级管理员可以修改分派规则"))
    cat = None
    if category is not None:
        cat = ComplaintCategory.objects.filter(code=category).first()
        if cat is None:
            raise _field_error("complaint.unknown_category", "category", _("投诉类别不存在"))
    scope = town_ids(actor, Role.BUREAU_ADMIN)
    if town_id is not None and (town_id not in scope or not Region.objects.filter(pk=town_id).exists()):
        raise _field_error(
            "complaint.unknown_town", "town_id", _("镇街不存在或不在您的辖区")
        )
    handler = User.objects.filter(pk=handler_id, is_active=True).first()
    towns_of_handler = town_ids(handler) if handler else set()
    if handler is None or (town_id is not None and town_id not in towns_of_handler) or not towns_of_handler:
        raise _field_error(
            "complaint.handler_not_eligible",
            "handler_id",
            _("承办人须为负责该镇街的教育局工作人员"),
        )
    with transaction.atomic():
        old = RoutingRule.objects.select_for_update().filter(is_active=True, town_id=town_id, category=cat).first()
        if old:
            old.is_active = False
            old.save(update_fields=["is_active"])
        rule = RoutingRule.objects.create(town_id=town_id, category=cat, handler=handler)
        clear_routing_cache()  # now for this transaction, and again once others can see the change
        transaction.on_commit(clear_routing_cache)
        audit_log(
            actor=actor,
            verb="complaint.routing_set",
            obj=rule,
            data={
                "town_id": town_id,
                "category": category,
                "handler_id": handler_id,
                "replaced": old.handler_id if old else None,
            },
        )
    return rule


def routing_rule_delete(*, actor, rule_id: int) -> None:
    if not has_role(actor, Role.BUREAU_ADMIN):
        raise PermissionDenied(_("只有区级管理员可以修改分派规则"))
    with transaction.atomic():
        rule = RoutingRule.objects.select_for_update().filter(pk=rule_id, is_active=True).first()
        if rule is None:
            raise NotFound(_("分派规则不存在"))
        rule.is_active = False
        rule.save(update_fields=["is_active"])
        clear_routing_cache()  # now for this transaction, and again once others can see the change
        transaction.on_commit(clear_routing_cache)
        audit_log(actor=actor, verb="complaint.routing_delete", obj=rule, data={"handler_id": rule.handler_id})


# --- The scheduled sweep -------------------------------------------------------------------------------------------


def complaint_sweep(*, today: date | None = None) -> dict[str, int]:
    """Warn handlers at 80 % of a deadline, escalate overdue complaints to the district supervisor, close answers
    the parent left unrated for 7 days. Idempotent: each warning and escalation happens once per clock."""
    today = today or local_today()
    counts = {"warned": 0, "escalated": 0, "closed": 0, "statements_reminded": 0}
    running = Complaint.objects.filter(status__in=OPEN_STATUSES, paused_since__isnull=True).exclude(sla_phase="")
    for c in running.filter(sla_escalated=False, sla_due_on__lt=today).select_related("category"):
        counts["escalated"] += _escalate(c, today)
    for c in running.filter(sla_warned=False, sla_escalated=False, sla_warn_on__lte=today).select_related("category"):
        counts["warned"] += _warn(c, today)
    cutoff = timezone.now() - timedelta(days=sla.auto_close_days(today))
    for pk in Complaint.objects.filter(status=S.ANSWERED, answered_at__lte=cutoff).values_list("pk", flat=True):
        counts["closed"] += _auto_close(pk)
    for request in StatementRequest.objects.filter(state=StatementRequest.State.OPEN, due_on__lte=today):
        counts["statements_reminded"] += _remind_statement(request, today)
    if counts["warned"] or counts["escalated"]:  # flags the desk shows (closing went through _save_transition)
        complaints_changed()
    return counts


def _remind_statement(request: StatementRequest, today: date) -> int:
    """On its due day the institution is reminded; once overdue, reminded again and the handler who asked is told,
    with an audit event. Each once per request (the inbox's dedupe key): the sweep may run many times a day."""
    overdue = request.due_on < today
    stage = "overdue" if overdue else "due"
    key = f"statement.{stage}.{request.pk}"
    told = notify(
        recipients=users_of_institution(request.institution_id),
        kind=f"statement.{stage}",
        title=_("情况说明已逾期，请尽快答复") if overdue else _("情况说明今天到期"),
        body=format_lazy(_("答复期限 {due_on}。"), due_on=f"{request.due_on:%Y-%m-%d}"),
        obj=request,
        payload={"due_on": str(request.due_on)},
        dedupe_key=key,
    )
    if not overdue:
        return int(bool(told))
    handler_told = notify(
        recipients=[request.requested_by_id],
        kind="statement.overdue",
        title=_("机构逾期未提交情况说明"),
        body=format_lazy(
            _("投诉 {complaint_id} 的情况说明期限为 {due_on}。"),
            complaint_id=request.complaint_id,
            due_on=f"{request.due_on:%Y-%m-%d}",
        ),
        obj=request,
        payload={"due_on": str(request.due_on), "complaint_id": request.complaint_id},
        dedupe_key=key,
    )
    if not handler_told:  # an earlier sweep did all this
        return 0
    audit_log(
        actor=None,
        verb="statement.overdue",
        obj=request,
        data={"complaint_id": request.complaint_id, "due_on": str(request.due_on)},
    )
    return 1


def _phase_word(c: Complaint):
    return pgettext_lazy("complaint deadline", "受理") if c.sla_phase == SlaPhase.ACCEPT else pgettext_lazy(
        "complaint deadline", "答复"
    )


def _warn(c: Complaint, today: date) -> int:
    with transaction.atomic():
        if not Complaint.objects.filter(pk=c.pk, sla_warned=False, version=c.version).update(sla_warned=True):
            return 0
        phase = _phase_word(c)
        audit_log(
            actor=None,
            verb="complaint.sla_warning",
            obj=c,
            from_state=c.status,
            to_state=c.status,
            data={"phase": c.sla_phase, "due_on": str(c.sla_due_on)},
        )
        recipients = [c.handler_id] if c.handler_id else supervisor_ids(c.town_id)
        notify(
            recipients=recipients,
            kind="complaint.sla_warning",
            title=format_lazy(
                _("投诉 {number} 即将超过{phase}期限（{due_on}）"),
                number=c.tracking_number,
                phase=phase,
                due_on=f"{c.sla_due_on:%m-%d}",
            ),
            obj=c,
            payload={"status": c.status, "due_on": str(c.sla_due_on)},
            dedupe_key=f"complaint-warn:{c.pk}:{c.sla_phase}:{c.sla_started_on}",
        )
    return 1


def _escalate(c: Complaint, today: date) -> int:
    with transaction.atomic():
        if not Complaint.objects.filter(pk=c.pk, sla_escalated=False, version=c.version).update(
            sla_escalated=True, sla_warned=True
        ):
            return 0
        phase = _phase_word(c)
        audit_log(
            actor=None,
            verb="complaint.escalate",
            obj=c,
            from_state=c.status,
            to_state=c.status,
            data={"phase": c.sla_phase, "due_on": str(c.sla_due_on), "handler_id": c.handler_id},
        )
        recipients = set(supervisor_ids(c.town_id)) | ({c.handler_id} if c.handler_id else set())
        notify(
            recipients=recipients,
            kind="complaint.escalated",
            title=format_lazy(
                _("投诉 {number} 已超过{phase}期限，已上报区级督办"), number=c.tracking_number, phase=phase
            ),
            body=format_lazy(_("期限 {due_on}。"), due_on=c.sla_due_on),
            obj=c,
            payload={"status": c.status, "due_on": str(c.sla_due_on)},
            dedupe_key=f"complaint-escalate:{c.pk}:{c.sla_phase}:{c.sla_started_on}",
        )
    return 1


def _auto_close(pk: int) -> int:
    with transaction.atomic():
        c = Complaint.objects.select_for_update().filter(pk=pk, status=S.ANSWERED).first()
        if c is None:
            return 0
        from_version = c.version
        c.status, c.closed_at, c.closed_how = S.CLOSED, timezone.now(), ClosedHow.AUTO
        _save_transition(
            c, from_state=S.ANSWERED, from_version=from_version, fields={"status", "closed_at", "closed_how"},
            verb="complaint.auto_close", data={"days_after_answer": sla.auto_close_days()},
        )  # fmt: skip
        _tell(
            c,
            None,
            kind="complaint.closed",
            title=format_lazy(_("投诉 {number} 已自动办结"), number=c.tracking_number),
            body=format_lazy(_("答复后 {days} 天未评价，已自动办结。"), days=sla.auto_close_days()),
        )
    return 1


# --- Risk signal (institutions.risk asks on every recompute) -------------------------------------------------------


def complaint_risk_signals(institution_id: int) -> dict[str, int]:
    """Complaints found (partly) true about a confirmed institution in the last 12 months; merged duplicates count
    once, through the complaint they were merged into."""
    since = timezone.now() - timedelta(days=365)
    count = Complaint.objects.filter(
        institution_id=institution_id,
        institution_confirmed=True,
        outcome__in=SUBSTANTIATED_OUTCOMES,
        answered_at__gte=since,
        merged_into__isnull=True,
        status__in=[S.ANSWERED, S.CLOSED],
    ).count()
    return {"complaints_substantiated_12m": count}


# --- The parent's side (issue 17): supplements when asked, the SMS of the outcome ------------------------------------

SUPPLEMENT_MAX_PHOTOS_TOTAL = 2 * MAX_PHOTOS  # those filed and those added when the handler asked for more


def complaint_supplement(*, actor, complaint_id, body: str, photos: list | None = None) -> ComplaintMessage:
    """The parent answers the handler's request for more information: a message (which resumes the paused clock,
    complaint_message_post) and photos added to the complaint's evidence, cleaned by the same task as at filing.
    Only while the handler waits for the parent; nothing is kept if anything fails."""
    photos = photos or []
    visible = access_complaint(actor, complaint_id)
    require_parent(actor, visible)
    if visible.paused_since is None or visible.status not in OPEN_STATUSES:
        raise DomainError(
            "complaint.not_awaiting_parent",
            _("承办人目前没有请您补充材料，可以直接留言"),
            status=409,
        )
    checked = _check_photos(photos)
    stored: list[str] = []
    try:
        with transaction.atomic():
            message = complaint_message_post(actor=actor, complaint_id=visible.pk, body=body)
            c = Complaint.objects.select_for_update().get(pk=visible.pk)
            if photos:
                existing = c.photos.count()
                if existing + len(photos) > SUPPLEMENT_MAX_PHOTOS_TOTAL:
                    raise _field_error(
                        "complaint.too_many_photos",
                        "photos",
                        format_lazy(
                            _("每件投诉最多 {max} 张照片（已有 {n} 张）"), max=SUPPLEMENT_MAX_PHOTOS_TOTAL, n=existing
                        ),
                    )
                _store_photos(c, photos, checked, stored, first_position=existing)
            audit_log(
                actor=actor,
                verb="complaint.supplement",
                obj=c,
                from_state=c.status,
                to_state=c.status,
                data={"message_id": message.pk, "photos": len(photos)},
            )
    except BaseException:
        _delete_files(stored)
        raise
    return message


OUTCOME_SMS_VERB = "complaint.outcome_sms"


def complaint_outcome_sms(complaint_id: int) -> str:
    """Text the parent that their complaint has an outcome (after the answer is committed; a task). Once per answer:
    the audit event written with the send is the mark a second delivery of the task finds (a reopened complaint
    answered again is a new answer, texted again). The text names the tracking number and the outcome, nothing of
    the handler."""
    from accounts.sms import send_sms
    from core.errors import render
    from core.models import AuditEvent

    with transaction.atomic():
        c = (
            Complaint.objects.select_for_update()
            .select_related("parent")
            .filter(pk=complaint_id, status__in=[S.ANSWERED, S.CLOSED])
            .first()
        )
        if c is None or c.answered_at is None or not c.outcome:
            return "no answer"
        phone = c.parent.phone
        if not phone:
            return "no phone"
        answer_key = c.answered_at.isoformat()
        sent = AuditEvent.objects.filter(
            verb=OUTCOME_SMS_VERB, object_type=Complaint._meta.label_lower, object_id=str(c.pk)
        ).values_list("data", flat=True)
        if any(d.get("answered_at") == answer_key for d in sent):
            return "already sent"
        text = render(
            format_lazy(
                _("【双减监管】您的投诉 {number} 已有处理结果：{outcome}。请登录查看答复并评价。"),
                number=c.tracking_number,
                outcome=Outcome(c.outcome).label,
            ),
            c.parent.language or None,
        )
        audit_log(actor=None, verb=OUTCOME_SMS_VERB, obj=c, data={"answered_at": answer_key})
        transaction.on_commit(lambda: send_sms(phone, text))
    return "sent"


# --- The handler's desk (web): the 12345-style actions built on the transitions above -----------------------------

ANSWER_MIN = 20  # an answer the parent can act on: a one-word "已处理" is refused
REASON_MIN = 5
PRESS_NOTE_MAX = 500
TAKE_FROM = (S.SUBMITTED, S.ACCEPTED, S.ASSIGNED)
TRANSFER_FROM = OPEN_STATUSES
SEND_BACK_FROM = (S.SUBMITTED, S.ACCEPTED, S.ASSIGNED)
ASK_FROM = (S.ACCEPTED, S.ASSIGNED, S.INVESTIGATING)
CONCLUDE_FROM = (S.ASSIGNED, S.INVESTIGATING)


def _reason(value: str, field: str = "reason", label=None) -> str:
    value = (value or "").strip()
    if not REASON_MIN <= len(value) <= COMMENT_MAX:
        raise _field_error(
            "complaint.reason_length",
            field,
            format_lazy(
                _("请填写{label}（{min}–{max} 字）"), label=label or _("理由"), min=REASON_MIN, max=COMMENT_MAX
            ),
        )
    return value


def complaint_take(*, actor, complaint_id, expected_version: int | None = None) -> Complaint:
    """签收: accept a submitted complaint and become its handler in one step (or take over one accepted by the
    district queue or a colleague). Two audited transitions in one transaction: both or neither."""
    with transaction.atomic():
        c = _load_for_change(actor, complaint_id, expected_version)
        require_handler(actor, c)
        if c.status not in TAKE_FROM or (c.status != S.SUBMITTED and c.handler_id == actor.pk):
            raise invalid_transition(c, "take")
        if c.status == S.SUBMITTED:
            c = complaint_act(actor=actor, complaint_id=c.pk, action="accept", data={}, expected_version=c.version)
        c = complaint_act(
            actor=actor, complaint_id=c.pk, action="assign", data={"handler_id": actor.pk}, expected_version=c.version
        )
    return c


def complaint_transfer(*, actor, complaint_id, town_id, reason: str, expected_version: int | None = None) -> Complaint:
    """转办: the complaint belongs to another town (the institution is there): it moves to that town and to the
    handler its routing rules name. A town without a handler is refused, so nothing is left with nobody."""
    reason = _reason(reason, label=_("转办理由"))
    with transaction.atomic():
        c = _load_for_change(actor, complaint_id, expected_version)
        require_handler(actor, c)
        if c.status not in TRANSFER_FROM:
            raise invalid_transition(c, "transfer")
        town = None
        if isinstance(town_id, int) and not isinstance(town_id, bool):
            town = Region.objects.filter(pk=town_id, parent__isnull=False, valid_to__isnull=True).first()
        if town is None or town.pk == c.town_id:
            raise _field_error("complaint.transfer_town", "town_id", _("请选择另一个镇街"))
        handler_id = route(town.pk, c.category_id)
        if handler_id is None:
            raise _field_error(
                "complaint.transfer_no_handler",
                "town_id",
                format_lazy(
                    _("{town}尚未设置投诉承办人，无法转办；请区级管理员先在分派规则中指定承办人"), town=town.name
                ),
            )
        from_state, from_version = c.status, c.version
        previous_town, previous_handler = c.town_id, c.handler_id
        c.town_id, c.handler_id = town.pk, handler_id
        if c.status == S.ACCEPTED:
            c.status = S.ASSIGNED
        _save_transition(
            c, from_state=from_state, from_version=from_version, fields={"status", "town_id", "handler_id"},
            actor=actor, verb="complaint.transfer",
            data={"tracking_number": c.tracking_number, "from_town_id": previous_town, "to_town_id": town.pk,
                  "handler_id": handler_id, "previous_handler_id": previous_handler, "reason": reason},
        )  # fmt: skip
        _tell(
            c,
            actor,
            kind="complaint.transfer",
            title=format_lazy(_("投诉 {number} 已转办至{town}"), number=c.tracking_number, town=town.name),
            body=reason[:100],
            extra_ids=(previous_handler,),
        )
    return c


def complaint_send_back(*, actor, complaint_id, reason: str, expected_version: int | None = None) -> Complaint:
    """退单: the handler it was routed to returns it to the district queue (not theirs to handle), with a reason;
    the district supervisors are told to dispatch it again. The clock keeps running."""
    reason = _reason(reason, label=_("退单理由"))
    with transaction.atomic():
        c = _load_for_change(actor, complaint_id, expected_version)
        require_handler(actor, c)
        if c.status not in SEND_BACK_FROM or c.handler_id is None:
            raise invalid_transition(c, "send_back")
        from_state, from_version, previous = c.status, c.version, c.handler_id
        c.handler_id = None
        if c.status == S.ASSIGNED:
            c.status = S.ACCEPTED
        _save_transition(
            c, from_state=from_state, from_version=from_version, fields={"status", "handler_id"}, actor=actor,
            verb="complaint.send_back",
            data={"tracking_number": c.tracking_number, "previous_handler_id": previous, "reason": reason},
        )  # fmt: skip
        recipients = (set(supervisor_ids(c.town_id)) | {previous}) - {actor.pk}
        if recipients:
            notify(
                recipients=recipients,
                kind="complaint.send_back",
                title=format_lazy(_("投诉 {number} 被退回，待重新分派"), number=c.tracking_number),
                body=reason[:100],
                obj=c,
                payload={"status": c.status, "version": c.version},
            )
    return c


def complaint_request_statement(
    *, actor, complaint_id, question: str, due_working_days: int | None = None, expected_version: int | None = None
) -> StatementRequest:
    """Ask the institution for its account (statement_request_create), from the version the handler saw; a complaint
    still only assigned starts its investigation with it."""
    with transaction.atomic():
        c = _load_for_change(actor, complaint_id, expected_version)
        request = statement_request_create(
            actor=actor, complaint_id=c.pk, question=question, due_working_days=due_working_days
        )
        if c.status == S.ASSIGNED:
            complaint_act(actor=actor, complaint_id=c.pk, action="start", data={}, expected_version=c.version)
    return request


def complaint_ask_parent(*, actor, complaint_id, body: str, expected_version: int | None = None) -> ComplaintMessage:
    """Ask the parent for more information: a message that pauses the answer clock until the parent replies."""
    with transaction.atomic():
        c = _load_for_change(actor, complaint_id, expected_version)
        require_handler(actor, c)
        if c.status not in ASK_FROM:
            raise invalid_transition(c, "ask_parent")
        return complaint_message_post(actor=actor, complaint_id=c.pk, body=body, awaiting_parent=True)


def complaint_conclude(
    *,
    actor,
    complaint_id,
    outcome: str,
    answer: str,
    referred_to: str = "",
    template_id: int | None = None,
    expected_version: int | None = None,
) -> Complaint:
    """Conclude with an outcome and an answer (from a template when the handler leaves the text empty); an answer
    shorter than ANSWER_MIN is refused. A complaint still only assigned is started and answered at once."""
    answer = (answer or "").strip()
    if not answer and template_id:
        template = AnswerTemplate.objects.filter(pk=template_id, is_active=True).first()
        answer = template.body.strip() if template else ""
    if len(answer) < ANSWER_MIN:
        raise _field_error(
            "complaint.answer_too_short",
            "answer",
            format_lazy(
                _("答复内容至少 {min} 个字（现为 {n} 个），请写明查实情况和处理结果"), min=ANSWER_MIN, n=len(answer)
            ),
        )
    with transaction.atomic():
        c = _load_for_change(actor, complaint_id, expected_version)
        require_handler(actor, c)
        if c.status not in CONCLUDE_FROM:
            raise invalid_transition(c, "conclude")
        if c.status == S.ASSIGNED:
            c = complaint_act(actor=actor, complaint_id=c.pk, action="start", data={}, expected_version=c.version)
        data = {"outcome": outcome, "answer": answer, "referred_to": referred_to}
        return complaint_act(actor=actor, complaint_id=c.pk, action="answer", data=data, expected_version=c.version)


def complaint_press(*, actor, complaint_id, due_on: date | None, note: str, expected_version: int | None = None):
    """督办: the district supervisor presses the handler of an open complaint to act by a date. The handler is told
    (inbox), the event is audited; the complaint itself is unchanged."""
    if not has_role(actor, Role.BUREAU_ADMIN):
        raise PermissionDenied(_("只有区级督办人员可以督办"))
    note = (note or "").strip()
    if not 2 <= len(note) <= PRESS_NOTE_MAX:
        raise _field_error("complaint.press_note", "note", _("请填写督办意见（2–500 字）"))
    if due_on is None or due_on < local_today():
        raise _field_error("complaint.press_due", "due_on", _("督办期限须为今天或以后的日期"))
    with transaction.atomic():
        c = _load_for_change(actor, complaint_id, expected_version)
        require_handler(actor, c)
        if c.status not in OPEN_STATUSES:
            raise invalid_transition(c, "press")
        if c.handler_id is None:
            raise DomainError(
                "complaint.press_no_handler", _("该投诉尚未分派承办人，请先分派再督办"), status=409
            )
        audit_log(
            actor=actor,
            verb="complaint.press",
            obj=c,
            from_state=c.status,
            to_state=c.status,
            data={"handler_id": c.handler_id, "due_on": str(due_on), "note": note},
        )
        notify(
            recipients=[c.handler_id],
            kind="complaint.pressed",
            title=format_lazy(
                _("督办：投诉 {number} 请于 {due_on} 前办理"), number=c.tracking_number, due_on=f"{due_on:%Y-%m-%d}"
            ),
            body=note[:100],
            obj=c,
            payload={"status": c.status, "due_on": str(due_on)},
        )
    return c


def complaint_contact_reveal(*, actor, complaint_id) -> dict[str, str]:
    """The parent's name and phone, unmasked, for the handler who needs to call: each look is audited."""
    c = access_complaint(actor, complaint_id)
    require_handler(actor, c)
    parent = User.objects.only("name", "phone").get(pk=c.parent_id)
    personal_data_viewed(actor=actor, obj=c, fields=["parent.name", "parent.phone"])
    return {"name": parent.name, "phone": parent.phone or ""}


def answer_template_save(
    *,
    actor,
    template_id: int | None = None,
    title: str,
    body: str,
    outcome: str = "",
    is_active: bool = True,
    sort_order: int = 0,
) -> AnswerTemplate:
    """Create or change an answer template (district supervisors), audited."""
    if not has_role(actor, Role.BUREAU_ADMIN):
        raise PermissionDenied(_("只有区级管理员可以编辑答复模板"))
    title, body = (title or "").strip(), (body or "").strip()
    if not 1 <= len(title) <= 60:
        raise _field_error("answer_template.title", "title", _("请填写标题（不超过 60 字）"))
    if not ANSWER_MIN <= len(body) <= ANSWER_MAX:
        raise _field_error(
            "answer_template.body",
            "body",
            format_lazy(_("模板内容须为 {min}–{max} 字（现为 {n} 字）"), min=ANSWER_MIN, max=ANSWER_MAX, n=len(body)),
        )
    if outcome and outcome not in Outcome.values:
        raise _field_error("answer_template.outcome", "outcome", _("请选择适用的处理结果"))
    with transaction.atomic():
        if template_id is None:
            template = AnswerTemplate()
        else:
            template = AnswerTemplate.objects.select_for_update().filter(pk=template_id).first()
            if template is None:
                raise NotFound(_("答复模板不存在"))
        template.title, template.body, template.outcome = title, body, outcome
        template.is_active, template.sort_order, template.updated_by = is_active, sort_order, actor
        template.save()
        audit_log(
            actor=actor,
            verb="answer_template.save",
            obj=template,
            data={"title": title, "outcome": outcome, "is_active": is_active, "new": template_id is None},
        )
    return template
