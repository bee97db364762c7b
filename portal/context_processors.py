"""What every page's frame shows (templates/base.html): the menu of the person's roles and the unread count.

Lazy: a template that never reads `frame` costs nothing; one that does costs the memberships the request reads
anyway and one COUNT for the unread notifications, once per request however often the template asks.
"""

from __future__ import annotations

from functools import cached_property
from html import escape as esc

from django.urls import get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, ngettext

from accounts.selectors import memberships_of
from core import usercache
from core.cache import ProcessTTLCache
from core.csrf import page_token
from core.notifications import unread_count

from .navigation import menu_items, split_for_tabs

MENU_KEEP_SECONDS = 300  # a school renamed shows in its menu entry within this time
_MENUS = ProcessTTLCache(4096)  # (language, roles and schools, page, unread) → the three menus' markup


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

    # The menus' entries as markup, built once per page in Python (the same <li> for each entry as a template include
    # would write, at a fraction of the cost), and kept per process for the same roles, page, language and unread
    # count: the frame is on every page (issue 16's speed goal).
    @cached_property
    def _menus(self) -> tuple[str, str, str, bool]:
        match = getattr(self.request, "resolver_match", None)
        key = (
            get_language(),
            get_script_prefix(),
            tuple((m.role, m.school_id) for m in memberships_of(self.user)),
            getattr(match, "url_name", None),
            tuple(sorted((getattr(match, "kwargs", None) or {}).items())),
            self.unread,
        )
        kept = _MENUS.get(key)
        if kept is not None:
            return kept
        menus = (
            self._items_html(self.items),
            self._items_html(self.tabs),
            self._items_html(self.more),
            any(item.current for item in self.more),
        )
        _MENUS.put(key, menus, MENU_KEEP_SECONDS)
        return menus

    @property
    def items_html(self) -> str:
        return self._menus[0] if self.signed_in else ""

    @property
    def tabs_html(self) -> str:
        return self._menus[1] if self.signed_in else ""

    @property
    def more_html(self) -> str:
        return self._menus[2] if self.signed_in else ""

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

    @cached_property
    def csrf_token(self) -> str:
        return page_token(self.request)

    # The language switch and the sign-out form, built once per page (each appears twice: side menu and "更多").
    @cached_property
    def _language_form(self) -> tuple[str, str]:
        english = get_language() == "en"
        start = format_html(
            '<form class="lang-switch" method="post" action="{}" data-testid="', reverse("set_language")
        )
        rest = format_html(
            '"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<input type="hidden" name="next" value="{}">'
            '<button type="submit" name="language" value="{}" lang="{}">{}</button></form>',
            self.csrf_token,
            self.request.get_full_path(),
            "zh-hans" if english else "en",
            "zh-Hans" if english else "en",
            "中文" if english else "English",
        )
        return start, rest

    @cached_property
    def language_switch_html(self) -> str:
        return mark_safe("language-switch".join(self._language_form))  # noqa: S308 - parts escaped above

    @cached_property
    def language_switch_more_html(self) -> str:
        return mark_safe("language-switch-more".join(self._language_form))  # noqa: S308 - parts escaped above

    @cached_property
    def sign_out_html(self) -> str:
        return format_html(
            '<form class="sign-out" method="post" action="{}">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button class="btn-signout" type="submit">{}</button></form>',
            reverse("logout"),
            self.csrf_token,
            gettext("退出"),
        )

    # The signed-in frame's bell, side menu and tab bar (templates/base.html), built here in one go: the same
    # markup as template tags would write, at a fraction of their cost on every page.
    @cached_property
    def bell_html(self) -> str:
        n = self.unread
        label = ngettext("通知，%(n)s 条未读", "通知，%(n)s 条未读", n) % {"n": n}
        return mark_safe(  # noqa: S308 - every value escaped
            f'<a class="bell{" has-unread" if n else ""}" href="{esc(reverse("notifications"))}" '
            f'data-testid="unread-link" aria-label="{esc(label)}"><svg class="icon" aria-hidden="true">'
            f'<use href="{esc(self.icons)}#bell"></use></svg><span class="badge" data-unread-count '
            f'data-testid="unread-count"{"" if n else " hidden"}>{n}</span></a>'
        )

    @cached_property
    def side_menu_html(self) -> str:
        if not self.signed_in:
            return ""
        return mark_safe(  # noqa: S308 - every value escaped, the parts built escaped
            f'<nav class="side-menu" aria-label="{esc(gettext("主菜单"))}" data-testid="side-menu">'
            f'<p class="who"><span data-testid="user-name">{esc(self.user.name)}</span></p>'
            f'<ul>{self.items_html}</ul><div class="menu-foot">{self.language_switch_html}{self.sign_out_html}</div>'
            "</nav>"
        )

    @cached_property
    def tab_bar_html(self) -> str:
        if not self.signed_in:
            return ""
        current = ' class="current"' if self.more_current else ""
        return mark_safe(  # noqa: S308 - every value escaped, the parts built escaped
            f'<nav class="tab-bar" aria-label="{esc(gettext("底部菜单"))}" data-testid="tab-bar"><ul>{self.tabs_html}'
            f'<li class="more"><details><summary{current}><svg class="icon" aria-hidden="true">'
            f'<use href="{esc(self.icons)}#more"></use></svg><span>{esc(gettext("更多"))}</span></summary>'
            f'<div class="more-panel"><p class="who">{esc(self.user.name)}</p><ul>{self.more_html}</ul>'
            f"{self.language_switch_more_html}{self.sign_out_html}</div></details></li></ul></nav>"
        )

    @property
    def more_current(self) -> bool:
        return self._menus[3] if self.signed_in else False

    @property
    def is_home(self) -> bool:
        match = getattr(self.request, "resolver_match", None)
        return getattr(match, "url_name", None) == "home"


def frame(request):
    return {"frame": Frame(request)}
