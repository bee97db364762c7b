"""Fuling district (500102) and its 27 towns and sub-districts, from the copy of fuling_divisions.csv kept in
accounts/data (as of 2023-06-30). Rows are dated: a later rename adds a row and closes this one."""

import csv
from datetime import date
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "fuling_divisions.csv"
SOURCE = "国家统计局统计用区划代码 (as of 2023-06-30), via shared/data/fuling_divisions.csv"


def load(apps, schema_editor):
    Region = apps.get_model("accounts", "Region")
    with DATA.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    as_of = date.fromisoformat(rows[0]["as_of"])
    district, _ = Region.objects.get_or_create(
        code=rows[0]["parent_code"],
        valid_from=as_of,
        defaults={"name": rows[0]["parent_name"], "kind": "区", "source": SOURCE},
    )
    for row in rows:
        Region.objects.get_or_create(
            code=row["code"],
            valid_from=date.fromisoformat(row["as_of"]),
            defaults={"name": row["name"], "kind": row["kind"], "parent": district, "source": SOURCE},
        )


def unload(apps, schema_editor):
    Region = apps.get_model("accounts", "Region")
    Region.objects.filter(source=SOURCE).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]

    operations = [migrations.RunPython(load, unload)]
