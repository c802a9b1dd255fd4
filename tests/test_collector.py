"""The garbage collector's settings while a task runs: fewer passes, and the caller's own given back."""

from __future__ import annotations

import gc

import pytest

from mr_luigi.engine import collector


def test_a_task_runs_with_its_thresholds_and_gives_the_callers_back_even_when_it_fails():
    before = gc.get_threshold()
    with pytest.raises(ValueError), collector.task_thresholds():
        assert gc.get_threshold() == collector.TASK_THRESHOLDS
        assert collector.TASK_THRESHOLDS[0] >= 10_000  # at least ten times rarer than Python's default of 700
        raise ValueError("the task failed")
    assert gc.get_threshold() == before


def test_cycles_are_still_collected_under_the_task_thresholds():
    class Node:
        def __init__(self):
            self.me = self

    with collector.task_thresholds():
        gc.collect()
        for _ in range(3 * collector.TASK_THRESHOLDS[0]):
            Node()
        assert len(gc.get_objects(generation=0)) < 2 * collector.TASK_THRESHOLDS[0]  # passes ran: not all kept


@pytest.mark.parametrize("enabled", [True, False])
def test_paused_collection_comes_back_as_it_was(enabled):
    (gc.enable if enabled else gc.disable)()
    try:
        with pytest.raises(KeyError), collector.paused():
            assert not gc.isenabled()
            raise KeyError("x")
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
