"""The functions a task calls for an mrjob job's step: the job's own methods, with mrjob's protocols around them.

A job config made by :mod:`.runner` names them as
``mr_luigi.api.mrjob.runtime:step.s2.reducer`` (step 2's reducer), so any
process can import them; which job they serve comes from the job's params
(its file, class and arguments). Each task makes its own job instance in its
init hook, as each mrjob task process does, and works in the folder holding
the job's files (``FILES``, file arguments), as mrjob's tasks do.

Records between steps are passed as mrjob passes them: a key is grouped and
ordered by its encoding with the internal protocol (so keys of any types
mix, and ``1`` and ``1.0`` are two keys, as in mrjob), and a value is what
the protocol reads back (tuples become lists with JSON). With the default
JSON protocol, values that JSON returns unchanged (str, int, float, bool,
None) skip the round trip.
"""

from __future__ import annotations

import bz2
import gzip
import json
import json.encoder
import os
import shutil
import subprocess
import threading
from functools import cached_property
from itertools import chain
from typing import Any, Callable, Iterable, Iterator

from mr_luigi.api.mrjob import shim
from mr_luigi.api.mrjob.job import MRJob
from mr_luigi.api.mrjob.protocol import StandardJSONProtocol, TextValueProtocol
from mr_luigi.engine.context import job_file, job_params
from mr_luigi.engine.mapping import Record, file_map, map_with_record, pair_reducer
from mr_luigi.errors import RecordError

#: the key of a job's params that says which mrjob job it runs
PARAMS_KEY = "mrjob"
_SCALARS = frozenset({str, int, float, bool, type(None)})
_INPUT_FILE_VARIABLES = ("mapreduce_map_input_file", "map_input_file")


class JSONCodec:
    """Records of the default JSON internal protocol: the key's JSON text, and the value as JSON reads it back.

    A ``str`` key is quoted by json's own C function (what ``json.dumps``
    calls for it, without its per-call setup): this is once per pair.
    """

    def __init__(self, sort_values: bool) -> None:
        self.sort_values = sort_values

    def pack(self, key: Any, value: Any) -> tuple[str, Any]:
        if self.sort_values:  # ordered by its encoding, as mrjob sorts values
            text = json.dumps(value)
            return json.dumps(key), (text, json.loads(text))
        if value.__class__ not in _SCALARS:
            value = json.loads(json.dumps(value))
        return _quote(key) if key.__class__ is str else json.dumps(key), value

    def pack_all(self, pairs: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
        if self.sort_values:
            return [self.pack(k, v) for k, v in pairs]
        return [(_quote(k) if k.__class__ is str else _dumps(k), v if v.__class__ in _SCALARS else _round_trip(v))
                for k, v in pairs]

    def key(self, packed_key: str, first: Any) -> Any:
        return json.loads(packed_key)

    def value(self, packed: Any) -> Any:
        return packed[1] if self.sort_values else packed


_quote = json.encoder.encode_basestring_ascii  # json.dumps(a str), in C
_dumps = json.dumps


def _round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value))


class ProtocolCodec:
    """Records of any other internal protocol: the key's encoding, with the encoded value and the pair read back."""

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol

    def pack(self, key: Any, value: Any) -> tuple[bytes, Any]:
        line = self.protocol.write(key, value)
        raw_key, _, raw_value = line.partition(b"\t")
        read_key, read_value = self.protocol.read(line)
        return raw_key, (raw_value, read_key, read_value)

    def pack_all(self, pairs: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
        return [self.pack(k, v) for k, v in pairs]

    def key(self, packed_key: bytes, first: Any) -> Any:
        return first[1]

    def value(self, packed: Any) -> Any:
        return packed[2]


class _Task:
    """One task's job instance and its step: what mrjob's task process would hold."""

    def __init__(self, step_index: int) -> None:
        spec = job_params()[PARAMS_KEY]
        self.cls = shim.job_class(spec["script"], spec["class"])
        _enter_files_folder(spec["script"])
        self.job: MRJob = self.cls(list(spec["args"]))
        for dest, name in spec.get("file_args", {}).items():
            setattr(self.job.options, dest, name)  # the task's copy, in the folder it works in
        steps = self.job.steps()
        self.step = steps[step_index]
        self.last = step_index == len(steps) - 1
        internal = self.job.internal_protocol()
        sort_values = bool(self.job.SORT_VALUES)
        self.codec = JSONCodec(sort_values) if type(internal) is StandardJSONProtocol else ProtocolCodec(internal)
        self.internal = internal

    @cached_property
    def input_protocol(self) -> Any:
        return self.job.input_protocol()

    @cached_property
    def output_protocol(self) -> Any:
        return self.job.output_protocol()

    @property
    def map_only(self) -> bool:
        return self.last and not self.step.has("reducer")

    def emit(self, pairs: Iterable[tuple[Any, Any]] | None) -> list[tuple[Any, Any]]:
        """The pairs a mapper or reducer yields, as records for the next step, or as output lines of the last step."""
        if pairs is None:
            return []
        if self.last_output:
            write = self.output_protocol.write
            return [(None, _line(write(key, value))) for key, value in pairs]
        return self.codec.pack_all(pairs)

    last_output = False
    #: the input file whose lines the mapper is given (as ``mapreduce_map_input_file`` says)
    input_file: str | None = None

    @cached_property
    def text_input(self) -> bool:
        """Lines are the values as they are (mrjob's default input protocol), no round trip through bytes."""
        return type(self.input_protocol) is TextValueProtocol

    @cached_property
    def mapper(self) -> Callable[[Any, Any], Any] | None:
        return self.step.get("mapper")


def _set_input_file(task: _Task, path: str) -> None:
    task.input_file = path
    for name in _INPUT_FILE_VARIABLES:
        os.environ[name] = path


def _line(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf_8")
    except UnicodeDecodeError:
        raise RecordError(f"the output protocol wrote bytes that are not UTF-8 text: {data[:100]!r}") from None


_cwd_lock = threading.Lock()


def _enter_files_folder(script: str) -> None:
    """Work in the folder of the job's side files, where its tasks open ``FILES`` by name (as mrjob's tasks do)."""
    folder = job_file(os.path.basename(script)).parent
    with _cwd_lock:
        if os.getcwd() != str(folder):
            os.chdir(folder)


class _Role:
    """The task of one role (map, combine, reduce) running in this process."""

    def __init__(self) -> None:
        self.task: _Task | None = None


_map, _combine, _reduce = _Role(), _Role(), _Role()


class StepFunctions:
    """The functions of step ``index`` of the running mrjob job, as a job config names them."""

    def __init__(self, index: int) -> None:
        self.index = index

    # -- map ----------------------------------------------------------------------

    def map_init(self) -> None:
        task = _start(_map, self.index, "mapper_init")
        task.last_output = task.map_only

    def map_final(self) -> Iterable[tuple[Any, Any]]:
        return _final(_map, "mapper_final")

    @map_with_record
    def text_mapper(self, line: str, record: Record) -> Iterable[tuple[Any, Any]]:
        """The first step's mapper on one input line (the file it came from in ``mapreduce_map_input_file``)."""
        task = _map.task
        assert task is not None
        if record.path is not task.input_file:
            _set_input_file(task, record.path)
        if task.text_input:
            key, value = None, line
        else:
            key, value = task.input_protocol.read(line.encode("utf_8"))
        mapper = task.mapper
        return task.emit([(key, value)] if mapper is None else mapper(key, value))

    @file_map
    def raw_mapper(self, path: str) -> Iterable[tuple[Any, Any]]:
        """A whole input file: ``mapper_raw(path, uri)``, or the file piped through ``mapper_cmd`` or ``mapper_pre_filter``."""
        task = _map.task
        assert task is not None
        _set_input_file(task, path)
        step = task.step
        if step.has("mapper_raw"):
            return task.emit(step["mapper_raw"](path, path))
        if step.has("mapper_cmd"):
            lines = _piped(path, step["mapper_cmd"])
            if task.last_output:
                return ((None, _line(line)) for line in lines)
            read, pack = task.internal.read, task.codec.pack
            return (pack(*read(line)) for line in lines)
        read = task.input_protocol.read
        mapper = step.get("mapper")
        # a filter's exit status is not looked at: it is piped into the mapper, as in mrjob's local runner
        pairs = (read(line) for line in _piped(path, step["mapper_pre_filter"], check=False))
        if mapper is not None:
            pairs = (pair for key, value in pairs for pair in (mapper(key, value) or ()))
        return task.emit(pairs)

    def step_mapper(self, packed_key: Any, packed_value: Any) -> Iterable[tuple[Any, Any]]:
        """A later step's mapper on one record of the step before."""
        task = _map.task
        assert task is not None
        codec = task.codec
        key, value = codec.key(packed_key, packed_value), codec.value(packed_value)
        mapper = task.step.get("mapper")
        return task.emit([(key, value)] if mapper is None else mapper(key, value))

    # -- combine ------------------------------------------------------------------

    def combine_init(self) -> None:
        _start(_combine, self.index, "combiner_init")

    def combiner(self, packed_key: Any, packed_values: Iterator[Any]) -> Any:
        """The job's combiner on part of a key's values; it must yield that key once (mr_luigi's combiners return one value)."""
        task = _combine.task
        assert task is not None
        key, values = _key_and_values(task.codec, packed_key, packed_values)
        pairs = list(task.step["combiner"](key, values) or ())
        packed = task.codec.pack_all(pairs)
        if len(packed) != 1 or packed[0][0] != packed_key:
            raise RecordError(f"the combiner yielded {len(pairs)} pair(s) for key {key!r} "
                              f"({', '.join(repr(k) for k, _ in pairs[:3]) or 'none'}): mr_luigi runs combiners that "
                              "yield their key once; move other output to the reducer")
        return packed[0][1]

    # -- reduce -------------------------------------------------------------------

    def reduce_init(self) -> None:
        task = _start(_reduce, self.index, "reducer_init")
        task.last_output = task.last

    def reduce_final(self) -> Iterable[tuple[Any, Any]]:
        return _final(_reduce, "reducer_final")

    @pair_reducer
    def reducer(self, packed_key: Any, packed_values: Iterator[Any]) -> Iterable[tuple[Any, Any]]:
        task = _reduce.task
        assert task is not None
        reducer = task.step.get("reducer")
        if reducer is None:  # a mapper-only step before another: its records go on as they are
            return ((packed_key, packed) for packed in packed_values)
        key, values = _key_and_values(task.codec, packed_key, packed_values)
        return task.emit(reducer(key, values))


def _start(role: _Role, index: int, hook: str) -> _Task:
    """A task of ``role`` begins: a new job instance, and the job's init hook for it."""
    task = role.task = _Task(index)
    init = task.step.get(hook)
    if init is not None:
        init()
    return task


def _final(role: _Role, hook: str) -> Iterable[tuple[Any, Any]]:
    """The pairs of the job's final hook for the task of ``role`` (none without one)."""
    task = role.task
    assert task is not None
    final = task.step.get(hook)
    return task.emit(final()) if final is not None else iter(())


def _key_and_values(codec: JSONCodec | ProtocolCodec, packed_key: Any, packed_values: Iterator[Any]) -> tuple[Any, Iterator[Any]]:
    """A key and its values as the job's methods see them, from the records of one key."""
    first = next(packed_values)
    values = chain((first,), packed_values)
    if type(codec) is JSONCodec and not codec.sort_values:  # values are stored as they are read
        return json.loads(packed_key), values
    return codec.key(packed_key, first), map(codec.value, values)


def _piped(path: str, command: str, check: bool = True) -> Iterator[bytes]:
    """The lines ``sh -c command`` writes when a whole input file (decompressed) is its standard input.

    With ``check``, a status other than 0 fails the task naming the command.
    """
    opener: Callable[..., Any] = gzip.open if path.endswith(".gz") else bz2.open if path.endswith(".bz2") else open
    with opener(path, "rb") as source, subprocess.Popen(["sh", "-c", command], stdin=subprocess.PIPE,
                                                        stdout=subprocess.PIPE) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        feeder = threading.Thread(target=_feed, args=(source, proc.stdin), daemon=True)
        feeder.start()
        for line in proc.stdout:
            yield line.rstrip(b"\r\n") if line.endswith(b"\n") else line
        feeder.join()
    if check and proc.returncode != 0:
        raise RuntimeError(f"command {command!r} exited with status {proc.returncode} on {path}")


def _feed(source: Any, sink: Any) -> None:
    try:
        shutil.copyfileobj(source, sink)
    except BrokenPipeError:
        pass
    finally:
        try:
            sink.close()
        except BrokenPipeError:
            pass


class _Steps:
    """``step.s0``, ``step.s1``...: the same object for a step each time it is asked for."""

    def __init__(self) -> None:
        self._steps: dict[int, StepFunctions] = {}

    def __getattr__(self, name: str) -> StepFunctions:
        if not (name.startswith("s") and name[1:].isdigit()):
            raise AttributeError(name)
        index = int(name[1:])
        if index not in self._steps:
            self._steps[index] = StepFunctions(index)
        return self._steps[index]


step = _Steps()
