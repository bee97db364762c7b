"""The dated policy values of POLICY.md, from the copy of policy_values.csv kept in core/data."""

import csv
from datetime import date
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "policy_values.csv"


def load(apps, schema_editor):
    PolicyValue = apps.get_model("core", "PolicyValue")
    with DATA.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            PolicyValue.objects.get_or_create(
                key=row["key"],
                effective_from=date.fromisoformat(row["effective_from"]),
                defaults={
                    "rule_id": row["rule_id"],
                    "value": row["value"],
                    "unit": row["unit"],
                    "applies_to": row["applies_to"],
                    "source": row["source"][:200],
                    "confidence": row["confidence"],
                },
            )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
