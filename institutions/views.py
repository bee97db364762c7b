"""Web pages of the registry: the public verification page a poster's QR code opens, and the registry console."""

from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from accounts import scope
from accounts.models import Region, Role
from core.errors import NotFound

from . import permissions, selectors, verification
from .models import Poster, Status, VerificationToken
from .selectors import PUBLIC_STATUSES, access_institution_record, filter_registry, institutions_listable_by
from .tasks import build_poster


@never_cache
@require_safe
def verify(request, token: str):
    """No login. A live code shows the institution's public record (200); a rotated one the red "not valid, may be
    forged" warning (200: the code was real once, the page is the right answer); a code never issued the same
    warning with 404. A GET counts as a scan of the day (HEAD, as link previews send, does not)."""
    found = verification.cached_verification(token)
    # Complaints are filed by parents: a visitor (who may sign up as one) or a parent sees "举报问题"; a signed-in
    # member of staff would be led to a form that refuses them.
    user = request.user
    may_report = not user.is_authenticated or scope.has_role(user, Role.PARENT)
    if found is None:
        context = {"v": None, "report_url": verification.report_url(), "may_report": may_report}
        return render(request, "institutions/verify.html", context, status=404)
    token_id, payload = found
    if request.method == "GET":
        verification.record_scan_of(token_id)
    context = {"v": payload, "report_url": payload["report_url"], "may_report": may_report}
    return render(request, "institutions/verify.html", context)


# --- The bureau's registry console (signed in with the web session) ---------------------------------------------------


PAGE_SIZE = 20


def _registry_rows(user, *, q: str, town_id: int | None, status: str):
    qs = (
        institutions_listable_by(user)
        .select_related("town")
        .prefetch_related(
            Prefetch(
                "tokens", queryset=VerificationToken.objects.filter(revoked_at__isnull=True), to_attr="live_tokens"
            )
        )
    )
    return filter_registry(qs, town_id=town_id, status=status, q=q).order_by("town__code", "name", "id")


def _towns():
    return Region.objects.filter(parent__isnull=False, valid_to__isnull=True).order_by("code")


def registry(request):
    """The registry at a glance for the bureau and institution staff: status, town, risk, poster and public page.
    Twenty a page, searched by name / pinyin initials / credit code and filtered by town and status on the server,
    within what the user may list (institutions_listable_by)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    q = request.GET.get("q", "").strip()[:50]
    raw_town = request.GET.get("town", "").strip()
    town_id = int(raw_town) if raw_town.isdigit() and len(raw_town) < 10 else None
    can_see_records = permissions.sees_records(request.user)
    statuses = Status.choices if can_see_records else [(s, Status(s).label) for s in PUBLIC_STATUSES]
    status = request.GET.get("status", "")
    if status not in {value for value, _label in statuses}:
        status = ""
    rows = _registry_rows(request.user, q=q, town_id=town_id, status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    kept = urlencode({k: v for k, v in (("q", q), ("town", town_id or ""), ("status", status)) if v})
    return render(
        request,
        "institutions/registry.html",
        {
            "page": page,
            "q": q,
            "town_id": town_id,
            "status": status,
            "towns": _towns(),
            "statuses": statuses,
            "kept": kept,
            "filtered": bool(q or town_id or status),
            "can_see_records": can_see_records,
        },
    )


def registry_poster(request, institution_id: int):
    """The printable poster, for those who may see the institution's record (web session)."""
    if not request.user.is_authenticated:
        raise Http404
    try:
        institution = access_institution_record(request.user, institution_id)
    except NotFound:
        raise Http404 from None
    build_poster(institution.pk)  # a no-op when the stored poster is current
    poster = Poster.objects.get(institution=institution)
    return FileResponse(poster.image.open("rb"), content_type="image/png")


# --- The lists behind the home's cards ------------------------------------------------------------------------------

LIST_PAGE_SIZE = 50


@require_safe
def expiring_list(request):
    """Licences of the user's towns that expire within 30 days, soonest first (bureau roles; anyone else: 404)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not scope.has_role(request.user, *selectors.BUREAU_ROLES):
        raise Http404
    qs = selectors.expiring_licences(request.user, timezone.localdate())
    page = Paginator(qs, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "institutions/expiring_list.html", {"page": page})


@require_safe
def proposal_list(request):
    """Change proposals waiting for review: institution staff their own institution's, bureau staff those of their
    towns they review. Anyone else: 404."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not scope.has_role(request.user, Role.INSTITUTION_STAFF, *selectors.EDITOR_ROLES):
        raise Http404
    qs = selectors.proposals_waiting(request.user).select_related("institution").order_by("proposed_at", "id")
    page = Paginator(qs, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "institutions/proposal_list.html", {"page": page})
