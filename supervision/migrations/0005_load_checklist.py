"""The first checklist for training institutions (supervision/data/checklist_training_institution.csv, from the
checklist items of POLICY.md) as version 1 of template `training_institution`, and the platform defaults of
inspections that POLICY.md leaves to the bureau (R-INSP-2 deadlines, how recently inspected institutions are left out
of a draw)."""

import csv
from datetime import date
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "checklist_training_institution.csv"

POLICY = [
    ("R-INSP-1", "inspection_recent_days_excluded", "180", "days"),
    ("R-INSP-2", "rectification_working_days_high", "10", "working days"),
    ("R-INSP-2", "rectification_working_days_medium", "20", "working days"),
    ("R-INSP-2", "rectification_working_days_low", "30", "working days"),
    ("R-INSP-2", "rectification_warn_working_days", "3", "working days before the deadline"),
]


def load(apps, schema_editor):
    Template = apps.get_model("supervision", "ChecklistTemplate")
    Version = apps.get_model("supervision", "ChecklistVersion")
    Item = apps.get_model("supervision", "ChecklistItem")
    template, _ = Template.objects.get_or_create(
        code="training_institution",
        defaults={"name_zh": "校外培训机构检查表", "name_en": "Training institution checklist"},
    )
    version, created = Version.objects.get_or_create(template=template, number=1, defaults={"note": "初始版本"})
    if created:
        with DATA.open(encoding="utf-8") as f:
            Item.objects.bulk_create(
                Item(
                    version=version,
                    code=row["code"],
                    section=row["section"],
                    question_zh=row["question_zh"],
                    question_en=row["question_en"],
                    answer_type=row["answer_type"],
                    rule_id=row["rule_id"],
                    severity=row["severity"],
                    public=row["public"].strip().lower() == "yes",
                    position=position,
                )
                for position, row in enumerate(csv.DictReader(f))
            )
    PolicyValue = apps.get_model("core", "PolicyValue")
    for rule_id, key, value, unit in POLICY:
        PolicyValue.objects.get_or_create(
            key=key,
            effective_from=date(2026, 1, 1),
            defaults={
                "rule_id": rule_id,
                "value": value,
                "unit": unit,
                "applies_to": "inspections",
                "source": "platform default",
                "confidence": "-",
            },
        )


class Migration(migrations.Migration):
    dependencies = [("supervision", "0004_inspections"), ("core", "0002_load_policy_values")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
