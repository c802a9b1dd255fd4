"""The exceptions mr_luigi raises.

Every error a user can cause derives from :class:`MrLuigiError`, so a caller
can catch one class. Messages name the file, line, field or task at fault and
say what to do about it.

A task that fails is retried (``max_retries``), except when the error is a
:class:`PermanentError`: a bad config, a record the engine cannot use, too
many bad records, an input that changed. Those fail the same way on every
attempt, so the job fails at once, with one message.
"""

from __future__ import annotations


class MrLuigiError(Exception):
    """Base class of every error mr_luigi raises on purpose."""


class PermanentError(MrLuigiError):
    """A failure that another attempt cannot change: the task is not retried."""


class ConfigError(PermanentError):
    """The job config is invalid: raised before any task runs, or when a step is planned."""

    def __init__(self, field: str, message: str, source: str = "") -> None:
        self.field = field
        self.message = message
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}: {message}")


class InputError(MrLuigiError):
    """An input file is missing or unreadable (perhaps for a moment: the task is retried)."""


class InputChanged(InputError, PermanentError):
    """An input changed after the job was planned: its splits no longer fit it."""


class JobChanged(PermanentError):
    """A task of a job was rebuilt from its spec and planned as another job (an input, the code or a setting differ)."""


class UnreadableInput(InputError, PermanentError):
    """An input cannot be read as the job says: a corrupt compressed file, text in another encoding."""


class RecordError(PermanentError):
    """A user function produced a record the engine cannot use (not pairs, a NaN key, an unstorable value)."""


class UserCodeError(MrLuigiError):
    """A user function raised: the task attempt fails and is retried.

    ``function`` names the role (``map_function``), ``where`` the record
    (``file.txt:95`` or ``key 'x'``); the user's exception is ``__cause__``.
    """

    def __init__(self, function: str, where: str, error: BaseException) -> None:
        self.function = function
        self.where = where
        super().__init__(f"{function} raised {type(error).__name__}: {error} ({where})")


class StorageError(MrLuigiError):
    """A task could not write (or read back) its files: a full disk, a file size limit, permissions."""


class JobFailed(MrLuigiError):
    """A job did not finish; the message names the failed tasks."""


class TooManyBadRecords(JobFailed, PermanentError):
    """More records were rejected than ``max_bad_records`` allows."""


class OutputTaken(PermanentError):
    """The output folder holds, or is being given, the results of another job."""
