"""Production lane: the web request only checks and stores the photos and answers; a real Celery worker process
re-encodes them afterwards (the web worker is not held while they are processed)."""

import json
import os
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from supervision.models import ComplaintPhoto
from tests.conftest import ROOT

from .conftest import complaint_body, gps_exif, image_bytes

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_photos_are_cleaned_by_a_worker_process_after_the_answer(api_as, parent, registered, settings, real_worker):
    settings.MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or ROOT / "media")  # where the worker reads and writes
    api = api_as(parent)
    photos = [SimpleUploadedFile(f"{i}.jpg", image_bytes(size=(2000, 1500), exif=gps_exif()), "image/jpeg")
              for i in range(3)]  # fmt: skip
    started = time.perf_counter()
    response = api.client.post(
        "/api/v1/complaints",
        {"payload": json.dumps(complaint_body(registered)), "photos": photos},
        **api._headers({}),
    )
    answered_in = time.perf_counter() - started
    assert response.status_code == 201, response.content
    assert [p["state"] for p in response.json()["photos"]] == ["processing"] * 3  # answered before processing
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and ComplaintPhoto.objects.filter(state="processing").exists():
        time.sleep(0.2)
    rows = list(ComplaintPhoto.objects.all())
    try:
        assert [p.state for p in rows] == ["ready"] * 3
        assert all(not p.upload and p.image and p.thumbnail for p in rows)
        assert answered_in < 5
    finally:
        for p in rows:
            for f in (p.image, p.thumbnail, p.upload):
                if f:
                    f.delete(save=False)
