"""Demo data of supervision (idempotent), called by `manage.py seed_demo` after the users exist."""


def seed_supervision() -> None:
    """Complaints in every state (and later inspections): arrives with their issues."""
