"""stop, start and a "reboot" with real rootless Podman containers as the nodes, for kind, minikube and Usernetes.

The cluster tools are the stand-ins; with RK_STANDIN_NODE_IMAGE they make every node a real container of the test
user's rootless Podman (busybox), named and labelled as the real tool does (tests/standins/cluster_standin.py).
rootlesskube finds, stops and starts them with the real podman; the kubectl stand-in refuses the connection
while the API server's node container is not running. A "reboot" is every container of the user stopped
(`podman stop --all`), as the host's shutdown leaves them: Podman restarts none by itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO, STANDINS
from tests.podman_env import BUSYBOX_IMAGE, USER_PYTHON

pytestmark = pytest.mark.podman

SWITCHES = {
    "kind": ["--workers", "1"],
    "minikube": [],
    "usernetes": ["--api-port", "16443"],
}
NODES = {
    "kind": lambda name, world: {f"{name}-control-plane", f"{name}-worker"},
    "minikube": lambda name, world: {name},
    "usernetes": lambda name, world: {f"{world.checkout.name}_node_1"},
}


class World:
    def __init__(self, user, driver: str):
        self.user, self.driver = user, driver
        self.tmp = Path(tempfile.mkdtemp(prefix="rk-life-"))  # pytest's tmp_path is not reachable by the user
        os.chmod(self.tmp, 0o755)
        self.name = user.unique_name("rk-life")
        self.home, self.state = self.tmp / "home", self.tmp / "standin"
        self.checkout = self.tmp / f"{self.name}-u7s"
        for folder in (self.home, self.state, self.checkout):
            folder.mkdir()
        (self.checkout / "Makefile").write_text("# stand-in checkout: the `make` stand-in plays the real Makefile\n")
        subprocess.run(["chown", "-R", f"{user.uid}:{user.gid}", str(self.tmp)], check=True)

    def env(self) -> dict:
        return {"PATH": os.pathsep.join([str(STANDINS / "node"), str(STANDINS), "/usr/local/bin:/usr/bin:/bin"]),
                "RK_STANDIN_STATE": str(self.state), "RK_STANDIN_NODE_IMAGE": BUSYBOX_IMAGE,
                "ROOTLESSKUBE_HOME": str(self.home), "NO_COLOR": "1", "PYTHONPATH": str(REPO)}

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """rootlesskube as the user, with a passing doctor (this host is not ready: hybrid cgroups)."""
        return self.user.run([USER_PYTHON, "-m", "tests.drivers.passing_doctor", *args], check=False, timeout=300,
                             env=self.env())

    def up(self) -> subprocess.CompletedProcess:
        extra = ["--usernetes-dir", str(self.checkout)] if self.driver == "usernetes" else []
        return self.cli("up", "--driver", self.driver, "--name", self.name, "--wait", "20", *SWITCHES[self.driver],
                        *extra)

    def states(self) -> dict:
        """{container: state} of the user's containers that are this cluster's nodes, read with podman."""
        rows = json.loads(self.user.podman("ps", "--all", "--format", "json").stdout or "[]")
        nodes = NODES[self.driver](self.name, self)
        return {r["Names"][0]: r["State"] for r in rows if r["Names"][0] in nodes}

    def status(self) -> dict:
        result = self.cli("status", "--name", self.name, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)[0]

    def write_data(self) -> None:
        """A file in every node's /var, the folder each tool keeps in a volume."""
        for node in self.states():
            self.user.podman("exec", node, "sh", "-c", f"echo {node} > /var/rk-kept")

    def data(self) -> dict:
        return {node: self.user.podman("exec", node, "cat", "/var/rk-kept", check=False).stdout.strip()
                for node in self.states()}

    def volumes(self) -> list:
        listed = self.user.podman("volume", "ls", "--format", "{{.Name}}").stdout.split()
        labelled = [v for node in NODES[self.driver](self.name, self) for v in self.user.podman(
            "volume", "ls", "--filter", f"label={node}=true", "--quiet").stdout.split()]
        return sorted({v for v in listed if self.name in v} | set(labelled))

    def cleanup(self) -> None:
        self.cli("down", "--name", self.name, "--force")
        leftovers = sorted(self.states())
        if leftovers:
            self.user.podman("rm", "--force", "--time", "0", *leftovers, check=False)
        volumes = self.volumes()
        if volumes:
            self.user.podman("volume", "rm", "--force", *volumes, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(params=sorted(SWITCHES))
def world(request, podman_user):
    made = World(podman_user, request.param)
    yield made
    made.cleanup()


def test_stop_start_and_a_reboot_with_real_containers(world):
    made = world.up()
    assert made.returncode == 0, made.stderr
    nodes = NODES[world.driver](world.name, world)
    assert world.states() == {n: "running" for n in nodes}
    assert world.status()["lifecycle"] == "running"
    world.write_data()
    kept = {n: n for n in nodes}

    stopped = world.cli("stop", "--name", world.name)
    assert stopped.returncode == 0, stopped.stderr
    # kind and minikube stop the containers; Usernetes' `make down` removes the node, its volumes stay
    assert world.states() == ({} if world.driver == "usernetes" else {n: "exited" for n in nodes})
    row = world.status()
    assert (row["lifecycle"], row["ready"]) == ("stopped", False)

    started = world.cli("start", "--name", world.name, "--wait", "20")
    assert started.returncode == 0, started.stderr
    assert world.states() == {n: "running" for n in nodes}
    row = world.status()
    assert (row["lifecycle"], row["ready"]) == ("running", True)
    assert world.data() == kept  # the data survived the stop (Usernetes: in its node-var volume)

    # a reboot: every container of the user stopped, none restarted by Podman
    world.user.podman("stop", "--all", "--time", "10", timeout=180)
    assert world.states() == {n: "exited" for n in nodes}
    assert world.status()["lifecycle"] == "stopped"
    again = world.up()  # the same `up` (or `run`) after the reboot brings the cluster back
    assert again.returncode == 0, again.stderr
    assert f"cluster {world.name!r} exists with the same spec but is stopped: starting it" in again.stderr
    assert world.states() == {n: "running" for n in nodes}
    row = world.status()
    assert (row["lifecycle"], row["ready"]) == ("running", True)
    assert world.data() == kept

    assert world.cli("down", "--name", world.name).returncode == 0
    assert (world.states(), world.volumes()) == ({}, [])  # down leaves no container and no volume


def test_one_node_stopped_is_degraded_and_start_brings_it_back(podman_user):
    world = World(podman_user, "kind")
    try:
        assert world.up().returncode == 0
        world.user.podman("stop", "--time", "10", f"{world.name}-worker")
        row = world.status()
        assert row["lifecycle"] == "degraded"
        assert [(c["name"], c["state"], c["podman_state"]) for c in row["containers"]] == [
            (f"{world.name}-control-plane", "running", "running"), (f"{world.name}-worker", "stopped", "exited")]
        started = world.cli("start", "--name", world.name, "--wait", "20")
        assert started.returncode == 0, started.stderr
        assert world.states() == {f"{world.name}-control-plane": "running", f"{world.name}-worker": "running"}
    finally:
        world.cleanup()


def test_containers_removed_behind_its_back_are_reported_gone(podman_user):
    world = World(podman_user, "kind")
    try:
        assert world.up().returncode == 0
        world.user.podman("rm", "--force", "--time", "0", f"{world.name}-control-plane", f"{world.name}-worker")
        row = world.status()
        assert (row["lifecycle"], row["containers"]) == ("gone", [])
        again = world.up()
        assert again.returncode == 1
        assert f"hint: `rootlesskube down --name {world.name}` cleans the record" in again.stderr
        assert world.states() == {}
    finally:
        world.cleanup()
