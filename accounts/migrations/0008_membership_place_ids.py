"""Identity knows no domain in its schema: a membership names its school or institution by id, not by a foreign key.

The columns stay as they are (school_id, institution_id: bigint, indexed, nullable) and so do the check and unique
constraints over them (the same SQL, now spelled with the id fields): in the database only the two foreign-key
constraints go. Deleting a place a membership names is still refused, by the owning app (accounts.places).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_gettext_labels"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                # Only the foreign-key constraints are dropped; the columns, their index and their type stay.
                migrations.AlterField(
                    model_name="membership",
                    name="school",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="memberships",
                        to="afterschool.school",
                    ),
                ),
                migrations.AlterField(
                    model_name="membership",
                    name="institution",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="memberships",
                        to="institutions.institution",
                    ),
                ),
            ],
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="membership",
                    name="membership_scope_matches_role",
                ),
                migrations.RemoveConstraint(
                    model_name="membership",
                    name="membership_unique_school",
                ),
                migrations.RemoveConstraint(
                    model_name="membership",
                    name="membership_unique_institution",
                ),
                migrations.RemoveField(
                    model_name="membership",
                    name="institution",
                ),
                migrations.RemoveField(
                    model_name="membership",
                    name="school",
                ),
                migrations.AddField(
                    model_name="membership",
                    name="institution_id",
                    field=models.BigIntegerField(blank=True, db_index=True, null=True, verbose_name="机构"),
                ),
                migrations.AddField(
                    model_name="membership",
                    name="school_id",
                    field=models.BigIntegerField(blank=True, db_index=True, null=True, verbose_name="学校"),
                ),
                migrations.AddConstraint(
                    model_name="membership",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("institution_id__isnull", True),
                                ("region__isnull", False),
                                ("role__in", ["bureau_admin", "bureau_staff", "inspector"]),
                                ("school_id__isnull", True),
                            ),
                            models.Q(
                                ("institution_id__isnull", True),
                                ("region__isnull", True),
                                ("role__in", ["school_admin", "teacher"]),
                                ("school_id__isnull", False),
                            ),
                            models.Q(
                                ("institution_id__isnull", False),
                                ("region__isnull", True),
                                ("role__in", ["institution_staff"]),
                                ("school_id__isnull", True),
                            ),
                            models.Q(
                                ("institution_id__isnull", True),
                                ("region__isnull", True),
                                ("role", "parent"),
                                ("school_id__isnull", True),
                            ),
                            _connector="OR",
                        ),
                        name="membership_scope_matches_role",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="membership",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("school_id__isnull", False)),
                        fields=("user", "role", "school_id"),
                        name="membership_unique_school",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="membership",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("institution_id__isnull", False)),
                        fields=("user", "role", "institution_id"),
                        name="membership_unique_institution",
                    ),
                ),
            ],
        ),
    ]
