import pytest

from core.errors import preferred_language


@pytest.mark.parametrize(
    "header, lang",
    [
        (None, "zh"),
        ("", "zh"),
        ("en", "en"),
        ("en-GB", "en"),
        ("zh-CN", "zh"),
        ("fr, en;q=0.8", "zh"),
        ("zh;q=0.4, en;q=0.9", "en"),
        ("en;q=bogus, zh", "zh"),
    ],
)
def test_language_choice(header, lang):
    assert preferred_language(header) == lang
