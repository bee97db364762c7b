"""Who may reach which complaint and take which action on it: one answer for the page, the API and the services.

`access_*` return the object or raise the same 404 for missing and not yours, so ids cannot be probed. The action
table says which actions a complaint's state allows; `allowed_actions` is what a given user may take now (what the
page and the API offer), and the services refuse anything outside it (`require_state`).
"""

from __future__ import annotations

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import scope
from accounts.models import Role
from core.errors import DomainError, NotFound, PermissionDenied
from core.scoping import get_in_scope

from .models import Complaint, ComplaintStatus, StatementRequest
from .selectors import complaints_visible_to, statements_visible_to

S = ComplaintStatus

# R-CMP-1: from each state, the actions of the bureau staff handling the complaint, and those of the parent.
HANDLER_ACTIONS: dict[str, tuple[str, ...]] = {
    S.SUBMITTED: ("accept", "reject", "merge", "confirm_institution"),
    S.ACCEPTED: ("assign", "merge", "confirm_institution"),
    S.ASSIGNED: ("assign", "start", "merge", "confirm_institution"),
    S.INVESTIGATING: ("answer", "assign", "merge", "confirm_institution"),
    S.ANSWERED: ("confirm_institution",),
    S.CLOSED: ("confirm_institution",),
}
PARENT_ACTIONS: dict[str, tuple[str, ...]] = {
    S.ANSWERED: ("rate", "reopen"),
}


def access_complaint(actor, complaint_id) -> Complaint:
    """The complaint if `actor` may see it; the same 404 for missing and not theirs."""
    return get_in_scope(complaints_visible_to(actor), complaint_id, _("投诉不存在"))


def access_statement(actor, request_id) -> StatementRequest:
    return get_in_scope(statements_visible_to(actor), request_id, _("说明请求不存在"))


def require_handler(actor, complaint: Complaint) -> None:
    if not scope.is_bureau(actor) or complaint.town_id not in scope.town_ids(actor):
        raise PermissionDenied(
            _("只有承办的教育局工作人员可以执行此操作")
        )


def require_routing_reader(actor) -> None:
    """The routing table is for the bureau (staff and admins); anyone else gets its 404."""
    if not scope.is_bureau(actor):
        raise NotFound(_("分派规则不存在"))


def require_routing_admin(actor) -> None:
    """Only the district supervisors (bureau admins) change the routing table; anyone else gets its 404."""
    if not scope.has_role(actor, Role.BUREAU_ADMIN):
        raise NotFound(_("分派规则不存在"))


def require_parent(actor, complaint: Complaint) -> None:
    if complaint.parent_id != actor.pk:
        raise PermissionDenied(_("只有投诉人可以执行此操作"))


def invalid_transition(complaint: Complaint, action: str) -> DomainError:
    label = S(complaint.status).label
    return DomainError(
        "complaint.invalid_transition",
        format_lazy(_("投诉当前状态为“{label}”，不能执行此操作"), label=label),
        status=409,
    )


def state_allows(complaint: Complaint, action: str) -> bool:
    """Whether the complaint's state allows `action` to whoever may take it (the action table above)."""
    return action in HANDLER_ACTIONS.get(complaint.status, ()) or action in PARENT_ACTIONS.get(complaint.status, ())


def require_state(complaint: Complaint, action: str) -> None:
    if not state_allows(complaint, action):
        raise invalid_transition(complaint, action)


def allowed_actions(user, complaint: Complaint) -> list[str]:
    """The actions `user` may take on the complaint now: its parent (unless also a handler) rates or reopens an
    answer, once; bureau staff take the handler's actions of its state."""
    if complaint.parent_id == user.pk and not scope.is_bureau(user):
        actions = PARENT_ACTIONS.get(complaint.status, ())
        return [a for a in actions if a != "reopen" or complaint.reopened_at is None]
    return list(HANDLER_ACTIONS.get(complaint.status, ()))


# The desk's actions (web), each mapped onto the state table above: what a handler's page offers as buttons.
DESK_ASK_FROM = (S.ACCEPTED, S.ASSIGNED, S.INVESTIGATING)


def desk_actions(user, complaint: Complaint) -> list[str]:
    """The buttons of the handler's desk for this user and complaint, from the state table (`allowed_actions`):
    take (签收), reject, assign (to a colleague), message, transfer (转办), send_back (退单), start, request_statement,
    ask_parent, conclude, merge, press (督办, district supervisors), open_inspection (a substantiated outcome), reveal
    (the parent's contact).
    Nothing for anyone who is not bureau staff covering the complaint's town."""
    if not scope.is_bureau(user) or complaint.town_id not in scope.town_ids(user):
        return []
    table = allowed_actions(user, complaint)  # bureau staff: the handler's actions of the state
    status, is_open = complaint.status, complaint.status in (S.SUBMITTED, S.ACCEPTED, S.ASSIGNED, S.INVESTIGATING)
    out: list[str] = []
    if "accept" in table or ("assign" in table and status != S.INVESTIGATING and complaint.handler_id != user.pk):
        out.append("take")
    if "reject" in table:
        out.append("reject")
    if "start" in table:
        out.append("start")
    if "assign" in table:
        out.append("assign")  # to a colleague covering the town (the picker)
    if status not in (S.CLOSED, S.REJECTED):
        out.append("message")  # a word to the parent in the thread, the state unchanged (12345: sent back to it)
    if status in DESK_ASK_FROM:
        out += ["request_statement", "ask_parent"]
    if "answer" in table or status == S.ASSIGNED:
        out.append("conclude")
    if is_open:
        out.append("transfer")
    if complaint.handler_id and status in (S.SUBMITTED, S.ACCEPTED, S.ASSIGNED):
        out.append("send_back")
    if "merge" in table:
        out.append("merge")
    if is_open and complaint.handler_id and scope.has_role(user, Role.BUREAU_ADMIN):
        out.append("press")
    if complaint.outcome in ("substantiated", "partly_substantiated") and not complaint.inspection_id:
        out.append("open_inspection")
    out.append("reveal")
    return out
