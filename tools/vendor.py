#!/usr/bin/env python3
"""Vendor the pages' front-end libraries from the npm registry at pinned versions (`make vendor`).

For each package below: read its version's metadata from the registry, check that the registry's `dist.integrity`
(sha512) is the one pinned here, download the tarball and check it against that digest, then copy the named files
out of it into core/static/vendor/<lib>/ and write core/static/vendor/CHECKSUMS (the sha256 of every vendored file,
checked by tests/portal/test_vendored_assets.py). Pages then load these files from our own origin: `make demo` and
`make test` need no Node and no network.

To upgrade a library: change its version and set its integrity to the one `npm view <name>@<version> dist.integrity`
(or the registry's metadata) reports, run `make vendor`, read the diff, run the browser tests.

Standard library only (no Node, no project imports), so it runs before the virtualenv exists.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "core" / "static" / "vendor"

# (npm name, version, dist.integrity, folder under vendor/, {path in the tarball: file name})
PACKAGES = [
    (
        # htmx 2.x: the line django-htmx supports (4.x changed attributes and events).
        "htmx.org",
        "2.0.11",
        "sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==",
        "htmx",
        {"package/dist/htmx.min.js": "htmx.min.js", "package/LICENSE": "LICENSE"},
    ),
    (
        # The CSP build of Alpine.js: it evaluates no strings with Function(), so script-src needs no 'unsafe-eval'
        # (core/csp.py); components are registered with Alpine.data() in our static files.
        "@alpinejs/csp",
        "3.17.4",
        "sha512-SlRXmqO6kYhnxlg+99etmuzJtE9Lk4QbKjBHqerXzaMflJqoJXdz/SI3IvHJGZ/vRVyC3bR0SSBz40oY7goBeg==",
        "alpinejs-csp",
        {"package/dist/cdn.min.js": "alpine-csp.min.js"},
    ),
    (
        # Maps of visits and of the registry (inspector app, bureau console). The tile address is a setting, empty
        # by default: without tiles the map still draws its points, and nothing is loaded from another origin.
        "leaflet",
        "1.9.4",
        "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
        "leaflet",
        {
            "package/dist/leaflet.js": "leaflet.js",
            "package/dist/leaflet.js.map": "leaflet.js.map",  # named by leaflet.js: collectstatic's manifest needs it
            "package/dist/leaflet.css": "leaflet.css",
            "package/dist/images/marker-icon.png": "images/marker-icon.png",
            "package/dist/images/marker-icon-2x.png": "images/marker-icon-2x.png",
            "package/dist/images/marker-shadow.png": "images/marker-shadow.png",
            "package/dist/images/layers.png": "images/layers.png",
            "package/dist/images/layers-2x.png": "images/layers-2x.png",
            "package/LICENSE": "LICENSE",
        },
    ),
    (
        # IndexedDB for the phone apps' outbox (records and photo Blobs survive closing the browser).
        "dexie",
        "4.4.7",
        "sha512-wemFiCl3DTCnfzyqepUTX1ugbYbkTrw3aEZOG7YjAOUoEQB5g5PrEywPzk5JpbX/SxqQ9IvjUpxCDIEjoOWEfA==",
        "dexie",
        {
            "package/dist/dexie.min.js": "dexie.min.js",
            "package/dist/dexie.min.js.map": "dexie.min.js.map",  # named by dexie.min.js (collectstatic's manifest)
            "package/LICENSE": "LICENSE",
        },
    ),
    (
        # Decodes the institution's poster QR code from the camera in the inspector app where the browser has no
        # BarcodeDetector (desktop Chromium on Linux, Firefox, older Safari). 57 KB compressed: loaded only when the
        # scan button is tapped, and kept by the app's service worker for offline check-ins.
        "jsqr",
        "1.4.0",
        "sha512-dxLob7q65Xg2DvstYkRpkYtmKm2sPJ9oFhrhmudT1dZvNFFTlroai3AWSpLey/w5vMcLBXRgOJsbXpdN9HzU/A==",
        "jsqr",
        {"package/dist/jsQR.js": "jsQR.js", "package/LICENSE": "LICENSE"},
    ),
    (
        # The district dashboard's charts (each chart's numbers are also shown as a table). Loaded by that page only.
        "echarts",
        "6.1.0",
        "sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA==",
        "echarts",
        {"package/dist/echarts.min.js": "echarts.min.js", "package/LICENSE": "LICENSE"},
    ),
]


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "shuangjian-vendor"})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - a fixed https registry address
        return response.read()


def _check_integrity(data: bytes, integrity: str, what: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise SystemExit(f"{what}: only sha512 integrity is accepted, got {algorithm!r}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise SystemExit(f"{what}: sha512 mismatch (expected {expected}, got {actual})")


def vendor_one(name: str, version: str, integrity: str, folder: str, files: dict[str, str]) -> list[Path]:
    meta = json.loads(_get(f"{REGISTRY}/{name}/{version}"))
    dist = meta["dist"]
    if dist.get("integrity") != integrity:
        raise SystemExit(f"{name}@{version}: the registry reports {dist.get('integrity')}, pinned {integrity}")
    tarball = _get(dist["tarball"])
    _check_integrity(tarball, integrity, f"{name}@{version}")
    out = VENDOR / folder
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for member_name, target in files.items():
            member = tar.getmember(member_name)
            if not member.isfile():
                raise SystemExit(f"{name}@{version}: {member_name} is not a file")
            data = tar.extractfile(member).read()
            path = out / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written.append(path)
    print(f"{name}@{version}: {', '.join(str(p.relative_to(VENDOR)) for p in written)}")
    return written


def write_checksums(entries: list[tuple[str, str, Path]]) -> None:
    lines = [
        "# sha256 of each vendored file (written by `make vendor`, tools/vendor.py; checked by the tests)",
        "# sha256  path  package@version",
    ]
    for name, version, path in sorted(entries, key=lambda e: str(e[2])):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(VENDOR).as_posix()}  {name}@{version}")
    (VENDOR / "CHECKSUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    entries = []
    for name, version, integrity, folder, files in PACKAGES:
        for path in vendor_one(name, version, integrity, folder, files):
            entries.append((name, version, path))
    write_checksums(entries)
    print(f"wrote {VENDOR.relative_to(ROOT) / 'CHECKSUMS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
