"""The vendored front-end libraries are the files `make vendor` checked against npm's integrity: each committed file
matches its sha256 in core/static/vendor/CHECKSUMS, no file is there unlisted, and the pages load them from our own
origin (the Content-Security-Policy allows nothing else)."""

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "core" / "static" / "vendor"


def checksums() -> dict[str, tuple[str, str]]:
    out = {}
    for line in (VENDOR / "CHECKSUMS").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        digest, path, package = line.split()
        out[path] = (digest, package)
    return out


def test_every_vendored_file_matches_its_checksum():
    listed = checksums()
    assert {"htmx/htmx.min.js", "alpinejs-csp/alpine-csp.min.js"} <= set(listed)
    for path, (digest, _package) in listed.items():
        assert hashlib.sha256((VENDOR / path).read_bytes()).hexdigest() == digest, path


def test_no_vendored_file_is_unlisted():
    on_disk = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file() and p.name != "CHECKSUMS"}
    assert on_disk == set(checksums())


def test_the_pinned_versions_are_the_ones_vendored():
    import importlib.util

    spec = importlib.util.spec_from_file_location("vendor_tool", ROOT / "tools" / "vendor.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    pinned = {f"{name}@{version}" for name, version, *_ in tool.PACKAGES}
    assert {package for _digest, package in checksums().values()} == pinned
    # The CSP build of Alpine: the standard one needs 'unsafe-eval', which our policy forbids.
    assert "@alpinejs/csp" in {name for name, *_ in tool.PACKAGES}


def test_a_changed_byte_is_caught(tmp_path):
    """The check above can fail: one byte changed gives another digest."""
    data = bytearray((VENDOR / "htmx/htmx.min.js").read_bytes())
    data[0] ^= 1
    assert hashlib.sha256(bytes(data)).hexdigest() != checksums()["htmx/htmx.min.js"][0]
@pytest.mark.django_db
def test_pages_load_the_vendored_scripts_deferred_from_our_origin(client):
    html = client.get("/login/").content.decode()
    for name in ("vendor/htmx/htmx.min.js", "vendor/alpinejs-csp/alpine-csp.min.js"):
        assert f'src="/static/{name}" defer' in html, name
    assert "https://" not in html.split("<body")[0]
