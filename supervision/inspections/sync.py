"""Offline-first visits: records made on a phone without network, sent later in batches (POST /inspections/sync).

Each record carries a UUID the phone made, the phone's time and, for an edit, the version it was based on. The
answer gives each record its fate:
- applied: stored and applied to the visit;
- already_applied: this UUID was stored before (a resend): nothing changes, however many times it comes;
- conflict: the server copy changed since the base version (another inspector edited the same answer): the record
  is stored beside the server copy for review, nothing is overwritten;
- rejected: with a code and a reason (bad UUID, time in the future, coordinates outside the district, an answer of
  the wrong type or for an item not in the visit's checklist version, …): the other records are not affected.

A batch is checked in memory first (a fixed number of reads: stored UUIDs, visits, checklist items, answers,
photos), then written with bulk inserts in one transaction, so 200 records cost a few queries more than one record.
A UUID that arrives in two batches at the same instant loses the race on the unique constraint: the whole batch is
retried once and then finds the winner's copy ("already applied").

Photos go up separately (photo_upload) by UUID with their SHA-256; a visit is complete once checked out and every
photo its records name has arrived.
"""

from __future__ import annotations

import hashlib
import math
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core import uploads
from core.audit import audit_log
from core.errors import DomainError, NotFound, render
from core.idempotency import fingerprint
from core.notifications import notify
from core.policy import policy_int
from core.transitions import transition
from institutions.models import VerificationToken

from .models import (
    AnswerType,
    ChecklistAnswer,
    ChecklistItem,
    Finding,
    Inspection,
    InspectionAssignment,
    InspectionPhoto,
    InspectionStatus,
    Severity,
    VisitRecord,
)
from .permissions import access_assigned_inspection
from .selectors import inspections_visible_to

MAX_BATCH = 200
CLOCK_SKEW = timedelta(minutes=10)
# Fuling district, generously: a point outside is not on its land (the sea, a swapped latitude and longitude, 0/0).
DISTRICT_LAT = (Decimal("29.2"), Decimal("30.2"))
DISTRICT_LNG = (Decimal("106.8"), Decimal("107.9"))
KINDS = set(VisitRecord.Kind.values)
YES_NO_NA = {"yes", "no", "na"}
FINISHED = (InspectionStatus.COMPLETE, InspectionStatus.CANCELLED)
PHOTO_MAX_BYTES = 10 * 1024 * 1024


class Rejected(Exception):
    def __init__(self, code: str, message, field: str = ""):
        super().__init__(code)
        self.code, self.message, self.field = code, message, field


@dataclass
class Fate:
    uuid: str
    status: str  # applied | already_applied | conflict | rejected
    code: str = ""
    message: str = ""
    field: str = ""
    server: dict | None = None

    def as_dict(self) -> dict:
        return {
            "uuid": self.uuid,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "server": self.server,
        }


@dataclass
class _Parsed:
    index: int
    uuid: uuid_module.UUID
    inspection_id: int
    kind: str
    client_time: datetime
    base_version: int | None
    data: dict
    request_hash: str
    photo_uuids: list[uuid_module.UUID] = field(default_factory=list)


def distance_m(lat1, lng1, lat2, lng2) -> float:
    """Great-circle distance in metres (haversine): plenty for "is the phone at the premises"."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp, dl = p2 - p1, math.radians(float(lng2) - float(lng1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def _uuid(raw, field_name: str) -> uuid_module.UUID:
    try:
        return uuid_module.UUID(str(raw))
    except (ValueError, TypeError, AttributeError):
        raise Rejected("sync.bad_uuid", _("不是有效的 UUID"), field_name) from None


def _parse(index: int, raw, now: datetime) -> _Parsed:
    if not isinstance(raw, dict):
        raise Rejected("sync.bad_record", _("记录格式不正确"))
    record_uuid = _uuid(raw.get("uuid"), "uuid")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise Rejected("sync.bad_kind", _("记录类型无效"), "kind")
    inspection_id = raw.get("inspection_id")
    if not isinstance(inspection_id, int) or isinstance(inspection_id, bool) or not 0 < inspection_id < 2**63:
        raise Rejected(
            "sync.bad_inspection", _("检查编号无效"), "inspection_id"
        )
    client_time = parse_datetime(raw["client_time"]) if isinstance(raw.get("client_time"), str) else None
    if client_time is None:
        raise Rejected("sync.bad_time", _("时间格式不正确（ISO 8601）"), "client_time")
    if timezone.is_naive(client_time):
        client_time = timezone.make_aware(client_time)  # the product's time zone, as the phone shows it
    if client_time > now + CLOCK_SKEW:
        raise Rejected(
            "sync.time_in_future",
            _("记录时间晚于服务器时间 10 分钟以上，请校准手机时间"),
            "client_time",
        )
    base = raw.get("base_version")
    if base is not None and (not isinstance(base, int) or isinstance(base, bool) or base < 1):
        raise Rejected(
            "sync.bad_base_version", _("基准版本须为正整数"), "base_version"
        )
    data = raw.get("data") or {}
    if not isinstance(data, dict):
        raise Rejected("sync.bad_record", _("data 须为对象"), "data")
    photos = data.get("photo_uuids") or []
    if not isinstance(photos, list) or len(photos) > 20:
        raise Rejected(
            "sync.bad_photos", _("照片列表无效（最多 20 张）"), "photo_uuids"
        )
    photo_uuids = [_uuid(p, "data.photo_uuids") for p in photos]
    return _Parsed(
        index=index,
        uuid=record_uuid,
        inspection_id=inspection_id,
        kind=kind,
        client_time=client_time,
        base_version=base,
        data=data,
        request_hash=fingerprint(kind, inspection_id, raw.get("client_time"), base, data),
        photo_uuids=photo_uuids,
    )


def _coordinate(data: dict, name: str, bounds: tuple[Decimal, Decimal]) -> Decimal:
    try:
        value = Decimal(str(data.get(name)))
    except (InvalidOperation, ValueError):
        raise Rejected("sync.bad_coordinates", _("坐标无效"), f"data.{name}") from None
    if not value.is_finite() or not bounds[0] <= value <= bounds[1]:
        raise Rejected(
            "sync.coordinates_outside_district",
            _("坐标不在涪陵区范围内（如在海上或经纬度颠倒）"),
            f"data.{name}",
        )
    return value.quantize(Decimal("0.000001"))


def _check_answer(item: ChecklistItem, value, photo_uuids) -> None:
    kind = item.answer_type
    ok = (
        (kind == AnswerType.YES_NO_NA and isinstance(value, str) and value in YES_NO_NA)
        or (
            kind == AnswerType.NUMBER
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        )
        or (kind == AnswerType.TEXT and isinstance(value, str) and 0 < len(value) <= 2000)
        or (
            kind == AnswerType.PHOTO
            and (value is None or isinstance(value, str) and value in YES_NO_NA)
            and bool(photo_uuids)
        )
    )
    if not ok:
        expected = {
            AnswerType.YES_NO_NA: _('"yes"、"no" 或 "na"'),
            AnswerType.NUMBER: _("数值"),
            AnswerType.TEXT: _("1–2000 字的文字"),
            AnswerType.PHOTO: _("至少一张照片（photo_uuids）"),
        }[kind]
        raise Rejected(
            "sync.answer_wrong_type",
            format_lazy(_("检查项 {code} 的答案应为{expected}"), code=item.code, expected=expected),
            "data.value",
        )


def sync_batch(*, actor, records: list, lang: str = "zh") -> list[dict]:
    if not isinstance(records, list):
        raise DomainError("sync.bad_batch", _("records 须为列表"), status=422)
    if len(records) > MAX_BATCH:
        raise DomainError(
            "sync.batch_too_large",
            format_lazy(
                _("每批最多 {MAX_BATCH} 条记录，本批 {records} 条：请分批发送"),
                MAX_BATCH=MAX_BATCH,
                records=len(records),
            ),
            status=413,
            fields={"records": format_lazy(_("最多 {MAX_BATCH} 条"), MAX_BATCH=MAX_BATCH)},
        )
    try:
        with transaction.atomic():
            return _sync(actor, records, lang)
    except IntegrityError:
        # The same UUID arrived in another batch at the same instant: do it again, it is now "already applied".
        with transaction.atomic():
            return _sync(actor, records, lang)


def _sync(actor, records: list, lang: str) -> list[dict]:  # noqa: C901 - one pass over the batch, in order
    now = timezone.now()
    fates: list[Fate | None] = [None] * len(records)
    parsed: list[_Parsed] = []

    def reject(i: int, raw_uuid, err: Rejected) -> None:
        fates[i] = Fate(
            str(raw_uuid) if raw_uuid is not None else "",
            "rejected",
            err.code,
            render(err.message, lang),
            err.field,
        )

    for i, raw in enumerate(records):
        try:
            parsed.append(_parse(i, raw, now))
        except Rejected as err:
            reject(i, raw.get("uuid") if isinstance(raw, dict) else None, err)

    visit_ids = {p.inspection_id for p in parsed}
    # Only the visits the sender is assigned to: any other id is "not found", as for a visit that does not exist.
    # Locked (in id order, so two batches never deadlock) until the batch is written: two phones editing the same
    # answer at once are serialized, and the second sees the first's version (a conflict, not a lost update).
    visits = {
        v.pk: v
        for v in Inspection.objects.select_related("institution")
        .select_for_update(of=("self",))
        .filter(
            pk__in=InspectionAssignment.objects.filter(inspector_id=actor.pk, inspection_id__in=visit_ids).values(
                "inspection_id"
            )
        )
        .order_by("pk")
    }
    loaded = {pk: v.status for pk, v in visits.items()}  # the state each visit leaves when the batch is written
    stored = {
        r.client_uuid: r
        for r in VisitRecord.objects.filter(client_uuid__in=[p.uuid for p in parsed]).only(
            "client_uuid", "request_hash", "state"
        )
    }
    versions = {v.checklist_version_id for v in visits.values()}
    items = {(i.version_id, i.code): i for i in ChecklistItem.objects.filter(version_id__in=versions)}
    answers = {(a.inspection_id, a.item_id): a for a in ChecklistAnswer.objects.filter(inspection_id__in=visits)}
    known_photos = set(
        InspectionPhoto.objects.filter(uuid__in=[u for p in parsed for u in p.photo_uuids]).values_list(
            "uuid", flat=True
        )
    )
    flag_m = policy_int("checkin_distance_flag_m")

    new_records: list[VisitRecord] = []
    new_answers: list[tuple[ChecklistAnswer, VisitRecord]] = []
    changed_answers: dict[int, tuple[ChecklistAnswer, VisitRecord]] = {}
    new_findings: list[tuple[Finding, VisitRecord]] = []
    new_photos: dict[uuid_module.UUID, InspectionPhoto] = {}
    touched: dict[int, Inspection] = {}
    seen: dict[uuid_module.UUID, str] = {}

    for p in sorted(parsed, key=lambda p: (p.client_time, p.index)):
        uid = str(p.uuid)
        earlier = stored.get(p.uuid)
        earlier_hash = earlier.request_hash if earlier else seen.get(p.uuid)
        if earlier_hash is not None:
            if earlier_hash != p.request_hash:
                reject(
                    p.index,
                    uid,
                    Rejected(
                        "sync.uuid_reused",
                        _("该 UUID 已用于另一条不同的记录"),
                    ),
                )
            else:
                fates[p.index] = Fate(uid, "already_applied")
            continue
        visit = visits.get(p.inspection_id)
        try:
            if visit is None:
                raise Rejected("not_found", _("检查不存在"), "inspection_id")
            if visit.status in FINISHED:
                raise Rejected(
                    "sync.visit_closed", _("检查已完成或已取消，不能再记录")
                )
            record = VisitRecord(
                client_uuid=p.uuid,
                inspection=visit,
                author=actor,
                kind=p.kind,
                payload=p.data,
                request_hash=p.request_hash,
                client_time=p.client_time,
                base_version=p.base_version,
            )
            conflict = _apply(p, visit, record, items, answers, new_answers, changed_answers, new_findings, flag_m)
        except Rejected as err:
            reject(p.index, uid, err)
            continue
        for photo_uuid in p.photo_uuids:
            if photo_uuid not in known_photos and photo_uuid not in new_photos:
                new_photos[photo_uuid] = InspectionPhoto(uuid=photo_uuid, inspection=visit)
        seen[p.uuid] = p.request_hash
        new_records.append(record)
        touched[visit.pk] = visit
        if conflict is not None:
            record.state, record.server_copy = VisitRecord.State.CONFLICT, conflict
            fates[p.index] = Fate(uid, "conflict", "sync.conflict", "", "", conflict)
        else:
            visit.version += 1
            fates[p.index] = Fate(uid, "applied")

    if new_records:
        VisitRecord.objects.bulk_create(new_records)
        for answer, record in new_answers:
            answer.record_id = record.pk
        ChecklistAnswer.objects.bulk_create([a for a, _ in new_answers])
        for answer, record in changed_answers.values():
            answer.record_id = record.pk
        ChecklistAnswer.objects.bulk_update(
            [a for a, _ in changed_answers.values()],
            ["value", "comment", "version", "record", "answered_by", "answered_at"],
        )
        for finding, record in new_findings:
            finding.record_id = record.pk
        Finding.objects.bulk_create([f for f, _ in new_findings])
        InspectionPhoto.objects.bulk_create(new_photos.values())
        for visit in touched.values():
            _save_visit(actor, visit, loaded[visit.pk])
    return [f.as_dict() for f in fates]


def _apply(p, visit, record, items, answers, new_answers, changed_answers, new_findings, flag_m) -> dict | None:
    """Apply one record to the in-memory visit; a dict (the server copy) when it conflicts, else None."""
    data = p.data
    if p.kind == VisitRecord.Kind.CHECKIN:
        # No position (permission refused, no fix indoors): checked in all the same, flagged for review, unless the
        # institution's poster QR code scanned on the premises proves presence (its live token, kept in the record).
        located = data.get("latitude") is not None or data.get("longitude") is not None
        lat = _coordinate(data, "latitude", DISTRICT_LAT) if located else None
        lng = _coordinate(data, "longitude", DISTRICT_LNG) if located else None
        qr_token = data.get("qr_token")
        if qr_token is not None and (not isinstance(qr_token, str) or not 0 < len(qr_token) <= 40):
            raise Rejected("sync.bad_qr_token", _("核验码格式不正确"), "data.qr_token")
        proven = bool(qr_token) and VerificationToken.objects.filter(
            institution_id=visit.institution_id, token=qr_token, revoked_at__isnull=True
        ).exists()
        if qr_token and not proven:
            raise Rejected("sync.qr_token_mismatch", _("扫描的核验码不是本机构的有效核验码"), "data.qr_token")
        if visit.checkin_at is not None:
            return {"checkin_at": visit.checkin_at.isoformat(), "version": visit.version}
        visit.checkin_at, visit.checkin_latitude, visit.checkin_longitude = p.client_time, lat, lng
        inst = visit.institution
        visit.checkin_flagged = not located and not proven
        if located and inst.latitude is not None and inst.longitude is not None:
            visit.checkin_distance_m = round(distance_m(lat, lng, inst.latitude, inst.longitude))
            # flagged for review, never refused; the poster's code on the premises outweighs a poor GPS fix
            visit.checkin_flagged = visit.checkin_distance_m > flag_m and not proven
        if visit.status == InspectionStatus.ASSIGNED:
            visit.status = InspectionStatus.IN_PROGRESS
        return None
    if p.kind == VisitRecord.Kind.ANSWER:
        item = items.get((visit.checklist_version_id, data.get("item_code")))
        if item is None:
            raise Rejected(
                "sync.unknown_item",
                _("该检查项不在本次检查使用的检查表版本中"),
                "data.item_code",
            )
        _check_answer(item, data.get("value"), p.photo_uuids)
        comment = data.get("comment") or ""
        if not isinstance(comment, str) or len(comment) > 1000:
            raise Rejected("sync.bad_comment", _("备注最多 1000 字"), "data.comment")
        current = answers.get((visit.pk, item.pk))
        if current is not None and p.base_version != current.version:
            return {"item_code": item.code, "value": current.value, "version": current.version}
        if current is None and p.base_version is not None:
            return {"item_code": item.code, "value": None, "version": 0}
        if current is None:
            current = ChecklistAnswer(inspection=visit, item=item, version=0)
            answers[(visit.pk, item.pk)] = current
            new_answers.append((current, record))
        else:
            changed_answers[current.pk] = (current, record)
        current.value, current.comment = data.get("value"), comment
        current.version += 1
        current.answered_by_id, current.answered_at = record.author_id, p.client_time
        return None
    if p.kind == VisitRecord.Kind.NOTE:
        text = data.get("text")
        if not isinstance(text, str) or not 0 < len(text) <= 2000:
            raise Rejected("sync.bad_note", _("备注须为 1–2000 字"), "data.text")
        visit.notes = (visit.notes + "\n" + text).strip()[:4000]
        return None
    if p.kind == VisitRecord.Kind.FINDING:
        item = None
        if data.get("item_code"):
            item = items.get((visit.checklist_version_id, data.get("item_code")))
            if item is None:
                raise Rejected(
                    "sync.unknown_item",
                    _("该检查项不在本次检查表版本中"),
                    "data.item_code",
                )
        rule_id = data.get("rule_id") or (item.rule_id if item else "")
        if item is None and not rule_id:
            raise Rejected("sync.finding_unnamed", _("问题须指明检查项或规则"), "data.item_code")
        severity = data.get("severity") or (item.severity if item else "")
        description = data.get("description")
        if severity not in Severity.values:
            raise Rejected("sync.bad_severity", _("严重程度无效"), "data.severity")
        if not isinstance(description, str) or not 0 < len(description) <= 2000:
            raise Rejected("sync.bad_description", _("问题描述须为 1–2000 字"), "data.description")
        public = bool(data.get("public", item.public if item else True))
        finding = Finding(
            inspection=visit,
            institution_id=visit.institution_id,
            item=item,
            rule_id=str(rule_id)[:20],
            severity=severity,
            description=description,
            public=public,
        )
        new_findings.append((finding, record))
        return None
    if p.kind == VisitRecord.Kind.ACKNOWLEDGE:
        name = data.get("name")
        if not isinstance(name, str) or not 0 < len(name) <= 50:
            raise Rejected("sync.bad_acknowledgement", _("确认人姓名须为 1–50 字"), "data.name")
        if visit.acknowledged_at is not None:
            return {"acknowledged_by": visit.acknowledged_by, "version": visit.version}
        visit.acknowledged_by, visit.acknowledged_at = name, p.client_time
        return None
    # checkout
    if visit.checkin_at is None:
        raise Rejected("sync.checkout_before_checkin", _("尚未签到，不能签退"))
    if visit.checkout_at is not None:
        return {"checkout_at": visit.checkout_at.isoformat(), "version": visit.version}
    visit.checkout_at = p.client_time
    return None


SYNCED_FIELDS = (
    "version", "checkin_at", "checkin_latitude", "checkin_longitude", "checkin_distance_m", "checkin_flagged",
    "notes", "acknowledged_by", "acknowledged_at", "checkout_at", "completed_at",
)  # fmt: skip


def _save_visit(actor, visit: Inspection, before: str) -> None:
    """Write what the batch changed on the (locked) visit; a change of state goes through the one transition."""
    to, visit.completed_at = _settled(visit)
    fields = {name: getattr(visit, name) for name in SYNCED_FIELDS}
    if to == before:
        Inspection.objects.filter(pk=visit.pk).update(**fields)
        return
    visit.status = before
    transition(visit, actor=actor, verb="inspection.status", allowed_from=before, to=to, fields=fields)


def _settled(visit: Inspection) -> tuple[str, datetime | None]:
    """(state, completed_at) of a visit once its records are in. Checked out and every named photo arrived:
    complete. Checked out with photos missing: awaiting them."""
    if visit.checkout_at is None or visit.status in FINISHED:
        return visit.status, visit.completed_at
    if InspectionPhoto.objects.filter(inspection_id=visit.pk, received=False).exists():
        return InspectionStatus.AWAITING_PHOTOS, visit.completed_at
    return InspectionStatus.COMPLETE, timezone.now()


# --- Photos --------------------------------------------------------------------------------------------------------


def photo_upload(*, actor, inspection_id: int, photo_uuid: str, sha256: str, upload) -> tuple[InspectionPhoto, bool]:
    """(photo, stored now). The same content under the same UUID again: accepted, no copy. Other content under a
    used UUID: 409. A hash that does not match the bytes: 422 (a broken upload; send it again)."""
    try:
        key = uuid_module.UUID(str(photo_uuid))
    except ValueError:
        raise DomainError("sync.bad_uuid", _("不是有效的 UUID"), status=422, fields={"uuid": _("格式不正确")}) from None
    sha256 = (sha256 or "").strip().lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise DomainError(
            "photo.bad_hash", _("sha256 须为 64 位十六进制"), status=422,
            fields={"sha256": _("格式不正确")},
        )  # fmt: skip
    access_assigned_inspection(actor, inspection_id)
    if upload.size > PHOTO_MAX_BYTES:
        raise DomainError("photo.too_large", _("照片不能超过 10 MB"), status=413)
    content = upload.read()
    if hashlib.sha256(content).hexdigest() != sha256:
        raise DomainError(
            "photo.hash_mismatch",
            _("照片内容与 sha256 不符（上传可能中断），请重新上传"),
            status=422,
            fields={"sha256": _("与内容不符")},
        )
    existing = InspectionPhoto.objects.filter(uuid=key).first()
    if existing is not None and existing.inspection_id != inspection_id:
        raise DomainError("photo.uuid_taken", _("该 UUID 已用于其他照片"), status=409)
    if existing is not None and existing.received:
        if existing.sha256 == sha256:
            return existing, False
        raise DomainError("photo.uuid_taken", _("该 UUID 已上传过不同内容的照片"), status=409)
    upload.seek(0)
    checked = uploads.check_image(upload, max_bytes=PHOTO_MAX_BYTES)
    upload.seek(0)
    kept, _thumb, _size = uploads.clean_image(upload)  # no EXIF: phones put GPS in photos
    name = default_storage.save(f"inspections/photos/{uploads.random_name('jpg')}", ContentFile(kept))
    with transaction.atomic():
        photo, _unused = InspectionPhoto.objects.select_for_update().get_or_create(
            uuid=key, defaults={"inspection_id": inspection_id}
        )
        if photo.received:  # a twin request won: keep its copy
            default_storage.delete(name)
            if photo.sha256 != sha256:
                raise DomainError("photo.uuid_taken", _("该 UUID 已上传过不同内容"), status=409)
            return photo, False
        photo.sha256, photo.received, photo.image = sha256, True, name
        photo.content_type, photo.size = checked.content_type, checked.size
        photo.uploaded_by, photo.received_at = actor, timezone.now()
        photo.save()
        visit = Inspection.objects.select_for_update().get(pk=inspection_id)
        to, completed_at = _settled(visit)
        if to != visit.status:
            transition(
                visit, actor=actor, verb="inspection.status", allowed_from=visit.status, to=to,
                fields={"completed_at": completed_at, "version": F("version") + 1},
            )  # fmt: skip
    return photo, True


# --- Conflicts: both copies kept for review, then resolved by a reviewer ------------------------------------------


def _server_now(record: VisitRecord, visit: Inspection, answer: ChecklistAnswer | None) -> dict:
    """What the server holds now for what the conflicting record wanted to change."""
    if record.kind == VisitRecord.Kind.ANSWER:
        if answer is None:
            return {"item_code": record.payload.get("item_code"), "value": None, "version": 0}
        return {"item_code": answer.item.code, "value": answer.value, "comment": answer.comment,
                "version": answer.version}  # fmt: skip
    if record.kind == VisitRecord.Kind.CHECKIN:
        return {
            "checkin_at": visit.checkin_at.isoformat() if visit.checkin_at else None,
            "latitude": str(visit.checkin_latitude) if visit.checkin_latitude is not None else None,
            "longitude": str(visit.checkin_longitude) if visit.checkin_longitude is not None else None,
            "version": visit.version,
        }
    if record.kind == VisitRecord.Kind.ACKNOWLEDGE:
        return {"acknowledged_by": visit.acknowledged_by, "version": visit.version}
    return {"checkout_at": visit.checkout_at.isoformat() if visit.checkout_at else None, "version": visit.version}


def conflict_rows(records: list[VisitRecord]) -> list[dict]:
    """A page of conflicts with the server copy at the time, the phone's copy and what the server holds now: one query
    for the current answers, whatever the page size."""
    wanted = {(r.inspection_id, r.payload.get("item_code")) for r in records if r.kind == VisitRecord.Kind.ANSWER}
    answers: dict[tuple[int, str], ChecklistAnswer] = {}
    if wanted:
        for a in ChecklistAnswer.objects.filter(
            inspection_id__in={i for i, _ in wanted}, item__code__in={c for _, c in wanted if isinstance(c, str)}
        ).select_related("item"):
            answers[(a.inspection_id, a.item.code)] = a
    return [
        {
            "uuid": str(r.client_uuid),
            "inspection_id": r.inspection_id,
            "institution_name": r.inspection.institution.name,
            "kind": r.kind,
            "author_id": r.author_id,
            "author_name": r.author.name,
            "client_time": r.client_time,
            "received_at": r.received_at,
            "base_version": r.base_version,
            "client": r.payload,
            "server_then": r.server_copy,
            "server_now": _server_now(r, r.inspection, answers.get((r.inspection_id, r.payload.get("item_code")))),
            "resolved": r.resolved,
            "resolution": r.resolution,
            "resolved_value": r.resolved_value,
            "resolved_by_id": r.resolved_by_id,
            "resolved_at": r.resolved_at,
            "resolution_note": r.resolution_note,
        }
        for r in records
    ]


NO_VALUE = object()


def _resolve_error(code: str, message, field: str = "value", status: int = 422) -> DomainError:
    return DomainError(code, message, status=status, fields={field: message})


def conflict_resolve(
    *, actor, record_uuid: str, choice: str, value=NO_VALUE, note: str = "", server_version: int | None = None
) -> tuple[VisitRecord, bool]:
    """(record, resolved now). A reviewer (an inspector on the visit, or bureau staff of its town) settles a conflict
    by keeping the server copy, taking the phone's copy, or giving a merged value (answers and acknowledgements).
    Audited. The same resolution again is answered with the first (nothing changes); another one is a 409. With
    `server_version` (the `server_now.version` the reviewer looked at), a server copy changed since is a 409: the
    reviewer decides again on what is there now."""
    try:
        key = uuid_module.UUID(str(record_uuid))
    except ValueError:
        raise _resolve_error("sync.bad_uuid", _("不是有效的 UUID"), "uuid") from None
    if choice not in VisitRecord.Resolution.values:
        raise _resolve_error(
            "conflict.bad_choice", _("请选择 server、client 或 merged"), "choice"
        )
    if choice == VisitRecord.Resolution.MERGED and value is NO_VALUE:
        raise _resolve_error("conflict.value_required", _("合并须给出合并后的值"))
    if choice != VisitRecord.Resolution.MERGED and value is not NO_VALUE:
        raise _resolve_error(
            "conflict.value_unexpected", _("仅合并时填写 value")
        )
    note = (note or "").strip()[:500]
    with transaction.atomic():
        found = (
            VisitRecord.objects.filter(client_uuid=key, state=VisitRecord.State.CONFLICT)
            .filter(inspection__in=inspections_visible_to(actor))
            .values_list("pk", "inspection_id")
            .first()
        )
        if found is None:
            raise NotFound(_("冲突记录不存在"))
        # The visit first, as a sync batch does, then the record: a sync and a review of one visit take turns.
        visit = Inspection.objects.select_for_update(of=("self",)).select_related("institution").get(pk=found[1])
        record = VisitRecord.objects.select_for_update().get(pk=found[0])
        if record.resolved:
            same = record.resolution == choice and (
                choice != VisitRecord.Resolution.MERGED or record.resolved_value == _merged_shape(record, value)
            )
            if same:
                return record, False
            raise DomainError(
                "conflict.already_resolved",
                _("该冲突已处理，不能再次处理"),
                status=409,
                fields={"resolution": (record.resolution, record.resolution)},
            )
        if visit.status == InspectionStatus.CANCELLED:
            raise DomainError("sync.visit_closed", _("检查已取消"), status=409)
        if server_version is not None:
            now = _server_now(record, visit, _locked_answer(record, visit))
            if now["version"] != server_version:
                raise DomainError(
                    "conflict.server_changed",
                    _("服务器上的内容在您查看后又有变化，请刷新后重新处理"),
                    status=409,
                    fields={"server_version": format_lazy(_("当前版本 {version}"), version=now["version"])},
                )
        try:
            in_force = _apply_resolution(actor, record, visit, choice, value)
        except Rejected as err:
            raise _resolve_error(err.code, err.message, "value") from None
        record.resolved, record.resolution, record.resolved_value = True, choice, in_force
        record.resolution_note, record.resolved_by, record.resolved_at = note, actor, timezone.now()
        record.save(
            update_fields=["resolved", "resolution", "resolved_value", "resolution_note", "resolved_by", "resolved_at"]
        )
        audit_log(
            actor=actor,
            verb="inspection.conflict_resolve",
            obj=visit,
            from_state=VisitRecord.State.CONFLICT,
            to_state=choice,
            data={
                "record": str(record.client_uuid),
                "kind": record.kind,
                "author": record.author_id,
                "server_then": record.server_copy,
                "client": record.payload,
                "in_force": in_force,
                "note": note,
            },
        )
        if record.author_id != actor.pk:
            notify(
                recipients=[record.author_id],
                kind="inspection.conflict_resolved",
                title=_("同步冲突已处理"),
                body={"server": _("保留服务器版本"), "client": _("采用您的版本"), "merged": _("采用合并后的值")}[
                    choice
                ],
                obj=visit,
                payload={"inspection_id": visit.pk, "uuid": str(record.client_uuid), "resolution": choice},
            )
    return record, True


def _merged_shape(record: VisitRecord, value):
    """How a merged value is stored in resolved_value (for comparing a repeated resolution)."""
    if record.kind == VisitRecord.Kind.ANSWER:
        return {"item_code": record.payload.get("item_code"), "value": value}
    return {"acknowledged_by": value.strip() if isinstance(value, str) else value}


def _locked_answer(record: VisitRecord, visit: Inspection) -> ChecklistAnswer | None:
    if record.kind != VisitRecord.Kind.ANSWER:
        return None
    return (
        ChecklistAnswer.objects.select_for_update()
        .select_related("item")
        .filter(
            inspection=visit, item__version_id=visit.checklist_version_id, item__code=record.payload.get("item_code")
        )
        .first()
    )


def _apply_resolution(actor, record: VisitRecord, visit: Inspection, choice: str, value) -> dict:
    """Make the chosen copy the one in force; returns it (as stored in resolved_value)."""
    payload = record.payload
    server = choice == VisitRecord.Resolution.SERVER
    if record.kind == VisitRecord.Kind.ANSWER:
        item = ChecklistItem.objects.filter(
            version_id=visit.checklist_version_id, code=payload.get("item_code")
        ).first()
        answer = (
            ChecklistAnswer.objects.select_for_update().filter(inspection=visit, item=item).first() if item else None
        )
        if server:
            return {"item_code": payload.get("item_code"), "value": answer.value if answer else None}
        new_value = payload.get("value") if choice == VisitRecord.Resolution.CLIENT else value
        photos = [str(u) for u in (payload.get("photo_uuids") or [])]
        if item is None:
            raise Rejected("sync.unknown_item", _("该检查项不在本次检查表版本中"))
        _check_answer(item, new_value, photos)
        if answer is None:
            answer = ChecklistAnswer(inspection=visit, item=item, version=0)
        # The phone's copy brings its comment; a merged value keeps the comment the server had.
        comment = (payload.get("comment") or "") if choice == VisitRecord.Resolution.CLIENT else answer.comment
        answer.value, answer.comment, answer.version = new_value, str(comment)[:1000], answer.version + 1
        answer.record, answer.answered_at = record, timezone.now()
        answer.answered_by_id = record.author_id if choice == VisitRecord.Resolution.CLIENT else actor.pk
        answer.save()
        _bump(visit)
        return {"item_code": item.code, "value": new_value}
    if record.kind == VisitRecord.Kind.ACKNOWLEDGE:
        if server:
            return {"acknowledged_by": visit.acknowledged_by}
        name = payload.get("name") if choice == VisitRecord.Resolution.CLIENT else value
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 50:
            raise _resolve_error("sync.bad_acknowledgement", _("确认人姓名须为 1–50 字"))
        visit.acknowledged_by, visit.acknowledged_at = name.strip(), record.client_time
        _bump(visit, "acknowledged_by", "acknowledged_at")
        return {"acknowledged_by": visit.acknowledged_by}
    if choice == VisitRecord.Resolution.MERGED:
        raise _resolve_error(
            "conflict.merge_not_supported",
            _("签到、签退只能保留服务器版本或采用手机版本"),
            "choice",
        )
    if record.kind == VisitRecord.Kind.CHECKIN:
        if not server:
            lat = _coordinate(payload, "latitude", DISTRICT_LAT)
            lng = _coordinate(payload, "longitude", DISTRICT_LNG)
            visit.checkin_at, visit.checkin_latitude, visit.checkin_longitude = record.client_time, lat, lng
            inst = visit.institution
            if inst.latitude is not None and inst.longitude is not None:
                visit.checkin_distance_m = round(distance_m(lat, lng, inst.latitude, inst.longitude))
                visit.checkin_flagged = visit.checkin_distance_m > policy_int("checkin_distance_flag_m")
            _bump(visit, "checkin_at", "checkin_latitude", "checkin_longitude", "checkin_distance_m", "checkin_flagged")
        return {
            "checkin_at": visit.checkin_at.isoformat() if visit.checkin_at else None,
            "latitude": str(visit.checkin_latitude) if visit.checkin_latitude is not None else None,
            "longitude": str(visit.checkin_longitude) if visit.checkin_longitude is not None else None,
        }
    # checkout
    if not server:
        visit.checkout_at = record.client_time
        _bump(visit, "checkout_at")
    return {"checkout_at": visit.checkout_at.isoformat() if visit.checkout_at else None}


def _bump(visit: Inspection, *fields: str) -> None:
    visit.version += 1
    visit.save(update_fields=["version", *fields])
