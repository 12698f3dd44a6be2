from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from host_setup import atomic

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOW = datetime.datetime(2025, 1, 2, 3, 4, 5)


def test_replace_writes_new_content_keeps_mode_and_a_backup(tmp_path):
    target = tmp_path / "subuid"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    written = atomic.replace_file(target, "old\n", "new\n", now=NOW)
    assert target.read_text() == "new\n"
    assert oct(target.stat().st_mode & 0o7777) == "0o640"
    assert written.changed and written.backup == str(tmp_path / "subuid.rootlesskube-20250102T030405.bak")
    assert (tmp_path / "subuid.rootlesskube-20250102T030405.bak").read_text() == "old\n"


def test_second_backup_in_the_same_second_gets_a_new_name(tmp_path):
    target = tmp_path / "f"
    target.write_text("1")
    atomic.replace_file(target, "1", "2", now=NOW)
    written = atomic.replace_file(target, "2", "3", now=NOW)
    assert written.backup == str(tmp_path / "f.rootlesskube-20250102T030405-1.bak")
    assert (tmp_path / "f.rootlesskube-20250102T030405-1.bak").read_text() == "2"


def test_same_content_changes_nothing(tmp_path):
    target = tmp_path / "f"
    target.write_text("same\n")
    written = atomic.replace_file(target, "whatever", "same\n")
    assert written == atomic.Written(str(target), False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".f.rootlesskube-lock", "f"]


def test_new_file_is_created_with_the_given_mode_and_no_backup(tmp_path):
    target = tmp_path / "d" / "new.conf"
    written = atomic.replace_file(target, None, "x\n", mode=0o600)
    assert written.changed and written.backup is None
    assert oct(target.stat().st_mode & 0o7777) == "0o600" and target.read_text() == "x\n"


def test_a_file_changed_since_the_plan_is_left_untouched(tmp_path):
    target = tmp_path / "f"
    target.write_text("someone else wrote this\n")
    with pytest.raises(atomic.ChangedSincePlan, match="changed after the plan"):
        atomic.replace_file(target, "what the plan saw\n", "new\n")
    assert target.read_text() == "someone else wrote this\n"


def test_invalid_utf8_bytes_survive(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"caf\xe9\n")
    old = atomic.read_text(target)
    atomic.replace_file(target, old, old + "x\n")
    assert target.read_bytes() == b"caf\xe9\nx\n"


CHILD = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from host_setup import atomic

    def hook(point, path):
        if point == {point!r} and path == target:
            print("paused", flush=True)
            time.sleep(60)

    atomic._hook = hook
    target = Path({target!r})
    atomic.replace_file(target, target.read_text(), {new!r})
    """
)


@pytest.mark.parametrize("point, survivor", [("partial-write", "old"), ("before-rename", "old"), ("after-rename", "new")])
def test_sigkill_during_a_write_leaves_the_old_or_the_new_file(tmp_path, point, survivor):
    target = tmp_path / "subuid"
    old = "".join(f"user{i}:{100000 + i * 65536}:65536\n" for i in range(400))  # > one chunk
    new = old + "alice:99999999:65536\n"
    target.write_text(old)
    script = CHILD.format(repo=REPO, point=point, target=str(target), new=new)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "paused\n"
        if point == "partial-write":
            temps = list(tmp_path.glob(".subuid.rk-tmp-*"))
            assert len(temps) == 1 and 0 < temps[0].stat().st_size < len(new)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    assert target.read_text() == (old if survivor == "old" else new)
    # the next edit cleans up the killed run's temporary file and works
    current = target.read_text()
    atomic.replace_file(target, current, current + "bob:1:1\n")
    assert target.read_text() == current + "bob:1:1\n"
    assert list(tmp_path.glob(".subuid.rk-tmp-*")) == []
