from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The web front door: each role's home, the navigation, the notification inbox page.

    It sits beside `mobile_api` above the domain apps: it reads their selectors, and nothing imports it.
    """

    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        from . import signals  # noqa: F401 - connects the receivers
