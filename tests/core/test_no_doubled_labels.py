"""One language at a time in the Python code too: no string a person reads holds a "中文 English" doubled label.

Text is written once, in Chinese, through gettext (the English is in the catalogue). This scans every string literal
of the product packages (not tests, not migrations) for Chinese followed by a space and English words that run to
the end of the literal ("名单 Roster", "小学 primary (1–6)", "类别 Category："). Docstrings, comments and the API's
summaries and descriptions (for the developers who read the OpenAPI document) are not scanned.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PACKAGES = ("accounts", "afterschool", "config", "core", "institutions", "mobile_api", "portal", "supervision")
# Keyword arguments that document the API for developers (OpenAPI), not text a user reads.
DEVELOPER_TEXT = {"summary", "description", "help", "openapi_extra"}
# The OpenAPI document's own texts (title, common answers), for developers.
DEVELOPER_FILES = {"mobile_api/api.py"}
# Literals where Chinese followed by English is not a doubled label: (file, literal).
ALLOWED = {
    ("supervision/inspections/sync.py", "仅合并时填写 value"),  # `value`: the request's field
}

CJK = "\u3400-\u9fff\uf900-\ufaff"
# Chinese, optional closing punctuation, whitespace, then English words (no Chinese) up to the end, allowing a
# trailing colon; a tail that is a technical term (a path, a MIME type, a file extension, a code) is not a label.
DOUBLED = re.compile(rf"[{CJK}][\u3000-\u303f\uff00-\uffef）」”]*\s+([A-Za-z][^{CJK}]*?)\s*[:：]?\s*$")
TECHNICAL = re.compile(r"[/_=.@:]|^[A-Z0-9-]+$")


def doubled_label(text: str) -> str | None:
    m = DOUBLED.search(text)
    if not m:
        return None
    tail = m.group(1).rstrip("）)")
    if " " not in tail:
        if TECHNICAL.search(tail):
            return None  # "请使用 application/json", "应为 UUID", "格式应为 HH:MM"
        if tail.islower() and re.search("[A-Za-z]", text[: m.start(1)]):
            return None  # the last of several code words: "应为 true 或 false"
    return text


def test_the_scan_finds_what_it_should():
    for text in ("名单 Roster", "小学 primary (1–6)", "类别 Category：", "计入次年绩效工资基数 In next year's base"):
        assert doubled_label(text), text
    assert doubled_label("停课 closed") and doubled_label("无 none")
    for text in ("名单", "请使用 application/json", "请上传 xlsx 表格", "应为 true 或 false", "时间格式应为 HH:MM"):
        assert not doubled_label(text), text


def _docstring_nodes(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _developer_text_nodes(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in DEVELOPER_TEXT:
                    out |= {id(n) for n in ast.walk(kw.value)}
    return out


def doubled_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstring_nodes(tree) | _developer_text_nodes(tree)
    rel = str(path.relative_to(ROOT))
    if rel in DEVELOPER_FILES:
        return []
    found = []
    for node in ast.walk(tree):
        if id(node) in skip or not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if doubled_label(node.value) and (rel, node.value) not in ALLOWED:
            found.append(f"{rel}:{node.lineno}: {node.value[:60]!r}")
    return found


def _product_files():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts and "management" not in path.parts:
                yield path


@pytest.mark.parametrize("path", list(_product_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_python_string_doubles_its_label(path):
    found = doubled_literals(path)
    assert not found, f"'中文 English' labels: write the Chinese once through gettext: {found}"
