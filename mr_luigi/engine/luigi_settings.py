"""Luigi settings that make a MapReduce job behave as users expect.

Luigi's defaults neither retry a failed task within one run (a failed task
waits 15 minutes, by then the worker has exited) nor make the ``luigi``
command exit non-zero when a task fails. :func:`mr_luigi.engine.luigi_setup.prepare`
fills in the settings below, each only where the user's own Luigi config does not set it,
before Luigi creates its worker and scheduler. The retry count itself is per
job: every task's ``retry_count`` is the job's ``max_retries + 1``.
"""

from __future__ import annotations

import luigi.configuration

DEFAULTS: dict[str, dict[str, str]] = {
    # Luigi's DEBUG default logs every completeness check and about doubles
    # the scheduling time; --log-level DEBUG still brings it back.
    "core": {"log_level": "INFO"},
    # Stay alive while a failed task waits for its retry, and poll promptly.
    "worker": {"keep_alive": "true", "wait_interval": "0.1", "wait_jitter": "0"},
    # A failed task becomes pending again at once (the embedded scheduler only;
    # a luigid reads its own config, see README). mr_luigi's tasks set their
    # own attempts (max_retries + 1); any other task in the graph gets 3, not
    # Luigi's unbounded default, which with no delay would retry in a hot loop.
    "scheduler": {"retry_delay": "0", "retry_count": "3"},
    # Non-zero exit codes for the luigi command. Not for tasks found running
    # on another worker (already_running stays Luigi's 0): on several hosts
    # that is every worker but the one that ran the last task, and the job
    # itself may well succeed.
    "retcode": {
        "missing_data": "20",
        "not_run": "25",
        "task_failed": "30",
        "scheduling_error": "35",
        "unhandled_exception": "40",
    },
}


def apply_defaults() -> None:
    """Set each default that the loaded Luigi config leaves unset."""
    config = luigi.configuration.get_config()
    for section, options in DEFAULTS.items():
        for option, value in options.items():
            if not config.has_option(section, option):
                config.set(section, option, value)
