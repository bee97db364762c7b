from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = _("监管")

    def ready(self):
        from institutions.risk import register_risk_signal_provider
        from institutions.verification import register_inspection_result_provider

        from . import tasks  # noqa: F401 - registers the Celery tasks
        from .complaints import services
        from .inspections import publication, rectification

        # The nightly risk recompute asks supervision for its facts (institutions never imports supervision).
        register_risk_signal_provider(services.complaint_risk_signals)
        register_risk_signal_provider(rectification.inspection_risk_signals)  # findings, open and overdue orders
        # The public QR page shows the latest published inspection result.
        register_inspection_result_provider(publication.latest_result_for)
        # 12345 work orders: every state change of their complaints, and every message of the bureau to the caller,
        # is written to the outbox for the sender.
        from .complaints.hotline.services import on_complaint_change, on_message

        services.register_change_listener(on_complaint_change)
        services.register_message_listener(on_message)
