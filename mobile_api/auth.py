from ninja.security import HttpBearer

from accounts.services import authenticate_access_token


class BearerAuth(HttpBearer):
    """`Authorization: Bearer <access token>`; a bad, expired or revoked token answers 401 with its reason."""

    def authenticate(self, request, token):
        user, session = authenticate_access_token(token)
        request.auth_session = session
        return user
