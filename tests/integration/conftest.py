import os

import pytest

from . import lab


@pytest.fixture(scope="session", autouse=True)
def root_and_clean_machine():
    if os.geteuid() != 0:
        pytest.fail("the integration tests run the lab for real and need root: sudo make test")
    before = lab.leftovers(lab.somaxconn())
    assert not before, "leftovers of an earlier run are on this machine, the tests cannot tell theirs apart: %s" % before
    yield


@pytest.fixture
def host_somaxconn():
    """The host's somaxconn before the test; the test must leave it so."""
    return lab.somaxconn()
