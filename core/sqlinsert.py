"""INSERT statements built from unsaved model instances, for writes that must go to PostgreSQL as one statement.

A hot write (a parent filing a complaint) stores a few rows that refer to each other: the complaint takes the day's
next tracking number, its audit event and inbox rows take the complaint's id. Through the ORM that is one statement
per row inside a transaction, and most of the time goes to compiling and sending them. Here the rows' values are
prepared exactly as the ORM prepares them (defaults, auto_now_add, JSON adapters), and a column can be given as an
SQL expression instead: a scalar subquery on an earlier data-modifying CTE, such as `(SELECT id FROM c)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

# A column's SQL instead of its prepared value: (expression with %s placeholders, its parameters).
Expression = tuple[str, list]


def values_insert(
    objs: Sequence[Any], *, expressions: dict[str, Expression] | None = None, returning: Sequence[str] = ()
) -> tuple[str, list]:
    """`INSERT INTO "table" ("col", …) VALUES (…), (…) [RETURNING …]` and its parameters, for unsaved instances of
    one model without primary keys (the database gives them, unless `expressions` has the key's column).
    `expressions` maps a column name to SQL used in every row instead of the value."""
    if not objs:
        raise ValueError("values_insert needs at least one instance")
    model = type(objs[0])
    meta = model._meta
    expressions = expressions or {}
    fields = [
        f
        for f in meta.concrete_fields
        if not (f.primary_key and getattr(objs[0], f.attname) is None and f.column not in expressions)
    ]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    rows, params = [], []
    for obj in objs:
        placeholders = []
        for field in fields:
            if field.column in expressions:
                sql, expression_params = expressions[field.column]
                placeholders.append(sql)
                params.extend(expression_params)
            else:
                value = field.pre_save(obj, add=True)  # auto_now_add sets the instance's attribute too
                placeholders.append("%s")
                params.append(field.get_db_prep_save(value, connection=connection))
        rows.append(f"({', '.join(placeholders)})")
    unknown = set(expressions) - {f.column for f in fields}
    if unknown:
        raise ValueError(f"no such column of {meta.label}: {', '.join(sorted(unknown))}")
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join(rows)}"
    if returning:
        sql += " RETURNING " + ", ".join(quote(meta.get_field(name).column) for name in returning)
    return sql, params
