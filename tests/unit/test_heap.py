"""The console's collector policy is applied once and fully undone (tests run many consoles)."""

from __future__ import annotations

import gc

from tastytui.ui.heap import YOUNG_THRESHOLD, HeapPolicy


def test_settle_freezes_the_loaded_heap_and_release_restores_the_defaults() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    policy = HeapPolicy()
    try:
        policy.settle()
        assert policy.active
        assert gc.get_threshold()[0] == max(YOUNG_THRESHOLD, before[0])
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > frozen_before
        policy.settle()  # a second connect changes nothing (and remembers the first defaults)
    finally:
        policy.release()
    assert not policy.active
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    policy.release()  # idempotent
    assert gc.get_threshold() == before
