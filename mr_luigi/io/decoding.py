"""How input bytes become lines of text: the ``encoding`` and ``decode_errors`` of a job.

Lines are found in the raw bytes (a line ends at ``\\n``), then decoded. That
is exact for encodings in which ASCII bytes stand for themselves (UTF-8,
Latin-1, cp1252, ...): such files can be cut into byte ranges. Other
encodings (UTF-16, UTF-32) are decoded as a stream, one split per file.

A byte-order mark at the start of a file is dropped. What happens to bytes
that do not decode is the job's ``decode_errors``:

- ``"strict"`` (the default): the line is a bad record with the reason
  ``undecodable`` (quarantined, and counted against ``max_bad_records``), so
  a file in another encoding fails the job instead of being counted wrong;
- ``"replace"``: undecodable bytes become U+FFFD; every line where that
  happened is counted (``mr_luigi/decode_errors``) and the summary warns;
- ``"latin-1"``: a line that does not decode is read as Latin-1 instead
  (every byte is a character: what mrjob does), counted and warned the same.

A file that looks like UTF-16 or UTF-32 (a byte-order mark, or NUL bytes
between characters) when the encoding is a byte-oriented one fails the map
with a message that names the encoding to set.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from mr_luigi.errors import ConfigError

DECODE_ERRORS = ("strict", "replace", "latin-1")
UNDECODABLE = "undecodable"
_UTF8_BOM = codecs.BOM_UTF8
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
              (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))


@dataclass(frozen=True)
class Decoding:
    """A validated ``encoding`` and ``decode_errors``."""

    encoding: str = "utf-8"
    errors: str = "strict"

    @classmethod
    def from_config(cls, encoding: object, errors: object) -> Decoding:
        if not isinstance(encoding, str) or not encoding:
            raise ConfigError("encoding", f"expected a codec name such as 'utf-8' or 'latin-1', got {encoding!r}")
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise ConfigError("encoding", f"{encoding!r} is not a text encoding Python knows") from None
        if errors not in DECODE_ERRORS:
            raise ConfigError("decode_errors", f"{errors!r} is not one of {', '.join(DECODE_ERRORS)}")
        if name == "utf-8-sig":
            name = "utf-8"  # the BOM is dropped anyway
        return cls(name, str(errors))

    @property
    def splittable(self) -> bool:
        """Whether lines can be found in the raw bytes: ASCII bytes mean themselves."""
        return _ascii_compatible(self.encoding)

    @property
    def strict(self) -> bool:
        return self.errors == "strict"


#: The default: UTF-8, undecodable lines are bad records.
UTF8 = Decoding()


def _ascii_compatible(encoding: str) -> bool:
    if encoding.startswith(("utf_7", "utf-7", "iso2022", "hz", "utf-16", "utf-32", "utf_16", "utf_32")):
        return False  # stateful, or more than one byte per ASCII character
    try:
        return bytes(range(128)).decode(encoding) == "".join(map(chr, range(128)))
    except UnicodeDecodeError:
        return False


def wide_encoding_hint(head: bytes) -> str | None:
    """If the first bytes of a file look like UTF-16 or UTF-32, say which; else None."""
    for bom, name in _WIDE_BOMS:
        if head.startswith(bom):
            return f"{name} (it starts with the byte-order mark {bom.hex(' ').upper()})"
    sample = head[:4096]
    if len(sample) >= 16:
        for half in (sample[0::2], sample[1::2]):
            if half.count(0) * 4 >= len(half) * 3:
                return "UTF-16 or UTF-32 (every other byte is NUL)"
    return None
