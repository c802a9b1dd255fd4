"""The suite's own set-up: where the tests' temporary files go."""

from __future__ import annotations

import tempfile

from tests.conftest import use_ram_for_temporary_files


def test_a_tmpdir_the_environment_names_is_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)
    environ = {"TMPDIR": "/somewhere/else"}
    assert use_ram_for_temporary_files(environ, shm=tmp_path) is False
    assert environ == {"TMPDIR": "/somewhere/else"}


def test_no_ram_folder_leaves_the_default(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", "/unchanged")
    environ: dict[str, str] = {}
    assert use_ram_for_temporary_files(environ, shm=tmp_path / "missing") is False
    assert environ == {} and tempfile.tempdir == "/unchanged"


def test_a_writable_folder_with_room_is_used_by_this_process_and_the_ones_it_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)
    environ: dict[str, str] = {}
    assert use_ram_for_temporary_files(environ, shm=tmp_path) is True
    assert environ == {"TMPDIR": str(tmp_path)}
    assert tempfile.gettempdir() == str(tmp_path)
