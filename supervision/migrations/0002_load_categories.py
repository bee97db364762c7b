"""Complaint categories of POLICY.md (copied to supervision/data/complaint_categories.csv), with their default answer
deadlines. Also makes sure the complaint deadline policy values exist in a database migrated before they were added
to core/data/policy_values.csv."""

import csv
from datetime import date
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "complaint_categories.csv"

POLICY = [
    ("complaint_accept_working_days", "1", "working days"),
    ("complaint_reopen_days", "7", "days after answer"),
    ("complaint_auto_close_days", "7", "days after answer"),
    ("complaint_sla_warn_share", "0.80", "share of the deadline"),
]


def load(apps, schema_editor):
    Category = apps.get_model("supervision", "ComplaintCategory")
    with DATA.open(encoding="utf-8") as f:
        for order, row in enumerate(csv.DictReader(f)):
            Category.objects.get_or_create(
                code=row["code"],
                defaults={
                    "name_zh": row["name_zh"],
                    "name_en": row["name_en"],
                    "answer_working_days": int(row["answer_within_working_days"]),
                    "typical_referral": row["typical_referral"],
                    "sort_order": order,
                },
            )
    PolicyValue = apps.get_model("core", "PolicyValue")
    for key, value, unit in POLICY:
        PolicyValue.objects.get_or_create(
            key=key,
            effective_from=date(2026, 1, 1),
            defaults={
                "rule_id": "R-CMP-1",
                "value": value,
                "unit": unit,
                "applies_to": "complaints",
                "source": "platform default",
                "confidence": "-",
            },
        )


class Migration(migrations.Migration):
    dependencies = [("supervision", "0001_complaints"), ("core", "0002_load_policy_values")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
