"""Demo data of after-school services (idempotent), called by `manage.py seed_demo`."""


def seed_afterschool() -> None:
    """Schools, a term, programmes, sessions, students, enrolments and attendance: arrives with its issue."""
