"""core.sqlinsert.values_insert: an INSERT from unsaved instances, with some columns given as SQL."""

import pytest
from django.db import connection

from core.models import AuditEvent
from core.sqlinsert import values_insert

pytestmark = pytest.mark.django_db


def test_values_are_prepared_as_the_orm_prepares_them_and_expressions_take_their_place():
    event = AuditEvent(actor_label="system", verb="x.test", object_type="t", data={"a": 1})
    sql, params = values_insert([event], expressions={"object_id": ("(SELECT %s)", ["42"])}, returning=["id"])
    q = connection.ops.quote_name
    assert sql.startswith(f"INSERT INTO {q('core_auditevent')} (") and sql.endswith(f"RETURNING {q('id')}")
    assert q("id") + "," not in sql.split("VALUES")[0]  # the database gives the key
    assert "(SELECT %s)" in sql and "42" in params and "x.test" in params
    assert event.at is not None  # auto_now_add was applied to the instance too
    assert sql.count("%s") == len(params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (pk,) = cursor.fetchone()
    stored = AuditEvent.objects.get(pk=pk)
    assert (stored.object_id, stored.verb, stored.data) == ("42", "x.test", {"a": 1})


def test_an_unknown_column_or_no_instance_is_refused():
    with pytest.raises(ValueError, match="no such column"):
        values_insert([AuditEvent(verb="x")], expressions={"nope": ("1", [])})
    with pytest.raises(ValueError):
        values_insert([])
