from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The bureau's console: web pages that join the registry with supervision and after-school facts (the registry
    at work, one page per institution with its whole history, inspection planning, the district dashboard). Views
    only: the rules stay in the services and selectors of the apps that own them."""

    name = "console"
    verbose_name = "教育局工作台"
