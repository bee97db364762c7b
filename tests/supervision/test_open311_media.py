"""Open311's media_url: kept as a reference (not fetched by default: no SSRF), given back in GET requests, shown
to the handler on the desk as an external link (never an <img> from another origin); bad URLs answered in the spec's
error shape; only from hosts the bureau lists (none by default) is the photo fetched, without following redirects."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from supervision.complaints.open311 import services as open311
from supervision.models import Complaint, Open311Request
from tests.supervision.hotline_support import Receiver
from tests.supervision.test_open311 import ROOT, api_key, filing, handler, spec_error, supervisor  # noqa: F401

pytestmark = pytest.mark.django_db
PHOTO = "https://img.example.org/uploads/2026/12/%E6%88%AA%E5%9B%BE.jpg?w=800"


@pytest.fixture
def internal():
    """A host on the server's own network: it records any request the server would make to it."""
    r = Receiver()
    yield r
    r.close()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_media_url_is_kept_as_a_reference_and_given_back(client, registered, handler, api_key):  # noqa: F811
    response = client.post(f"{ROOT}/requests.json", filing(api_key, registered, media_url=PHOTO))
    assert response.status_code == 201, response.content
    number = response.json()[0]["service_request_id"]
    assert Open311Request.objects.get().media_url == PHOTO
    [one] = client.get(f"{ROOT}/requests/{number}.json").json()
    assert one["media_url"] == PHOTO
    listed = client.get(f"{ROOT}/requests.json").json()
    assert [r["media_url"] for r in listed] == [PHOTO]
    root = ET.fromstring(client.get(f"{ROOT}/requests/{number}.xml").content)
    assert root.find("request").findtext("media_url") == PHOTO
    # The same request again is the same filing (idempotent), not a second one.
    again = client.post(f"{ROOT}/requests.json", filing(api_key, registered, media_url=PHOTO))
    assert again.status_code == 200 and Complaint.objects.count() == 1


def test_without_media_url_it_is_null(client, registered, handler, api_key):  # noqa: F811
    number = client.post(f"{ROOT}/requests.json", filing(api_key, registered)).json()[0]["service_request_id"]
    assert client.get(f"{ROOT}/requests/{number}.json").json()[0]["media_url"] is None


def test_the_server_never_fetches_media_url(client, registered, handler, api_key, internal):  # noqa: F811
    url = internal.url.replace("/12345/callback", "/latest/meta-data/iam")
    response = client.post(f"{ROOT}/requests.json", filing(api_key, registered, media_url=url))
    assert response.status_code == 201, response.content
    assert internal.received == []  # nothing reached the internal host
    assert Open311Request.objects.get().media_url == url
    assert not open311.media_fetch_allowed(url)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_media_urls_get_the_specs_error(client, registered, handler, api_key, fmt):  # noqa: F811
    for bad in ("javascript:alert(1)", "ftp://files.example.org/a.jpg", "not a url", "//example.org/a.jpg",
                "https://example.org/" + "a" * 500, "data:image/png;base64,AAAA"):  # fmt: skip
        description = spec_error(client.post(f"{ROOT}/requests.{fmt}", filing(api_key, registered, media_url=bad)), 400)
        assert "media_url" in description, bad
    assert not Complaint.objects.exists() and not Open311Request.objects.exists()


def test_the_handler_sees_an_external_link_never_an_image(client, registered, handler, api_key, staff_b):  # noqa: F811
    client.post(f"{ROOT}/requests.json", filing(api_key, registered, media_url=PHOTO))
    c = Complaint.objects.get()
    html = signed_in(handler).get(f"/desk/complaints/{c.pk}/").content.decode()
    assert 'data-testid="media-url"' in html
    link = html[html.index('data-testid="media-url"'):]
    link = link[: link.index("</p>")]
    assert 'target="_blank"' in link and "noopener" in link and "noreferrer" in link and "external" in link
    assert "<img" not in link and f'src="{PHOTO}"' not in html.replace("&amp;", "&")
    assert "未经核验" in link
    # A handler of another town does not reach the page at all.
    assert signed_in(staff_b).get(f"/desk/complaints/{c.pk}/").status_code == 404


def test_only_listed_hosts_may_ever_be_fetched(settings):
    assert not open311.media_fetch_allowed(PHOTO)  # the default allow-list is empty
    settings.OPEN311_MEDIA_FETCH_HOSTS = ["img.example.org"]
    assert open311.media_fetch_allowed(PHOTO)
    assert not open311.media_fetch_allowed("https://img.example.org.evil.test/a.jpg")
    assert not open311.media_fetch_allowed("http://169.254.169.254/latest/meta-data/")


class MediaHost:
    """A host the bureau may list: /photo.png is a picture, /redirect points at an internal address, /page is HTML."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from tests.factories import image_bytes

        host = self
        self.paths: list[str] = []
        png = image_bytes("PNG")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                host.paths.append(self.path)
                if self.path == "/photo.png":
                    status, body, headers = 200, png, {"Content-Type": "image/png"}
                elif self.path == "/redirect":
                    status, body, headers = 302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"}
                else:
                    status, body, headers = 200, b"<html>not a photo</html>", {"Content-Type": "text/html"}
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def media_host():
    host = MediaHost()
    yield host
    host.close()


def test_an_allow_listed_host_has_its_photo_fetched_into_the_evidence(
    client, registered, handler, api_key, media_host, settings  # noqa: F811
):
    settings.OPEN311_MEDIA_FETCH_HOSTS = ["127.0.0.1"]
    url = media_host.base + "/photo.png"
    response = client.post(f"{ROOT}/requests.json", filing(api_key, registered, media_url=url))
    assert response.status_code == 201, response.content
    c = Complaint.objects.get()
    assert c.photos.count() == 1 and media_host.paths == ["/photo.png"]
    assert Open311Request.objects.get().media_url == url  # the reference is kept too


@pytest.mark.parametrize("path", ["/redirect", "/page"])
def test_a_redirect_or_a_non_photo_leaves_only_the_reference(
    client, registered, handler, api_key, media_host, settings, path  # noqa: F811
):
    settings.OPEN311_MEDIA_FETCH_HOSTS = ["127.0.0.1"]
    response = client.post(f"{ROOT}/requests.json", filing(api_key, registered, media_url=media_host.base + path))
    assert response.status_code == 201, response.content
    assert media_host.paths == [path]  # the redirect was not followed
    c = Complaint.objects.get()
    assert c.photos.count() == 0 and Open311Request.objects.get().media_url == media_host.base + path


def test_a_host_not_listed_is_never_asked(client, registered, handler, api_key, media_host, settings):  # noqa: F811
    settings.OPEN311_MEDIA_FETCH_HOSTS = ["img.example.org"]
    url = media_host.base + "/photo.png"
    response = client.post(f"{ROOT}/requests.json", filing(api_key, registered, media_url=url))
    assert response.status_code == 201 and media_host.paths == []
    assert Complaint.objects.get().photos.count() == 0
