"""Complaints under load (`make bench BENCH_ARGS="--only complaints"`), and the photo timing
(`.venv/bin/python bench/scenarios/complaints.py`).

Rows:
- `POST /api/v1/complaints` (JSON, no photos) by a parent, a new Idempotency-Key per request: each request files a
  real complaint (tracking number, routing to a handler, audit event, inbox row and push). Goal ≥ 0.3 of
  bare-insert (a durable write cannot beat the disk; the ratio to bare is reported too).
- `GET /api/v1/complaints?page_size=50`: the handler's list, 50 rows of a town with a few hundred complaints.
  Goal ≥ 0.3 of bare.

The filings go to an institution of another town than the handler's, so the list measures the same rows however
many complaints earlier runs have filed.

The photo timing runs one filing with three 4 MB JPEG photos through the API in-process and reports the time of the
request (what a web worker spends: content checks and storing) apart from the time of the cleaning task (re-encode
without EXIF, thumbnail), which a Celery worker spends after the answer has left.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.run import Endpoint  # noqa: E402

HANDLER_TOWN = "500102006"  # 敦仁街道: the handler's town, with LIST_COMPLAINTS complaints
FILING_TOWN = "500102011"  # 李渡街道: where the benchmark's filings go
LIST_COMPLAINTS = 300
BENCH_TAG = "bench-complaints"

FILING_BODY = json.dumps(
    {
        "institution_id": "{complaint_institution_id}",
        "category": "refund",
        "description": "压测：报名后机构拒绝退还剩余课时费用。",
        "occurred_at": "2026-11-20T10:00:00+08:00",
        "child_grade": "g3",
    },
    ensure_ascii=False,
).replace('"{complaint_institution_id}"', "{complaint_institution_id}")

ENDPOINTS = [
    Endpoint(
        "POST /api/v1/complaints",
        "/api/v1/complaints",
        {"Authorization": "Bearer {complaint_parent_token}"},
        goal=0.3,
        yardstick="bare-insert",
        method="POST",
        body=FILING_BODY,
        unique_headers=("Idempotency-Key",),
    ),
    Endpoint(
        "GET /api/v1/complaints 50 (handler)",
        "/api/v1/complaints?page_size=50",
        {"Authorization": "Bearer {complaint_handler_token}"},
        goal=0.3,
    ),
]


def _user(username: str, name: str, role: str, region=None):
    import secrets

    from accounts.models import AuthSession, Membership, User
    from accounts.services import auth_login

    user = User.objects.filter(username=username).first() or User.objects.create_user(username=username, name=name)
    password = secrets.token_urlsafe(24)
    user.is_active = True
    user.set_password(password)
    user.save()
    Membership.objects.get_or_create(user=user, role=role, region=region, defaults={"is_active": True})
    AuthSession.objects.filter(user=user).delete()
    return user, auth_login(identifier=username, password=password, device="bench").access_token


def _institution(name: str, town):
    from institutions.models import Institution, Status

    inst = Institution.objects.filter(name=name, found_via=BENCH_TAG).first()
    if inst is None:
        inst = Institution.objects.create(
            name=name, town=town, status=Status.LICENSED, found_via=BENCH_TAG, address="涪陵区压测路 1 号"
        )
    return inst


def setup() -> dict[str, str]:
    """A parent, a handler of 敦仁街道 with LIST_COMPLAINTS complaints, a routing rule for the filings' town."""
    from django.utils import timezone

    from accounts.models import Region, Role
    from supervision.models import Complaint, ComplaintCategory, RoutingRule

    handler_town = Region.objects.get(code=HANDLER_TOWN, valid_to__isnull=True)
    filing_town = Region.objects.get(code=FILING_TOWN, valid_to__isnull=True)
    parent, parent_token = _user("bench_parent", "压测家长", Role.PARENT)
    handler, handler_token = _user("bench_handler", "压测承办人", Role.BUREAU_STAFF, handler_town)
    filing_handler, _ = _user("bench_handler_b", "压测承办人乙", Role.BUREAU_STAFF, filing_town)
    listed = _institution("涪陵区压测投诉对象培训学校", handler_town)
    target = _institution("涪陵区压测被投诉培训中心", filing_town)
    if not RoutingRule.objects.filter(is_active=True, town=filing_town, category__isnull=True).exists():
        RoutingRule.objects.create(town=filing_town, handler=filing_handler)

    have = Complaint.objects.filter(institution=listed).count()
    categories = list(ComplaintCategory.objects.all())
    statuses = ["submitted", "accepted", "assigned", "investigating"]
    today = timezone.localdate()
    Complaint.objects.bulk_create(
        Complaint(
            tracking_number=f"TS-BENCH-{n:06d}",
            parent=parent,
            institution=listed,
            town=handler_town,
            category=categories[n % len(categories)],
            description="压测数据：列表中的一件投诉。",
            occurred_at=timezone.now(),
            status=statuses[n % len(statuses)],
            handler=handler if n % 3 else None,
            sla_phase="answer" if n % 4 else "accept",
            sla_started_on=today,
            sla_due_on=today,
            sla_warn_on=today,
        )
        for n in range(have, LIST_COMPLAINTS)
    )
    from django.db import connection

    if connection.vendor == "postgresql":  # as autovacuum would have by the time such a table serves traffic
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE supervision_complaint")
    return {
        "complaint_parent_token": parent_token,
        "complaint_handler_token": handler_token,
        "complaint_institution_id": str(target.pk),
    }


# --- Photo timing ---------------------------------------------------------------------------------------------------


def four_mb_jpeg(seed: int) -> bytes:
    """A phone-sized photo of about 4 MB: 3000×2250 of smooth colour with noise (photos compress like this)."""
    import io
    import random

    from PIL import Image, ImageFilter

    rng = random.Random(seed)
    small = Image.frombytes("RGB", (300, 225), bytes(rng.getrandbits(8) for _ in range(300 * 225 * 3)))
    image = small.resize((3000, 2250), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(1))
    noise = Image.effect_noise((3000, 2250), 40).convert("RGB")
    image = Image.blend(image, noise, 0.35)
    for quality in (96, 93, 90, 85, 80):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        if out.tell() <= 4.2 * 1024 * 1024:
            return out.getvalue()
    return out.getvalue()


def photo_timing(rounds: int = 3) -> dict:
    """Inside Django: file a complaint with three ~4 MB photos, `rounds` times; time the request and the task."""
    import statistics
    import time
    import uuid

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from core import dispatch
    from supervision.complaints import services
    from supervision.models import ComplaintPhoto

    values = setup()
    photos = [four_mb_jpeg(i) for i in range(3)]
    queued: list[int] = []
    real_enqueue = dispatch.enqueue
    dispatch.enqueue = lambda name, *, args=(), kwargs=None: queued.extend(args)  # what the broker would carry
    request_ms, task_ms = [], []
    try:
        for _ in range(rounds):
            body = {
                "institution_id": int(values["complaint_institution_id"]),
                "category": "refund",
                "description": "压测：三张 4 MB 照片的投诉。",
                "occurred_at": "2026-11-20T10:00:00+08:00",
            }
            data = {
                "payload": json.dumps(body, ensure_ascii=False),
                "photos": [SimpleUploadedFile(f"IMG_{i}.jpg", p, "image/jpeg") for i, p in enumerate(photos)],
            }
            client = Client(HTTP_HOST="127.0.0.1")
            started = time.perf_counter()
            response = client.post(
                "/api/v1/complaints",
                data,
                HTTP_AUTHORIZATION=f"Bearer {values['complaint_parent_token']}",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
                HTTP_X_FORWARDED_PROTO="https",
            )
            request_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 201, response.content
            started = time.perf_counter()
            while queued:
                services.photo_process(queued.pop())
            task_ms.append((time.perf_counter() - started) * 1000)
    finally:
        dispatch.enqueue = real_enqueue
    ready = ComplaintPhoto.objects.filter(state="ready").count()
    return {
        "photo_sizes_mb": [round(len(p) / 1024 / 1024, 2) for p in photos],
        "request_ms_median": round(statistics.median(request_ms), 1),
        "request_ms": [round(x, 1) for x in request_ms],
        "cleaning_task_ms_median": round(statistics.median(task_ms), 1),
        "photos_ready": ready,
    }


if __name__ == "__main__":
    from bench.run import timing_script

    sys.exit(
        timing_script(__file__, photo_timing, label="photos", env_extra=lambda tmp: {"MEDIA_ROOT": str(tmp / "media")})
    )
