"""What Ctrl-C does to a running job: one line, exit code 130, nothing half-written left.

Ctrl-C sends SIGINT to every process of the run: the ``luigi`` (or
``mr-luigi``) process and the task processes Luigi forked. Then:

- a task stops where it is: its temporary output folder is removed (see
  :mod:`mr_luigi.io.atomic`), its attempt is logged as interrupted, and a task
  process exits quietly (:func:`stoppable`). SIGTERM, which Luigi sends to
  the task processes it leaves behind, does the same;
- the command's own process stops: Python raises KeyboardInterrupt where
  it is, unless that is a finalizer or a fork hook (a ``__del__``, logging's
  lock release after a fork), where an exception is printed and dropped. So
  the command's SIGINT handler also remembers the interrupt, the next turn of
  Luigi's worker loop raises it again, and the dropped one is not printed
  (:func:`catch_in_main_process`);
- the command prints ``interrupted: N of M tasks done; run the same command
  again to resume`` and exits 130, without a traceback
  (:func:`install_for_luigi_command`, :func:`interrupted_line`), having waited for its
  task processes (killing any still alive after :data:`TASK_PROCESS_WAIT`
  seconds, :func:`stop_task_processes`: none outlives the command) and, with
  the embedded scheduler (no other worker can be writing), removed what any
  of them left in a temporary folder.

A re-run resumes from the finished tasks, as after any other failure.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from mr_luigi.engine import luigi_patches, report
from mr_luigi.engine.plan import JobPlan
from mr_luigi.io import atomic

EXIT_INTERRUPTED = 130


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that a task cleans up as for Ctrl-C."""


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum: int, frame: Any) -> None:
    """Raise once: further signals (Luigi's SIGTERM right after Ctrl-C) must not cut the cleanup short."""
    for number in _SIGNALS:
        # A Python no-op, not SIG_IGN: a signal already pending would find SIG_IGN and print a warning
        signal.signal(number, _ignore)
    raise (KeyboardInterrupt() if signum == signal.SIGINT else Terminated(f"signal {signum}"))


def _ignore(signum: int, frame: Any) -> None:
    pass


@contextmanager
def stoppable() -> Iterator[None]:
    """Run a task so that SIGINT and SIGTERM stop it cleanly.

    The first of them raises in the task (KeyboardInterrupt, or
    :class:`Terminated`); the next are ignored while the task cleans up. In
    a task process forked by Luigi the interruption then ends the process
    quietly (exit code 130); in the main process it goes on up to the
    command, which reports it.
    """
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {number: signal.signal(number, _interrupt) for number in _SIGNALS}
    try:
        yield
    except KeyboardInterrupt:
        if multiprocessing.parent_process() is not None:
            raise SystemExit(EXIT_INTERRUPTED) from None
        raise
    finally:
        if multiprocessing.parent_process() is not None and signal.SIGINT in previous:
            previous[signal.SIGINT] = _ignore  # a task process on its way out: the command handles Ctrl-C
        for number, handler in previous.items():
            signal.signal(number, handler)


#: The process whose interrupt :func:`raise_if_interrupted` raises again, once it was caught there, and
#: whether it has started a task process since the worker loop's last turn (see :func:`_fork_starts`).
_main: dict[str, int] = {"pid": -1, "interrupts": 0, "forking": 0}
#: Holds the fork hook once it is registered (a hook cannot be removed: register it once per process).
_fork_hook: list[Callable[[], None]] = []


def _remember_and_raise(signum: int, frame: Any) -> None:
    _main["interrupts"] += 1
    if _main.get("forking"):
        return  # raised at the worker loop's next turn, once the task process being started is counted
    raise KeyboardInterrupt()


def _fork_starts() -> None:
    """Hold a Ctrl-C back from the moment this process forks a task process until the worker loop's next turn.

    Raised as the fork returns, before multiprocessing counts the new
    process among its children, the interrupt would leave that process
    unknown to :func:`stop_task_processes`: it would run its task on after
    the command said it was interrupted.
    """
    if os.getpid() == _main["pid"]:
        _main["forking"] = 1


def catch_in_main_process() -> None:
    """Make sure a Ctrl-C stops this (the command's) process, wherever it arrives.

    Idempotent. A task process forked from here ignores Ctrl-C except while
    it runs its task (:func:`stoppable`): before and after, a
    KeyboardInterrupt would only print a traceback from Luigi's or
    multiprocessing's code; the command stops it.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is not _remember_and_raise:
        _main["pid"], _main["interrupts"], _main["forking"] = os.getpid(), 0, 0
        signal.signal(signal.SIGINT, _remember_and_raise)
    if not _fork_hook:
        _fork_hook.append(_quiet_child)
        os.register_at_fork(before=_fork_starts, after_in_child=_quiet_child)
    if raise_if_interrupted not in luigi_patches.SAFE_POINT_CHECKS:
        luigi_patches.SAFE_POINT_CHECKS.append(raise_if_interrupted)
    if not getattr(sys.unraisablehook, "_mr_luigi", False):
        sys.unraisablehook = _silent_for_dropped_interrupts(sys.unraisablehook)


def _silent_for_dropped_interrupts(previous: Callable[[Any], None]) -> Callable[[Any], None]:
    """An unraisable-exception hook that says nothing of a Ctrl-C :func:`_remember_and_raise` raised and Python dropped.

    In the command's process it is raised again (see above). In a task
    process just forked from it, the Ctrl-C can arrive while Python runs its
    own fork hooks (logging's), before :func:`_quiet_child` makes the child
    ignore it: the child ignores it anyway, and the command stops the run.
    """

    def hook(unraisable: Any) -> None:
        if issubclass(unraisable.exc_type, KeyboardInterrupt) and _main["interrupts"]:
            return
        previous(unraisable)

    hook._mr_luigi = True  # type: ignore[attr-defined]
    return hook


def _quiet_child() -> None:
    if signal.getsignal(signal.SIGINT) is _remember_and_raise and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _ignore)


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if this process had a Ctrl-C (a raise in a finalizer is dropped, one while a task
    process is started is held back: here it is raised), at a turn of the worker loop."""
    if os.getpid() == _main["pid"]:
        _main["forking"] = 0
        if _main["interrupts"]:
            raise KeyboardInterrupt()


def task_counts(plan: JobPlan) -> tuple[int, int]:
    """How many of a job's tasks are done, and how many it has (map, barrier, shuffle, reduce, final)."""
    total = plan.num_maps + (0 if plan.map_only else 1) + 2 * plan.num_partitions + 1
    if report.finished_manifest(plan) is not None:
        return total, total
    done = sum(plan.map_dir(i).is_dir() for i in range(plan.num_maps))
    done += (plan.job_dir / "maps_checked.json").exists()
    done += sum(plan.reduce_input_dir(p).is_dir() + plan.reduce_output_dir(p).is_dir() for p in range(plan.num_partitions))
    return done, total


#: Seconds an interrupted command waits for its task processes to end before it kills them.
TASK_PROCESS_WAIT = 10.0


def stop_task_processes(wait: float | None = None) -> None:
    """Wait (up to ``wait`` seconds in all) for the task processes to end, then kill those still alive.

    An interrupted task process ends within moments. One can instead be stuck
    for good on its way out: multiprocessing makes it hand its result to
    the command through a queue whose lock a sibling held when Luigi's
    SIGTERM killed it, so the lock is never released. The command is about
    to exit and nothing else would ever end such a process.
    """
    deadline = time.monotonic() + (TASK_PROCESS_WAIT if wait is None else wait)
    for child in multiprocessing.active_children():
        child.join(timeout=max(0.0, deadline - time.monotonic()))
    for child in multiprocessing.active_children():
        child.kill()
        child.join(timeout=5)


def interrupted_line(plans: Iterable[JobPlan], clean: bool) -> str:
    """Stop the task processes, remove their leftovers if ``clean``, and say how far the jobs got."""
    stop_task_processes()
    done = total = 0
    for plan in plans:
        if clean:
            remove_leftovers(plan)
        d, t = task_counts(plan)
        done, total = done + d, total + t
    return f"interrupted: {done} of {total} tasks done; run the same command again to resume"


def remove_leftovers(plan: JobPlan) -> None:
    """Remove the temporary files and folders that interrupted tasks left (safe only when no other worker runs)."""
    for folder in (plan.job_dir, plan.output_dir):
        if folder.is_dir():
            for path in sorted(folder.rglob(f"*{atomic.TMP_MARKER}*"), reverse=True):
                _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


_installed: list[Callable[[], Iterable[JobPlan]]] = []


def install_for_luigi_command(plans: Callable[[], Iterable[JobPlan]], clean: bool) -> None:
    """Make an interrupted ``luigi`` command print :func:`interrupted_line` and exit 130.

    Called by a job's root task when it is built by the ``luigi`` command;
    ``plans`` gives the plans of the job's MapReduce steps so far.
    """
    _installed.append(plans)
    catch_in_main_process()
    if getattr(sys.excepthook, "_mr_luigi", False):
        return
    previous = sys.excepthook

    def excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
            return
        try:
            line = interrupted_line([plan for source in _installed for plan in _plans_of(source)], clean)
        except Exception:  # noqa: BLE001 - the line must not turn into another traceback
            line = "interrupted; run the same command again to resume"
        print(line, file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(EXIT_INTERRUPTED)

    excepthook._mr_luigi = True  # type: ignore[attr-defined]
    sys.excepthook = excepthook


def _plans_of(source: Callable[[], Iterable[JobPlan]]) -> list[JobPlan]:
    try:
        return list(source())
    except Exception:  # noqa: BLE001 - a step that cannot be planned yet has done nothing
        return []
