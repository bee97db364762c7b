from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .models import AccessToken, AuthSession, RetiredRefreshToken, SmsCode


@shared_task(name="accounts.purge_expired_credentials", autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def purge_expired_credentials() -> dict:
    """Daily: drop expired access tokens and old SMS codes; sessions stay for the record, marked expired."""
    now = timezone.now()
    tokens, _ = AccessToken.objects.filter(expires_at__lte=now).delete()
    RetiredRefreshToken.objects.filter(expires_at__lte=now).delete()
    codes, _ = SmsCode.objects.filter(created_at__lte=now - timedelta(days=7)).delete()
    sessions = AuthSession.objects.filter(refresh_expires_at__lte=now, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason="expired"
    )
    return {"access_tokens": tokens, "sms_codes": codes, "sessions": sessions}
