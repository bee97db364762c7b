"""What the schedule asks of outside personnel's admission (R-ASS-2), answered by the admission package.

The schedule sits under admission (an admission names a school; revoking one takes the person off sessions), so it
must not import it back. Admission registers its answers here when the app starts (afterschool.apps), and the
schedule asks through these two functions.
"""

from __future__ import annotations

from datetime import date
from types import ModuleType

_provider: ModuleType | None = None


def register(provider: ModuleType) -> None:
    """`provider` has outside_staff_for(school, person_id, first_date, last_date) and lapsing_sessions(sessions)."""
    global _provider
    _provider = provider


def _answers() -> ModuleType:
    if _provider is None:
        raise RuntimeError("no admission rules registered: is the afterschool app loaded?")
    return _provider


def outside_staff_for(school, person_id: int, first_date: date, last_date: date):
    """The school's staff row of an outside person admitted for those dates, or a DomainError saying why not."""
    return _answers().outside_staff_for(school, person_id, first_date, last_date)


def lapsing_sessions(sessions) -> list[dict]:
    """Sessions whose outside person is not, or not long enough, admitted to the session's school."""
    return _answers().lapsing_sessions(sessions)
