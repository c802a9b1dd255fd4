"""Shared fixtures: a clean Luigi between tests, and an independent word count."""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path
from typing import Iterable

import luigi.task_register
import pytest
import regex
from hypothesis import HealthCheck, settings

#: What CI=... means: a CI service sets "true" (or "1"); "false", "0" or nothing is a person at a terminal.
UNDER_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def under_ci() -> bool:
    """Whether missing tools are failures (CI) or reasons to skip (a developer's machine)."""
    return UNDER_CI


# Hypothesis under CI=true would load its own "ci" profile, which derandomizes:
# every CI run would replay the same examples and never find anything new. We
# choose the opposite: a fresh random seed each run, printed in the report
# header (rerun with --hypothesis-seed=N to reproduce), no example database
# (a fresh clone has none), and the failing example's blob printed.
settings.register_profile("mr_luigi", derandomize=False, database=None, print_blob=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mr_luigi")


#: Least free space for the tests' temporary files on /dev/shm (a container's default is 64 MB).
RAM_TMP_FREE = 2 * 1024**3


def use_ram_for_temporary_files(environ=os.environ, shm: Path = Path("/dev/shm")) -> bool:
    """Put the tests' temporary files (``tmp_path``, and those of the processes tests start) on
    ``/dev/shm`` when it is a RAM file system with room and the environment names no ``TMPDIR``.

    The suite writes and deletes tens of thousands of small files (runs, part files, task
    folders). On ext4 each new file is checked against the inodes deleted recently, and
    that took more kernel time than the tests' own work: ``test_spill.py`` and
    ``test_combiner.py`` ran in 12.6 s with ``/tmp`` on ext4 and 4.8 s on tmpfs. A folder
    the environment names is kept, and so is everything when ``/dev/shm`` is small,
    read-only or mounted ``noexec``.
    """
    import shutil
    import tempfile

    if environ.get("TMPDIR") or not shm.is_dir() or not os.access(shm, os.W_OK | os.X_OK):
        return False
    flags = os.statvfs(shm).f_flag
    if flags & (os.ST_RDONLY | os.ST_NOEXEC) or shutil.disk_usage(shm).free < RAM_TMP_FREE:
        return False
    environ["TMPDIR"] = str(shm)
    tempfile.tempdir = str(shm)
    return True


def pytest_configure(config) -> None:
    from hypothesis import core

    use_ram_for_temporary_files()

    if os.environ.get("MUTANT_UNDER_TEST") == "stats":  # mutmut is recording which test calls which function
        from tests.mutation_support import ForkedCalls

        os.environ.pop("MUTANT_UNDER_TEST")  # see tests/mutation_support.py
        config.pluginmanager.register(ForkedCalls(), "mr_luigi_forked_calls")

    seed = config.getoption("hypothesis_seed", None)
    if seed is None:
        # a pytest-xdist worker takes the seed its controller chose (see pytest_configure_node),
        # so the one seed the report header shows reproduces every worker's examples
        seed = getattr(config, "workerinput", {}).get("mr_luigi_hypothesis_seed")
        if seed is None:
            seed = random.SystemRandom().randrange(2**32)
        core.global_force_seed = seed
    config._mr_luigi_hypothesis_seed = seed
    if not hasattr(config, "workerinput"):  # the session that runs the tests, or pytest-xdist's controller
        config._mr_luigi_lock_files = _luigi_lock_files()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist starts a worker: hand it this session's Hypothesis seed."""
    node.workerinput["mr_luigi_hypothesis_seed"] = node.config._mr_luigi_hypothesis_seed


def pytest_unconfigure(config) -> None:
    before = getattr(config, "_mr_luigi_lock_files", None)
    if before is not None:
        _remove_new_lock_files(*before)


def pytest_collection_modifyitems(config, items) -> None:
    if os.environ.get("MUTANT_UNDER_TEST"):  # mutmut is testing a mutant: see tests/mutation_support.py
        from tests.mutation_support import fastest_first

        fastest_first(items)


def _luigi_lock_files() -> tuple[Path, bool, set[Path]]:
    """Luigi's lock folder (/tmp/luigi), whether it exists, and the pid files in it now."""
    import tempfile

    folder = Path(tempfile.gettempdir()) / "luigi"
    existed = folder.exists()
    return folder, existed, set(folder.glob("*.pid")) if existed else set()


def _remove_new_lock_files(folder: Path, existed: bool, before: set[Path]) -> None:
    """The ``luigi`` commands the tests start write a pid file each to Luigi's lock folder: the ones this
    session made are removed after it, and the folder too if the session made it. Done once, by the
    process that started the session (never by a pytest-xdist worker, whose end is not the session's)."""
    for pid_file in set(folder.glob("*.pid")) - before:
        pid_file.unlink(missing_ok=True)
    if not existed and folder.exists() and not any(folder.iterdir()):
        folder.rmdir()


def pytest_report_header(config) -> str:
    seed = getattr(config, "_mr_luigi_hypothesis_seed", None)
    return f"hypothesis seed: {seed} (reproduce with --hypothesis-seed={seed}); CI: {UNDER_CI}"

#: One character's category, as the regex module's Unicode tables give it (newer than Python's own unicodedata,
#: which would call a character added since unassigned); the word logic below is the tests' own.
_LETTER_MARK_DIGIT = regex.compile(r"[\p{L}\p{M}\p{N}]")


def _word_character(c: str) -> bool:
    return _LETTER_MARK_DIGIT.fullmatch(c) is not None


def reference_words(line: str) -> list[str]:
    """The README's word definition, character by character (written here, not imported from the pipeline).

    Lower-case the line with str.lower(); a word is a maximal run of letters,
    marks and digits (Unicode categories L*, M*, N*); one apostrophe (' or ’)
    between two of them stays in the word, written '.
    """
    text = line.lower()
    found: list[str] = []
    current: list[str] = []
    for i, c in enumerate(text):
        if _word_character(c):
            current.append(c)
        elif c in "'\u2019" and current and i + 1 < len(text) and _word_character(text[i + 1]):
            current.append("'")
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


def reference_lines(data: bytes) -> list[str]:
    """Split raw file bytes into lines as a careful reader would: BOM, CRLF, bad bytes."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    # every piece but the last ended with LF, so a CR before it was half of a CRLF;
    # the last piece ended with the file, and a CR there is text, not an ending
    ended = [line[:-1] if line.endswith("\r") else line for line in lines[:-1]]
    return ended + ([lines[-1]] if lines[-1] else [])


def reference_word_count(paths: Iterable[Path]) -> Counter:
    counts: Counter = Counter()
    for path in paths:
        for line in reference_lines(Path(path).read_bytes()):
            counts.update(reference_words(line))
    return counts


def read_field(text: str, is_key: bool = False):
    """One side of an output line, read as the README's "Outputs" section says: JSON if valid, else the text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return _tuples(value) if is_key else value


def _tuples(value):
    return tuple(map(_tuples, value)) if isinstance(value, list) else value


def read_tsv(path: Path) -> list[tuple]:
    """The (key, value) pairs of an output file, in file order, read back to their types."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").split("\n")[:-1]:
        key, tab, value = line.partition("\t")
        assert tab, f"not a key<TAB>value line: {line!r}"
        rows.append((read_field(key, is_key=True), read_field(value)))
    return rows


def shown_key(word: str) -> str:
    """A word as an output line shows it: JSON-quoted if it would otherwise read back as another JSON value."""
    try:
        json.loads(word)
    except ValueError:
        return word
    return json.dumps(word, ensure_ascii=False)


def expected_tsv(counts: Counter) -> bytes:
    """The bytes of a word count's final_output.txt: every word once, in order, as the README says."""
    return "".join(f"{shown_key(k)}\t{counts[k]}\n" for k in sorted(counts)).encode()


def counts_from_output(path: Path) -> Counter:
    rows = read_tsv(path)
    counts = Counter(dict(rows))
    assert len(counts) == len(rows), "a key is on more than one line"
    return counts


@pytest.fixture(autouse=True)
def fresh_luigi_registry():
    """Luigi caches task instances by parameters; tests must not share them."""
    luigi.task_register.Register.clear_instance_cache()
    yield
    luigi.task_register.Register.clear_instance_cache()


@pytest.fixture
def messy_inputs(tmp_path: Path) -> list[Path]:
    """Text files with what real files have: CRLF, a BOM, curly quotes, blank lines (undecodable bytes: see decoding tests)."""
    folder = tmp_path / "in"
    folder.mkdir()
    files = {
        "crlf.txt": b"Call me Ishmael.\r\nSome years ago - never mind how long\r\nthe whale's 'em ' tail\r\n",
        "bom.txt": b"\xef\xbb\xbfThe Book of Cats\nthe cat\xe2\x80\x99s whiskers \xe2\x80\x9cquoted\xe2\x80\x9d caf\xc3\xa9 \xc2\xa3 \xc5\x93uvre\n",
        "no_newline.txt": b"last line has no newline THE the The",
        "empty.txt": b"",
        "blank_lines.txt": b"\n\n\r\n  \n words   between\tblanks \n",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return sorted(folder.iterdir())


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """An S3-compatible server on 127.0.0.1 for the whole session (started by the first test that needs it),
    with this process's AWS_* variables pointing at it; stopped at the end."""
    from tests.services import S3_ENV, S3Server

    server = S3Server(tmp_path_factory.mktemp("s3server"))
    saved = {name: os.environ.get(name) for name in S3_ENV}
    os.environ.update(S3_ENV)
    yield server
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    server.stop()


@pytest.fixture
def bucket(s3_server, request):
    """A new, empty bucket on the test S3 server, named after the test; its s3fs filesystem is ``bucket.fs``."""
    import re as _re
    from types import SimpleNamespace

    from mr_luigi.io.remote import Store

    store = Store(endpoint_url=s3_server.url)
    fs = store.filesystem()
    name = "t-" + _re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:50].strip("-") + f"-{random.randrange(10**6)}"
    fs.mkdir(name)
    fs.invalidate_cache()
    return SimpleNamespace(name=name, url=f"s3://{name}", fs=fs, store=store, endpoint=s3_server.url)
