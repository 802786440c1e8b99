"""The atomic writer: modes, permissions under the umask, and the clean-up of temporary files left by dead writers."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys

import pytest

from k1widgets.persist.atomic import atomicWrite, cleanTemps, isTemp, linkDurably


def test_binary_text_and_auto_modes(tmp_path):
    assert atomicWrite(tmp_path / "b", lambda f: f.write(b"\x93NUMPY")) == "binary"
    assert (tmp_path / "b").read_bytes() == b"\x93NUMPY"
    assert atomicWrite(tmp_path / "t", lambda f: f.write("héllo\n"), mode="text") == "text"
    assert (tmp_path / "t").read_text(encoding="utf-8") == "héllo\n"
    assert atomicWrite(tmp_path / "a1", lambda f: (f.write("1"), f.write("\n")), mode="auto") == "text"
    assert atomicWrite(tmp_path / "a2", lambda f: f.write(memoryview(b"xy")), mode="auto") == "binary"
    assert (tmp_path / "a2").read_bytes() == b"xy"
    with pytest.raises(TypeError, match="first written as binary, then got text"):
        atomicWrite(tmp_path / "a3", lambda f: (f.write(b"x"), f.write("y")), mode="auto")
    with pytest.raises(TypeError, match="takes str or bytes, got int"):
        atomicWrite(tmp_path / "a3", lambda f: f.write(3), mode="auto")
    with pytest.raises(ValueError, match="an empty file is never created"):
        atomicWrite(tmp_path / "e", lambda f: None, allowEmpty=False)
    assert sorted(os.listdir(tmp_path)) == ["a1", "a2", "b", "t"], "failed writes leave nothing"


def test_an_error_keeps_the_old_file_and_removes_the_temp(tmp_path):
    atomicWrite(tmp_path / "f", lambda f: f.write(b"old"))

    def half(f):
        f.write(b"new but")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        atomicWrite(tmp_path / "f", half)
    assert (tmp_path / "f").read_bytes() == b"old" and os.listdir(tmp_path) == ["f"]


def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    old = os.umask(0o027)
    try:
        atomicWrite(tmp_path / "f", lambda f: f.write(b"x"))
        assert stat.S_IMODE(os.stat(tmp_path / "f").st_mode) == 0o640
        os.chmod(tmp_path / "f", 0o604)
        atomicWrite(tmp_path / "f", lambda f: f.write(b"y"))
        assert stat.S_IMODE(os.stat(tmp_path / "f").st_mode) == 0o604
    finally:
        os.umask(old)


def test_before_replace_runs_once_the_content_is_complete(tmp_path):
    seen = []
    atomicWrite(tmp_path / "f", lambda f: f.write(b"x"), beforeReplace=lambda: seen.append(os.listdir(tmp_path)))
    assert len(seen) == 1 and len(seen[0]) == 1 and isTemp(seen[0][0])


def deadPid():
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_stale_temps_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    target = tmp_path / "x.pth"
    dead = tmp_path / f"x.pth.{deadPid()}.0123abcd.tmp"
    dead.write_bytes(b"partial")
    alive = tmp_path / f"x.pth.{os.getppid()}.0123abcd.tmp"  # a live process (our parent) could be writing it
    alive.write_bytes(b"partial")
    locked = tmp_path / f"x.pth.{deadPid()}.89abcdef.tmp"  # a pid gone, but someone holds its lock
    locked.write_bytes(b"partial")
    other = tmp_path / f"y.pth.{deadPid()}.0123abcd.tmp"  # another target's temp: not this write's business
    other.write_bytes(b"partial")
    fd = os.open(locked, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        atomicWrite(target, lambda f: f.write(b"ok"))
    finally:
        os.close(fd)
    assert sorted(os.listdir(tmp_path)) == sorted(["x.pth", alive.name, locked.name, other.name])
    assert cleanTemps(target) == [str(locked)], "once its lock is free, a dead writer's temp goes"


def test_link_durably_gives_a_second_name_atomically(tmp_path):
    atomicWrite(tmp_path / "a", lambda f: f.write(b"a"))
    atomicWrite(tmp_path / "b", lambda f: f.write(b"b"))
    linkDurably(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "b").read_bytes() == b"a" and (tmp_path / "a").read_bytes() == b"a"
    assert os.stat(tmp_path / "a").st_ino == os.stat(tmp_path / "b").st_ino
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]
