"""The job config: what a job computes, on which inputs, and where it writes.

A :class:`JobConfig` is built in Python or loaded from a TOML file, where user
functions are named as ``"package.module:function"``. :func:`validate` checks
every field before any task runs, so a mistake is reported as a
:class:`~mr_luigi.errors.ConfigError` naming the field, not as a traceback from
inside a Luigi worker.
"""

from __future__ import annotations

import builtins
import dataclasses
import difflib
import functools
import glob
import importlib
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from mr_luigi.engine import aggregations
from mr_luigi.engine.hooks import HOOK_FIELDS
from mr_luigi.engine.mapping import is_batch_map, is_file_map, takes_record
from mr_luigi.errors import ConfigError
from mr_luigi.io import remote
from mr_luigi.io.decoding import Decoding
from mr_luigi.io.remote import SCHEME, Store, is_url

#: A user function, or a ``"module:function"`` reference to one.
FunctionRef = Union[Callable[..., Any], str]



@dataclass
class Step:
    """One step of a multi-step job (mrjob's ``MRStep``): its functions and shuffle settings.

    A job's ``steps`` run in order; the first step's map reads the input
    lines, each later step's map is called as ``map(key, value)`` with the
    records the step before reduced, with their Python types (no text in
    between), and only the last step writes the job's outputs. A later step
    without a map passes the records on as they are. Every step but the last
    needs a reduce; ``num_reduce_tasks`` defaults to the job's.
    """

    map_function: FunctionRef | None = None
    reduce_function: FunctionRef | None = None
    combine_function: FunctionRef | None = None
    partitioner: FunctionRef | None = None
    num_reduce_tasks: int | None = None
    sort_values: bool = False
    map_init: FunctionRef | None = None
    map_final: FunctionRef | None = None
    combine_init: FunctionRef | None = None
    reduce_init: FunctionRef | None = None
    reduce_final: FunctionRef | None = None


STEP_FIELDS = tuple(f.name for f in dataclasses.fields(Step))


@dataclass
class JobConfig:
    """Everything that defines one MapReduce job.

    The user functions keep the classic signatures: ``map_function(line)``
    returns or yields ``(key, value)`` pairs; ``reduce_function(key, values)``
    returns the value for ``key`` (``values`` is an iterator); a combiner has
    the reducer's signature and must be safe to apply zero or more times.
    ``partitioner(key, num_partitions)`` returns a partition index.
    ``split_size_mb`` is the input per map task; by default it is chosen from
    the input size, and plans at most 2,000 map tasks (see
    :func:`mr_luigi.io.splits.plan_auto_splits`).
    ``map_memory_mb`` bounds a map task's buffered output: beyond it, the
    buffer is sorted and spilled to disk (see :mod:`mr_luigi.io.spill`).
    ``merge_fan_in`` is how many sorted runs a merge reads at once.
    ``max_bad_records`` is how many records the map (or reduce) function may
    reject by raising :class:`~mr_luigi.BadRecord` (see
    :mod:`mr_luigi.engine.quarantine`): a count, or a fraction below 1. Any other
    exception fails the task, unless its type is in ``skip_exceptions``
    (``True`` for every exception). ``encoding`` and ``decode_errors`` say
    how input bytes are decoded (see :mod:`mr_luigi.io.decoding`).
    ``params`` are settings for the user functions, read with
    :func:`mr_luigi.job_params`. With ``named_outputs``, keys are
    ``(name, key)`` pairs and each name gets its own ``<name>.txt`` file.
    ``output_format`` is ``"tsv"`` (``key<TAB>value`` lines), ``"jsonl"``
    (each value as one JSON line) or ``"lines"`` (each value, a line of
    text, as it is). ``files`` are side files the user
    functions read besides the inputs (a stop-word list, a model): their
    content is part of the job id, and each task reads a snapshot of them
    through :func:`mr_luigi.job_file`. ``map_init``, ``map_final``,
    ``combine_init``, ``reduce_init`` and ``reduce_final`` are per-task hooks
    (see :mod:`mr_luigi.engine.hooks`). With ``sort_values`` a reducer sees
    each key's values in sorted order (a secondary sort, by the external
    merge: see :mod:`mr_luigi.io.merge`). ``steps`` makes a multi-step job:
    a list of :class:`Step` instead of the functions at the top level.
    """

    job_name: str
    map_function: FunctionRef | None = None
    reduce_function: FunctionRef | None = None
    input_files: Sequence[str] = ()
    output_dir: str = ""
    combine_function: FunctionRef | None = None
    partitioner: FunctionRef | None = None
    work_dir: str | None = None
    num_reduce_tasks: int = 4
    max_retries: int = 2
    keep_intermediate: bool = False
    split_size_mb: float | None = None
    map_memory_mb: float = 256
    merge_fan_in: int = 64
    max_bad_records: float = 0.01
    skip_exceptions: bool | Sequence[str] = ()
    encoding: str = "utf-8"
    decode_errors: str = "strict"
    params: Mapping[str, Any] = field(default_factory=dict)
    named_outputs: bool = False
    output_format: str = "tsv"
    files: Sequence[str] = ()
    steps: Sequence[Step | Mapping[str, Any]] = ()
    sort_values: bool = False
    map_init: FunctionRef | None = None
    map_final: FunctionRef | None = None
    combine_init: FunctionRef | None = None
    reduce_init: FunctionRef | None = None
    reduce_final: FunctionRef | None = None
    s3: Mapping[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> JobConfig:
        """A copy with some fields changed (fields are validated later)."""
        return dataclasses.replace(self, **changes)


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(JobConfig))
FUNCTION_FIELDS = ("map_function", "reduce_function", "combine_function", "partitioner", *HOOK_FIELDS)
_OPTIONAL_FUNCTIONS = ("reduce_function", "combine_function", "partitioner", *HOOK_FIELDS)
_REQUIRED = ("job_name", "input_files", "output_dir")
_PATH_FIELDS = ("output_dir", "work_dir")
OUTPUT_FORMATS = ("tsv", "jsonl", "lines")


@dataclass(frozen=True)
class ResolvedConfig:
    """A validated config: functions imported, paths absolute, inputs expanded."""

    config: JobConfig
    map_function: Callable[..., Any]
    reduce_function: Callable[..., Any] | None
    combine_function: Callable[..., Any] | None
    partitioner: Callable[..., Any] | None
    #: local files as Paths, objects as ``s3://`` URLs (see :mod:`mr_luigi.io.remote`)
    input_paths: tuple[Path | str, ...]
    #: where the job writes its outputs: the local staging folder when ``output_url`` is set
    output_dir: Path
    work_dir: Path
    function_refs: Mapping[str, str] = field(default_factory=dict)
    #: exception types a user function may raise to skip a record (``skip_exceptions``)
    skip_types: tuple[type[BaseException], ...] = ()
    decoding: Decoding = Decoding()
    #: the side files (``files``) by name: the name a function asks :func:`mr_luigi.job_file` for
    side_files: Mapping[str, Path] = field(default_factory=dict)
    map_init: Callable[[], Any] | None = None
    map_final: Callable[[], Any] | None = None
    combine_init: Callable[[], Any] | None = None
    reduce_init: Callable[[], Any] | None = None
    reduce_final: Callable[[], Any] | None = None
    #: how to reach the object store of ``s3://`` inputs and outputs (None: the job has none)
    store: Store | None = None
    #: ``output_dir`` when it is an ``s3://`` URL: the outputs are staged in ``output_dir`` and put there
    output_url: str | None = None
    #: ``work_dir`` when it is an ``s3://`` URL: ``work_dir`` is then this host's mirror of it (see
    #: :mod:`mr_luigi.engine.workstore`)
    work_url: str | None = None

    @property
    def map_only(self) -> bool:
        """A job without a reduce: each map writes its output directly (``num_reduce_tasks = 0``)."""
        return self.reduce_function is None


def config_from_mapping(values: Mapping[str, Any], source: str = "", base_dir: Path | None = None) -> dict[str, Any]:
    """Check the keys of a config mapping and make its relative paths absolute.

    Paths in a config file are relative to the file's own folder, so a config
    means the same thing whatever the working directory is.
    """
    unknown = sorted(k for k in set(values) - set(FIELD_NAMES) if not str(k).startswith("params."))
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, FIELD_NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; known keys: {', '.join(FIELD_NAMES)}"
        raise ConfigError(key, f"unknown key{hint}", source)
    result = dict(values)
    if base_dir is not None:
        for name in _PATH_FIELDS:
            if isinstance(result.get(name), str) and result[name] and not is_url(result[name]):
                result[name] = os.path.normpath(base_dir / os.path.expanduser(result[name]))
        for name in ("input_files", "files"):
            if name in result:
                result[name] = [
                    os.path.normpath(base_dir / os.path.expanduser(p)) if isinstance(p, str) and not is_url(p) else p
                    for p in _as_list(result[name])
                ]
    return result


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML job config into a dict of JobConfig fields (not yet validated)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("config", f"config file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ConfigError("config", f"{str(path)!r} is a directory, not a TOML config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"{path}: invalid TOML: {exc}") from None
    return config_from_mapping(data, source=str(path), base_dir=path.resolve().parent)


def load_config(path: str | os.PathLike[str], **overrides: Any) -> JobConfig:
    """Load a TOML job config; keyword overrides win over the file (see :func:`merge_config`)."""
    values = merge_config(read_config_file(path), config_from_mapping(overrides))
    return config_from_values(values, source=str(path))


def merge_config(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Config layers merged, later ones winning: pipeline defaults < config file < command line.

    The one rule, wherever configs are layered (``load_config``, a
    :class:`~mr_luigi.ConfigFileJob`'s defaults, file and flags, ``mr-luigi
    run --set``): a field a later layer sets replaces the earlier value,
    except ``params``, merged name by name, so that a command line changes
    one param without repeating the others. A ``params.NAME`` key sets one
    param.
    """
    merged: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key == "params":
                _check_type("params", value, Mapping)
                params.update(value)
            elif key.startswith("params."):
                params[key.split(".", 1)[1]] = value
            else:
                merged[key] = value
    merged["params"] = params
    return merged


def parse_toml_value(raw: str) -> Any:
    """A TOML literal (``3``, ``0.5``, ``true``, ``["a"]``, ``"x"``), or the text itself."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def config_from_values(values: Mapping[str, Any], source: str = "", hints: Mapping[str, str] | None = None) -> JobConfig:
    """A JobConfig from checked values, or a ConfigError naming a missing field.

    ``hints`` say where a missing field can be given (e.g. a command-line flag).
    """
    for name in _REQUIRED + (() if values.get("steps") else ("map_function",)):
        if values.get(name) in (None, "", [], ()):
            where = (hints or {}).get(name, "set it in the job config")
            raise ConfigError(name, f"missing: every job needs it ({where})", source)
    return JobConfig(**values)


def step_configs(config: JobConfig) -> list[JobConfig]:
    """A multi-step job's steps, each as the config of a one-step job (the last one named as the job).

    Job-level fields (inputs, output, bad records, params, files, ...) hold
    for every step; outputs are the last step's, so earlier steps write
    neither named outputs nor jsonl.
    """
    if isinstance(config.steps, (str, bytes)) or not isinstance(config.steps, Sequence) or not config.steps:
        raise ConfigError("steps", f"expected a list of steps, got {config.steps!r}")
    top = [name for name in STEP_FIELDS if name in FUNCTION_FIELDS and getattr(config, name) not in (None, "")]
    if top:
        raise ConfigError(top[0], "a job with steps gives its functions in each step: move it into a step")
    steps = [_as_step(step, i) for i, step in enumerate(config.steps)]
    configs = []
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        fields = {name: getattr(step, name) for name in STEP_FIELDS}
        if fields["map_function"] in (None, ""):
            if i == 0:
                raise ConfigError("steps[0].map_function", "missing: the first step's map reads the input lines")
            fields["map_function"] = "mr_luigi.engine.mapping:pass_records"
        if not last and fields["reduce_function"] in (None, ""):
            raise ConfigError(f"steps[{i}].reduce_function", "missing: every step but the last needs one (its reduced "
                                                              "records are the next step's input)")
        if fields["num_reduce_tasks"] is None:
            fields["num_reduce_tasks"] = config.num_reduce_tasks if fields["reduce_function"] not in (None, "") else 0
        extra = {} if last else {"named_outputs": False, "output_format": "tsv"}
        name = config.job_name if last else f"{config.job_name}.step{i + 1}"
        configs.append(config.replace(job_name=name, steps=(), **fields, **extra))
    return configs


#: mrjob's names of a step's functions, to point an mrjob user at ours
_MRJOB_NAMES = {"mapper": "map_function", "reducer": "reduce_function", "combiner": "combine_function",
                "mapper_init": "map_init", "mapper_final": "map_final", "combiner_init": "combine_init",
                "reducer_init": "reduce_init", "reducer_final": "reduce_final"}


def _as_step(value: Any, index: int) -> Step:
    """A step given as a :class:`Step` or a mapping (a TOML ``[[steps]]`` table, a spec)."""
    if isinstance(value, Step):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"steps[{index}]", f"expected a Step or a table of step fields, got {value!r}")
    unknown = sorted(set(value) - set(STEP_FIELDS))
    if unknown:
        close = [_MRJOB_NAMES[unknown[0]]] if unknown[0] in _MRJOB_NAMES else difflib.get_close_matches(unknown[0], STEP_FIELDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; a step has: {', '.join(STEP_FIELDS)}"
        raise ConfigError(f"steps[{index}].{unknown[0]}", f"unknown step field{hint}")
    return Step(**value)


def resolve_function(ref: FunctionRef, field_name: str) -> Callable[..., Any]:
    """Import a ``"module:function"`` reference, or check a callable.

    A combiner or reducer may also be named by what it does (``"sum"``: see
    :mod:`mr_luigi.engine.aggregations`).
    """
    if callable(ref):
        return ref
    if field_name in ("combine_function", "reduce_function") and ref in aggregations.NAMED:
        return aggregations.NAMED[ref]
    if not isinstance(ref, str) or ":" not in ref:
        named = f", or one of {', '.join(repr(n) for n in aggregations.NAMED)}" \
            if field_name in ("combine_function", "reduce_function") else ""
        raise ConfigError(field_name, f"expected a function or 'module:function'{named}, got {ref!r}")
    module_name, _, attr_path = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        searched = ", ".join(repr(p or os.getcwd()) for p in sys.path if not p.endswith((".zip", "lib-dynload")))
        raise ConfigError(field_name, f"cannot import module {module_name!r}: {exc} (searched: {searched})") from None
    for attr in attr_path.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise ConfigError(field_name, f"module {module_name!r} has no attribute {attr_path!r}") from None
    if not callable(obj):
        raise ConfigError(field_name, f"{ref!r} is a {type(obj).__name__}, not a callable")
    return obj


def function_ref(fn: Callable[..., Any]) -> str:
    """A readable ``module:qualname`` name for a function, for logs and the manifest.

    ``partial(module:f)`` for a ``functools.partial``, ``module:Class()`` for
    a callable object.
    """
    if isinstance(fn, functools.partial):
        return f"partial({function_ref(fn.func)})"
    if not hasattr(fn, "__qualname__"):
        kind = type(fn)
        return f"{kind.__module__}:{kind.__qualname__}()"
    module = getattr(fn, "__module__", None) or "?"
    return f"{module}:{fn.__qualname__}"


def validate(config: JobConfig, record_inputs: Sequence[Path] | None = None) -> ResolvedConfig:
    """Check every field and resolve functions and paths, or raise ConfigError.

    ``record_inputs`` are the record files a later step of a multi-step job
    reads (the step before's reduce outputs, not written yet), instead of
    the config's input files.
    """
    if config.steps:
        raise ConfigError("steps", "a multi-step job is planned step by step (make_plan), not validated as one job")
    if config.map_function in (None, ""):
        raise ConfigError("map_function", "missing: every job needs it (or steps, each with its map)")
    _check_type("job_name", config.job_name, str)
    if not config.job_name or not all(c.isalnum() or c in "-_." for c in config.job_name):
        raise ConfigError("job_name", f"{config.job_name!r} must be non-empty and use only letters, digits, '-', '_' and '.'")
    for name in ("num_reduce_tasks", "max_retries"):
        _check_type(name, getattr(config, name), int)
    if config.num_reduce_tasks < 0:
        raise ConfigError("num_reduce_tasks", f"must be 0 (a map-only job) or more, got {config.num_reduce_tasks}")
    if config.max_retries < 0:
        raise ConfigError("max_retries", f"must be 0 or more, got {config.max_retries}")
    _check_type("keep_intermediate", config.keep_intermediate, bool)
    if config.split_size_mb is not None:
        _check_positive("split_size_mb", config.split_size_mb)
    _check_positive("map_memory_mb", config.map_memory_mb)
    _check_type("merge_fan_in", config.merge_fan_in, int)
    if config.merge_fan_in < 2:
        raise ConfigError("merge_fan_in", f"must be at least 2, got {config.merge_fan_in}")
    _check_bad_record_limit(config.max_bad_records)
    skip_types = resolve_skip_exceptions(config.skip_exceptions)
    decoding = Decoding.from_config(config.encoding, config.decode_errors)
    _check_type("params", config.params, Mapping)
    _check_type("named_outputs", config.named_outputs, bool)
    _check_type("sort_values", config.sort_values, bool)
    if config.output_format not in OUTPUT_FORMATS:
        raise ConfigError("output_format", f"{config.output_format!r} is not one of {', '.join(OUTPUT_FORMATS)}")
    if config.output_format == "lines" and config.named_outputs:
        raise ConfigError("output_format", "\"lines\" cannot be used with named_outputs yet (use tsv or jsonl)")

    functions = {}
    for name in FUNCTION_FIELDS:
        ref = getattr(config, name)
        if ref in (None, "") and name in _OPTIONAL_FUNCTIONS:  # "" turns one off in TOML
            functions[name] = None
            continue
        functions[name] = resolve_function(ref, name)

    _check_map_only(config, functions)
    _check_map_kind(functions["map_function"])
    _check_hooks(config, functions)
    store = _store(config)
    input_paths = _expand_inputs(config.input_files, store) if record_inputs is None else tuple(record_inputs)
    if any(is_url(p) for p in input_paths) and is_file_map(functions["map_function"]):
        raise ConfigError("map_function", "a file map is given a local path to open: it cannot read s3:// inputs yet")
    side_files = _side_files(config.files)
    output_url = _url_field(config.output_dir, "output_dir")
    work_url = _url_field(config.work_dir, "work_dir")
    work_dir = remote.cache_folder(work_url) if work_url else _work_dir(config, output_url)
    output_dir = _staging_dir(work_dir, output_url) if output_url else _check_output_dir(config.output_dir)
    work_dir = work_dir or output_dir / "_work"
    if work_dir.exists() and not work_dir.is_dir():
        raise ConfigError("work_dir", f"{str(work_dir)!r} exists and is not a directory")
    if record_inputs is None:  # a later step's inputs are in the work folder, by design
        local_inputs = tuple(p for p in input_paths if isinstance(p, Path))
        _check_apart([p for p in _as_list(config.input_files) if not is_url(p)], local_inputs,
                     {"output_dir": output_dir, "work_dir": work_dir})
        _check_url_apart(config.input_files, input_paths, {"output_dir": output_url, "work_dir": work_url})
    _check_writable("output_dir", output_dir)
    _check_writable("work_dir", work_dir)
    return ResolvedConfig(
        config=config,
        input_paths=input_paths,
        output_dir=output_dir,
        work_dir=work_dir,
        store=store,
        output_url=output_url,
        work_url=work_url,
        function_refs={k: function_ref(v) for k, v in functions.items() if v is not None},
        skip_types=skip_types,
        decoding=decoding,
        side_files=side_files,
        **functions,
    )


def _check_map_only(config: JobConfig, functions: dict[str, Any]) -> None:
    """A map-only job: no reduce function and ``num_reduce_tasks = 0``, and nothing that needs a reduce."""
    if functions["reduce_function"] is None and config.num_reduce_tasks != 0:
        raise ConfigError("reduce_function", "missing: every job needs one, except a map-only job, which sets "
                                             "num_reduce_tasks = 0")
    if functions["reduce_function"] is not None and config.num_reduce_tasks == 0:
        raise ConfigError("num_reduce_tasks", "0 means a map-only job, which has no reduce_function: remove one of them")
    if functions["reduce_function"] is None:
        for name in ("combine_function", "partitioner"):
            if functions[name] is not None:
                raise ConfigError(name, "a map-only job (num_reduce_tasks = 0) has no shuffle to use it: remove it")
        if config.sort_values:
            raise ConfigError("sort_values", "a map-only job (num_reduce_tasks = 0) has no reduce to sort values for: "
                                             "remove it")
        if config.named_outputs:
            raise ConfigError("named_outputs", "a map-only job cannot write named outputs yet (each map writes one part "
                                               "file in input order)")


def _check_map_kind(mapper: Callable[..., Any]) -> None:
    """A map takes lines, a batch of lines, a line with its record, or a whole file: one of them."""
    kinds = [name for name, marked in (("batch_map", is_batch_map(mapper)), ("map_with_record", takes_record(mapper)),
                                       ("file_map", is_file_map(mapper))) if marked]
    if len(kinds) > 1:
        raise ConfigError("map_function", f"a function cannot be both a {kinds[0]} and a {kinds[1]}: each says what the "
                                          "map is called with (a list of lines, a line and its record, a file's path); "
                                          "use one of them")


def _check_hooks(config: JobConfig, functions: dict[str, Any]) -> None:
    """Hooks need the function they wrap; a reduce's final pairs have no (name, key) order among named outputs."""
    if functions["combine_init"] is not None and functions["combine_function"] is None:
        raise ConfigError("combine_init", "the job has no combine_function for it to prepare: remove one, or add the other")
    for name in ("reduce_init", "reduce_final"):
        if functions[name] is not None and functions["reduce_function"] is None:
            raise ConfigError(name, "a map-only job has no reduce tasks to run it: use map_init / map_final")
    if functions["reduce_final"] is not None and config.named_outputs:
        raise ConfigError("reduce_final", "cannot be used with named_outputs yet: its pairs come after the reduced keys, "
                                          "not in the (name, key) order the outputs are written in")


def resolve_skip_exceptions(value: Any) -> tuple[type[BaseException], ...]:
    """``skip_exceptions`` as exception classes: ``True`` is every Exception, a list names them.

    A name is a built-in exception (``"ValueError"``) or ``"module.Class"``;
    a name that is neither is a ConfigError (a typo would otherwise skip nothing).
    """
    if value is True:
        return (Exception,)
    if value in (False, None, (), []):
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigError("skip_exceptions", f"expected true, false or a list of exception names, got {value!r}")
    return tuple(_exception_class(name) for name in value)


def _exception_class(name: Any) -> type[BaseException]:
    if not isinstance(name, str) or not name:
        raise ConfigError("skip_exceptions", f"expected an exception name such as 'ValueError', got {name!r}")
    module_name, _, attr = name.rpartition(".")
    hint = ""
    if module_name:
        try:
            found = getattr(importlib.import_module(module_name), attr, None)
        except ImportError as exc:
            found, hint = None, f" (its module cannot be imported: {exc})"
    else:
        found = getattr(builtins, name, None)
    if not (isinstance(found, type) and issubclass(found, Exception)):
        if not hint:
            builtin = [n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, Exception)]
            close = difflib.get_close_matches(name, builtin, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else " (a built-in exception, or 'module.ExceptionClass')"
        raise ConfigError("skip_exceptions", f"{name!r} is not an exception class{hint}")
    return found


def _check_bad_record_limit(value: Any) -> None:
    _check_type("max_bad_records", value, (int, float))
    if value < 0 or (isinstance(value, float) and value >= 1):
        raise ConfigError("max_bad_records", f"expected a count (an integer, 0 or more) or a fraction in [0, 1), got {value!r}")


def _check_positive(name: str, value: Any) -> None:
    _check_type(name, value, (int, float))
    if not value > 0:
        raise ConfigError(name, f"must be positive, got {value}")


def _check_type(name: str, value: Any, types: type | tuple[type, ...]) -> None:
    if isinstance(value, bool) and types in (int, (int, float)):
        raise ConfigError(name, f"expected a number, got {value!r}")
    if not isinstance(value, types):
        # a config's tables are Mappings in Python: say "table", the word TOML uses
        expected = "a table" if types is Mapping else (
            types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types))
        raise ConfigError(name, f"expected {expected}, got {type(value).__name__} {value!r}")


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (str, os.PathLike)):
        return [value]
    return list(value)


def _store(config: JobConfig) -> Store | None:
    """The object store settings, when any input or the output is an ``s3://`` URL (or ``[s3]`` is given)."""
    _check_type("s3", config.s3, Mapping)
    urls = [p for p in (*_as_list(config.input_files), config.output_dir, config.work_dir) if is_url(p)]
    if not urls and not config.s3:
        return None
    return Store.from_config(config.s3)


def _url_field(value: Any, name: str) -> str | None:
    """A folder field's ``s3://bucket/prefix`` URL (without a trailing slash), or None when it is a local path."""
    if not is_url(value):
        return None
    url = value.rstrip("/")
    if "/" not in url.removeprefix(SCHEME) or any(c in url for c in "*?["):
        raise ConfigError(name, f"{value!r}: expected s3://bucket/prefix, a folder in a bucket")
    return url


def _work_dir(config: JobConfig, output_url: str | None) -> Path | None:
    """The local work folder given, or for an output on an object store this host's cache folder for it; None: the default."""
    if config.work_dir:
        work_dir = Path(os.path.abspath(os.path.expanduser(config.work_dir)))
    elif output_url:
        work_dir = remote.cache_folder(output_url)
    else:
        return None
    return work_dir


def _staging_dir(work_dir: Path | None, output_url: str) -> Path:
    """Where the final step writes the outputs of an ``s3://`` output_dir before putting them there."""
    assert work_dir is not None
    return work_dir / "_outputs" / output_url.removeprefix(SCHEME)  # one per URL: jobs may share a work folder


def _expand_inputs(patterns: Any, store: Store | None = None) -> tuple[Path | str, ...]:
    """Expand paths, folders and globs into a sorted list of distinct files.

    A folder or a wildcard never reaches a name starting with ``.`` or ``_``
    (hidden files, ``_SUCCESS``, ``_work/``, ``_bad_records/``) unless the
    pattern spells that character itself. A folder holding a finished job's
    results (its ``_SUCCESS`` manifest) means that job's output: its
    ``part-*`` files, read once.
    """
    if not patterns:
        raise ConfigError("input_files", "no input given: name at least one file, folder or glob")
    found: dict[str, None] = {}
    urls: dict[str, None] = {}
    for pattern in _as_list(patterns):
        if not isinstance(pattern, (str, os.PathLike)):
            raise ConfigError("input_files", f"expected paths or globs, got {pattern!r}")
        if is_url(pattern):
            assert store is not None
            urls.update(dict.fromkeys(_expand_url(pattern, store)))
            continue
        pattern = os.path.expanduser(os.fspath(pattern))
        if glob.has_magic(pattern):
            matches = sorted(m for m in glob.glob(pattern, recursive=True)
                             if os.path.isfile(m) and not _skipped_by_wildcard(m, pattern) and "-luigi-tmp-" not in m)
            if not matches:
                raise ConfigError("input_files", f"glob {pattern!r} matched no files")
        elif os.path.isdir(pattern):
            matches = _folder_files(pattern)
        elif os.path.isfile(pattern):
            matches = [pattern]
        elif os.path.exists(pattern):
            raise ConfigError("input_files", f"{pattern!r} is not a regular file")
        else:
            raise ConfigError("input_files", f"{pattern!r} does not exist")
        for match in matches:
            path = os.path.abspath(match)
            if not os.access(path, os.R_OK):
                raise ConfigError("input_files", f"{path!r} is not readable (permissions)")
            found[path] = None
    paths = tuple(Path(p) for p in found)
    _check_not_read_twice(paths)
    _check_urls_not_read_twice(list(urls), store)
    return (*paths, *urls)


def _expand_url(pattern: str, store: Store) -> list[str]:
    """The objects of an ``s3://`` input pattern; a wildcard skips ``.`` and ``_`` names, as for local files.

    A prefix holding a finished job's results (its ``_SUCCESS`` manifest)
    means that job's output, as a folder does: its ``part-*`` objects, read once.
    """
    if not any(c in pattern for c in "*?[") and _finished_job_at(pattern.rstrip("/"), store) is not None:
        base = pattern.rstrip("/")
        parts = [m for m in remote.expand(base, store) if _PART_OBJECT.fullmatch(m[len(base) + 1:])]
        if not parts:
            raise ConfigError("input_files", f"{base!r} holds a finished job's results but no part-* objects: "
                                             "name the output object(s) to read")
        return parts
    matches = remote.expand(pattern, store)
    if any(c in pattern for c in "*?["):
        spelled = pattern.split("/")
        matches = [m for m in matches if not any(part[:1] in (".", "_") and not given.startswith(part[:1])
                                                 for part, given in zip(m.split("/"), spelled))]
    if not matches:
        raise ConfigError("input_files", remote.missing(pattern, store))
    return matches


_PART_OBJECT = re.compile(r"part-[0-9]{5}")


def _finished_job_at(url: str, store: Store) -> dict[str, Any] | None:
    """The ``_SUCCESS`` manifest of a finished mr_luigi job under an ``s3://`` prefix, or None.

    Only a missing object (or one that is not a manifest) means "not a finished
    job". A store that cannot be read (refused, denied, timed out) is an error:
    taking it for "no manifest" would read the prefix as a folder, part files
    and ``final_output.txt`` both, and count every record twice.
    """
    (data,) = remote.fetch([f"{url}/_SUCCESS"], store)
    if isinstance(data, FileNotFoundError):
        return None
    if isinstance(data, BaseException):
        raise ConfigError("input_files", remote.describe(data, url))
    try:
        manifest = json.loads(data)
    except ValueError:
        return None
    return manifest if isinstance(manifest, dict) and "job_id" in manifest else None


def _side_files(paths: Any) -> dict[str, Path]:
    """The side files by name (the file name): each an existing, readable file, no two with one name."""
    found: dict[str, Path] = {}
    for given in _as_list(paths or ()):
        if not isinstance(given, (str, os.PathLike)) or not os.fspath(given):
            raise ConfigError("files", f"expected file paths, got {given!r}")
        path = Path(os.path.abspath(os.path.expanduser(os.fspath(given))))
        if not path.is_file():
            what = "is not a regular file" if path.exists() else "does not exist"
            raise ConfigError("files", f"side file {str(path)!r} {what}")
        if not os.access(path, os.R_OK):
            raise ConfigError("files", f"side file {str(path)!r} is not readable (permissions)")
        if path.name in found and found[path.name] != path:
            raise ConfigError("files", f"two side files are named {path.name!r} ({str(found[path.name])!r} and "
                                       f"{str(path)!r}): job_file() asks for a file by name; rename one")
        found[path.name] = path
    return found


def _folder_files(folder: str) -> list[str]:
    """The files a folder input means (see :func:`_expand_inputs`)."""
    finished = finished_job_manifest(Path(folder))
    if finished is not None:
        parts = sorted(str(p) for p in Path(folder).glob("part-[0-9][0-9][0-9][0-9][0-9]") if p.is_file())
        if not parts:
            outputs = ", ".join(finished.get("outputs") or []) or "no part files"
            raise ConfigError("input_files", f"{folder!r} holds the results of job {finished.get('job_id')} ({outputs}) "
                                             "but no part-* files: name the output file(s) to read")
        return parts
    matches = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        matches += [os.path.join(root, name) for name in names if not name.startswith((".", "_")) and "-luigi-tmp-" not in name]
    if not matches:
        raise ConfigError("input_files", f"folder {folder!r} holds no files")
    return sorted(matches)


def finished_job_manifest(folder: Path) -> dict[str, Any] | None:
    """The ``_SUCCESS`` manifest of a finished mr_luigi job in ``folder``, or None."""
    try:
        manifest = json.loads((folder / "_SUCCESS").read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and "job_id" in manifest else None


def _skipped_by_wildcard(match: str, pattern: str) -> bool:
    """Whether a glob reached a ``.`` or ``_`` name that the pattern does not spell."""
    base = _glob_base(pattern)
    found = Path(os.path.abspath(match)).relative_to(base).parts
    spelled = Path(os.path.abspath(os.path.expanduser(pattern))).relative_to(base).parts
    if "**" not in spelled and len(spelled) == len(found):
        return any(part.startswith((".", "_")) and not given.startswith(part[0]) for part, given in zip(found, spelled))
    return any(part.startswith((".", "_")) and not any(given.startswith(part[0]) for given in spelled) for part in found)


def _check_not_read_twice(paths: tuple[Path, ...]) -> None:
    """Refuse inputs that hold a finished job's records twice: its final_output.txt and its part files."""
    folders = {p.parent for p in paths if p.name == "final_output.txt"}
    for folder in folders:
        parts = [p for p in paths if p.parent == folder and p.name.startswith("part-")]
        if parts and finished_job_manifest(folder) is not None:
            raise ConfigError("input_files", f"{str(folder)!r} is a finished job's output: its final_output.txt and its "
                                             f"part files ({parts[0].name}, ...) hold the same records, so every record would "
                                             "be read twice; name the folder itself (its part files) or final_output.txt")


def _check_urls_not_read_twice(urls: list[str], store: Store | None) -> None:
    """:func:`_check_not_read_twice` for objects: a finished job's final_output.txt and its part objects together."""
    for folder in {url.rsplit("/", 1)[0] for url in urls if url.endswith("/final_output.txt")}:
        parts = [url for url in urls if url.rsplit("/", 1)[0] == folder and url.rsplit("/", 1)[1].startswith("part-")]
        if parts and store is not None and _finished_job_at(folder, store) is not None:
            raise ConfigError("input_files", f"{folder!r} is a finished job's output: its final_output.txt and its "
                                             f"part objects ({parts[0].rsplit('/', 1)[1]}, ...) hold the same records, so "
                                             "every record would be read twice; name the prefix itself (its part "
                                             "objects) or final_output.txt")


def _check_apart(patterns: Any, input_paths: tuple[Path, ...], folders: dict[str, Path]) -> None:
    """Keep the job's own folders out of its inputs, and its inputs out of its folders.

    An output folder inside an input folder would be read back as input by
    the next run; an input inside the output folder could be overwritten.
    """
    read_below = [Path(os.path.abspath(os.path.expanduser(os.fspath(p)))) for p in _as_list(patterns)
                  if not glob.has_magic(os.fspath(p)) and os.path.isdir(os.path.expanduser(os.fspath(p)))]
    read_below += [_glob_base(os.fspath(p)) for p in _as_list(patterns) if "**" in os.fspath(p)]
    for name, folder in folders.items():
        for root in read_below:
            if folder == root or root in folder.parents:
                raise ConfigError(name, f"{str(folder)!r} is inside the input folder {str(root)!r}: a later run would "
                                        "read this job's files as input; choose a folder outside it")
        for path in input_paths:
            if folder in path.parents:
                raise ConfigError(name, f"input {str(path)!r} is inside {name} {str(folder)!r}, where the job "
                                        "writes: choose another folder")


def _check_url_apart(patterns: Any, input_paths: tuple[Path | str, ...], folders: dict[str, str | None]) -> None:
    """:func:`_check_apart` for ``s3://`` folders: neither inside an input prefix nor holding an input."""
    for name, url in folders.items():
        if url is None:
            continue
        for pattern in _as_list(patterns):
            if is_url(pattern) and not any(c in pattern for c in "*?[") and \
                    (url + "/").startswith(pattern.rstrip("/") + "/"):
                raise ConfigError(name, f"{url!r} is inside the input {pattern!r}: a later run would read this job's "
                                        "files as input; choose a prefix outside it")
        for path in input_paths:
            if is_url(path) and str(path).startswith(url + "/"):
                raise ConfigError(name, f"input {path!r} is inside {name} {url!r}, where the job writes: choose "
                                        "another prefix")


def _glob_base(pattern: str) -> Path:
    """The folder a recursive glob starts from: its path up to the first wildcard."""
    parts = Path(os.path.abspath(os.path.expanduser(pattern))).parts
    return Path(*parts[: next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))])


def _check_writable(name: str, folder: Path) -> None:
    """Fail before any task runs if ``folder`` cannot be created or written."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(name, f"{str(folder)!r} cannot be created: {str(existing)!r} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "is not writable" if existing == folder else f"cannot be created: {str(existing)!r} is not writable"
        raise ConfigError(name, f"{str(folder)!r} {what} (permissions)")


def _check_output_dir(output_dir: Any) -> Path:
    if not output_dir or not isinstance(output_dir, (str, os.PathLike)):
        raise ConfigError("output_dir", f"expected a folder path, got {output_dir!r}")
    path = Path(os.path.abspath(os.path.expanduser(os.fspath(output_dir))))
    if path.exists() and not path.is_dir():
        raise ConfigError("output_dir", f"{str(path)!r} exists and is a file, not a folder")
    return path
