"""Pytest fixtures for tests that run services against the session's real Kafka and MongoDB."""
from __future__ import annotations

import pytest

from shared.testing import Deployment


@pytest.fixture
def deployment(infra):
    """A fresh isolated deployment (own topic prefix and databases) on the session's infrastructure."""
    dep = Deployment(infra.kafka_bootstrap, infra.mongo_url)
    yield dep
    dep.close()


@pytest.fixture(scope="module")
def module_deployment(infra):
    """Like `deployment`, shared by the tests of one module (services start once per module)."""
    dep = Deployment(infra.kafka_bootstrap, infra.mongo_url)
    yield dep
    dep.close()
