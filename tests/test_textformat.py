"""The text output format is lossless: every line reads back to the exact key and value written."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mr_luigi import format_output_line, parse_output_line, read_output
from mr_luigi.errors import RecordError
from mr_luigi.io.textformat import render, render_json_line, render_line, render_text_line


@pytest.mark.parametrize(
    "value, text",
    [("word", "word"), (3, "3"), (2.5, "2.5"), (None, "null"), (True, "true"), ([1, "a"], '[1, "a"]'),
     ({"b": 1, "a": 2}, '{"a": 2, "b": 1}'), ("café 😀", "café 😀"), ((1, "x"), '[1, "x"]')],
)
def test_render(value, text):
    assert render(value) == text


@pytest.mark.parametrize("text", ["1", "-2.5e3", "null", "true", "false", "NaN", "Infinity", "-Infinity", '"quoted"', "[1]",
                                  "{}", " 7", "7 ", "  null  ", "a\tb", "line\nbreak", "cr\r"])
def test_strings_that_would_read_back_as_something_else_are_quoted(text):
    shown = render(text)
    assert shown == json.dumps(text, ensure_ascii=False)
    assert "\t" not in shown and "\n" not in shown and "\r" not in shown


@pytest.mark.parametrize("text", ["", "word", "2024-01-01", "1.2.3.4", "007", "-", "nan", "None", "True", "x1", "é", "  ", "truth"])
def test_plain_strings_are_written_as_they_are(text):
    assert render(text) == text


@pytest.mark.parametrize("pair", [("a\tb", 1), ('"a\\tb"', 1), (None, 1), ("null", 1), (1, 1), ("1", 1), (True, 1), ("true", 1)])
def test_keys_that_used_to_collide_now_read_back_apart(pair):
    assert parse_output_line(format_output_line(*pair)) == pair


def test_values_json_cannot_hold_are_refused_naming_the_key():
    for value in (math.nan, math.inf, -math.inf, [1.0, math.nan], {"x": math.inf}):
        with pytest.raises(RecordError, match="cannot write the result for key 'k'.*NaN or infinity"):
            render_line("k", value)
        with pytest.raises(RecordError, match="cannot write the value for key 'k' as JSON"):
            render_json_line(value, "k")
    with pytest.raises(RecordError, match="a dict key 1 \\(int\\) cannot be written"):
        render_line("k", {1: "a", "1": "b"})
    with pytest.raises(RecordError, match="cannot write .*set"):
        render({1, 2})


def test_jsonl_values_are_strict_json():
    line = render_json_line({"n": 1, "xs": [1.5, None, "é"]}, "k")
    assert line.endswith("\n") and json.loads(line) == {"n": 1, "xs": [1.5, None, "é"]}


# -- the property: write then read gives the same objects; distinct keys give distinct lines


scalars = st.one_of(st.text(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.none(), st.booleans())
keys = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4).map(tuple), max_leaves=8)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
                                                        st.dictionaries(st.text(), inner, max_size=3)), max_leaves=10)


def as_read(value):
    """What JSON can say of a value: tuples are arrays, read back as lists."""
    if isinstance(value, (list, tuple)):
        return [as_read(v) for v in value]
    if isinstance(value, dict):
        return {k: as_read(v) for k, v in value.items()}
    return value


def same(a, b) -> bool:
    """Equal, and of the same types all the way down (True is not 1, 1.0 is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@settings(max_examples=400, deadline=None)
@given(key=keys, value=values)
def test_a_line_reads_back_to_the_key_and_value_written(key, value):
    line = format_output_line(key, value)
    assert line.count("\n") == 1 and line.endswith("\n")
    read_key, read_value = parse_output_line(line)
    assert same(read_key, key), (key, line)
    assert same(read_value, as_read(value)), (value, line)


@settings(max_examples=400, deadline=None)
@given(a=keys, b=keys)
def test_distinct_keys_give_distinct_lines(a, b):
    if not same(a, b):
        assert format_output_line(a, 1) != format_output_line(b, 1), (a, b)


def test_read_output_reads_a_file(tmp_path):
    pairs = [("a\tb", 1), ("1", [1, 2]), (1, None), ((2, "x"), {"k": "v"})]
    path = tmp_path / "out.txt"
    path.write_text("".join(format_output_line(k, v) for k, v in pairs), encoding="utf-8")
    assert list(read_output(path)) == [("a\tb", 1), ("1", [1, 2]), (1, None), ((2, "x"), {"k": "v"})]


def test_a_lines_value_is_written_as_it_is():
    assert render_text_line('{"a": 1}\t"x"  東京', key="k") == '{"a": 1}\t"x"  東京\n'


@pytest.mark.parametrize("value, words", [("two\nlines", "holds a line break"), ("cr\r", "holds a line break"),
                                          (3, "is an int"), (None, "is a NoneType"), ({}, "is a dict")])
def test_a_lines_value_that_is_not_one_line_of_text_is_refused_naming_the_key(value, words):
    with pytest.raises(RecordError, match=f"key 'k' {words}"):
        render_text_line(value, key="k")


def _json_or_text(text):
    """The reading rule, spelled the slow way: what json.loads gives, or the text when it refuses it."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return type(a) is type(b) and a == b


NUMBERLIKE = st.text(alphabet=" \t\n\r\u00a0-+.eE0123456789\u0661xI", max_size=12)


@settings(max_examples=600)
@given(st.one_of(NUMBERLIKE, st.text(max_size=12), st.sampled_from(
    ["-Infinity", " -Infinity\n", "Infinity", "NaN", "1e400", "-0", "-0.0", "1.", "01", "1.2.3.4", "2026-11-30", "9" * 5000])))
def test_a_field_reads_back_as_json_loads_reads_it_or_as_the_text(text):
    from mr_luigi.io.textformat import parse_field

    assert _same(parse_field(text), _json_or_text(text))
