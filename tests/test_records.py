"""The intermediate record format round-trips records and byte ranges."""

from __future__ import annotations

import pytest

from mr_luigi.io import records
from mr_luigi.io.records import read_run, write_records, write_run


def test_round_trip_of_many_batches(tmp_path):
    data = [(f"k{i}", {"n": i, "tags": ["a", "é", "😀"]}) for i in range(records.BATCH_SIZE * 3 + 5)]
    path = tmp_path / "run"
    assert write_run(path, iter(data)) == len(data)
    assert list(read_run(path)) == data


def test_empty_run(tmp_path):
    path = tmp_path / "run"
    assert write_run(path, []) == 0
    assert path.stat().st_size == 0
    assert list(read_run(path)) == []


def test_ranges_hold_back_to_back_streams(tmp_path):
    path = tmp_path / "data"
    parts = [[(i, p) for i in range(n)] for p, n in enumerate([0, 3, records.BATCH_SIZE + 1, 1])]
    index = []
    with open(path, "wb") as fh:
        for part in parts:
            start = fh.tell()
            write_records(fh, part)
            index.append((start, fh.tell()))
    for part, (start, end) in zip(parts, index):
        assert list(read_run(path, start, end)) == part


def test_truncated_file_is_detected(tmp_path):
    path = tmp_path / "run"
    write_run(path, [("a", 1)] * 10)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(EOFError, match="truncated"):
        list(read_run(path))


def test_a_file_cut_inside_a_header_or_a_batch_names_the_byte_where_the_cut_batch_starts(tmp_path):
    path = tmp_path / "run"
    write_run(path, [("a", 1)] * 10)  # one batch, at byte 0
    whole = path.read_bytes()
    path.write_bytes(whole + b"\x01\x02")  # half of the next batch's 4-byte length
    with pytest.raises(EOFError) as caught:
        list(read_run(path))
    assert str(caught.value) == f"{path}: record stream truncated at byte {len(whole)}"
    path.write_bytes(whole[:-3])
    with pytest.raises(EOFError) as caught:
        list(read_run(path))
    assert str(caught.value) == f"{path}: record stream truncated at byte 0"


def test_an_unpicklable_record_is_named_by_its_key(tmp_path):
    from mr_luigi.errors import RecordError

    good = [(f"k{i}", i) for i in range(10)]
    with pytest.raises(RecordError) as error:
        write_run(tmp_path / "run", good + [("the bad key", lambda: None)] + good)
    message = str(error.value)
    assert message.startswith("cannot store the record with key 'the bad key': ")
    assert "lambda" in message and message.endswith(
        "Keys and values must be picklable (str, numbers, tuples, lists, dicts, module-level classes)")


def test_a_long_unpicklable_key_is_cut_in_the_message(tmp_path):
    from mr_luigi.errors import RecordError

    key = "k" * 500
    with pytest.raises(RecordError, match=r"^cannot store the record with key '" + "k" * 199 + r"\.\.\.: "):
        write_run(tmp_path / "run", [(key, lambda: None)])


@pytest.mark.parametrize("letters, shown", [(198, "'" + "k" * 198 + "'"), (199, "'" + "k" * 199 + "...")])
def test_a_key_is_shown_whole_up_to_200_characters(tmp_path, letters, shown):
    """repr of 198 letters is 200 characters: shown whole; one more is cut to 200 and '...'."""
    import pickle

    from mr_luigi.errors import RecordError

    try:
        pickle.dumps(lambda: None)
    except Exception as exc:  # noqa: BLE001 - whatever pickle raises for it, named in the message
        kind = type(exc).__name__
    with pytest.raises(RecordError) as error:
        write_run(tmp_path / "run", [("k" * letters, lambda: None)])
    assert str(error.value).startswith(f"cannot store the record with key {shown}: {kind}: ")


def test_a_batch_that_fails_as_a_whole_names_the_error():
    """No single record fails to pickle (the batch failed otherwise): the message names the batch's error."""
    error = records._unserializable([("a", 1), ("b", 2)], ValueError("the batch failed"))
    assert str(error) == "cannot store records: ValueError: the batch failed"


@pytest.mark.parametrize("sealed", [False, True])
def test_a_batch_that_cannot_be_unpickled_is_named_by_its_file_and_byte(tmp_path, sealed):
    from mr_luigi.errors import RecordError
    from mr_luigi.io.seal import Seal
    from tests.jobs_for_tests import Unreadable

    seal = Seal("test-secret-0123456789abcdef") if sealed else None
    path = tmp_path / "run"
    records = [(f"k{i:05d}", i) for i in range(2048)] + [("z", Unreadable(1))]  # the second batch holds it
    write_run(path, records, seal)
    second = 4 + (16 if sealed else 0) + int.from_bytes(path.read_bytes()[:4], "little")
    read = []
    with pytest.raises(RecordError) as caught:
        read.extend(read_run(path, seal=seal))
    assert read == records[:2048]
    assert str(caught.value) == (f"{path}: the records at byte {second:,} cannot be read back: ValueError: this record "
                                 "cannot be read back (a key or value whose class cannot be unpickled here: its module is "
                                 "not importable, or it refuses its state)")
