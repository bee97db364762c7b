"""One language at a time: Chinese by default, English by the switch (pages) or Accept-Language (the API)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

from institutions import verification
from tests.conftest import region
from tests.factories import InstitutionFactory

TEMPLATES = Path(settings.BASE_DIR) / "templates"
CATALOGUE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
CJK = r"\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
# What is not text a person reads in this page's language: tags, template code, scripts, styles, comments.
NOT_TEXT = re.compile(
    r"{%.*?%}|{{.*?}}|{#.*?#}|<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->|<[^>]*>", re.S | re.I
)
# Genuine mixed terms that may follow Chinese text.
ALLOWED = {"QR", "PDF", "API", "H5", "xlsx", "CSV", "App", "ID", "UUID", "JSON", "KB", "MB", "Excel"}
DOUBLED = re.compile(rf"[{CJK}]\s+([A-Za-z][A-Za-z0-9]*)")


def doubled_labels(text: str) -> list[str]:
    found = []
    for node in NOT_TEXT.split(text):
        for m in DOUBLED.finditer(node):
            if m.group(1) not in ALLOWED:
                found.append(node.strip()[:60])
    return found


def test_the_doubled_label_check_finds_what_it_should():
    assert doubled_labels("<p>登录 Sign in</p>") == ["登录 Sign in"]
    assert doubled_labels('<p>{% translate "登录" %}</p><p>下载 PDF 海报</p><p>扫描 QR 码</p>') == []
    assert doubled_labels('<script>const a = "提交 submit";</script><b title="x">中文</b>') == []


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_doubles_its_labels(path):
    found = doubled_labels(path.read_text(encoding="utf-8"))
    assert not found, f"'中文 English' labels left in {path.name}: use {{% translate \"中文\" %}}: {found}"


def _po_entries(po: Path) -> dict[str, str]:
    entries, cur, parts = {}, None, {}

    def flush():
        if "msgstr" in parts:
            ctxt = "".join(parts["msgctxt"]) + "\x04" if "msgctxt" in parts else ""
            entries[ctxt + "".join(parts["msgid"])] = "".join(parts["msgstr"])

    for line in po.read_text(encoding="utf-8").splitlines() + [""]:
        m = re.match(r'^(msgctxt|msgid|msgstr)\s+"(.*)"$', line)
        if m:
            if m.group(1) in ("msgctxt", "msgid") and "msgstr" in parts:
                flush()
                parts = {}
            cur = m.group(1)
            parts[cur] = [m.group(2)]
        elif line.startswith('"') and cur:
            parts[cur].append(line[1:-1])
        elif not line.strip():
            flush()
            parts, cur = {}, None
    unescape = lambda s: re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), s)  # noqa: E731
    return {unescape(k): unescape(v) for k, v in entries.items() if k}


def test_the_committed_mo_is_compiled_from_the_po():
    """The .mo is committed (no GNU gettext needed to run): it must hold exactly what the .po says (`make messages`)."""
    with open(CATALOGUE / "django.mo", "rb") as f:
        compiled = gettext.GNUTranslations(f)._catalog
    wanted = {k: v for k, v in _po_entries(CATALOGUE / "django.po").items() if v}
    assert {k: compiled.get(k) for k in wanted} == wanted


# --- Pages: Chinese by default, English with the switch ----------------------------------------------------------


def test_the_login_page_is_chinese_by_default_and_english_after_the_switch(client, db):
    page = client.get("/login/").content.decode()
    assert "登录" in page and "Sign in" not in page
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302 and response["Location"] == "/login/"
    page = client.get("/login/").content.decode()
    assert "Sign in" in page and "登录</button>" not in page and 'lang="en"' in page


def test_pages_follow_the_browser_language_too(client, db):
    assert "Sign in" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "登录" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()


def test_the_verify_page_in_each_language(client, db):
    institution = InstitutionFactory(  # with its live token; no licence, credit code or address, as the page's test
        name="涪陵区小星星艺术培训学校", town=region("500102006"), status="licensed", category="arts",
        credit_code=None, licence_number="", licence_expires_on=None, address="",
    )  # fmt: skip
    path = verification.VERIFY_PATH.format(token=verification.live_token(institution).token)
    page = client.get(path).content.decode()
    assert "有效" in page and "文化艺术类" in page and "Valid" not in page
    client.post("/i18n/setlang/", {"language": "en", "next": path})
    page = client.get(path).content.decode()
    assert "Valid" in page and "culture and arts" in page and "文化艺术类" not in page
    assert "涪陵区小星星艺术培训学校" in page  # data stays as it was written


def test_the_switch_is_remembered_for_a_signed_in_person(client, django_user_model):
    user = django_user_model.objects.create_user(username="lang-user", password="x-Strong-pass-42", name="语言")
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    user.refresh_from_db()
    assert user.language == "en"
    other_device = type(client)()
    other_device.force_login(user)
    assert "Sign out" in other_device.get("/login/", follow=True).content.decode()


# --- The API: English only when Accept-Language asks for it first -----------------------------------------------


@pytest.mark.parametrize(
    "header, message",
    [
        (None, "请求的资源不存在"),
        ("en", "Not found"),
        ("en-GB,zh;q=0.5", "Not found"),
        ("fr, en;q=0.8", "请求的资源不存在"),
    ],
)
def test_an_api_error_is_in_the_callers_language(client, db, header, message):
    extra = {"HTTP_ACCEPT_LANGUAGE": header} if header else {}
    response = client.get("/api/v1/no-such-thing", **extra)
    assert response.status_code == 404 and response.json()["error"]["message"] == message


def test_a_domain_error_renders_in_each_language():
    from django.utils.translation import gettext_lazy as _

    from core.errors import DomainError

    exc = DomainError("x.y", _("输入有误"), fields={"phone": _("请求无效")})
    assert (exc.message("zh"), exc.message("en")) == ("输入有误", "Invalid input")
    assert exc.field_messages("en") == {"phone": "Bad request"}
    with pytest.raises(TypeError):  # the old two-string form is gone: one message, English in the catalogue
        DomainError("x.y", "旧的", "Old")
