"""What a phone may learn about its own session once it is refused: was it cut by the bureau as a lost phone?

The API answers every revoked token the same way (401 `auth.token_revoked`), whether the person signed out on another
device, a stolen refresh token was replayed, or the bureau cut every session of a lost phone. Only the last must wipe
the phone's local data; the others must keep the unsent records until the person signs in again. So the phone, once
refused, shows its refresh token here (only its holder has it) and learns which case it is: nothing about anyone else,
and the API's error codes stay as native clients know them.
"""

from __future__ import annotations

from accounts.models import AuthSession, RetiredRefreshToken
from accounts.services import hash_token

WIPE_REASONS = ("admin",)  # accounts.services.auth_revoke_user_sessions: the bureau's "lost phone"


def session_wiped(refresh_token: str) -> bool:
    if not isinstance(refresh_token, str) or not 0 < len(refresh_token) <= 200:
        return False
    token_hash = hash_token(refresh_token)
    session = AuthSession.objects.filter(refresh_hash=token_hash).only("revoked_at", "revoked_reason").first()
    if session is None:
        retired = RetiredRefreshToken.objects.select_related("session").filter(token_hash=token_hash).first()
        session = retired.session if retired else None
    return session is not None and session.revoked_at is not None and session.revoked_reason in WIPE_REASONS
