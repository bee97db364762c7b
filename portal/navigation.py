"""The menu of each role: a bottom tab bar on phones, a side menu on desktop (filled by the front-door work)."""
