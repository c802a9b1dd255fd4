"""Output lines split back unambiguously at the first tab."""

from __future__ import annotations

import json

import pytest

from mr_luigi.errors import RecordError
from mr_luigi.textformat import render, render_line


@pytest.mark.parametrize(
    "value, text",
    [("word", "word"), (3, "3"), (2.5, "2.5"), (None, "null"), (True, "true"), ([1, "a"], '[1, "a"]'), ({"b": 1, "a": 2}, '{"a": 2, "b": 1}'), ("café 😀", "café 😀")],
)
def test_render(value, text):
    assert render(value) == text


def test_strings_with_tabs_or_newlines_become_json():
    for raw in ("a\tb", "line\nbreak", "cr\r"):
        text = render(raw)
        assert "\t" not in text and "\n" not in text and json.loads(text) == raw


def test_render_line():
    assert render_line("k", {"n": 1}) == 'k\t{"n": 1}\n'


def test_unserialisable_value_is_a_clear_error():
    with pytest.raises(RecordError, match="cannot write .*set"):
        render({1, 2})
