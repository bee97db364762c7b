from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The bureau's console: web pages that join the registry with supervision and after-school facts (the registry
    at work, one page per institution with its whole history, inspection planning, the district dashboard). Views
    only: the rules stay in the services and selectors of the apps that own them."""

    name = "console"
    verbose_name = "教育局工作台"

    def ready(self):
        from django.db.models.signals import post_save

        from afterschool.schedule.models import Term

        from .calendar import term_created

        # The bureau is told once when a term starts in a year whose holidays are not entered (calendar care).
        post_save.connect(term_created, sender=Term, dispatch_uid="console.calendar.term_created")
