"""The exceptions mr_luigi raises.

Every error a user can cause derives from :class:`MrLuigiError`, so a caller
can catch one class. Messages name the file, line, field or task at fault and
say what to do about it.
"""


class MrLuigiError(Exception):
    """Base class of every error mr_luigi raises on purpose."""


class ConfigError(MrLuigiError):
    """The job config is invalid: raised before any task runs."""

    def __init__(self, field: str, message: str, source: str = "") -> None:
        self.field = field
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}: {message}")


class InputError(MrLuigiError):
    """An input file is missing, unreadable or changed while the job ran."""


class RecordError(MrLuigiError):
    """A user function failed on, or produced, a record the engine cannot use."""


class StorageError(MrLuigiError):
    """A task could not write (or read back) its files: a full disk, a file size limit, permissions."""


class JobFailed(MrLuigiError):
    """A job did not finish; the message names the failed tasks."""
