"""Checklists (检查表): a template's versions of items; editing makes a new version, visits keep the version they
were done on."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.audit import audit_log
from core.errors import DomainError, NotFound

from .models import AnswerType, ChecklistItem, ChecklistTemplate, ChecklistVersion, Severity
from .permissions import require_bureau

DEFAULT_CHECKLIST = "training_institution"


def _items_invalid(message) -> DomainError:
    return DomainError("checklist.items_invalid", message, status=422, fields={"items": message})


def current_checklist(code: str = DEFAULT_CHECKLIST) -> ChecklistVersion:
    version = ChecklistVersion.objects.filter(template__code=code).order_by("-number").first()
    if version is None:
        raise NotFound(_("检查表不存在"))
    return version


ITEM_FIELDS = ("code", "section", "question_zh", "question_en", "answer_type", "rule_id", "severity", "public")


def checklist_revise(*, actor, template_code: str, items: list[dict], note: str = "") -> ChecklistVersion:
    """Editing a checklist makes a new version; visits done on an older version keep theirs unchanged."""
    require_bureau(actor)
    codes = [i.get("code") for i in items]
    if not items or len(set(codes)) != len(codes):
        raise _items_invalid(_("检查项不能为空且代码不能重复"))
    for item in items:
        if item.get("answer_type") not in AnswerType.values or item.get("severity") not in Severity.values:
            raise _items_invalid(_("答案类型或严重程度无效"))
    with transaction.atomic():
        template = ChecklistTemplate.objects.select_for_update().filter(code=template_code).first()
        if template is None:
            raise NotFound(_("检查表不存在"))
        last = template.versions.order_by("-number").first()
        version = ChecklistVersion.objects.create(
            template=template, number=(last.number + 1 if last else 1), note=note[:300], created_by=actor
        )
        ChecklistItem.objects.bulk_create(
            ChecklistItem(version=version, position=n, **{f: item.get(f, "") for f in ITEM_FIELDS if f in item})
            for n, item in enumerate(items)
        )
        audit_log(
            actor=actor,
            verb="checklist.revise",
            obj=version,
            from_state=f"v{last.number}" if last else "",
            to_state=f"v{version.number}",
            data={"items": len(items)},
        )
    return version
