"""How results are written as text, and read back: one ``key<TAB>value`` line per key.

The format is lossless: :func:`parse_line` gives back the exact key and value
that :func:`render_line` wrote, and two different keys never give the same
line. Each of key and value is written as follows:

- a ``str`` as it is, unless reading it as JSON would give something else:
  a string holding a tab, CR or LF, starting (after spaces) with ``"``, ``[``
  or ``{``, or that is (after spaces) ``null``, ``true``, ``false``, ``NaN``,
  ``Infinity``, ``-Infinity`` or a JSON number is written JSON-quoted
  (``"1"``, ``"null"``, ``"a\\tb"``);
- an ``int`` or ``float`` as a JSON number (``3``, ``2.5``);
- anything else (``None``, ``bool``, lists, tuples, dicts) as JSON, dicts with
  sorted keys.

A line is read back by splitting at its first tab and reading each side as
JSON if it is valid JSON, else as the string itself; in a key, JSON arrays
are tuples (keys are hashable), in a value, lists (JSON has one array type).

What JSON cannot hold exactly is refused with a :class:`RecordError` naming
the key: NaN and infinite floats (strict JSON readers such as ``jq`` reject
them), dicts with non-``str`` keys (JSON would turn ``{1: "a"}`` into
``{"1": "a"}``), and types JSON does not know.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Iterator

from mr_luigi.errors import RecordError

_LITERALS = frozenset({"null", "true", "false", "NaN", "Infinity", "-Infinity"})
#: json.scanner's own number pattern: a string it matches would read back as a number
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
#: first characters of the strings that may read back as something else
_SUSPECT = frozenset('"[{-0123456789tfnNI ')
_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_dumps_sorted = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True).encode


def render_str(text: str) -> str:
    """A string as written: as it is, or JSON-quoted when it would read back as something else."""
    if "\t" in text or "\n" in text or "\r" in text:
        return _dumps(text)
    if text[:1] in _SUSPECT:
        trimmed = text.strip(" ")
        if trimmed[:1] in ('"', "[", "{") or trimmed in _LITERALS or _NUMBER.fullmatch(trimmed):
            return _dumps(text)
    return text


def render(obj: Any) -> str:
    """The text form of one key or value."""
    kind = type(obj)
    if kind is str:
        return render_str(obj)
    if kind is int:
        return repr(obj)
    if kind is float:
        if not math.isfinite(obj):
            raise RecordError(f"{obj!r} cannot be written: JSON has no NaN or infinity (strict readers reject them); "
                              "turn it into None or a string first")
        return repr(obj)
    check_json(obj)
    try:
        return _dumps_sorted(obj)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"cannot write {_shown(obj)} ({kind.__name__}) as text: {exc}; return str, numbers, lists or dicts") from None


def check_json(obj: Any) -> None:
    """Refuse what JSON would change: NaN and infinities, dicts with keys other than str."""
    kind = type(obj)
    if kind is float:
        if not math.isfinite(obj):
            raise RecordError(f"{obj!r} cannot be written: JSON has no NaN or infinity (strict readers reject them); "
                              "turn it into None or a string first")
    elif kind in (list, tuple):
        for item in obj:
            check_json(item)
    elif kind is dict:
        for key, item in obj.items():
            if type(key) is not str:
                raise RecordError(f"a dict key {key!r} ({type(key).__name__}) cannot be written: JSON object keys are "
                                  "strings, so it would come back as another key; use str keys")
            check_json(item)


def render_line(key: Any, value: Any) -> str:
    """One output line, newline included."""
    try:
        return f"{render(key)}\t{render(value)}\n"
    except RecordError as exc:
        raise RecordError(f"cannot write the result for key {_shown(key)}: {exc}") from None


def render_json_line(value: Any, key: Any = None) -> str:
    """A value as one JSON line (``output_format = "jsonl"``), newline included."""
    try:
        check_json(value)
        return _dumps(value) + "\n"
    except (TypeError, ValueError, RecordError) as exc:
        raise RecordError(f"cannot write the value for key {_shown(key)} as JSON: {exc}") from None


def render_text_line(value: Any, key: Any = None) -> str:
    """A value that is a line of text already (``output_format = "lines"``), written as it is."""
    if type(value) is not str or "\n" in value or "\r" in value:
        name = type(value).__name__
        what = "holds a line break" if type(value) is str else f"is {'an' if name[0] in 'aeiou' else 'a'} {name}"
        raise RecordError(f"with output_format = \"lines\" every value must be one line of text (a str); the value for "
                          f"key {_shown(key)} {what}: {_shown(value)}")
    return value + "\n"


# -- reading -----------------------------------------------------------------


def parse_field(text: str, is_key: bool = False) -> Any:
    """One side of a line, read back: JSON if it is valid JSON, else the string itself.

    Text that starts like a number (a count, an IP, a date) is read without
    json.loads: json.loads reads a number and then only whitespace, or fails,
    so a regex of JSON's number grammar decides it exactly, without the cost
    of a failed json.loads (an exception: ten times the work). Other text is
    left to json.loads unless its first character can start no JSON value.
    """
    head = text.lstrip(_JSON_SPACE)[:1]
    if head == "-" or "0" <= head <= "9":
        return _number(text)
    if head not in _JSON_STARTS:
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return _as_tuples(value) if is_key else value


#: What JSON whitespace may surround (json.loads skips exactly these).
_JSON_SPACE = " \t\n\r"
#: The first characters of JSON values other than numbers (NaN and Infinity included: json.loads reads them).
_JSON_STARTS = frozenset('"[{tfnNI')
_JSON_NUMBER = re.compile(r"[ \t\n\r]*(?:(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?|(-Infinity))[ \t\n\r]*")


def _number(text: str) -> Any:
    """What json.loads gives for text that starts like a number: the number (as json builds it), or the text."""
    match = _JSON_NUMBER.fullmatch(text)
    if match is None:
        return text
    integer, frac, exp, infinity = match.groups()
    try:
        if infinity:
            return float(infinity)
        if frac or exp:
            return float(integer + (frac or "") + (exp or ""))
        return int(integer)
    except ValueError:  # an integer over Python's limit of digits, which json.loads refuses too
        return text


def parse_line(line: str) -> tuple[Any, Any]:
    """A ``key<TAB>value`` line (newline optional) back into the key and value written."""
    if line.endswith("\n"):
        line = line[:-1]
    key, tab, value = line.partition("\t")
    if not tab:
        raise ValueError(f"not a key<TAB>value line: {line[:200]!r}")
    return parse_field(key, is_key=True), parse_field(value)


def read_output(path: str | Path) -> Iterator[tuple[Any, Any]]:
    """The ``(key, value)`` pairs of a text output file (``part-*``, ``final_output.txt``, ``<name>.txt``).

    For a file of ``output_format = "jsonl"``, use ``json.loads`` on each line.
    """
    with open(path, encoding="utf-8", newline="\n") as fh:
        for line in fh:
            yield parse_line(line)


def _as_tuples(value: Any) -> Any:
    if type(value) is list:
        return tuple(_as_tuples(v) for v in value)
    return value


def _shown(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 200 else text[:200] + "..."
