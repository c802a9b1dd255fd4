"""Bad records: skipped, counted by reason, and kept aside for a person to read.

Real inputs hold lines a pipeline cannot parse (a truncated log line, a
broken JSON document). A map function raises :class:`BadRecord` for such a
line, naming the reason; a line that does not decode is one too (reason
``undecodable``, see :mod:`mr_luigi.io.decoding`). Any *other* exception is a
bug or a failure, not bad data: it fails the task (which is retried), unless
its type is listed in the job's ``skip_exceptions``; then it is a bad record
whose reason is ``map_function raised <Type>``.

A bad record is skipped, counted under the ``bad_records`` counter group, and
written as a JSON line with the file, line number, reason, error and raw text
(cut to a few KB) to ``bad_records/map-NNNNN.jsonl`` in the job's work
folder; the final step publishes these files to ``<output_dir>/_bad_records/``.
A reduce function may raise :class:`BadRecord` too: the key is skipped and
kept in ``reduce-NNNNN.jsonl``.

``max_bad_records`` decides when a job fails instead: an integer is a count
for the whole job, a float below 1 a fraction of its input records, and 0
fails on the first bad record, naming its file and line. A map function
should raise before it yields anything for a line: pairs already yielded are
kept.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from mr_luigi.engine.counters import BAD_RECORDS_GROUP, increment_counter
from mr_luigi.errors import RecordError, TooManyBadRecords
from mr_luigi.io import atomic

#: Characters of a bad line kept in the quarantine file.
MAX_RAW_CHARS = 4096
#: The folder of bad records: in the job's work folder, and published to the output folder.
WORK_FOLDER = "bad_records"
FOLDER = "_bad_records"


class BadRecord(Exception):
    """Raise from a map or reduce function to skip the current record as bad.

    ``reason`` is a short name (e.g. ``"unparsable_line"``): it names the
    counter and groups the quarantined lines. ``detail`` says what was wrong.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class BadRecordLimit:
    """``max_bad_records`` as a count, or a fraction of the input records."""

    count: int | None = None
    fraction: float | None = None

    @classmethod
    def from_config(cls, value: int | float) -> BadRecordLimit:
        if isinstance(value, int):
            return cls(count=value)
        return cls(fraction=float(value))

    @property
    def fail_fast(self) -> bool:
        return self.count == 0

    def exceeded(self, bad: int, total: int) -> bool:
        if self.count is not None:
            return bad > self.count
        return bad > 0 and bad > (self.fraction or 0.0) * total

    def __str__(self) -> str:
        if self.count is not None:
            return f"max_bad_records = {self.count}"
        return f"max_bad_records = {self.fraction} ({(self.fraction or 0) * 100:g}% of input records)"


def folder_of(output_dir: Path) -> Path:
    """Where a finished job's bad records are published."""
    return output_dir / FOLDER


def file_name(phase: str, index: int) -> str:
    return f"{phase}-{index:05d}.jsonl"


def reason_of(exc: BaseException, function: str) -> tuple[str, str]:
    """The reason and error text of a skipped record."""
    if isinstance(exc, BadRecord):
        return exc.reason, exc.detail
    return f"{function} raised {type(exc).__name__}", str(exc)


class Quarantine:
    """The bad records of one task, written as they come and published (atomically) at the end."""

    def __init__(self, job_dir: Path, phase: str, index: int, limit: BadRecordLimit) -> None:
        self.path = job_dir / WORK_FOLDER / file_name(phase, index)
        self.limit = limit
        self.counts: dict[str, int] = {}
        self._tmp: Path | None = None
        self._fh: Any = None
        self._closed = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, where: str, reason: str, error: str, record: Mapping[str, Any]) -> None:
        """Count and keep one bad record, or raise if the limit says the job must fail.

        ``where`` says where the record is (``file:line``, or a key);
        ``record`` holds the fields written for it.
        """
        if self.limit.fail_fast:
            raise RecordError(f"bad record at {where}: {reason}{': ' + error if error else ''} "
                              f"(max_bad_records = 0 fails on the first one; raise it to skip bad records)")
        self._write({**record, "reason": reason, "error": error})
        self.counts[reason] = self.counts.get(reason, 0) + 1
        increment_counter(BAD_RECORDS_GROUP, reason)
        if self.limit.count is not None and self.total > self.limit.count:
            self.close()
            raise TooManyBadRecords(too_many_message(self.counts, None, self.limit, self.path.parent))

    def _write(self, record: Mapping[str, Any]) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp = atomic.temporary_sibling(self.path)
            self._fh = open(self._tmp, "w", encoding="utf-8")
        self._fh.write(json.dumps(record, ensure_ascii=False, default=repr) + "\n")

    def close(self) -> None:
        """Publish the records written so far (replacing an earlier attempt's), or remove a stale file."""
        if self._closed:
            return
        self._closed = True
        if self._fh is None:
            self.path.unlink(missing_ok=True)
            return
        self._fh.close()
        self._fh = None
        assert self._tmp is not None
        os.replace(self._tmp, self.path)


def raw_fields(raw: str) -> dict[str, Any]:
    """A bad line's text as kept in the quarantine: cut to :data:`MAX_RAW_CHARS`."""
    return {"raw": raw[:MAX_RAW_CHARS], "raw_truncated": len(raw) > MAX_RAW_CHARS}


def too_many_message(counts: Mapping[str, int], total_inputs: int | None, limit: BadRecordLimit, folder: Path) -> str:
    bad = sum(counts.values())
    share = f" of {total_inputs:,} input records ({bad / total_inputs:.2%})" if total_inputs else ""
    reasons = ", ".join(f"{reason}: {n:,}" for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return (f"too many bad records: {bad:,}{share}, over {limit}; by reason: {reasons}. "
            f"They are in {folder}/; fix the input or the parser, or raise max_bad_records")
