"""Every attempt at every task, logged where all workers of a job can see it.

Luigi retries a failed task in a fresh process and does not tell the task
which attempt it is on; a task killed with its worker leaves no record at
all once that worker is gone. So each task appends to its own log in the
job's work folder: a ``start`` line when an attempt begins, then ``done`` or
``failed`` (with the error). A start with no end is an attempt that was
killed. The logs survive retries, re-runs and other hosts (the work folder is
shared), and the manifest sums them up as attempts per task.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import time
from pathlib import Path
from typing import Any

FOLDER = "attempts"
#: What the manifest says of an attempt that never recorded its end.
INTERRUPTED = "interrupted: the process ended without finishing or failing (killed?)"


def log_path(job_dir: Path, task: str) -> Path:
    return job_dir / FOLDER / f"{task}.jsonl"


def worker_id() -> str:
    """The Luigi worker this process belongs to: its host and the pid of the worker's main process.

    With ``--workers N`` a task runs in a child of the worker's process; its
    attempts count towards the same worker's retries.
    """
    parent = multiprocessing.parent_process()
    return f"{socket.gethostname()}:{parent.pid if parent is not None else os.getpid()}"


def start(job_dir: Path, task: str) -> tuple[int, int]:
    """Record that an attempt at ``task`` begins.

    Returns its number (from 1, counting every attempt ever logged) and its
    number among this worker's attempts (which decide whether it is the last).
    """
    path = log_path(job_dir, task)
    path.parent.mkdir(parents=True, exist_ok=True)
    worker = worker_id()
    _append(path, {"event": "start", "time": time.time(), "host": socket.gethostname(), "pid": os.getpid(), "worker": worker})
    starts = [entry for entry in _entries(path) if entry["event"] == "start"]
    return len(starts), sum(1 for entry in starts if entry.get("worker") == worker)


def done(job_dir: Path, task: str, attempt: int) -> None:
    """Record a successful attempt (unless the job's last step already removed the work folder)."""
    try:
        _append(log_path(job_dir, task), {"event": "done", "attempt": attempt, "time": time.time()})
    except FileNotFoundError:
        pass


def failed(job_dir: Path, task: str, attempt: int, error: str) -> None:
    """Record a failed attempt; never raises (the task's own error matters more)."""
    try:
        _append(log_path(job_dir, task), {"event": "failed", "attempt": attempt, "time": time.time(), "error": error})
    except OSError:
        pass


def summary(job_dir: Path, running: str | None = None) -> dict[str, Any]:
    """Attempts per task, and what went wrong in each attempt that did not succeed.

    ``running`` names the task asking (the job's last step): its latest
    attempt is under way, not interrupted.
    """
    counts: dict[str, int] = {}
    problems: list[dict[str, Any]] = []
    folder = job_dir / FOLDER
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        task = path.name[: -len(".jsonl")]
        entries = list(_entries(path))
        starts = [e for e in entries if e["event"] == "start"]
        ends = {e["attempt"]: e for e in entries if e["event"] != "start"}
        counts[task] = len(starts)
        for number, begun in enumerate(starts, 1):
            end = ends.get(number)
            if task == running and number == len(starts):
                continue
            if end is None or end["event"] == "failed":
                problems.append({"task": task, "attempt": number, "host": begun["host"], "pid": begun["pid"],
                                 "error": INTERRUPTED if end is None else end["error"]})
    return {"per_task": counts, "unsuccessful": problems}


def _append(path: Path, entry: dict[str, Any]) -> None:
    # One write of one short line to a file opened for appending: lines of
    # concurrent writers never interleave.
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def _entries(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.endswith("\n"):  # a line cut short by a kill is skipped
                yield json.loads(line)
