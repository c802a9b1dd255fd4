"""mrjob's protocols: how a job reads its input lines, passes records between steps and writes its output.

A protocol turns a line (``bytes``, no newline) into a ``(key, value)`` pair
with :meth:`read`, and a pair into a line with :meth:`write`. The names and
behaviour are mrjob's: JSON (the default between steps and for output),
text and bytes (the default for input: each line is the value, decoded as
UTF-8 and, failing that, latin-1), pickle and repr. mrjob's faster JSON
variants (ujson, rapidjson, simplejson) are the standard ``json`` module
here: they read and write the same records.
"""

from __future__ import annotations

import ast
import codecs
import json
import pickle
from typing import Any

Pair = tuple[Any, Any]


def _text(line: bytes) -> str:
    try:
        return line.decode("utf_8")
    except UnicodeDecodeError:
        return line.decode("latin_1")


class _KeyValueProtocol:
    """``encode(key)<TAB>encode(value)``; the key is decoded once for a run of lines with the same key."""

    def __init__(self) -> None:
        self._last: tuple[bytes, Any] | None = None

    def load(self, raw: bytes) -> Any:
        raise NotImplementedError

    def dump(self, obj: Any) -> bytes:
        raise NotImplementedError

    def read(self, line: bytes) -> Pair:
        raw_key, tab, raw_value = line.partition(b"\t")
        if not tab:
            raise ValueError(f"{type(self).__name__} cannot read {line[:100]!r}: no tab between key and value")
        if self._last is None or self._last[0] != raw_key:
            self._last = (raw_key, self.load(raw_key))
        return self._last[1], self.load(raw_value)

    def write(self, key: Any, value: Any) -> bytes:
        return self.dump(key) + b"\t" + self.dump(value)


class StandardJSONProtocol(_KeyValueProtocol):
    def load(self, raw: bytes) -> Any:
        return json.loads(raw)

    def dump(self, obj: Any) -> bytes:
        return json.dumps(obj).encode("utf_8")


class StandardJSONValueProtocol:
    def read(self, line: bytes) -> Pair:
        return None, json.loads(line)

    def write(self, key: Any, value: Any) -> bytes:
        return json.dumps(value).encode("utf_8")


JSONProtocol = SimpleJSONProtocol = UltraJSONProtocol = RapidJSONProtocol = StandardJSONProtocol
JSONValueProtocol = SimpleJSONValueProtocol = UltraJSONValueProtocol = RapidJSONValueProtocol = StandardJSONValueProtocol


class PickleProtocol(_KeyValueProtocol):
    """Pickles, escaped so that they hold no tab or newline byte."""

    def load(self, raw: bytes) -> Any:
        return pickle.loads(codecs.escape_decode(raw)[0])

    def dump(self, obj: Any) -> bytes:
        return codecs.escape_encode(pickle.dumps(obj))[0]


class PickleValueProtocol:
    def read(self, line: bytes) -> Pair:
        return None, pickle.loads(codecs.escape_decode(line)[0])

    def write(self, key: Any, value: Any) -> bytes:
        return codecs.escape_encode(pickle.dumps(value))[0]


class ReprProtocol(_KeyValueProtocol):
    """``repr()`` written, read back as a Python literal."""

    def load(self, raw: bytes) -> Any:
        return ast.literal_eval(raw.decode("utf_8"))

    def dump(self, obj: Any) -> bytes:
        return repr(obj).encode("utf_8")


class ReprValueProtocol:
    def read(self, line: bytes) -> Pair:
        return None, ast.literal_eval(line.decode("utf_8"))

    def write(self, key: Any, value: Any) -> bytes:
        return repr(value).encode("utf_8")


class TextProtocol:
    """Text key and value around the first tab (no tab: the value is None); None is left out when writing."""

    def read(self, line: bytes) -> Pair:
        key, tab, value = _text(line).partition("\t")
        return key, (value if tab else None)

    def write(self, key: Any, value: Any) -> bytes:
        return b"\t".join(x.encode("utf_8") for x in (key, value) if x is not None)


class TextValueProtocol:
    """The whole line is the value, as text (UTF-8, or latin-1 when it is not UTF-8); the key is None."""

    def read(self, line: bytes) -> Pair:
        return None, _text(line)

    def write(self, key: Any, value: Any) -> bytes:
        return value.encode("utf_8")


class BytesProtocol:
    def read(self, line: bytes) -> Pair:
        key, tab, value = line.partition(b"\t")
        return key, (value if tab else None)

    def write(self, key: Any, value: Any) -> bytes:
        return b"\t".join(x for x in (key, value) if x is not None)


class BytesValueProtocol:
    def read(self, line: bytes) -> Pair:
        return None, line

    def write(self, key: Any, value: Any) -> bytes:
        return value


RawProtocol = TextProtocol
RawValueProtocol = TextValueProtocol
