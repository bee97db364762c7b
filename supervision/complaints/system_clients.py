"""What Open311 clients and 12345 sending systems share: a key shown once and stored hashed, a system user that files
their complaints as the complaint's parent (see open311/models.py for why a user, not a contact row), and the two
writes the bureau makes on them: register one (its user and its key) and rotate its key. Both models carry
`key_hash`, `key_prefix` and `user`; only the district's bureau admins may do either, and each is audited."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.db import models, transaction

from accounts.models import Membership, Role, User
from accounts.scope import has_role
from core.audit import audit_log
from core.errors import PermissionDenied


def new_key(prefix: str) -> tuple[str, str, str]:
    """(the key to hand over once, its hash to store, its first characters to tell keys apart in lists)."""
    raw = prefix + secrets.token_urlsafe(32)
    return raw, hash_key(raw), raw[: len(prefix) + 4]


def hash_key(raw: str) -> str:
    return hashlib.sha256((raw or "").encode()).hexdigest()


def system_user(kind: str, name: str) -> User:
    """A user nobody signs in as (no usable password), holding a parent membership so it may file complaints."""
    user = User.objects.create_user(username=f"{kind}-{uuid.uuid4().hex[:12]}", password=None, name=name[:50])
    Membership.objects.create(user=user, role=Role.PARENT)
    return user


def require_bureau_admin(actor, message) -> None:
    if not (getattr(actor, "is_superuser", False) or has_role(actor, Role.BUREAU_ADMIN)):
        raise PermissionDenied(message)


def client_register(
    model: type[models.Model], *, actor, kind: str, user_name: str, key_prefix: str, verb: str, denied, **fields
) -> tuple[models.Model, str]:
    """A new keyed client of `model` (Open311Client, HotlineSystem) with its system user; returns (row, the key to
    hand over once). The key is stored hashed; the registration is audited under `verb`."""
    require_bureau_admin(actor, denied)
    raw, digest, prefix = new_key(key_prefix)
    with transaction.atomic():
        row = model.objects.create(
            key_hash=digest, key_prefix=prefix, user=system_user(kind, user_name), **fields
        )
        audit_log(actor=actor, verb=verb, obj=row, data={"name": fields.get("name", "")})
    return row, raw


def client_rotate_key(model: type[models.Model], *, actor, pk: int, key_prefix: str, verb: str, denied) -> str:
    """A new key for the client (the old one stops working at once); returns it, to hand over once."""
    require_bureau_admin(actor, denied)
    raw, digest, prefix = new_key(key_prefix)
    with transaction.atomic():
        row = model.objects.select_for_update().get(pk=pk)
        row.key_hash, row.key_prefix = digest, prefix
        row.save(update_fields=["key_hash", "key_prefix"])
        audit_log(actor=actor, verb=verb, obj=row, data={"key_prefix": prefix})
    return raw
