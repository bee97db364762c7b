"""The compliance rules of the registry (POLICY.md R-FEE-*, R-TIME-*, R-AGE-*, R-STAFF-*, R-SITE-*)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: str  # "high" | "medium" | "low"
    message_zh: str
    message_en: str
    field: str = ""
    object_type: str = ""
    object_id: int | None = None


def findings_for_change(institution, kind: str, action: str, current, after: dict) -> list[Finding]:
    """The findings a proposed change would introduce (empty: the change may go ahead)."""
    return []
