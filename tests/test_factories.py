"""Every factory makes a valid row on its own: a test overrides only the fields its rule is about."""

import pytest

from tests import factories

FACTORIES = sorted(n for n in dir(factories) if n.endswith("Factory") and n != "DjangoModelFactory")


@pytest.mark.django_db
@pytest.mark.parametrize("name", FACTORIES)
def test_a_factory_alone_makes_a_row(name):
    row = getattr(factories, name)()
    row.refresh_from_db()
    assert row.pk
