"""Pluggable SMS sending, like Django's mail backends: SMS_BACKEND names the class."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# The in-memory outbox of LocmemSmsBackend, read by tests: [(phone, text), ...]
outbox: list[tuple[str, str]] = []


class BaseSmsBackend:
    def send(self, phone: str, text: str) -> None:
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """For the demo: the message goes to the log instead of a phone."""

    def send(self, phone: str, text: str) -> None:
        logger.warning("SMS to %s: %s", phone, text)


class LocmemSmsBackend(BaseSmsBackend):
    """For tests: messages are kept in accounts.sms.outbox."""

    def send(self, phone: str, text: str) -> None:
        outbox.append((phone, text))


def get_sms_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(phone: str, text: str) -> None:
    get_sms_backend().send(phone, text)
