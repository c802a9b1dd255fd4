"""``mrjob.py2``: what Python 3 job files still import from it."""

from __future__ import annotations

from urllib.parse import urljoin, urlparse  # noqa: F401 - re-exported for job files

PY2 = False
string_types = (str,)
integer_types = (int,)


def to_unicode(s: str | bytes) -> str:
    """Text from bytes: UTF-8, or latin-1 when it is not UTF-8."""
    if isinstance(s, bytes):
        try:
            return s.decode("utf_8")
        except UnicodeDecodeError:
            return s.decode("latin_1")
    return s
