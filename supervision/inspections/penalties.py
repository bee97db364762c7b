"""Penalty decisions (行政处罚, R-PEN-1, 教育部令第53号 in force 2023-10-15).

Amounts are checked against the dated ranges: unlicensed operation, a fine of 1-5 x the illegal income; disguised
subject training, up to 50,000 yuan, or 50,000-100,000 yuan when very serious. The heavier-penalty conditions
(in-service teacher, a repeat within 2 years, obstruction) are flagged on the decision for the reviewer. Stopping
operation suspends and revocation revokes the institution through institutions.services.institution_change_status,
in the same transaction, so its public QR page shows it at once.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import scope
from core.audit import audit_log
from core.errors import DomainError, NotFound
from core.money import FEN, fmt
from core.policy import policy_decimal, policy_int
from institutions.models import Institution, Status
from institutions.services import institution_change_status

from .models import PenaltyDecision, PenaltyKind, ViolationKind
from .selectors import inspections_visible_to

STATUS_OF_KIND = {PenaltyKind.STOP_OPERATING: Status.SUSPENDED, PenaltyKind.REVOKE: Status.REVOKED}
MONEY_KINDS = (PenaltyKind.FINE, PenaltyKind.CONFISCATION)


def _amount_error(zh: str, en: str) -> DomainError:
    return DomainError("penalty.amount_out_of_range", zh, en, status=422, fields={"amount": (zh, en)})


def check_amount(*, kind, violation, very_serious, amount, illegal_income, on=None) -> None:
    """Refuse an amount outside the R-PEN-1 range of its violation (a DomainError naming the range)."""
    if kind not in MONEY_KINDS:
        if amount is not None:
            raise _amount_error("该处罚种类不涉及金额", "This kind of penalty has no amount")
        return
    if amount is None or amount <= 0:
        raise _amount_error("请填写金额（元）", "An amount in yuan is required")
    if kind != PenaltyKind.FINE:
        return
    if violation == ViolationKind.UNLICENSED:
        if illegal_income is None or illegal_income <= 0:
            raise DomainError(
                "penalty.income_required", _("无证办学罚款须填写违法所得"),
                status=422, fields={"illegal_income": _("必填")},
            )  # fmt: skip
        low = illegal_income * policy_decimal("unlicensed_fine_min_multiple", on)
        high = illegal_income * policy_decimal("unlicensed_fine_max_multiple", on)
    elif violation == ViolationKind.DISGUISED_SUBJECT:
        if very_serious:
            low = policy_decimal("disguised_subject_fine_very_serious_min", on)
            high = policy_decimal("disguised_subject_fine_very_serious_max", on)
        else:
            low, high = FEN, policy_decimal("disguised_subject_fine_serious_max", on)
    else:
        return
    if not low <= amount <= high:
        raise _amount_error(
            f"罚款金额须在 {fmt(low)} 至 {fmt(high)} 元之间（R-PEN-1）",
            f"The fine must be between {fmt(low)} and {fmt(high)} yuan (R-PEN-1)",
        )


def penalty_decide(
    *,
    actor,
    institution_id: int,
    kind: str,
    violation: str,
    legal_basis: str,
    reason: str,
    inspection_id: int | None = None,
    very_serious: bool = False,
    amount: Decimal | None = None,
    illegal_income: Decimal | None = None,
    in_service_teacher: bool = False,
    obstruction: bool = False,
) -> tuple[PenaltyDecision, str]:
    """(decision, the institution's status after it)."""
    if not scope.is_bureau(actor):
        raise NotFound(_("机构不存在"))
    institution = Institution.objects.filter(pk=institution_id, town_id__in=scope.town_ids(actor)).first()
    if institution is None:
        raise NotFound(_("机构不存在"))
    if (
        inspection_id is not None
        and not inspections_visible_to(actor).filter(pk=inspection_id, institution_id=institution_id).exists()
    ):
        raise NotFound(_("检查不存在"))
    today = timezone.localdate()
    check_amount(
        kind=kind,
        violation=violation,
        very_serious=very_serious,
        amount=amount,
        illegal_income=illegal_income,
        on=today,
    )
    window = timedelta(days=365 * policy_int("repeat_offence_window_years", today))
    heavier = []
    if in_service_teacher:
        heavier.append("in_service_teacher")
    if obstruction:
        heavier.append("obstruction")
    if PenaltyDecision.objects.filter(institution=institution, decided_at__gte=timezone.now() - window).exists():
        heavier.append("repeat_within_2_years")
    with transaction.atomic():
        decision = PenaltyDecision.objects.create(
            institution=institution,
            inspection_id=inspection_id,
            town_id=institution.town_id,
            kind=kind,
            violation=violation,
            very_serious=very_serious,
            legal_basis=legal_basis.strip()[:300],
            amount=amount,
            illegal_income=illegal_income,
            heavier_conditions=heavier,
            reason=reason.strip()[:1000],
            decided_by=actor,
        )
        audit_log(
            actor=actor,
            verb="penalty.decide",
            obj=decision,
            to_state=kind,
            data={"institution": institution.pk, "amount": str(amount) if amount is not None else None,
                  "heavier": heavier},
        )  # fmt: skip
        status = institution.status
        to_status = STATUS_OF_KIND.get(kind)
        if to_status and to_status != status:
            status = institution_change_status(
                actor=actor,
                institution_id=institution.pk,
                to_status=to_status,
                reason=f"处罚决定 {decision.pk}：{reason}",
            ).status
    return decision, status
