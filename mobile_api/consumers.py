"""Websocket: /ws/notifications/ pushes a user's new inbox rows as {type, id, at, payload}.

Two ways in: the API's bearer token (phones: `Authorization: Bearer …` or `?access_token=`), or, for the web pages,
the browser's session cookie, accepted only from a page of this same site (the Origin header names the host the
socket was opened on), so another site's page cannot open a socket with a visitor's cookie. Signing out of the web
closes the session's sockets, as signing out of a phone does.

With the channel layer (Redis) unreachable the socket is refused, or closed, with 1013 "try again later": the
inbox is the truth and the phone reads it over HTTP meanwhile. No traceback, no 500.
"""

import asyncio
import logging
from http.cookies import SimpleCookie
from importlib import import_module
from urllib.parse import parse_qs, urlsplit

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from accounts.services import authenticate_access_token
from core.errors import DomainError
from core.notifications import session_group, user_group, web_session_group

logger = logging.getLogger(__name__)

TRY_AGAIN_LATER = 1013  # RFC 6455 registry: the server cannot serve now; the client may retry later


def _layer_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (OSError, asyncio.TimeoutError)
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - only the in-memory layer is installed
        return errors
    return (*errors, RedisError)


LAYER_DOWN = _layer_errors()


def _bearer_from_scope(scope) -> str | None:
    """Native clients send `Authorization: Bearer …`; browsers cannot set headers, so `?access_token=` works too."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text = value.decode("latin-1")
            if text.lower().startswith("bearer "):
                return text[7:].strip()
    query = parse_qs(scope.get("query_string", b"").decode())
    token = query.get("access_token")
    return token[0] if token else None


@database_sync_to_async
def _authenticate(raw):
    return authenticate_access_token(raw)


def _header(scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value.decode("latin-1")
    return None


def _same_origin(scope) -> bool:
    """The socket comes from a page of this site: its Origin's host:port is the Host it was opened on."""
    origin, host = _header(scope, b"origin"), _header(scope, b"host")
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def _session_key(scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    try:
        morsel = SimpleCookie(raw).get(settings.SESSION_COOKIE_NAME)
    except Exception:  # noqa: BLE001 - a malformed cookie header: no session
        return None
    return morsel.value if morsel else None


async def _session_user(scope):
    """The signed-in user of the browser's session (Django's own checks: backend, session hash), or None."""
    key = _session_key(scope)
    if not key or not _same_origin(scope):
        return None, None
    store = import_module(settings.SESSION_ENGINE).SessionStore(key)
    user = await get_user({"session": store})
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None, None
    return user, key


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str] = []

    async def __call__(self, scope, receive, send):
        # The channel layer is read from the start (group_add in connect, receive alongside the client's messages):
        # if Redis is away, either raises here.
        try:
            await super().__call__(scope, receive, send)
        except LAYER_DOWN as exc:
            logger.warning("websocket refused: channel layer unavailable (%s: %s)", type(exc).__name__, exc)
            try:
                await send({"type": "websocket.close", "code": TRY_AGAIN_LATER})
            except Exception:  # noqa: BLE001 - the client is gone already
                pass

    async def connect(self):
        self.groups_joined = []
        raw = _bearer_from_scope(self.scope)
        if raw is None:
            user, key = await _session_user(self.scope)
            if user is None:
                await self.close(code=4401)
                return
            # Joined to the web session too: signing out of the page closes this socket.
            self.user_id = user.pk
            self.groups_joined = [user_group(user.pk), web_session_group(key)]
            for group in self.groups_joined:
                await self.channel_layer.group_add(group, self.channel_name)
            await self.accept()
            return
        try:
            user, session = await _authenticate(raw)
        except DomainError:
            await self.close(code=4401)  # before accept: the handshake is refused
            return
        self.user_id = user.pk
        # Joined to the session too, so signing out (or an admin's revocation) closes this socket.
        self.groups_joined = [user_group(user.pk), session_group(session.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in self.groups_joined:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except LAYER_DOWN:  # Redis away: its group memberships expire on their own
                break

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def notification_event(self, message):
        await self.send_json(message["event"])

    async def session_revoked(self, message):
        await self.close(code=4401)
