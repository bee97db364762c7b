"""What every page's frame shows (templates/base.html): the menu of the person's roles and the unread count.

Lazy: a template that never reads `frame` costs nothing; one that does costs the memberships the request reads
anyway and one COUNT for the unread notifications, once per request however often the template asks.
"""

from __future__ import annotations

from functools import cached_property

from core.notifications import unread_count

from .navigation import menu_items, split_for_tabs


class Frame:
    def __init__(self, request):
        self.request = request
        self.user = getattr(request, "user", None)

    @property
    def signed_in(self) -> bool:
        return bool(self.user is not None and self.user.is_authenticated)

    @cached_property
    def unread(self) -> int:
        if not self.signed_in:
            return 0
        cached = getattr(self.request, "_unread_count", None)
        if cached is None:
            cached = self.request._unread_count = unread_count(self.user)
        return cached

    @cached_property
    def icons(self) -> str:
        """The icon sprite's address, looked up once per page (not once per menu entry)."""
        from django.templatetags.static import static

        return static("core/icons.svg")

    @cached_property
    def items(self):
        return menu_items(self.user, getattr(self.request, "resolver_match", None)) if self.signed_in else []

    @cached_property
    def _split(self):
        return split_for_tabs(self.items)

    @property
    def tabs(self):
        return self._split[0]

    @property
    def more(self):
        return self._split[1]

    @property
    def more_current(self) -> bool:
        return any(item.current for item in self.more)

    @property
    def is_home(self) -> bool:
        match = getattr(self.request, "resolver_match", None)
        return getattr(match, "url_name", None) == "home"


def frame(request):
    return {"frame": Frame(request)}
