"""What the schedule tells the packages built on it, so that it never imports them (fees reacts to a withdrawal)."""

from django.dispatch import Signal

# Sent inside the withdrawal's transaction with app (the Application), effective (the first day without the
# service, or None) and actor; a receiver's error undoes the withdrawal. Fees refunds pro rata (R-ASS-3).
application_withdrawn = Signal()
