"""`rootlesskube verify` against real rootless Podman, run as the unprivileged test user."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import psutil
import pytest

from tests.podman_env import BUSYBOX_IMAGE

pytestmark = pytest.mark.podman


def subuid_start(user) -> int:
    """Where container uid 1 lands, as the user's own rootless namespace says (not our code)."""
    second = user.podman("unshare", "cat", "/proc/self/uid_map").stdout.splitlines()[1].split()
    assert second[0] == "1"
    return int(second[1])


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def by_command(records, command):
    matches = [r for r in records if r["command"] == command]
    assert len(matches) == 1, [r["command"] for r in records]
    return matches[0]


@pytest.fixture
def container(podman_user):
    name = podman_user.unique_name("rk-verify")
    podman_user.podman("run", "--detach", "--name", name, BUSYBOX_IMAGE, "sleep", "600")
    try:
        yield name
    finally:
        podman_user.podman("rm", "--force", "--ignore", "--time", "0", name, check=False)


def test_a_rootless_container_is_verified_with_both_uids(podman_user, container):
    # a second process as uid 1000, started by `podman exec` (not a descendant of the container's init)
    podman_user.podman("exec", "--detach", "--user", "1000:1000", container, "sleep", "601")
    start = subuid_start(podman_user)
    wait_for(lambda: [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "601"]])

    result = podman_user.rootlesskube("verify", "--container", container, "--json")
    assert result.returncode == 0, result.stderr
    proof = json.loads(result.stdout)
    assert proof["rootless"] is True and proof["offenders"] == [] and proof["problems"] == []
    assert proof["user"]["name"] == podman_user.name and proof["user"]["uid"] == podman_user.uid

    init = by_command(proof["records"], "sleep 600")
    assert init["role"] == "container"
    assert init["host_uids"] == [podman_user.uid] * 3 and init["container_uids"] == [0, 0, 0]
    assert init["uid_map"] == [f"0 {podman_user.uid} 1", f"1 {start} 65536"]

    as_1000 = by_command(proof["records"], "sleep 601")
    assert as_1000["role"] == "container"
    assert as_1000["host_uids"] == [start + 999] * 3 and as_1000["container_uids"] == [1000] * 3
    assert as_1000["host_gids"] == [start + 999] * 3 and as_1000["container_gids"] == [1000] * 3
    assert as_1000["userns"] == init["userns"] and as_1000["verdict"] == "ok"

    roles = sorted(r["role"] for r in proof["records"])
    # main conmon + the exec session's conmon; slirp4netns is podman 4.3's rootless network default
    assert roles == ["conmon", "conmon", "container", "container", "network"]
    [network] = [r for r in proof["records"] if r["role"] == "network"]
    assert network["command"].startswith("/usr/bin/slirp4netns ")
    assert all(r["host_uids"] == [podman_user.uid] * 3 for r in proof["records"] if r["role"] != "container")


def test_the_table_and_the_verdict_line(podman_user, container):
    result = podman_user.rootlesskube("verify", "--container", container)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # sleep 600, its conmon and slirp4netns
    assert lines[-1] == (f"rootless: all 3 processes of container {container} run as {podman_user.name} "
                         f"(uid {podman_user.uid}) or its subordinate ids, inside a user namespace")
    assert any("sleep 600" in line and f"{podman_user.uid}" in line and " ok " in line for line in lines)


def test_published_ports_add_rootlessport_in_the_containers_network_namespace(podman_user):
    with socket.socket() as probe:  # a free port for the host side
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    name = podman_user.unique_name("rk-verify-port")
    try:
        podman_user.podman("run", "--detach", "--name", name, "--publish", f"127.0.0.1:{port}:8080",
                           BUSYBOX_IMAGE, "sleep", "600")
        result = podman_user.rootlesskube("verify", "--container", name, "--json")
    finally:
        podman_user.podman("rm", "--force", "--ignore", "--time", "0", name, check=False)
    assert result.returncode == 0, result.stderr
    network = sorted(r["command"].split()[0] for r in json.loads(result.stdout)["records"] if r["role"] == "network")
    assert network == ["/usr/bin/slirp4netns", "rootlessport", "rootlessport-child"]


def test_the_containers_own_pid_verifies_rootless(podman_user, container):
    pid = podman_user.podman("inspect", "--format", "{{.State.Pid}}", container).stdout.strip()
    result = podman_user.rootlesskube("verify", "--pid", pid, "--json")
    assert result.returncode == 0, result.stderr
    assert [r["command"] for r in json.loads(result.stdout)["records"]] == ["sleep 600"]


def test_a_root_process_tree_is_not_rootless(podman_user):
    # negative control: a root-owned sleep under a root-owned parent, started by the test (as root)
    parent = subprocess.Popen(["/bin/sh", "-c", "sleep 300 & wait"])
    try:
        child = wait_for(lambda: psutil.Process(parent.pid).children())[0].pid
        result = podman_user.rootlesskube("verify", "--pid", str(parent.pid), "--json")
    finally:
        for started in psutil.Process(parent.pid).children(recursive=True):
            started.kill()
        parent.kill()
        parent.wait()
    assert result.returncode == 4, result.stderr
    proof = json.loads(result.stdout)
    assert proof["rootless"] is False and proof["offenders"] == [parent.pid, child]
    for rec in proof["records"]:
        assert rec["host_uids"] == [0, 0, 0]
        assert rec["reasons"] == [
            "host uid 0 (root) as real, effective, saved uid",
            "host gid 0 (root) as real, effective, saved gid",
            "runs in the host user namespace (uid_map is the identity map 0 0 4294967295)"]
    assert f"pid {child} (sleep 300): host uid 0 (root) as real, effective, saved uid;" in result.stderr
    assert f"pid {parent.pid} (/bin/sh -c sleep 300 & wait): host uid 0 (root)" in result.stderr


def test_the_users_own_process_outside_a_container_is_not_proof(podman_user):
    sleeper = subprocess.Popen(["runuser", "-u", podman_user.name, "--", "sleep", "300"])
    try:
        pid = wait_for(lambda: [c.pid for c in psutil.Process(sleeper.pid).children() if c.name() == "sleep"]
                       or ([sleeper.pid] if psutil.Process(sleeper.pid).name() == "sleep" else []))[0]
        result = podman_user.rootlesskube("verify", "--pid", str(pid), "--json")
    finally:
        for started in psutil.Process(sleeper.pid).children(recursive=True):
            started.kill()
        sleeper.kill()
        sleeper.wait()
    assert result.returncode == 4, result.stderr
    [rec] = json.loads(result.stdout)["records"]
    assert rec["host_uids"] == [podman_user.uid] * 3
    assert rec["reasons"] == ["runs in the host user namespace (uid_map is the identity map 0 0 4294967295)"]


def test_a_missing_container_cannot_be_told(podman_user):
    name = podman_user.unique_name("rk-nope")
    result = podman_user.rootlesskube("verify", "--container", name, "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"`podman container inspect {name}` failed with exit code 125" in result.stderr
    assert f"no such container {name}" in result.stderr  # podman's own message
    assert "hint: list the containers with `podman ps -a`" in result.stderr
