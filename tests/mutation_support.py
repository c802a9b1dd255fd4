"""Help mutmut see which tests run which engine function, in worker processes too.

mutmut (README, "Development") first runs the suite once to record, per
test, the functions it calls, and later runs only those tests against each
mutant of a function. It records calls in the pytest process only, but most
engine code runs in the processes Luigi forks for its workers: without this
plugin a mutant there would be tested by no test that reaches it and counted
as a survivor. Here, a forked process writes the names of the functions it
calls to a file, and the pytest process adds them to the running test's.

Processes the tests start with ``subprocess`` (the ``luigi`` command) run the
plain code while calls are recorded: they would look for mutmut's settings
in their own folder. When mutants are tested they run the mutant like the
rest, since the name of the mutant under test is in their environment.

Loaded by ``conftest.py`` only while mutmut records calls.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


class ForkedCalls:
    """Carries the functions called in forked processes back to the pytest process."""

    def __init__(self) -> None:
        from mutmut.mutation import trampoline
        from mutmut.stats import record_trampoline_hit

        self.main_pid = os.getpid()
        fd, name = tempfile.mkstemp(prefix="mr_luigi_mutmut_calls_")
        os.close(fd)
        self.path = Path(name)
        self.path.chmod(0o666)  # some tests drop to another user in a forked child
        seen: set[str] = set()
        main_pid, path = self.main_pid, self.path

        def record(name: str, caller: str | None = None) -> None:
            record_trampoline_hit(name, caller)
            if os.getpid() != main_pid and name not in seen:
                seen.add(name)
                try:
                    with open(path, "a", encoding="utf-8") as fh:  # one short line: appends do not interleave
                        fh.write(name + "\n")
                except OSError:  # a child without access (another user, a full /tmp) records nothing
                    pass

        trampoline.record_trampoline_hit = record
        os.register_at_fork(after_in_child=seen.clear)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        """Before mutmut files the test's calls: add those made in its forked processes."""
        from mutmut.state import state

        names = set(self.path.read_text(encoding="utf-8").split())
        self.path.write_text("")
        state()._stats.update(names)

    def pytest_unconfigure(self) -> None:
        self.path.unlink(missing_ok=True)


def fastest_first(items: list) -> None:
    """Order the tests run against a mutant by the time each took while calls were recorded.

    mutmut stops at the first failing test (``-x``) but passes the tests of a
    mutated function in no particular order, so a mutant of a function every
    test reaches can wait minutes for the one quick unit test that kills it.
    Unknown tests go last; the order of tests with equal times is kept.
    """
    stats = Path("mutmut-stats.json")  # mutmut runs the tests from its mutants/ folder
    if not stats.exists():
        return
    import json

    durations = json.loads(stats.read_text()).get("duration_by_test", {})
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))
