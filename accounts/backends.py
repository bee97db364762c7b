from django.contrib.auth.backends import ModelBackend

from .models import User
from .phones import normalize_mainland_mobile


def find_login_user(identifier: str) -> User | None:
    """A mainland mobile number finds by phone, anything else by username."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    phone = normalize_mainland_mobile(identifier)
    lookup = {"phone": phone} if phone else {"username": identifier}
    return User.objects.filter(**lookup).first()


class PhoneOrUsernameBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = find_login_user(username)
        if user is None:
            User().set_password(password)  # same work as a real check, so timing does not reveal who exists
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
