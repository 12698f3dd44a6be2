"""Coming back at boot: `export systemd-unit --cluster N` and `rootlesskube-host-setup lab --start-at-boot N`.

Rootless Podman restarts no container by itself after a reboot (kind issue #3463: only containers with
`--restart=always` come back, through podman-restart.service, and kind creates its nodes without a restart policy:
pkg/cluster/internal/providers/podman/provision.go @cda67ef). The user unit runs `rootlesskube start` when the
user's manager starts, which lingering makes happen at boot.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from host_setup import lab
from rootlesskube.errors import UsageError
from rootlesskube.export import systemd_unit
from rootlesskube.recipe.roster import Assignment
from tests.conftest import REPO

UNIT = """[Unit]
Description=rootlesskube cluster rk-dev: start it when the user's manager starts (rootless Podman)
ConditionPathExists=%h/.local/state/rootlesskube/clusters/rk-dev/record.json

[Service]
Type=oneshot
RemainAfterExit=yes
Environment=PATH=%h/.local/bin:/usr/local/bin:/usr/bin:/bin
Environment=NO_COLOR=1
ExecStart=%h/.local/bin/rootlesskube start --name rk-dev
ExecStop=-%h/.local/bin/rootlesskube stop --name rk-dev
TimeoutStartSec=900
TimeoutStopSec=300

[Install]
WantedBy=default.target
"""


def exec_value(text: str, key: str = "ExecStart") -> str:
    return next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}="))


def test_the_cluster_unit_starts_and_stops_the_cluster():
    assert systemd_unit.cluster_unit_name("rk-dev") == "rootlesskube-cluster-rk-dev.service"
    text = systemd_unit.cluster_unit("rk-dev")
    assert text == UNIT
    home = {"h": "/home/alice"}
    assert systemd_unit.split_exec(exec_value(text), home) == [
        "/home/alice/.local/bin/rootlesskube", "start", "--name", "rk-dev"]
    assert systemd_unit.split_exec(exec_value(text, "ExecStop")[1:], home)[1:] == ["stop", "--name", "rk-dev"]


def test_a_bad_cluster_name_makes_no_unit():
    with pytest.raises(UsageError, match="is not a valid DNS-1123 label"):
        systemd_unit.cluster_unit("rk dev; rm -rf ~")


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(not SYSTEMD_ANALYZE and not os.environ.get("CI"),
                    reason="systemd-analyze is not installed (Debian: apt-get install systemd); CI installs it")
def test_the_cluster_unit_passes_systemd_analyze_verify(tmp_path):
    assert SYSTEMD_ANALYZE, "systemd-analyze is missing in CI: apt-get install systemd"
    # verify checks that ExecStart's program exists: the user's rootlesskube becomes /bin/true
    unit = tmp_path / "rootlesskube-cluster-rk-dev.service"
    unit.write_text(systemd_unit.cluster_unit("rk-dev", rootlesskube="/bin/true"))
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")


def test_export_writes_the_unit_where_the_users_manager_reads_it(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("ROOTLESSKUBE_HOME")  # the default state folder: %h/.local/state/rootlesskube
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no rootlesskube on PATH: pipx's place
    code, out, err = cli("export", "systemd-unit", "--cluster", "rk-dev", "-o", tmp_path / "out")
    assert code == 0, err
    written = tmp_path / "out/.config/systemd/user/rootlesskube-cluster-rk-dev.service"
    assert written.read_text() == UNIT
    assert "then: systemctl --user daemon-reload && systemctl --user enable rootlesskube-cluster-rk-dev.service" in err
    assert "warning: rootlesskube has no cluster named 'rk-dev' yet" in err


def test_export_refuses_a_bad_name_or_both_units_before_writing(cli, tmp_path):
    code, out, err = cli("export", "systemd-unit", "--cluster", "Bad_Name", "-o", tmp_path / "out")
    assert code == 2 and "error: the cluster name 'Bad_Name' is not a valid DNS-1123 label" in err
    assert not (tmp_path / "out").exists()
    code, out, err = cli("export", "systemd-unit")
    assert code == 2 and "error: export systemd-unit needs --cluster NAME or --pmm" in err
    code, out, err = cli("export", "systemd-unit", "--cluster", "rk-dev", "--pmm")
    assert code == 2


def test_export_keeps_rootlesskube_home_for_the_unit(cli, tmp_path, monkeypatch):
    home = os.environ["ROOTLESSKUBE_HOME"]
    code, out, err = cli("export", "systemd-unit", "--cluster", "rk-dev")
    assert code == 0, err
    assert f"ConditionPathExists={home}/state/clusters/rk-dev/record.json\n" in out
    assert f"Environment=ROOTLESSKUBE_HOME={home}\n" in out


# --- host_setup lab --start-at-boot ---
def owned_home(tmp_path):
    """A home folder owned by an unprivileged user (root changes the owner; the uid need not exist)."""
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, 4242, 4242)
    return home


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


@needs_root
def test_lab_installs_and_enables_the_unit_owned_by_the_user(tmp_path):
    home = owned_home(tmp_path)
    name = "rootlesskube-cluster-rk-dev.service"
    assert lab.install_user_unit(str(home), 4242, 4242, name, UNIT) is True
    unit = home / ".config/systemd/user" / name
    link = home / ".config/systemd/user/default.target.wants" / name
    assert unit.read_text() == UNIT and stat.S_IMODE(unit.stat().st_mode) == 0o644
    assert os.readlink(link) == f"../{name}" and link.resolve() == unit.resolve()
    for path in (home / ".config", home / ".config/systemd", unit.parent, link.parent, unit):
        assert (path.stat().st_uid, path.stat().st_gid) == (4242, 4242), path
    assert os.lstat(link).st_uid == 4242
    assert lab.install_user_unit(str(home), 4242, 4242, name, UNIT) is False  # a second lab changes nothing


@needs_root
def test_lab_never_follows_a_link_the_user_planted(tmp_path):
    home = owned_home(tmp_path)
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    os.symlink(elsewhere, home / ".config")
    with pytest.raises(UsageError, match=r"cannot enter '.config' in the user's home safely"):
        lab.install_user_unit(str(home), 4242, 4242, "rootlesskube-cluster-rk-dev.service", UNIT)
    assert list(elsewhere.iterdir()) == []


@needs_root
def test_lab_refuses_a_folder_of_someone_else(tmp_path):
    home = owned_home(tmp_path)
    (home / ".config").mkdir()  # root's
    with pytest.raises(UsageError, match=r"'.config' in the home of uid 4242 belongs to someone else"):
        lab.install_user_unit(str(home), 4242, 4242, "rootlesskube-cluster-rk-dev.service", UNIT)


def test_lab_without_systemd_says_it_skipped():
    roster = [Assignment("alice", 1001, 100000, 65536, 100000, 65536, 20000, 20009)]
    assert lab.start_at_boot("rk-dev", roster, systemd=False) == [
        "alice: skipped, systemd is not running here (no user manager starts rootlesskube-cluster-rk-dev.service)"]


@needs_root
def test_lab_with_systemd_enables_it_for_every_roster_user(tmp_path, monkeypatch):
    home = owned_home(tmp_path)
    entry = pwd.struct_passwd(("alice", "x", 4242, 4242, "", str(home), "/bin/bash"))
    monkeypatch.setattr(lab.pwd, "getpwnam", lambda name: entry)
    roster = [Assignment("alice", 4242, 100000, 65536, 100000, 65536, 20000, 20009)]
    assert lab.start_at_boot("rk-dev", roster, systemd=True) == [
        "alice: rootlesskube-cluster-rk-dev.service installed and enabled"]
    assert (home / ".config/systemd/user/rootlesskube-cluster-rk-dev.service").read_text() == UNIT
    # the lab recipe's clusters: one per user, lab-USER
    assert lab.start_at_boot("lab-{user}", roster, systemd=True) == [
        "alice: rootlesskube-cluster-lab-alice.service installed and enabled"]
    assert "ExecStart=%h/.local/bin/rootlesskube start --name lab-alice\n" in (
        home / ".config/systemd/user/rootlesskube-cluster-lab-alice.service").read_text()


@needs_root
def test_lab_refuses_a_bad_cluster_name_before_any_change(tmp_path):
    roster = tmp_path / "roster.json"
    result = subprocess.run([sys.executable, "-m", "host_setup", "lab", "--users", "nobody-rk18", "--roster",
                             str(roster), "--start-at-boot", "Bad_Name", "--yes"],
                            capture_output=True, text=True, timeout=60, cwd=str(REPO))
    assert result.returncode == 2
    assert "error: the cluster name for nobody-rk18 'Bad_Name' is not a valid DNS-1123 label" in result.stderr
    assert not roster.exists()
    with pytest.raises(KeyError):
        pwd.getpwnam("nobody-rk18")


@pytest.mark.podman
def test_the_units_command_brings_a_rebooted_cluster_back(podman_user):
    """After a "reboot" (every container of the user stopped), the unit's ExecStart, as the user's manager
    would run it, starts the cluster again."""
    from tests.podman_env import USER_PYTHON
    from tests.test_lifecycle_podman import World

    world = World(podman_user, "kind")
    try:
        assert world.up().returncode == 0
        podman_user.podman("stop", "--all", "--time", "10", timeout=180)
        assert world.status()["lifecycle"] == "stopped"
        program = str(Path(USER_PYTHON).parent / "rootlesskube")
        argv = systemd_unit.split_exec(exec_value(systemd_unit.cluster_unit(world.name, program)),
                                       {"h": podman_user.home})
        result = podman_user.run(argv, check=False, timeout=300, env=world.env())
        assert result.returncode == 0, result.stderr
        row = world.status()
        assert (row["lifecycle"], row["ready"]) == ("running", True)
    finally:
        world.cleanup()
