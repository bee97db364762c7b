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


def test_openapi_document_has_no_duplicated_keys(client):
    """Swagger UI reads the document with a YAML parser that refuses a key twice in one object ("duplicated mapping
    key": the docs page rendered no operation). Python's json writes an int 200 and a str "200" as the same key."""
    duplicated = []

    def refuse_duplicates(pairs):
        keys = [key for key, _ in pairs]
        duplicated.extend(key for key in set(keys) if keys.count(key) > 1)
        return dict(pairs)

    json.loads(client.get("/api/v1/openapi.json").content, object_pairs_hook=refuse_duplicates)
    assert duplicated == []
