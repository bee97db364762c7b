"""R-ASS-2 / R-STAFF-2 values the admission of outside personnel reads, for a database that loaded the policy values
before they were added to core/data/policy_values.csv (the loader only adds what is missing)."""

import importlib

from django.db import migrations


def load(apps, schema_editor):
    importlib.import_module("core.migrations.0002_load_policy_values").load(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("afterschool", "0003_admission"), ("core", "0002_load_policy_values")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
