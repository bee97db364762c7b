"""Web pages of the registry: the public verification page a poster's QR code opens."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import verification


@never_cache
@require_safe
def verify(request, token: str):
    """No login. A live code shows the institution's public record (200); a rotated one the red "not valid, may be
    forged" warning (200: the code was real once, the page is the right answer); a code never issued the same
    warning with 404. A GET counts as a scan of the day (HEAD, as link previews send, does not)."""
    row = verification.find_token(token)
    if row is None:
        return render(
            request, "institutions/verify.html", {"v": None, "report_url": verification.report_url()}, status=404
        )
    if request.method == "GET":
        verification.record_scan(row)
    payload = verification.verification_payload(row)
    return render(request, "institutions/verify.html", {"v": payload, "report_url": payload["report_url"]})
