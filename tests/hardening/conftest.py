"""Hardening tests.  The leak scan reads what the whole test run wrote, so it runs last."""

from __future__ import annotations

import pytest

LAST = "test_leak_scan.py"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Everything else first: the scan then sees every log file and picture of the session.
    items.sort(key=lambda item: LAST in item.nodeid)
