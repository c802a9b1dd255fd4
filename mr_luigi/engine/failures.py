"""How a failed task attempt is reported: one line per attempt, one traceback of the user's code.

Luigi logs the whole traceback of every failed attempt, its own frames
included, and stores it as the task's error. For mr_luigi's tasks that is
replaced by (see :mod:`mr_luigi.engine.luigi_patches`):

- one WARNING line per attempt that will be retried, naming the job, the
  task, the attempt and the error;
- on the last attempt, one ERROR line and, when the user's code raised, the
  traceback of the user's code only (the frames from the user's function on);
- the same line and traceback as the task's error in the scheduler (the web
  UI, ``execute_job``'s ``failures``), marked as permanent when retrying
  cannot help, so that the scheduler does not retry it.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from types import TracebackType

from mr_luigi.errors import MrLuigiError, PermanentError, UserCodeError

#: Marks a task error the scheduler must not retry (read by :mod:`mr_luigi.engine.luigi_patches`).
PERMANENT_MARK = "[mr_luigi: permanent failure, not retried]"
_PACKAGE = str(Path(__file__).resolve().parents[1])  # mr_luigi/


def describe(exc: BaseException) -> str:
    """One line on an error: what a user reads first."""
    if isinstance(exc, UserCodeError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def user_traceback(exc: BaseException) -> str:
    """The traceback worth showing for an error, or "".

    For an error in the user's code, its frames only; for an error that
    mr_luigi raised on purpose, none (its message says it all); for anything
    else (a bug), the whole traceback.
    """
    if isinstance(exc, UserCodeError) and exc.__cause__ is not None:
        cause = exc.__cause__
        return "".join(traceback.format_exception(type(cause), cause, _from_user_code(cause.__traceback__)))
    if isinstance(exc, MrLuigiError):
        return ""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _from_user_code(tb: TracebackType | None) -> TracebackType | None:
    """Skip the leading frames of mr_luigi's own loops."""
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PACKAGE) and tb.tb_next is not None:
        tb = tb.tb_next
    return tb


def task_error(label: str, exc: BaseException) -> str:
    """The error a task hands to Luigi's scheduler: a line, a mark if permanent, the traceback."""
    text = f"{label}: {describe(exc)}"
    if isinstance(exc, PermanentError):
        text += f" {PERMANENT_MARK}"
    shown = user_traceback(exc)
    return f"{text}\n\n{shown}" if shown else text


def is_permanent(error_text: str) -> bool:
    return PERMANENT_MARK in error_text


def first_line(error_text: str) -> str:
    """The summary line of a task error, without the permanent mark."""
    line = error_text.strip().split("\n", 1)[0]
    return line.replace(f" {PERMANENT_MARK}", "")
