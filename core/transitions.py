"""One way to move a row from one state to another, for every state machine (DESIGN.md, "Inside an app").

`transition(...)`, inside one transaction:
1. takes the row: either the instance the caller already loaded (and locked), or the row `pk` of a model or
   queryset, loaded with `select_for_update()`;
2. asks `guard(row)` whether the actor may (it raises its own DomainError, or returns False for a plain 403), then
   checks the current state is one of `allowed_from` (else `error(row)`, by default a 409
   `<model>.invalid_transition` naming the current state);
3. writes the new state and `fields` with a conditional `UPDATE … WHERE pk=… AND status=<the state read>` (what
   `save(update_fields=…)` would write, auto_now fields included when named): on PostgreSQL the row lock already
   makes it the only writer; on SQLite, which has no row locks, the row count tells a loser of a race, who gets
   `stale(row)` (by default the same error as a wrong state); `where` adds conditions (a version read);
4. writes the AuditEvent (actor, verb, object, from → to, data) in the same transaction;
5. hands each `on_commit` callable to `transaction.on_commit`: nothing leaves the process before the commit.

`transition_many(...)` is the same for a set of rows moved together (the visits of a superseded draw): locked in id
order, moved by one conditional `UPDATE` per state they leave, one audit event each, written in bulk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import models, transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .audit import audit_event, audit_log
from .errors import DomainError, PermissionDenied
from .models import AuditEvent


def invalid_transition(row: models.Model, state_field: str = "status") -> DomainError:
    """The default refusal: 409 `<model>.invalid_transition`, naming the current state (its label when it has one)."""
    value = getattr(row, state_field)
    state = dict(row._meta.get_field(state_field).flatchoices).get(value, value)  # the label, still lazy
    return DomainError(
        f"{row._meta.model_name}.invalid_transition",
        format_lazy(_("当前状态（{state}）不能执行此操作"), state=state),
        status=409,
    )


def transition(
    target: models.Model | type[models.Model] | models.QuerySet,
    pk: Any = None,
    *,
    actor,
    verb: str,
    allowed_from: str | Iterable[str],
    to: str,
    fields: dict[str, Any] | None = None,
    guard: Callable[[models.Model], Any] | None = None,
    data: dict | None = None,
    on_commit: Iterable[Callable[[], Any]] = (),
    error: Callable[[models.Model], DomainError] | None = None,
    stale: Callable[[models.Model], DomainError] | None = None,
    state_field: str = "status",
    where: dict[str, Any] | None = None,
    audit: bool = True,
):
    """Move `target` (an instance, or the row `pk` of a model or queryset) to `to`; return the updated row."""
    allowed = (allowed_from,) if isinstance(allowed_from, str) else tuple(allowed_from)
    refuse = error or (lambda row: invalid_transition(row, state_field))
    with transaction.atomic():
        if isinstance(target, models.Model):
            row = target
        else:
            queryset = target if isinstance(target, models.QuerySet) else target._default_manager.all()
            row = queryset.select_for_update().get(pk=pk)
        if guard is not None and guard(row) is False:
            raise PermissionDenied()
        before = getattr(row, state_field)
        if before not in allowed:
            raise refuse(row)

        model = type(row)
        changes = {state_field: to, **(fields or {})}
        attnames = [model._meta.get_field(name).attname for name in changes]
        previous = {attname: getattr(row, attname) for attname in attnames}
        for name, value in changes.items():
            setattr(row, name, value)
        values = {field.attname: field.pre_save(row, False) for field in map(model._meta.get_field, changes)}
        updated = model._base_manager.filter(pk=row.pk, **{state_field: before}, **(where or {})).update(**values)
        if not updated:
            for name, value in previous.items():
                setattr(row, name, value)
            current = model._base_manager.filter(pk=row.pk).values_list(state_field, flat=True).first()
            if current is not None:
                setattr(row, state_field, current)
            raise (stale or refuse)(row)
        computed = [name for name, value in values.items() if hasattr(value, "resolve_expression")]
        if computed:
            row.refresh_from_db(fields=computed)

        if audit:
            audit_log(actor=actor, verb=verb, obj=row, from_state=before, to_state=to, data=data or {})
        for callback in on_commit:
            transaction.on_commit(callback)
    return row


def transition_many(
    queryset: models.QuerySet,
    *,
    actor,
    verb: str,
    allowed_from: str | Iterable[str],
    to: str,
    fields: dict[str, Any] | None = None,
    data: dict | None = None,
    state_field: str = "status",
) -> list[Any]:
    """Move the rows of `queryset` that are in one of `allowed_from` to `to` (the others are left alone); return the
    primary keys of the rows moved."""
    allowed = (allowed_from,) if isinstance(allowed_from, str) else tuple(allowed_from)
    model = queryset.model
    with transaction.atomic():
        rows = list(
            queryset.filter(**{f"{state_field}__in": allowed})
            .select_for_update()
            .order_by("pk")
            .values_list("pk", state_field)
        )
        by_state: dict[str, list[Any]] = {}
        for pk, state in rows:
            by_state.setdefault(state, []).append(pk)
        for state, pks in by_state.items():
            model._base_manager.filter(pk__in=pks, **{state_field: state}).update(**{state_field: to, **(fields or {})})
        label = model._meta.label_lower
        events = [
            audit_event(
                actor=actor, verb=verb, object_type=label, object_id=pk, from_state=state, to_state=to, data=data
            )
            for pk, state in rows
        ]
        AuditEvent.objects.bulk_create(events, batch_size=500)
    return [pk for pk, _state in rows]
