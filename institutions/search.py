"""Text search helpers: pinyin initials so that typing "xdf" finds 新东方."""

from pypinyin import Style, lazy_pinyin


def initials_of(text: str) -> str:
    """'新东方培训学校' → 'xdfpxxx'; letters and digits in the name are kept as they are (lower-cased)."""
    letters = lazy_pinyin(text or "", style=Style.FIRST_LETTER, errors=lambda chars: list(chars))
    return "".join(ch.lower() for part in letters for ch in part if ch.isalnum())[:200]
