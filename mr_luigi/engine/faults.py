"""Fault injection, for testing what a job does when its tasks fail or die.

Set ``MR_LUIGI_FAULTS`` to one or more comma-separated rules
``phase:task:attempts:action[:point]``:

- ``phase``: ``map``, ``barrier``, ``shuffle``, ``reduce``, ``final`` or ``*``;
- ``task``: the map index or partition number (``0`` for barrier and final), or ``*``;
- ``attempts``: ``1``, a range ``1-2``, or ``*`` (attempts count from 1 and
  across re-runs, see :mod:`mr_luigi.engine.attempts`);
- ``action``: ``raise`` (an :class:`InjectedFault`, as from a flaky disk),
  ``kill`` (the task process SIGKILLs itself) or ``hang`` (it stops, having
  written ``<work folder>/<job id>/faults/hang-<phase>-<task>-<attempt>`` with
  its pid, until something kills it);
- ``point``: ``start`` (default), ``middle`` (at the task's first progress
  report, with part of its output written; for ``final``, after the part files
  are published) or ``commit`` (all output written, not yet renamed into place).
  ``final`` has two more: ``parts`` (the first part file published, the next
  not yet) and ``writing`` (``final_output.txt``, or the first named output,
  half written under its temporary name). With ``work_dir`` on an object
  store, ``put``: the task's files put to the store, its ``_DONE`` marker not
  yet (see :mod:`mr_luigi.engine.workstore`).

``MR_LUIGI_FAULTS=map:*:1-2:raise`` makes every map task fail on its first two
attempts. Unset, the hooks cost one dictionary lookup per task.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from mr_luigi.errors import ConfigError, MrLuigiError
from mr_luigi.io.atomic import atomic_file

ENV = "MR_LUIGI_FAULTS"
PHASES = ("map", "barrier", "shuffle", "reduce", "final")
ACTIONS = ("raise", "kill", "hang")
POINTS = ("start", "middle", "parts", "writing", "commit", "put")


class InjectedFault(MrLuigiError):
    """The failure a ``raise`` rule injects."""


@dataclass(frozen=True)
class Rule:
    phase: str
    task: int | None  # None: any
    first: int
    last: int | None  # None: no upper bound
    action: str
    point: str

    def matches(self, phase: str, task: int, attempt: int) -> bool:
        return (self.phase in ("*", phase) and self.task in (None, task)
                and self.first <= attempt and (self.last is None or attempt <= self.last))


def check_environment() -> None:
    """Raise ConfigError now, before any task runs, if ``MR_LUIGI_FAULTS`` is malformed."""
    parse_rules(os.environ.get(ENV, ""))


def parse_rules(text: str) -> list[Rule]:
    """Parse ``MR_LUIGI_FAULTS``; a malformed rule is a ConfigError naming it."""
    return [_parse_rule(part.strip()) for part in text.split(",") if part.strip()]


def _parse_rule(text: str) -> Rule:
    fields = text.split(":")
    if len(fields) not in (4, 5):
        raise ConfigError(ENV, f"rule {text!r} must be phase:task:attempts:action[:point]")
    phase, task, attempts, action = fields[:4]
    point = fields[4] if len(fields) == 5 else "start"
    for value, allowed in ((phase, ("*", *PHASES)), (action, ACTIONS), (point, POINTS)):
        if value not in allowed:
            raise ConfigError(ENV, f"rule {text!r}: {value!r} is not one of {', '.join(allowed)}")
    try:
        first, _, last = attempts.partition("-")
        bounds = (1, None) if attempts == "*" else (int(first), int(last or first))
        task_index = None if task == "*" else int(task)
    except ValueError:
        raise ConfigError(ENV, f"rule {text!r}: task and attempts must be numbers, a range like 1-2, or *") from None
    return Rule(phase, task_index, bounds[0], bounds[1], action, point)


@dataclass
class Injector:
    """The rules that apply to one attempt of one task."""

    phase: str
    task: int
    attempt: int
    job_dir: Path
    rules: tuple[Rule, ...] = ()
    _middle_done: bool = False

    @classmethod
    def for_attempt(cls, phase: str, task: int, attempt: int, job_dir: Path) -> Injector:
        text = os.environ.get(ENV)
        rules = tuple(r for r in parse_rules(text) if r.matches(phase, task, attempt)) if text else ()
        return cls(phase, task, attempt, job_dir, rules)

    def __call__(self, point: str) -> None:
        """Act on the rules for ``point``, if any."""
        for rule in self.rules:
            if rule.point == point:
                self._act(rule.action, point)

    def middle(self, *_: object) -> None:
        """The ``middle`` point, acted on once; shaped to be called from every progress report."""
        if not self._middle_done:
            self._middle_done = True
            self("middle")

    def _act(self, action: str, point: str) -> None:
        where = f"{self.phase} {self.task}, attempt {self.attempt}, at {point}"
        if action == "raise":
            raise InjectedFault(f"injected fault ({ENV}) in {where}")
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        marker = self.job_dir / "faults" / f"hang-{self.phase}-{self.task}-{self.attempt}"
        with atomic_file(marker) as tmp:
            tmp.write_text(json.dumps({"pid": os.getpid(), "pgid": os.getpgid(0), "where": where}))
        while True:
            time.sleep(60)
