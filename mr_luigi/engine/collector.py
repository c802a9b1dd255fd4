"""Python's cyclic garbage collector while a task runs: fewer passes, or none while records are read.

A task holds millions of small containers that stay alive until they are
spilled or written (a map's buffer, a shuffle's records). Each pass of the
collector walks the objects of its generation again, for nothing: with the
defaults (a pass per 700 new containers, every tenth also over the older
ones) a word-count map without a combiner spent a tenth of its time there.
Reference counting still frees everything else at once, and cycles are still
collected, in passes 70 times rarer.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

#: gc.set_threshold while a task runs: a pass per 50,000 new containers instead of 700. Measured on a map of 6 MB
#: of text without a combiner: 0.83 s with the defaults, 0.72 s with these or with no collector at all.
TASK_THRESHOLDS = (50_000, 10, 10)


@contextmanager
def task_thresholds() -> Iterator[None]:
    """Run a task with :data:`TASK_THRESHOLDS`, then give the process back its own (a task may run in the caller's)."""
    saved = gc.get_threshold()
    gc.set_threshold(*TASK_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection at all, for code that only allocates what it keeps (reading records whole)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
