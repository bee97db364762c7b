from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("账户")

    def ready(self):
        from core import notifications

        from . import (
            authcache,
            signals,  # noqa: F401
        )

        notifications.install_language_lookup(authcache.languages)  # a recipient's language, kept per process
