"""mr_luigi: MapReduce jobs as Luigi tasks.

Define a job with a :class:`JobConfig` (your map, reduce and optional combine
functions, inputs, outputs), then run it with ``luigi --module`` through a
:class:`MapReduceJob` subclass, or from Python with
:class:`MapReduceScheduler`.
"""

from mr_luigi.luigi_patches import apply as _apply_luigi_patches
from mr_luigi.luigi_settings import apply_defaults as _apply_luigi_defaults

_apply_luigi_defaults()
_apply_luigi_patches()

from mr_luigi.config import JobConfig, load_config  # noqa: E402
from mr_luigi.context import job_params  # noqa: E402
from mr_luigi.counters import increment_counter  # noqa: E402
from mr_luigi.errors import (  # noqa: E402
    ConfigError,
    InputChanged,
    InputError,
    JobChanged,
    JobFailed,
    MrLuigiError,
    OutputTaken,
    PermanentError,
    RecordError,
    StorageError,
    TooManyBadRecords,
    UnreadableInput,
    UserCodeError,
)
from mr_luigi.atomic import atomic_file, publish_file  # noqa: E402
from mr_luigi.config_params import ConfigFileJob, ConfigFileParams  # noqa: E402
from mr_luigi.job import JobOutput, MapReduceJob  # noqa: E402
from mr_luigi.mapping import batch_map  # noqa: E402
from mr_luigi.partition import hash_partition  # noqa: E402
from mr_luigi.quarantine import BadRecord  # noqa: E402
from mr_luigi.runner import JobResult, MapReduceScheduler  # noqa: E402
from mr_luigi.steps import MultiStepJob  # noqa: E402
from mr_luigi.sample_data import create_sample_data  # noqa: E402
from mr_luigi.textformat import parse_line as parse_output_line  # noqa: E402
from mr_luigi.textformat import read_output  # noqa: E402
from mr_luigi.textformat import render_line as format_output_line  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "BadRecord",
    "ConfigError",
    "ConfigFileJob",
    "ConfigFileParams",
    "InputChanged",
    "InputError",
    "JobConfig",
    "JobChanged",
    "JobFailed",
    "JobOutput",
    "JobResult",
    "MapReduceJob",
    "MapReduceScheduler",
    "MultiStepJob",
    "MrLuigiError",
    "OutputTaken",
    "PermanentError",
    "RecordError",
    "StorageError",
    "TooManyBadRecords",
    "UnreadableInput",
    "UserCodeError",
    "atomic_file",
    "batch_map",
    "create_sample_data",
    "hash_partition",
    "increment_counter",
    "job_params",
    "format_output_line",
    "load_config",
    "parse_output_line",
    "publish_file",
    "read_output",
]
