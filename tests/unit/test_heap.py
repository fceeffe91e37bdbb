"""The console's collector policy is applied once and fully undone (tests run many consoles)."""

from __future__ import annotations

import asyncio
import gc

import pytest

from tastytui.ui import heap
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


async def test_a_slow_full_collection_freezes_what_survived_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(heap, "REFREEZE_AFTER", 0.0)  # every full collection counts as slow
    policy = HeapPolicy()
    try:
        policy.settle()
        survivors = [[i] for i in range(10_000)]  # long-lived data loaded after connect
        frozen = gc.get_freeze_count()
        gc.collect(1)  # a young collection: nothing to freeze
        await asyncio.sleep(0)
        assert policy.refreezes == 0
        gc.collect(2)
        await asyncio.sleep(0)  # the freeze runs on the loop, after the collection
        assert policy.refreezes == 1
        assert gc.get_freeze_count() >= frozen + len(survivors)
    finally:
        policy.release()
    assert gc.get_freeze_count() == 0
    gc.collect(2)
    await asyncio.sleep(0)
    assert policy.refreezes == 1  # released: the collector is no longer watched
