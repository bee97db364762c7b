"""What Open311 clients and 12345 sending systems share: a key shown once and stored hashed, and a system user
that files their complaints as the complaint's parent (see open311/models.py for why a user, not a contact row)."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from accounts.models import Membership, Role, User


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
