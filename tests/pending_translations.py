"""English for msgids not yet in locale/en/LC_MESSAGES/django.po: helpers list them in .i18n/<name>.txt
(`中文<TAB>English`, or `context|中文<TAB>English` for a pgettext context) and the catalogue is regenerated after
the merge. Until then the tests read those lines into the English catalogue, so an English assertion on a new
message can pass; a msgid the catalogue already translates is left as the catalogue says."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import trans_real

ROOT = Path(__file__).resolve().parent.parent


def pending() -> dict[str, str]:
    entries = {}
    for path in sorted((ROOT / ".i18n").glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "\t" not in line or line.startswith("#"):
                continue
            msgid, english = line.split("\t", 1)
            context, bar, bare = msgid.partition("|")
            key = f"{context}\x04{bare}" if bar and context.isascii() else msgid
            entries[key] = english.replace("\\n", "\n")
    return entries


_PENDING = None


def install() -> None:
    """Into the (cached) English catalogue, once per catalogue object (settings changes rebuild it)."""
    global _PENDING
    if _PENDING is None:
        _PENDING = pending()
    catalogue = trans_real.translation("en")
    if getattr(catalogue, "_pending_installed", False):
        return
    for key, english in _PENDING.items():
        if key not in catalogue._catalog:
            catalogue._catalog[key] = english
    catalogue._pending_installed = True
