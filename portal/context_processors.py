"""What every page's frame shows (templates/base.html): the menu of the person's roles and the unread count.

Lazy: a template that never reads `frame` costs nothing; one that does costs the memberships the request reads
anyway and one COUNT for the unread notifications, once per request however often the template asks.
"""

from __future__ import annotations

from functools import cached_property

from django.utils.html import format_html
from django.utils.safestring import mark_safe

from core import usercache
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
            cached = usercache.recall(self.user.pk, "unread")
            if cached is None:
                cached = unread_count(self.user)
                usercache.remember(self.user.pk, "unread", cached)
            self.request._unread_count = cached
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

    # The menus' entries as markup, built here once per page: the same <li> for each entry as a template include
    # would write, at a fraction of the cost (the frame is on every page; issue 16's speed goal).
    @cached_property
    def items_html(self) -> str:
        return self._items_html(self.items)

    @cached_property
    def tabs_html(self) -> str:
        return self._items_html(self.tabs)

    @cached_property
    def more_html(self) -> str:
        return self._items_html(self.more)

    def _items_html(self, items) -> str:
        icons = self.icons
        unread = self.unread if any(item.key == "notifications" for item in items) else 0
        return mark_safe("".join(  # noqa: S308 - every value below is escaped by format_html
            format_html(
                '<li><a href="{}" data-menu="{}"{}><svg class="icon" aria-hidden="true"><use href="{}#{}"></use>'
                "</svg><span>{}</span>{}</a></li>",
                item.url,
                item.key,
                mark_safe(' aria-current="page"') if item.current else "",
                icons,
                item.icon,
                item.label,
                format_html(' <span class="badge" data-unread-count>{}</span>', unread)
                if item.key == "notifications" and unread
                else "",
            )
            for item in items
        ))

    @property
    def more_current(self) -> bool:
        return any(item.current for item in self.more)

    @property
    def is_home(self) -> bool:
        match = getattr(self.request, "resolver_match", None)
        return getattr(match, "url_name", None) == "home"


def frame(request):
    return {"frame": Frame(request)}
