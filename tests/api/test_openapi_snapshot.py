"""The API's contract does not change by accident: /api/v1/openapi.json is compared with the committed copy.

A deliberate change of the API regenerates the copy (`UPDATE_OPENAPI_SNAPSHOT=1 .venv/bin/python -m pytest
tests/api/test_openapi_snapshot.py`) and the diff is reviewed with the change.
"""

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("openapi.snapshot.json")


def _lines(document: dict) -> list[str]:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False).splitlines()


def test_openapi_document_matches_the_committed_copy(client):
    document = client.get("/api/v1/openapi.json").json()
    if os.environ.get("UPDATE_OPENAPI_SNAPSHOT") == "1":
        SNAPSHOT.write_text("\n".join(_lines(document)) + "\n", encoding="utf-8")
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    if committed != document:
        import difflib

        diff = difflib.unified_diff(_lines(committed), _lines(document), "committed", "now", lineterm="")
        diff = "\n".join(list(diff)[:80])
        raise AssertionError("the OpenAPI document changed; review and regenerate the snapshot:\n" + diff)
