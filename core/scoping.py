"""Scoped access: an object outside the caller's scope answers exactly like a missing one (404)."""

from __future__ import annotations

from django.db.models import QuerySet

from .errors import NotFound


def get_in_scope(queryset: QuerySet, pk, message=None):
    """`queryset` is already narrowed to what the actor may see; anything else is "not found".

    `message`: `_("机构不存在")`."""
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotFound(message) from None
