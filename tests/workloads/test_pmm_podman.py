"""`pmm deploy` and `pmm verify` as the unprivileged test user, with a real rootless Podman container as the node.

The cluster's API is the kubectl stand-in; the node is real: a rootless
container named like the kind node (`<cluster>-control-plane`), run as uid
1000 with no capabilities and no_new_privs, so the in-pod answers that the
stand-in gives for `kubectl exec ... cat /proc/1/status` and `/proc/1/uid_map`
are that container's own, read by `podman exec`. The host-side proof is the real
one from rootlesskube.verify. The negative control puts a root-owned process
into the node: root (the test) enters the node's pid namespace with nsenter and
leaves a `sleep` there that the node's init inherits, as a leaked rootful helper would be.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from tests.podman_env import BUSYBOX_IMAGE, USER_PYTHON
from tests.workloads.pmm_world import PmmWorld

pytestmark = pytest.mark.podman


@pytest.fixture
def node_world(podman_user, monkeypatch):
    tmp = Path(tempfile.mkdtemp(prefix="rk-pmm-"))  # pytest's tmp_path is not reachable by the test user
    os.chmod(tmp, 0o755)
    name = podman_user.unique_name("rk-pmm")
    world = PmmWorld(tmp / "standin", tmp / "home", name)
    for folder in (world.state, world.home):
        folder.mkdir()
    monkeypatch.setenv("ROOTLESSKUBE_HOME", str(world.home))
    monkeypatch.setenv("RK_STANDIN_STATE", str(world.state))
    world.create_cluster()
    world.pmm3_running()
    podman_user.podman("run", "--detach", "--name", world.node, "--user", "1000:1000", "--cap-drop", "all",
                       "--security-opt", "no-new-privileges", BUSYBOX_IMAGE, "sleep", "600")
    try:
        status = podman_user.podman("exec", world.node, "cat", "/proc/1/status").stdout
        uid_map = podman_user.podman("exec", world.node, "cat", "/proc/1/uid_map").stdout
        world.pmm3_in_pod(status, uid_map)
        subprocess.run(["chown", "-R", f"{podman_user.uid}:{podman_user.gid}", str(world.state), str(world.home)],
                       check=True)
        yield world
    finally:
        podman_user.podman("rm", "--force", "--ignore", "--time", "0", world.node, check=False)
        shutil.rmtree(tmp)


def as_user(podman_user, world, *args):
    return podman_user.run([USER_PYTHON, "-m", "rootlesskube", *args], check=False, timeout=300, env=world.env())


def test_deploy_then_verify_as_the_user(podman_user, node_world):
    world = node_world
    deployed = as_user(podman_user, world, "pmm", "deploy", "--cluster", world.name, "--image", BUSYBOX_IMAGE,
                       "--wait", "5s", "--json")
    assert deployed.returncode == 0, deployed.stderr
    report = json.loads(deployed.stdout)
    archive = f"{world.home}/data/images/localhost_rk-busybox_test.tar"
    assert f"{BUSYBOX_IMAGE} was already in your Podman store; loaded into cluster {world.name}" in report["notes"]
    kind = [json.loads(line)["argv"] for line in world.json_calls().splitlines() if json.loads(line)["tool"] == "kind"]
    assert ["kind", "load", "image-archive", archive, "--name", world.name] in kind
    assert not Path(archive).exists()  # the user's store keeps the image, the archive is gone

    verified = as_user(podman_user, world, "pmm", "verify", "--cluster", world.name, "--json")
    assert verified.returncode == 0, verified.stderr + verified.stdout
    evidence = json.loads(verified.stdout)
    assert evidence["ok"] is True and evidence["failed"] == []
    values = {c["name"]: c["value"] for c in evidence["checks"]}
    start = int(podman_user.podman("unshare", "cat", "/proc/self/uid_map").stdout.splitlines()[1].split()[1])
    assert values == {
        "namespace-enforces-restricted": "enforce restricted:latest",
        "pod-running-ready": "Running, Ready, restarts 0",
        "readyz-200": "200 {}",
        "pid1-uid-1000": "Uid 1000 1000 1000 1000",
        "pid1-no-capabilities": "CapEff 0000000000000000 (CapBnd 0000000000000000)",
        "pid1-no-new-privs": "NoNewPrivs 1",
        "pid1-seccomp-filter": "Seccomp 2",
        "uid-map-not-identity": f"0 {podman_user.uid} 1; 1 {start} 65536",
        "host-processes-rootless": (f"rootless: all 3 processes of container {world.node} run as {podman_user.name} "
                                    f"(uid {podman_user.uid}) or its subordinate ids, inside a user namespace"),
    }
    host = evidence["checks"][-1]["detail"]
    assert host["container"] == world.node
    [init] = [r for r in host["proof"]["records"] if r["command"] == "sleep 600"]
    assert init["host_uids"] == [start + 999] * 3 and init["container_uids"] == [1000] * 3

    table = as_user(podman_user, world, "pmm", "verify", "--cluster", world.name)
    assert table.returncode == 0
    assert "ok    pid1-uid-1000                  Uid 1000 1000 1000 1000" in table.stdout.splitlines()


def test_verify_fails_when_a_node_process_runs_as_host_root(podman_user, node_world):
    world = node_world
    deployed = as_user(podman_user, world, "pmm", "deploy", "--cluster", world.name, "--image", BUSYBOX_IMAGE,
                       "--wait", "5s")
    assert deployed.returncode == 0, deployed.stderr
    node_pid = int(podman_user.podman("inspect", "--format", "{{.State.Pid}}", world.node).stdout)
    # root enters the node's pid namespace; the shell exits and the node's init inherits its sleep
    subprocess.run(["nsenter", "--target", str(node_pid), "--pid", "--", "/bin/sh", "-c", "sleep 301 & exit 0"],
                   check=True)
    deadline = time.monotonic() + 10
    while not [c for c in psutil.Process(node_pid).children() if c.uids().real == 0]:
        assert time.monotonic() < deadline, "the root sleep did not join the node"
        time.sleep(0.05)
    [root_sleep] = [c for c in psutil.Process(node_pid).children() if c.uids().real == 0]
    try:
        verified = as_user(podman_user, world, "pmm", "verify", "--cluster", world.name, "--json")
    finally:
        root_sleep.kill()
    assert verified.returncode == 4, verified.stderr
    evidence = json.loads(verified.stdout)
    assert evidence["ok"] is False and evidence["failed"] == ["host-processes-rootless"]
    host = evidence["checks"][-1]
    assert host["value"].startswith(f"NOT rootless: container {world.node}: pid {root_sleep.pid} (sleep 301): "
                                    "host uid 0 (root) as real, effective, saved uid;")
    assert host["detail"]["proof"]["offenders"] == [root_sleep.pid]
    assert "error: PMM is not proven rootless: host-processes-rootless: NOT rootless" in verified.stderr
