"""The module Celery's autodiscovery imports for the app: it registers the tasks of each sub-domain package."""

from .complaints.hotline.tasks import hotline_deliver, hotline_outbox_sweep
from .complaints.tasks import complaint_outcome_sms, complaint_sweep, process_complaint_photo
from .inspections.tasks import inspection_daily

__all__ = [
    "complaint_outcome_sms",
    "complaint_sweep",
    "hotline_deliver",
    "hotline_outbox_sweep",
    "inspection_daily",
    "process_complaint_photo",
]
