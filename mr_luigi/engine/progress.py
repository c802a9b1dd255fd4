"""Progress of a running task, shown in Luigi's web UI.

A map, shuffle or reduce task reports the share of its work done
(``set_progress_percentage``) and a line of what it has done so far
(``set_status_message``). Each report is a blocking call to the central
scheduler, so reports are throttled to one a second, and the hot loops call
in only every few thousand lines or records.
"""

from __future__ import annotations

import time
from itertools import islice
from typing import Any, Callable, Iterable, Iterator

#: Seconds between two reports of one task.
INTERVAL = 1.0
#: A merge or reduce checks in every this many records.
EVERY_RECORDS = 8_192


class Progress:
    """Throttled progress reports of one task; does nothing outside a Luigi worker."""

    def __init__(self, task: Any, label: str, total: int, unit: str, hook: Callable[[], None] | None = None) -> None:
        # Luigi's worker attaches these to the task only while it runs it.
        self._percentage = getattr(task, "set_progress_percentage", None)
        self._message = getattr(task, "set_status_message", None)
        self.label = label
        self.total = total
        self.unit = unit
        self._last = float("-inf")
        #: called at every report, before throttling (fault injection's ``middle`` point)
        self.hook = hook

    def __call__(self, done: int, detail: str = "", final: bool = False) -> None:
        if self.hook is not None:
            self.hook()
        now = time.monotonic()
        if not final and now - self._last < INTERVAL:
            return
        self._last = now
        share = 100 if final or not self.total else min(99, int(done * 100 / self.total))
        if self._percentage is not None:
            self._percentage(share)
        if self._message is not None:
            self._message(status_message(f"{share}% · {self.describe(done)}", self.label, detail))

    def describe(self, done: int) -> str:
        if self.unit == "MB":
            return f"{done / 1e6:,.1f} of {self.total / 1e6:,.1f} MB read"
        return f"{done:,} of {self.total:,} {self.unit}"


def status_message(headline: str, label: str, detail: str = "") -> str:
    """A status for Luigi's web UI: a short first line (what its task list shows), then the task and the details."""
    return "\n".join(part for part in (headline, label, detail) if part)


def counted(records: Iterable[Any], report: Callable[[int], None]) -> Iterator[Any]:
    """Pass records through, calling ``report(count so far)`` every few thousand."""
    done = 0
    it = iter(records)
    while chunk := list(islice(it, EVERY_RECORDS)):
        yield from chunk
        done += len(chunk)
        report(done)
