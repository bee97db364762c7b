"""`{{ record|in_language:"label" }}`: record["label_en"] when the page is in English, else record["label_zh"].

For data that arrives with both languages already (the public verification payload, whose JSON carries both)."""

from django import template

from core.errors import is_english

register = template.Library()


@register.filter
def in_language(record, key: str):
    if not record:
        return ""
    return record.get(f"{key}_en" if is_english() else f"{key}_zh", "")
