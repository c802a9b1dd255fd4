"""``mrjob.step``: a job's steps as ``MRStep`` objects, and the kinds of step mr_luigi cannot run."""

from __future__ import annotations

from typing import Any

from mr_luigi.errors import ConfigError

#: what an MRStep may be given, as in mrjob
STEP_KEYS = ("mapper", "mapper_init", "mapper_final", "mapper_cmd", "mapper_pre_filter", "mapper_raw",
             "combiner", "combiner_init", "combiner_final", "combiner_cmd", "combiner_pre_filter",
             "reducer", "reducer_init", "reducer_final", "reducer_cmd", "reducer_pre_filter", "jobconf")
#: what mr_luigi does not run (yet), with what to do instead
NOT_SUPPORTED = {
    "combiner_final": "a combiner has no final hook in mr_luigi (it may run zero or more times): emit from mapper_final",
    "combiner_cmd": "shell combiners are not supported: use a Python combiner",
    "combiner_pre_filter": "shell combiner filters are not supported: use a Python combiner",
    "reducer_cmd": "shell reducers are not supported: use a Python reducer",
    "reducer_pre_filter": "shell reducer filters are not supported: filter in the reducer",
}


class NotSupported(ConfigError):
    """A feature of mrjob that mr_luigi does not run: named, with what to do instead."""

    def __init__(self, feature: str, why: str) -> None:
        super().__init__("mrjob", f"{feature} is not supported by mr_luigi: {why}")


class MRStep:
    """One MapReduce step of an mrjob job: its mapper, combiner and reducer (and their hooks or commands)."""

    def __init__(self, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(STEP_KEYS))
        if unknown:
            raise TypeError(f"MRStep() got an unexpected keyword argument {unknown[0]!r}")
        self._steps = {key: value for key, value in kwargs.items() if value is not None}
        for cmd in ("mapper_cmd", "mapper_pre_filter"):
            if cmd in self._steps and not isinstance(self._steps[cmd], str):
                raise TypeError(f"{cmd} must be a str, got {self._steps[cmd]!r}")
        if "mapper" in self._steps and ("mapper_raw" in self._steps or "mapper_cmd" in self._steps):
            raise ValueError("a step can have only one of mapper, mapper_raw and mapper_cmd")

    def __getitem__(self, key: str) -> Any:
        return self._steps[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._steps.get(key, default)

    def has(self, key: str) -> bool:
        return key in self._steps

    def __repr__(self) -> str:
        return f"MRStep({', '.join(f'{k}={v!r}' for k, v in self._steps.items())})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MRStep) and other._steps == self._steps

    def description(self, step_num: int = 0) -> dict[str, Any]:
        return {"type": "streaming", **{k: True for k in self._steps}}


class _UnsupportedStep:
    why = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotSupported(type(self).__name__, self.why)


class JarStep(_UnsupportedStep):
    why = "Hadoop jar steps need Hadoop; run the jar with hadoop, and the Python steps with mr_luigi"


class SparkStep(_UnsupportedStep):
    why = "Spark steps need Spark; port the step to mapper/reducer methods"


class SparkJarStep(SparkStep):
    pass


class SparkScriptStep(SparkStep):
    pass


#: mrjob's placeholders for a jar step's input and output paths
INPUT = "<input>"
OUTPUT = "<output>"
GENERIC_ARGS = "<generic args>"
