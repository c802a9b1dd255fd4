"""mr_luigi: MapReduce jobs as Luigi tasks.

Define a job with a :class:`JobConfig` (your map, reduce and optional combine
functions, inputs, outputs), then run it with ``luigi --module`` through a
:class:`MapReduceJob` subclass, or from Python with
:class:`MapReduceScheduler`.
"""

from mr_luigi.api.config_params import ConfigFileJob, ConfigFileParams  # noqa: E402
from mr_luigi.api.job import JobOutput, MapReduceJob  # noqa: E402
from mr_luigi.api.mrjob.runner import MRJobTask  # noqa: E402
from mr_luigi.api.runner import JobResult, MapReduceScheduler  # noqa: E402
from mr_luigi.api.sample_data import create_sample_data  # noqa: E402
from mr_luigi.api.steps import MultiStepJob  # noqa: E402
from mr_luigi.engine.config import JobConfig, Step, load_config  # noqa: E402
from mr_luigi.engine.context import job_file, job_params  # noqa: E402
from mr_luigi.engine.counters import increment_counter  # noqa: E402
from mr_luigi.engine.mapping import (  # noqa: E402
    BatchResult,
    KeyCounts,
    Record,
    batch_map,
    file_map,
    map_with_record,
    pair_reducer,
)
from mr_luigi.engine.quarantine import BadRecord  # noqa: E402
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
from mr_luigi.io.atomic import atomic_file, publish_file  # noqa: E402
from mr_luigi.io.partition import hash_partition  # noqa: E402
from mr_luigi.io.remote import location  # noqa: E402
from mr_luigi.io.textformat import parse_line as parse_output_line  # noqa: E402
from mr_luigi.io.textformat import read_output  # noqa: E402
from mr_luigi.io.textformat import render_line as format_output_line  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "BadRecord",
    "BatchResult",
    "ConfigError",
    "ConfigFileJob",
    "ConfigFileParams",
    "InputChanged",
    "InputError",
    "JobConfig",
    "JobChanged",
    "JobFailed",
    "JobOutput",
    "KeyCounts",
    "JobResult",
    "MRJobTask",
    "MapReduceJob",
    "MapReduceScheduler",
    "MultiStepJob",
    "MrLuigiError",
    "OutputTaken",
    "PermanentError",
    "Record",
    "RecordError",
    "Step",
    "StorageError",
    "TooManyBadRecords",
    "UnreadableInput",
    "UserCodeError",
    "atomic_file",
    "batch_map",
    "create_sample_data",
    "hash_partition",
    "increment_counter",
    "job_file",
    "location",
    "job_params",
    "file_map",
    "format_output_line",
    "load_config",
    "map_with_record",
    "pair_reducer",
    "parse_output_line",
    "publish_file",
    "read_output",
]
