"""For real, as root on this host: plan, apply --yes, then the doctor and a rootless container as the user.

The user is created without subuid/subgid entries; /dev/net/tun is set to
0600 first. Everything the test changes under /etc is restored, and /dev/net/tun
is left at 0666 (the Podman tests need it).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest

from rootlesskube.host import ids
from tests.podman_env import PodmanUser, build_busybox_image, configure_runc, podman_unavailable_reason

RESTORED_FILES = ("/etc/subuid", "/etc/subgid")
RESTORED_DIRS = ("/etc/sysctl.d", "/etc/modules-load.d", "/etc/systemd/system/user@.service.d", "/etc/udev/rules.d")
DEVICES = ("/dev/fuse",)


def host_setup(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "host_setup", *args], capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)


@pytest.fixture
def fresh_user():
    reason = podman_unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the real host_setup test cannot run in CI: {reason}")
        pytest.skip(reason)
    files = {p: Path(p).read_bytes() for p in RESTORED_FILES}
    dirs = {d: (sorted(os.listdir(d)) if os.path.isdir(d) else None) for d in RESTORED_DIRS}
    contents = {d: {n: Path(d, n).read_bytes() for n in names if Path(d, n).is_file() and not Path(d, n).is_symlink()}
                for d, names in dirs.items() if names}
    modes = {dev: os.stat(dev).st_mode & 0o7777 for dev in DEVICES if os.path.exists(dev)}
    name = f"rkh{uuid.uuid4().hex[:8]}"
    # -K ...=0: Debian's useradd would otherwise add subuid/subgid ranges itself
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name],
                   check=True)
    entry = pwd.getpwnam(name)
    user = PodmanUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)
    try:
        yield user
    finally:
        user.podman("rm", "-a", "-f", check=False)
        for proc in psutil.process_iter(["uids"]):
            if proc.info["uids"] and proc.info["uids"].real == user.uid:
                proc.kill()  # the user's podman pause process, which this test started
        subprocess.run(["userdel", "-r", name], capture_output=True)
        shutil.rmtree(f"/tmp/rk-runtime-{user.uid}", ignore_errors=True)
        for path, data in files.items():
            Path(path).write_bytes(data)
        for directory, names in dirs.items():
            if names is None:
                shutil.rmtree(directory, ignore_errors=True)
                continue
            for extra in set(os.listdir(directory)) - set(names):
                os.unlink(os.path.join(directory, extra))
            for file_name, data in contents.get(directory, {}).items():
                Path(directory, file_name).write_bytes(data)
        for dev, mode in modes.items():
            os.chmod(dev, mode)
        os.chmod("/dev/net/tun", 0o666)


@pytest.mark.root
@pytest.mark.podman
def test_plan_apply_then_doctor_and_a_rootless_container_as_the_user(fresh_user):
    user = fresh_user
    os.chmod("/dev/net/tun", 0o600)
    assert user.name not in Path("/etc/subuid").read_text()

    plan = host_setup("plan", "--user", user.name, "--json")
    assert plan.returncode == 0, plan.stderr
    actions = {a["check"]: a for a in json.loads(plan.stdout)["actions"]}
    assert actions[ids.SUBUID]["runs"][0][:2] == ["usermod", "--add-subuids"]
    assert actions[ids.SUBGID]["runs"][0][:2] == ["usermod", "--add-subgids"]
    assert actions[ids.DEV_TUN]["chmod"] == {"path": "/dev/net/tun", "mode": "0666"}
    assert actions[ids.CGROUP_V2]["then"] == "reboot"
    (line,) = [a["line"] for a in actions[ids.SUBUID]["adds"]]
    _, start, count = line.split(":")
    assert count == "65536"

    no_yes = host_setup("apply", "--user", user.name)
    assert no_yes.returncode == 2 and "pass --yes" in no_yes.stderr

    applied = host_setup("apply", "--user", user.name, "--yes", "--json")
    assert applied.returncode == 0, applied.stderr
    outcome = {o["check"]: o for o in json.loads(applied.stdout)["actions"]}
    assert json.loads(applied.stdout)["changed"] is True
    assert outcome[ids.SUBUID]["status"] == outcome[ids.SUBGID]["status"] == outcome[ids.DEV_TUN]["status"] == "changed"
    assert outcome[ids.CGROUP_V2]["status"] == "manual"
    assert f"{user.name}:{start}:65536\n" in Path("/etc/subuid").read_text()
    assert f"{user.name}:{start}:65536\n" in Path("/etc/subgid").read_text()
    assert os.stat("/dev/net/tun").st_mode & 0o777 == 0o666

    again = host_setup("apply", "--user", user.name, "--yes")
    assert again.returncode == 0, again.stderr
    assert "Nothing changed" in again.stdout

    doctor = user.rootlesskube("doctor", "--json")
    report = json.loads(doctor.stdout)
    status = {c["id"]: c for c in report["checks"]}
    # the sysctl checks only warn (inotify, keys): apply raises them too
    for fixed in (ids.SUBUID, ids.SUBGID, ids.DEV_TUN, ids.SYSCTL_INOTIFY, ids.SYSCTL_KEYS):
        assert status[fixed]["status"] == "pass", status[fixed]
    assert status[ids.CGROUP_V2]["status"] == "fail"
    assert "reboot" in status[ids.CGROUP_V2]["fix"].lower()

    configure_runc(user)
    image = build_busybox_image(user)
    run = user.podman("run", "--rm", image, "cat", "/proc/self/uid_map")
    rows = [line.split() for line in run.stdout.strip().splitlines()]
    assert rows == [["0", str(user.uid), "1"], ["1", start, "65536"]]
