"""The garbage collector a started service runs with."""

import gc
from collections.abc import Iterator

import pytest

from escalator_runtime.service import settle_garbage_collector


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector")
def test_start_up_objects_are_frozen_and_young_collections_rarer() -> None:
    built_at_start_up = [{"cue": index} for index in range(1_000)]
    settle_garbage_collector(20_000)
    assert gc.get_threshold()[0] == 20_000
    assert gc.get_freeze_count() >= len(built_at_start_up)


@pytest.mark.usefixtures("collector")
def test_zero_leaves_the_collector_alone() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    settle_garbage_collector(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen
