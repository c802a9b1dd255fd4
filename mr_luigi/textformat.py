"""How final results are written as text: one ``key<TAB>value`` line per key.

Strings are written as they are and numbers in their usual form. Anything
else (lists, dicts, None, booleans), and a string holding a tab or a line
break, is written as JSON, so every output line splits back unambiguously at
its first tab.
"""

from __future__ import annotations

import json
from typing import Any

from mr_luigi.errors import RecordError


def render(obj: Any) -> str:
    """The text form of one key or value."""
    kind = type(obj)
    if kind is str:
        if "\t" in obj or "\n" in obj or "\r" in obj:
            return json.dumps(obj, ensure_ascii=False)
        return obj
    if kind is int or kind is float:
        return repr(obj)
    try:
        return json.dumps(obj, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"cannot write {obj!r} ({kind.__name__}) as text: {exc}; return str, numbers, lists or dicts") from None


def render_line(key: Any, value: Any) -> str:
    """One output line, newline included."""
    return f"{render(key)}\t{render(value)}\n"


def render_json_line(value: Any) -> str:
    """A value as one JSON line (``output_format = "jsonl"``), newline included."""
    try:
        return json.dumps(value, ensure_ascii=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise RecordError(f"cannot write {value!r} ({type(value).__name__}) as JSON: {exc}") from None
