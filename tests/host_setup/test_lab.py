from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from host_setup import lab
from rootlesskube.errors import UsageError
from rootlesskube.host import subids
from rootlesskube.recipe import roster
from rootlesskube.recipe.roster import Assignment


def a(user, first, last):
    return Assignment(user, 1001, 100000, 65536, 100000, 65536, first, last)


def test_port_blocks_never_overlap_and_fill_gaps():
    taken = [a("x", 20000, 20009), a("y", 20020, 20029)]
    assert lab.port_block(taken, 10) == range(20010, 20020)
    assert lab.port_block(taken, 11) == range(20030, 20041)
    assert lab.port_block([], 5) == range(20000, 20005)


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_roster_round_trip(tmp_path, suffix):
    path = tmp_path / f"roster{suffix}"
    rows = [a("x", 20000, 20009), Assignment("y", 1002, 165536, 65536, 165536, 65536, 20010, 20019)]
    path.write_text(roster.roster_text(path, rows))
    assert roster.read_roster(path) == rows


def test_a_broken_roster_is_a_usage_error(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('[{"user": "x"}]')
    with pytest.raises(UsageError, match=r":1:2: the key 'uid' is missing$"):
        roster.read_roster(path)


def test_lab_users_from_count_and_prefix():
    assert lab.lab_users(None, 3, "student") == ["student1", "student2", "student3"]
    assert lab.lab_users("b,a,b", None, "x") == ["b", "a"]


# --- for real, as root: three users, /etc/subuid, the roster ---------------------------------

def _root_reason():
    if os.geteuid() != 0:
        return "needs root (creates users, edits /etc/subuid)"
    if not shutil.which("useradd"):
        return "useradd is not installed"
    return ""


@pytest.fixture
def etc_backup():
    saved = {p: Path(p).read_bytes() for p in ("/etc/subuid", "/etc/subgid")}
    created = []
    yield created
    for name in created:
        subprocess.run(["userdel", "-r", name], capture_output=True)
    for path, data in saved.items():
        Path(path).write_bytes(data)


@pytest.mark.root
def test_lab_creates_three_users_with_ranges_ports_and_a_roster(tmp_path, etc_backup):
    reason = _root_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:6]
    users = [f"rkl{tag}{n}" for n in "abc"]
    etc_backup.extend(users + [f"rkl{tag}d"])
    roster = tmp_path / "roster.json"
    cmd = [sys.executable, "-m", "host_setup", "lab", "--users", ",".join(users), "--ports-per-user", "6",
           "--roster", str(roster), "--yes"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    rows = json.loads(roster.read_text())
    assert [r["user"] for r in rows] == users
    assert [r["uid"] for r in rows] == [pwd.getpwnam(u).pw_uid for u in users]
    entries, problems = subids.parse(Path("/etc/subuid").read_text(), "/etc/subuid")
    assert problems == [] and subids.overlaps(entries) == []
    for row in rows:
        (mine,) = subids.entries_for(entries, row["user"], row["uid"])
        assert (mine.start, mine.count) == (row["subuid_start"], row["subuid_count"]) and mine.count == 65536
        assert row["subgid_start"] == row["subuid_start"]
        assert row["port_last"] - row["port_first"] == 5
    ports = sorted((r["port_first"], r["port_last"]) for r in rows)
    assert all(prev[1] < nxt[0] for prev, nxt in zip(ports, ports[1:]))

    # re-running with one more user keeps every assignment
    cmd[5] = ",".join(users + [f"rkl{tag}d"])
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    again = json.loads(roster.read_text())
    assert again[:3] == rows and again[3]["user"] == f"rkl{tag}d"
    assert again[3]["port_first"] == max(r["port_last"] for r in rows) + 1
    assert Path("/etc/subuid").read_text().count(f"rkl{tag}") == 4
