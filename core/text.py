"""Text that disguises itself is refused: bidirectional controls (which reorder what is shown, so "gpj.exe" reads as
"exe.jpg", or an institution's name reads as another's) anywhere in user input, and invisible characters (zero-width
space, joiners, word joiner, BOM) in names and titles, where they make two different names look the same.

Free text keeps the zero-width joiner, which emoji sequences need. One home: the API's JSON parser runs
`refuse_disguised` over every body, and the services that take names from elsewhere (the registry's import, the
web forms) call `check_name`.
"""

from __future__ import annotations

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .errors import DomainError

# U+202A–U+202E (embeddings, overrides), U+2066–U+2069 (isolates), the marks U+200E/U+200F and U+061C.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Zero-width space, non-joiner, joiner, word joiner, invisible operators, Mongolian vowel separator, BOM.
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\u180e\ufeff")


def is_name_field(key: str) -> bool:
    key = key.lower()
    return key in {"name", "title", "full_name"} or key.endswith(("_name", "_title"))


def disguise_in(value: str, *, name: bool) -> str | None:
    """The first disguising character of `value`, or None."""
    for char in value:
        if char in BIDI_CONTROLS or (name and char in INVISIBLE):
            return char
    return None


def _refusal(field: str, char: str) -> DomainError:
    code = f"U+{ord(char):04X}"
    message = format_lazy(_("含有不允许的不可见控制字符（{code}），请删除后重新输入"), code=code)
    return DomainError("text.invisible_control", message, status=422, fields={field: message})


def check_name(value: str, *, field: str = "name") -> str:
    char = disguise_in(value or "", name=True)
    if char is not None:
        raise _refusal(field, char)
    return value


def refuse_disguised(data, path: str = "") -> None:
    """Walks a JSON value: bidirectional controls in any string, invisible characters in names and titles."""
    if isinstance(data, dict):
        for key, value in data.items():
            key_text = str(key)
            where = f"{path}.{key_text}" if path else key_text
            if isinstance(value, str):
                char = disguise_in(value, name=is_name_field(key_text))
                if char is not None:
                    raise _refusal(where, char)
            else:
                refuse_disguised(value, where)
            if disguise_in(key_text, name=True) is not None:
                raise _refusal(where, disguise_in(key_text, name=True))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            where = f"{path}.{index}" if path else str(index)
            if isinstance(item, str):
                char = disguise_in(item, name=False)
                if char is not None:
                    raise _refusal(where, char)
            else:
                refuse_disguised(item, where)
