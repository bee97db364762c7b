"""Registry fixtures shared by the institutions tests."""

import pytest

from accounts.models import Role
from tests.conftest import TOWN_A, make_user, region


@pytest.fixture
def town_a_staff(db):
    """Bureau staff of town A (敦仁街道)."""
    return make_user("敦仁科员", Role.BUREAU_STAFF, region=region(TOWN_A))
