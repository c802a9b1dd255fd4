"""Sorting, merging, grouping and combining records."""

from __future__ import annotations

import random

import pytest

from mr_luigi.errors import RecordError
from mr_luigi.io.merge import checked_merge, combine_sorted, group_by_key, group_lists_by_key, sort_records


def test_merge_of_sorted_streams_equals_a_global_sort():
    rng = random.Random(7)
    records = [(rng.randint(0, 50), i) for i in range(1000)]
    streams = [sorted(records[i::4], key=lambda r: r[0]) for i in range(4)]
    merged = list(checked_merge(streams, lambda: []))
    assert [k for k, _ in merged] == sorted(k for k, _ in records)
    assert sorted(merged) == sorted(records)


def test_group_by_key_hands_values_in_order():
    records = [("a", 1), ("a", 2), ("b", 3), ("c", 4), ("c", 5)]
    assert [(k, list(vs)) for k, vs in group_by_key(records)] == [("a", [1, 2]), ("b", [3]), ("c", [4, 5])]


def test_group_lists_by_key_chains_the_value_lists_in_order():
    records = [("a", [1, 2]), ("a", [3]), ("b", [4]), ("c", [5, 6]), ("c", []), ("c", [7])]
    groups = list(group_lists_by_key(records))
    assert all(not isinstance(vs, list) for _, vs in groups), "values arrive as an iterator"
    assert [(k, list(vs)) for k, vs in group_lists_by_key(records)] == [("a", [1, 2, 3]), ("b", [4]), ("c", [5, 6, 7])]


def test_combiner_runs_per_key_and_skips_lone_values():
    calls = []

    def combiner(key, values):
        values = list(values)
        calls.append(key)
        return sum(values)

    out = list(combine_sorted([("a", 1), ("a", 2), ("b", 5), ("c", 1), ("c", 1), ("c", 1)], combiner))
    assert out == [("a", 3), ("b", 5), ("c", 3)]
    assert calls == ["a", "c"]


def test_values_need_not_be_comparable():
    records = [("b", {"x": 1}), ("a", {"y": 2}), ("a", {"z": 3})]
    sort_records(records)
    assert [k for k, _ in records] == ["a", "a", "b"]


def test_mixed_key_types_name_both_keys():
    records = [("apple", 1), (3, 1), ("pear", 1)]
    with pytest.raises(RecordError) as info:
        sort_records(records)
    message = str(info.value)
    assert "'apple' (str)" in message and "3 (int)" in message


def test_mixed_key_types_in_a_merge_name_both_keys():
    streams = [[("a", 1)], [(2, 1)]]
    with pytest.raises(RecordError, match=r"'a' \(str\) and 2 \(int\)"):
        list(checked_merge(streams, lambda: ["a", 2]))


def test_keys_that_cannot_be_ordered_below_comparable_heads_are_named_in_general_not_as_values():
    """Tuple keys whose first items order them at the heads of the runs, and whose second items cannot be compared
    further on: no pair of heads shows it, and without sort_values it is about the keys, not the values."""
    streams = [[(("b", 1), 0)], [(("a", 0), 0), (("b", "x"), 0)]]
    with pytest.raises(RecordError) as caught:
        list(checked_merge(streams, lambda: [("b", 1), ("a", 0)]))
    assert str(caught.value) == "keys cannot be ordered against each other; every key of a job must be mutually comparable"


def test_unorderable_keys_are_named_in_pairs_or_in_general():
    from mr_luigi.io.merge import unorderable_keys_error

    assert str(unorderable_keys_error(["a", "b", 3])) == (
        "keys 'a' (str) and 3 (int) cannot be ordered against each other: "
        "all keys of a job must be mutually comparable (e.g. all str, or all numbers)")
    assert str(unorderable_keys_error([1, 2.5, True])) == (
        "keys cannot be ordered against each other; every key of a job must be mutually comparable")
    assert str(unorderable_keys_error([(1, "a"), (2, 3), (1, "b")])) == (
        "keys cannot be ordered against each other; every key of a job must be mutually comparable")


def test_sorting_by_value_names_the_key_whose_values_cannot_be_compared():
    records = [("a", 1), ("b", 2), ("b", "two"), ("c", 3)]
    with pytest.raises(RecordError) as caught:
        sort_records(records, by_value=True)
    assert str(caught.value) == ("with sort_values = true the values of a key must be comparable with each other "
                                 "(key 'b'): '<' not supported between instances of 'str' and 'int'")


def test_sorting_by_value_still_names_two_keys_that_cannot_be_compared():
    with pytest.raises(RecordError, match=r"^keys 'a' \(str\) and 1 \(int\) cannot be ordered against each other"):
        sort_records([("a", 1), (1, 2)], by_value=True)


def test_merging_by_value_records_whose_values_cannot_be_compared_says_so():
    streams = [[("k", 1), ("k", 5)], [("k", "x")]]
    with pytest.raises(RecordError) as caught:
        list(checked_merge(streams, lambda: ["k", "k"], by_value=True))
    assert str(caught.value).startswith("with sort_values = true the values of a key must be comparable with each other: ")
    assert "not supported between instances of" in str(caught.value)


def test_merging_by_value_orders_each_keys_values():
    streams = [[("a", 3), ("b", 1)], [("a", 1), ("a", 2), ("b", 0)]]
    assert list(checked_merge(streams, lambda: [], by_value=True)) == [("a", 1), ("a", 2), ("a", 3), ("b", 0), ("b", 1)]
