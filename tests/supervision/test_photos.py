"""Photos: checked by content, stored under random names, cleaned of EXIF (GPS) by a task off the request path,
served only to those who may see the complaint, with a thumbnail; bad files refused; no half-filed complaint."""

import io
import json
import os
import random
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from supervision.models import Complaint, ComplaintPhoto
from tests.conftest import assert_error

from .conftest import complaint_body, gps_exif, image_bytes, new_key

pytestmark = pytest.mark.django_db


def upload(name, data, content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def file_with_photos(api, institution, photos, key=None, **extra):
    headers = api._headers({"HTTP_IDEMPOTENCY_KEY": key} if key else {})
    data = {"payload": json.dumps(complaint_body(institution, **extra)), "photos": photos}
    return api.client.post("/api/v1/complaints", data, **headers)


def noisy_jpeg(side=400, quality=90) -> bytes:
    rng = random.Random(side)
    image = Image.frombytes("RGB", (side, side), bytes(rng.getrandbits(8) for _ in range(side * side * 3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_photos_are_cleaned_of_exif_and_gps_and_served_with_a_thumbnail(
    api_as, parent, registered, django_capture_on_commit_callbacks
):
    original = image_bytes("JPEG", size=(1200, 900), exif=gps_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the upload does carry a GPS position
    api = api_as(parent)
    with django_capture_on_commit_callbacks(execute=True):
        response = file_with_photos(
            api, registered, [upload("IMG_0001.jpg", original), upload("s.png", image_bytes("PNG"), "image/png")]
        )
    assert response.status_code == 201, response.content
    assert len(response.json()["photos"]) == 2
    photos = list(ComplaintPhoto.objects.order_by("position"))
    assert [p.state for p in photos] == ["ready", "ready"]
    for p in photos:
        assert not p.upload  # the original upload is gone once cleaned
        assert "IMG_0001" not in p.image.name and len(Path(p.image.name).stem) == 32  # a random name
    assert not any("incoming" in str(f) for f in stored_files())

    detail = api.get(f"complaints/{response.json()['id']}").json()
    full = api.get(detail["photos"][0]["url"])
    assert full.status_code == 200 and full["Content-Type"] == "image/jpeg"
    served = Image.open(io.BytesIO(b"".join(full.streaming_content)))
    assert served.size == (1200, 900)
    exif = served.getexif()
    assert len(exif) == 0 and not exif.get_ifd(0x8825)  # no EXIF, no GPS
    thumb = api.get(detail["photos"][0]["thumbnail_url"])
    assert max(Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size) <= 320


def test_photos_are_served_only_to_those_who_may_see_the_complaint(
    api_as, parent, other_parent, inst_staff, staff_b, staff_a, registered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = file_with_photos(api_as(parent), registered, [upload("a.jpg", image_bytes())])
    c = Complaint.objects.get(pk=response.json()["id"])
    url = f"complaints/{c.pk}/photos/{c.photos.get().pk}"
    served = api_as(staff_a).get(url)
    assert served.status_code == 200
    # Inline (a re-encoded JPEG, viewed in a tab), but inert: its own sandbox, and no sniffing of the type.
    assert served["Content-Disposition"].startswith("inline; filename=")
    assert served["Content-Security-Policy"].startswith("sandbox") and served["X-Content-Type-Options"] == "nosniff"
    for outsider in (other_parent, inst_staff, staff_b):
        assert_error(api_as(outsider).get(url), 404)
        assert_error(api_as(outsider).get(url + "?size=thumb"), 404)


def test_the_heavy_photo_work_runs_after_the_request_in_a_task(api_as, parent, registered, monkeypatch):
    """The request only checks the photo and stores it; re-encoding and thumbnails are queued for a worker."""
    from supervision import tasks

    queued = []
    monkeypatch.setattr(tasks.process_complaint_photo, "apply_async", lambda args=(), **kw: queued.extend(args))
    response = file_with_photos(api_as(parent), registered, [upload("a.jpg", noisy_jpeg())] * 1)
    assert response.status_code == 201
    photo = ComplaintPhoto.objects.get()
    assert photo.state == "processing" and not photo.image  # nothing was re-encoded during the request
    assert response.json()["photos"] == [{"id": photo.pk, "state": "processing"}]
    # Not served while processing.
    assert_error(api_as(parent).get(f"complaints/{photo.complaint_id}/photos/{photo.pk}"), 404)


def test_the_photo_task_is_idempotent(api_as, parent, registered, monkeypatch):
    from supervision import tasks
    from supervision.complaints.services import photo_process

    monkeypatch.setattr(tasks.process_complaint_photo, "apply_async", lambda *a, **kw: None)
    file_with_photos(api_as(parent), registered, [upload("a.jpg", image_bytes())])
    photo = ComplaintPhoto.objects.get()
    assert photo_process(photo.pk) == "ready"
    assert photo_process(photo.pk) == "nothing to do"
    assert len([f for f in stored_files() if "complaints" in str(f)]) == 2  # the clean copy and its thumbnail


def test_a_truncated_image_is_refused(api_as, parent, registered):
    whole = noisy_jpeg()
    error = assert_error(
        file_with_photos(api_as(parent), registered, [upload("cut.jpg", whole[: len(whole) * 2 // 3])]),
        422,
        "upload.truncated",
    )
    assert "photos.0" in error["fields"]
    assert Complaint.objects.count() == 0 and not stored_files()


def test_a_file_that_claims_to_be_a_jpeg_but_is_not(api_as, parent, registered):
    fake = upload("photo.jpg", b"MZ\x90\x00 this is an executable, not a photo" * 20)
    assert_error(file_with_photos(api_as(parent), registered, [fake]), 415, "upload.not_an_image")
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    assert_error(
        file_with_photos(api_as(parent), registered, [upload("x.jpg", gif.getvalue())]), 415, "upload.unsupported_type"
    )
    assert Complaint.objects.count() == 0


def test_a_truncated_image_is_refused_even_where_pillow_was_told_to_load_them(api_as, parent, registered, monkeypatch):
    """weasyprint (the fee statements' PDFs) sets Pillow's process-wide LOAD_TRUNCATED_IMAGES when imported."""
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    whole = noisy_jpeg()
    response = file_with_photos(api_as(parent), registered, [upload("cut.jpg", whole[: len(whole) * 2 // 3])])
    assert_error(response, 422, "upload.truncated")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the process-wide setting is left as it was
    assert not Complaint.objects.exists()


def test_a_decompression_bomb_is_refused_before_decoding(api_as, parent, registered):
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 megapixels in a few kilobytes
    assert len(bomb.getvalue()) < 200_000
    error = assert_error(
        file_with_photos(api_as(parent), registered, [upload("bomb.png", bomb.getvalue(), "image/png")]),
        413,
        "upload.too_many_pixels",
    )
    assert "25" in error["message"]  # says the limit (25 megapixels)
    huge = io.BytesIO()
    Image.new("1", (9_000, 9_000)).save(huge, "PNG")  # 81 megapixels: under Pillow's own alarm, over ours
    error = assert_error(
        file_with_photos(api_as(parent), registered, [upload("huge.png", huge.getvalue(), "image/png")]), 413
    )
    assert "9000×9000" in error["message"]
    assert Complaint.objects.count() == 0


def test_a_105_kb_png_of_36_megapixels_is_refused_at_once(api_as, parent, registered):
    plain = io.BytesIO()
    Image.new("RGB", (6000, 6000), (250, 250, 250)).save(plain, "PNG", optimize=True)
    assert len(plain.getvalue()) < 200_000
    api = api_as(parent)
    api.get("complaints")  # the first request loads the API: not what is measured
    started = time.perf_counter()
    response = file_with_photos(api, registered, [upload("plain.png", plain.getvalue(), "image/png")])
    elapsed = time.perf_counter() - started
    assert "6000×6000" in assert_error(response, 413, "upload.too_many_pixels")["message"]
    assert elapsed < 1.0, f"{elapsed:.2f} s"  # was accepted, after 4.6 s of decoding, with the 40 MP limit
    assert Complaint.objects.count() == 0


def test_a_tenth_photo_is_refused(api_as, parent, registered):
    photos = [upload(f"{i}.jpg", image_bytes()) for i in range(10)]
    error = assert_error(file_with_photos(api_as(parent), registered, photos), 422, "complaint.too_many_photos")
    assert "9" in error["message"]
    assert Complaint.objects.count() == 0 and not stored_files()


def test_nine_photos_are_fine(api_as, parent, registered, django_capture_on_commit_callbacks):
    photos = [upload(f"{i}.jpg", image_bytes(color=(i * 20, 0, 0))) for i in range(9)]
    with django_capture_on_commit_callbacks(execute=True):
        response = file_with_photos(api_as(parent), registered, photos)
    assert response.status_code == 201
    assert ComplaintPhoto.objects.filter(state="ready").count() == 9


def test_a_20_mb_photo_is_refused(api_as, parent, registered):
    big = upload("big.jpg", b"\xff\xd8\xff\xe0" + os.urandom(20 * 1024 * 1024))
    error = assert_error(file_with_photos(api_as(parent), registered, [big]), 413, "upload.too_large")
    assert "10 MB" in error["message"]
    assert Complaint.objects.count() == 0


def test_a_failure_while_storing_a_photo_leaves_no_half_filed_complaint(api_as, parent, registered, monkeypatch):
    real_save = default_storage.save
    calls = []

    def failing_save(name, content, *args, **kwargs):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(name, content, *args, **kwargs)

    monkeypatch.setattr(default_storage, "save", failing_save)
    response = file_with_photos(
        api_as(parent), registered, [upload("1.jpg", image_bytes()), upload("2.jpg", image_bytes())], key=new_key()
    )
    assert_error(response, 503, "upload.storage_failed")
    assert Complaint.objects.count() == 0 and ComplaintPhoto.objects.count() == 0
    assert not stored_files()  # the first photo, stored before the failure, was removed
    # The retry with the same key then works: nothing of the failed attempt is in the way.
    monkeypatch.setattr(default_storage, "save", real_save)
    assert file_with_photos(api_as(parent), registered, [upload("1.jpg", image_bytes())]).status_code == 201


def test_a_retry_with_photos_and_the_same_key_stores_nothing_twice(api_as, parent, registered, monkeypatch):
    from supervision import tasks

    monkeypatch.setattr(tasks.process_complaint_photo, "apply_async", lambda *a, **kw: None)
    key, api = new_key(), api_as(parent)
    first = file_with_photos(api, registered, [upload("1.jpg", image_bytes())], key=key)
    files_after_first = len(stored_files())
    again = file_with_photos(api, registered, [upload("1.jpg", image_bytes())], key=key)
    assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert len(stored_files()) == files_after_first and ComplaintPhoto.objects.count() == 1


def test_a_multipart_filing_without_payload(api_as, parent):
    api = api_as(parent)
    response = api.client.post("/api/v1/complaints", {"photos": [upload("a.jpg", image_bytes())]}, **api._headers({}))
    assert_error(response, 422, "request.invalid")


def test_a_malformed_or_overfull_multipart_body_is_a_clear_error(api_as, parent, registered, settings):
    api = api_as(parent)
    broken = api.raw("post", "complaints", b"--xx\r\nnot a part", content_type="multipart/form-data; boundary=xx")
    assert broken.status_code in (400, 422) and broken.json()["error"]["code"]
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    photos = [upload(f"{i}.jpg", image_bytes()) for i in range(5)]
    assert_error(file_with_photos(api, registered, photos), 400, "request.bad_multipart")
    assert Complaint.objects.count() == 0


def test_a_photo_that_passes_the_checks_but_will_not_decode_is_marked_and_the_parent_told(
    api_as, parent, registered, monkeypatch
):
    from core.models import Notification
    from supervision import tasks
    from supervision.complaints import services

    monkeypatch.setattr(tasks.process_complaint_photo, "apply_async", lambda *a, **kw: None)
    file_with_photos(api_as(parent), registered, [upload("a.jpg", image_bytes())])
    photo = ComplaintPhoto.objects.get()

    def broken(_source):
        raise OSError("broken data stream")

    monkeypatch.setattr(services.uploads, "clean_image", broken)
    assert services.photo_process(photo.pk) == "failed"
    photo.refresh_from_db()
    assert photo.state == "failed" and not photo.upload and not stored_files()
    assert Notification.objects.filter(recipient=parent, kind="complaint.photo_failed").count() == 1


def test_the_web_pages_show_photos_to_those_who_may_see_the_complaint_only(
    client, parent, other_parent, inst_staff, staff_b, staff_a, api_as, registered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = file_with_photos(api_as(parent), registered, [upload("a.jpg", image_bytes(size=(900, 600)))])
    c = Complaint.objects.get(pk=response.json()["id"])
    url = f"/complaints/{c.pk}/photos/{c.photos.get().pk}"
    assert client.get(url).status_code == 404  # signed out
    for viewer in (parent, staff_a):
        client.force_login(viewer)
        full = client.get(url)
        assert full.status_code == 200 and full["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(b"".join(full.streaming_content))).size == (900, 600)
        thumb = client.get(url + "?size=thumb")
        assert max(Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size) <= 320
        assert full["Content-Security-Policy"].startswith("sandbox") and full["Cache-Control"] == "private, no-store"
    for outsider in (other_parent, inst_staff, staff_b):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.get(f"/complaints/{c.pk}/photos/999999").status_code == 404
