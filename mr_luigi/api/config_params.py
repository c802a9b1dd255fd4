"""Jobs configured by pipeline defaults, a TOML file and the command line: :class:`ConfigFileJob`.

The bundled pipelines are written this way: ``luigi --module
pipelines.word_count WordCount --config my.toml --input 'texts/*.txt'``.
The layers are merged by :func:`mr_luigi.engine.config.merge_config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import luigi

from mr_luigi.api.job import MapReduceJob
from mr_luigi.engine.config import (
    JobConfig,
    config_from_mapping,
    config_from_values,
    merge_config,
    read_config_file,
)

#: where a command-line job's missing field can be given
FLAG_HINTS = {"input_files": "give --input-path or set it in the config file",
              "output_dir": "give --output-dir or set it in the config file"}


class ConfigFileParams:
    """The command-line parameters of a job configured by defaults and a TOML file.

    Later sources win: the class's :attr:`defaults`, then the config file
    (``--config``, or :attr:`default_config_file` if it exists), then the
    parameters given on the command line.
    """

    defaults: ClassVar[dict[str, Any]] = {}
    default_config_file: ClassVar[Path | None] = None

    config = luigi.OptionalPathParameter(default=None, description="TOML job config (overrides the pipeline's defaults)")
    # Not "input": that would hide luigi.Task.input(). On the command line
    # --input-path, or --input (argparse takes an unambiguous prefix).
    input_path = luigi.OptionalParameter(default=None, description="input file, folder or glob (overrides the config)")
    output_dir = luigi.OptionalParameter(default=None, description="output folder (overrides the config)")
    num_reduce_tasks = luigi.OptionalIntParameter(default=None, description="number of reduce partitions")
    max_retries = luigi.OptionalIntParameter(default=None, description="retries of a failed task within one run")

    def config_values(self) -> dict[str, Any]:
        """The merged config fields, not yet validated."""
        config_file = self.config or self.default_config_file
        from_file = read_config_file(config_file) if config_file is not None and (self.config or Path(config_file).exists()) else {}
        flags = {"input_files": self.input_path, "output_dir": self.output_dir, "num_reduce_tasks": self.num_reduce_tasks,
                 "max_retries": self.max_retries}
        return merge_config(self.defaults, from_file, config_from_mapping({k: v for k, v in flags.items() if v is not None}))

    def merged_config(self) -> JobConfig:
        """The merged config, with every required field (raises ConfigError naming the flag for a missing one)."""
        return config_from_values(self.config_values(), hints=FLAG_HINTS)


class ConfigFileJob(ConfigFileParams, MapReduceJob):
    """A MapReduce job configured by defaults, a TOML file and the command line."""

    def job_config(self) -> JobConfig:
        return self.merged_config()
